from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from annotations.exporters import spacy_docbin
from annotations.exporters.base import ExportOptions, SplitSpec
from annotations.interchange import DocumentRecord
from tests.exporters.conftest import Export, all_layers, labelled_card, layer_spans


def load_docs(archive, tmp_path: Path) -> dict:
    docs = {}
    shards = sorted(name for name in archive.namelist() if name.endswith(".spacy"))
    for name in shards:
        path = tmp_path / Path(name).name
        path.write_bytes(archive.read(name))
        for doc in DocBin().from_disk(path).get_docs(Vocab()):
            docs[doc.user_data["id"]] = doc
    return docs


def test_docbin_spans_cover_the_same_characters(
    export: Export, records: list[DocumentRecord], tmp_path: Path
) -> None:
    archive, stats = export("spacy")
    docs = load_docs(archive, tmp_path)
    assert set(stats.problems) == {"token_split"}
    for record in records:
        doc = docs[record.id]
        assert doc.text == record.text
        assert doc.user_data["meta"] == record.meta
        for key in all_layers(record):
            group = doc.spans[key]
            read = sorted((span.start_char, span.end_char, span.label_) for span in group)
            assert read == layer_spans(record, key)
            for span in group:
                assert span.text == record.text[span.start_char : span.end_char]


def test_docbin_keeps_attributes_and_relations_by_span_position(
    export: Export, records: list[DocumentRecord], tmp_path: Path
) -> None:
    archive, _ = export("spacy")
    doc = load_docs(archive, tmp_path)["emoji/flags 1"]
    group = doc.spans["gold"]
    attrs = doc.user_data["attrs"]["gold"]
    for span, span_attrs in zip(group, attrs, strict=True):
        if span.label_ == "source":
            assert span_attrs == {"kind": "anonymous"}
    ((kind, head, tail),) = doc.user_data["relations"]["gold"]
    assert kind == "attributed_to"
    assert (group[head].label_, group[tail].label_) == ("claim", "source")
    assert group[tail].text == "@source 👩\u200d👩\u200d👧"


def test_strict_alignment_leaves_out_and_reports_a_span_inside_a_token(
    export: Export, tmp_path: Path
) -> None:
    archive, stats = export("spacy", ExportOptions(alignment="strict"))
    assert stats.problems["span_not_on_token_edges"] == 1
    doc = load_docs(archive, tmp_path)["000"]
    assert "Talib" not in [span.text for span in doc.spans["gold"]]
    # The relation to the left-out span's neighbours is kept: its ends are still there.
    assert doc.user_data["relations"]["gold"]


def test_large_exports_are_written_in_bounded_shards(
    export: Export, records: list[DocumentRecord], tmp_path: Path
) -> None:
    archive, _ = export("spacy", ExportOptions(shard_size=1))
    shards = sorted(n for n in archive.namelist() if n.endswith(".spacy"))
    assert shards == ["spacy/all-00000.spacy", "spacy/all-00001.spacy"]
    assert set(load_docs(archive, tmp_path)) == {record.id for record in records}


def test_shards_hold_the_documents_of_blocks_of_corpus_positions(
    export: Export, records: list[DocumentRecord], tmp_path: Path
) -> None:
    corpus = [replace(records[n % 2], id=f"doc-{n}") for n in range(7)]
    split = SplitSpec(seed=1, train=0.5, dev=0.5, test=0.0)
    archive, _ = export("spacy", ExportOptions(split=split, shard_size=3), source=corpus)

    blocks: dict[tuple[int, str], list[str]] = {}  # (block, split) -> its documents
    for position, record in enumerate(corpus):
        blocks.setdefault((position // 3, split.split_of(record.id)), []).append(record.id)
    expected = {
        f"spacy/{part}-{block:05d}.spacy": ids for (block, part), ids in sorted(blocks.items())
    }
    shards = [name for name in archive.namelist() if name.endswith(".spacy")]
    assert shards == list(expected)
    assert "documents among the exported documents 3 × k to 3 × (k + 1) − 1" in (
        archive.read("README.md").decode()
    )
    assert len(shards) < 2 * 3  # a split without a document in a block has no shard there
    for name in shards:
        path = tmp_path / Path(name).name
        path.write_bytes(archive.read(name))
        ids = [doc.user_data["id"] for doc in DocBin().from_disk(path).get_docs(Vocab())]
        assert ids == expected[name]


class PlainShard(DocBin):
    """A shard filled by spaCy's own ``DocBin.add``."""

    def __init__(self) -> None:
        super().__init__(store_user_data=True)


def linked(record: DocumentRecord) -> DocumentRecord:
    """The record with every other gold span linked to a catalogue entry, with a stance."""
    gold = [
        span._replace(entry=f"entry-{n}", stance="asserts") if n % 2 else span
        for n, span in enumerate(record.gold)
    ]
    return replace(record, gold=gold)


@pytest.mark.parametrize("alignment", ["split", "strict", "expand", "contract"])
def test_shards_hold_the_bytes_docbin_add_makes(
    export: Export, records: list[DocumentRecord], labelled, gold_states, monkeypatch, alignment
) -> None:
    source = [*map(linked, records), *labelled, *gold_states]
    options = ExportOptions(alignment=alignment, shard_size=2)

    def shards() -> dict[str, bytes]:
        archive, _ = export("spacy", options, card=labelled_card(), source=source)
        return {name: archive.read(name) for name in archive.namelist() if ".spacy" in name}

    fast = shards()
    monkeypatch.setattr(spacy_docbin, "Shard", PlainShard)
    assert fast == shards()


def test_gold_document_labels_become_doc_cats(
    export: Export, labelled: list[DocumentRecord], tmp_path: Path
) -> None:
    archive, _ = export("spacy", card=labelled_card(), source=labelled)
    docs = load_docs(archive, tmp_path)
    for record in labelled:
        doc = docs[record.id]
        assert doc.cats == {"stance=supports": 0.0, "stance=refutes": 1.0, "stance=neutral": 0.0}
        for name, labels in record.document_labels.items():
            stored = doc.user_data["document_labels"][f"annotators/{name}"]
            # msgpack, which the DocBin stores user data with, reads lists back as tuples.
            assert {label: list(values) for label, values in stored.items()} == labels


def test_docbin_has_a_gold_group_only_for_documents_with_gold(
    export: Export, gold_states, tmp_path: Path
) -> None:
    archive, _ = export("spacy", source=gold_states)
    docs = load_docs(archive, tmp_path)

    assert "gold" not in docs["never-adjudicated"].spans
    assert "gold_state" not in docs["never-adjudicated"].user_data
    assert len(docs["adjudicated-empty"].spans["gold"]) == 0
    assert docs["adjudicated-empty"].user_data["gold_state"] == "in_progress"
    assert len(docs["final"].spans["gold"]) == 2
    assert docs["final"].user_data["gold_state"] == "final"
