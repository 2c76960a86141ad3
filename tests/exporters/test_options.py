from __future__ import annotations

from collections import Counter

import pytest

from annotations.exporters.archive import Pseudonyms, select
from annotations.exporters.base import ExportOptions, OptionsError, SplitSpec, safe_name
from annotations.interchange import DocumentRecord


def test_split_depends_only_on_seed_and_document_id() -> None:
    spec = SplitSpec(seed=7, train=0.8, dev=0.1, test=0.1)
    ids = [f"doc-{i}" for i in range(3000)]
    first = [spec.split_of(doc_id) for doc_id in ids]
    assert [spec.split_of(doc_id) for doc_id in reversed(ids)] == first[::-1]
    counts = Counter(first)
    assert 0.77 < counts["train"] / 3000 < 0.83
    assert 0.08 < counts["dev"] / 3000 < 0.12
    other_seed = [SplitSpec(seed=8).split_of(doc_id) for doc_id in ids]
    assert other_seed != first


def test_split_ratios_must_add_up_to_one() -> None:
    with pytest.raises(OptionsError, match="add up to 1"):
        SplitSpec(train=0.8, dev=0.3, test=0.1)


def test_options_survive_their_json_form() -> None:
    options = ExportOptions(
        layers="gold",
        labels=frozenset({"claim"}),
        include_meta=False,
        split=SplitSpec(seed=5, train=0.6, dev=0.2, test=0.2),
        pseudonymise=True,
        alignment="strict",
        final_gold_only=True,
    )
    assert ExportOptions.from_json(options.to_json()) == options


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"layers": "some"}, "layers"),
        ({"labels": "claim"}, "labels"),
        ({"split": {"seed": 1, "train": 2, "dev": 0, "test": 0}}, "split"),
        ({"alignment": "snap"}, "alignment"),
        ({"colour": "red"}, "colour"),
        ({"include_meta": "yes"}, "include_meta"),
        ({"final_gold_only": 1}, "final_gold_only"),
    ],
)
def test_bad_options_name_the_option(raw: dict, field: str) -> None:
    with pytest.raises(OptionsError) as caught:
        ExportOptions.from_json(raw)
    assert caught.value.field == field


def test_label_filter_drops_relations_whose_spans_are_gone(records: list) -> None:
    record: DocumentRecord = records[0]
    kept = select(record, ExportOptions(labels=frozenset({"claim"})), None)
    assert {span.label for span in kept.gold} == {"claim"}
    assert kept.gold_relations == []
    both = select(record, ExportOptions(labels=frozenset({"claim", "source"})), None)
    (relation,) = both.gold_relations
    assert both.gold[relation.head].label == "claim"
    assert both.gold[relation.tail].label == "source"


def test_meta_can_be_left_out(records: list) -> None:
    assert select(records[0], ExportOptions(include_meta=False), None).meta == {}
    assert select(records[0], ExportOptions(), None).meta == records[0].meta


def test_pseudonyms_follow_the_sorted_known_names() -> None:
    names = Pseudonyms(["carol", "alice", "bob"])
    assert [names.get(n) for n in ("alice", "bob", "carol", "dave")] == [
        "annotator_01",
        "annotator_02",
        "annotator_03",
        "annotator_04",
    ]


@pytest.mark.parametrize("name", ["..", ".hidden", "a/b", "ü ß", "100%", "x~y"])
def test_file_names_from_ids_stay_in_their_folder_and_stay_distinct(name: str) -> None:
    escaped = safe_name(name)
    assert "/" not in escaped
    assert not escaped.startswith(".")
    assert escaped != safe_name(name + "x")
