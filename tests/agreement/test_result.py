"""The result JSON: the documented keys, attributes, confusion, per-document scores, params."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from annotations.agreement import ParameterError, compute
from annotations.agreement.report import LABEL_METRICS, OVERALL_METRICS
from annotations.interchange import DocumentRecord, Span, iter_records

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Saleh said he is still in Panjshir, a source in Kabul told TASS."


def record(doc_id: str, **annotations: list[Span]) -> DocumentRecord:
    return DocumentRecord(id=doc_id, text=TEXT, annotations=annotations)


def test_result_has_the_design_keys_with_numbers() -> None:
    records = [
        record("000", alice=[Span(0, 17, "claim")], bob=[Span(0, 17, "claim")]),
        record("001", alice=[Span(0, 17, "claim")], bob=[Span(2, 17, "claim")]),
    ]
    result = compute(records)
    json.dumps(result, allow_nan=False)  # plain JSON, no NaN
    assert result["documents"] == 2
    assert result["annotators"] == ["alice", "bob"]
    for key in ("alpha_char_macro", "span_f1_exact_mean", "span_f1_overlap_mean"):
        assert isinstance(result["overall"][key], float)
    claim = result["labels"]["claim"]
    for key in (
        "alpha_char",
        "cohen_kappa_char_mean",
        "fleiss_kappa_char",
        "span_f1_exact_mean",
        "span_f1_overlap_mean",
    ):
        assert isinstance(claim[key], float), key
    pair = result["pairs"][0]
    assert (pair["a"], pair["b"]) == ("alice", "bob")
    assert pair["span_f1_exact"] == 0.5
    assert pair["span_f1_overlap"] == 1.0
    assert isinstance(pair["cohen_kappa_char"]["claim"], float)
    assert result["per_document"][0] == {
        "id": "001",
        "annotators": ["alice", "bob"],
        "spans": 2,
        "span_f1_exact_mean": 0.0,
        "span_f1_overlap_mean": 1.0,
        "alpha_char_macro": pytest.approx(result["per_document"][0]["alpha_char_macro"]),
    }
    assert [item["id"] for item in result["per_document"]] == ["001", "000"]  # worst first
    interval = result["intervals"]["overall"]["span_f1_exact_mean"]
    assert interval[0] <= interval[1]


def test_the_metric_lists_name_every_figure_of_the_result() -> None:
    # Reports read the figures in these lists' order: one left out would not be shown.
    result = compute([record("000", alice=[Span(0, 17, "claim")], bob=[Span(0, 17, "claim")])])
    assert sorted(result["overall"]) == sorted(OVERALL_METRICS)
    assert sorted(set(result["labels"]["claim"]) - {"spans"}) == sorted(LABEL_METRICS)


def test_attribute_agreement_on_exact_matches_equals_sklearn() -> None:
    polarity = ["positive", "negative", "neutral", "negative", "positive"]
    other = ["positive", "negative", "negative", "negative", "neutral"]
    spans_a = [
        Span(i * 10, i * 10 + 5, "sentiment", {"polarity": p}) for i, p in enumerate(polarity)
    ]
    spans_b = [Span(i * 10, i * 10 + 5, "sentiment", {"polarity": p}) for i, p in enumerate(other)]
    spans_b.append(Span(55, 60, "sentiment", {"polarity": "positive"}))  # unmatched: not counted
    result = compute([record("a", alice=spans_a, bob=spans_b)], {"bootstrap_resamples": 0})
    entry = result["attributes"]["sentiment"]["polarity"]
    assert entry["matched"] == 5
    assert entry["agreement"] == pytest.approx(3 / 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cohen_kappa_score(polarity, other)
    assert entry["pairs"][0]["cohen_kappa"] == pytest.approx(expected, abs=1e-9)
    assert entry["cohen_kappa_mean"] == pytest.approx(expected, abs=1e-9)
    assert entry["values"] == ["negative", "neutral", "positive"]


def test_confusion_table_shows_label_swaps_and_misses() -> None:
    alice = [Span(0, 5, "source"), Span(6, 34, "claim"), Span(40, 50, "claim")]
    bob = [Span(0, 5, "claim"), Span(6, 30, "claim"), Span(52, 60, "sentiment")]
    result = compute([record("a", alice=alice, bob=bob)], {"bootstrap_resamples": 0})
    table = result["confusion"]
    index = {name: i for i, name in enumerate(table["labels"])}
    counts = table["counts"]
    assert table["labels"] == ["claim", "sentiment", "source", None]
    assert counts[index["claim"]][index["claim"]] == 2  # one M1' match, both directions
    assert counts[index["source"]][index["claim"]] == 1  # alice's source where bob said claim
    assert counts[index["claim"]][index["source"]] == 1
    assert counts[index["claim"]][index[None]] == 1  # alice's (40, 50) claim, bob nothing
    assert counts[index["sentiment"]][index[None]] == 1
    assert counts == [list(row) for row in zip(*counts, strict=True)]  # symmetric


def test_per_document_limit_keeps_the_worst() -> None:
    records = [
        record(str(i), alice=[Span(0, 10, "claim")], bob=[Span(0, 10 - i, "claim")])
        for i in range(5)
    ]
    result = compute(records, {"per_document_limit": 2, "bootstrap_resamples": 0})
    assert [item["id"] for item in result["per_document"]] == ["4", "3"]


def test_label_and_annotator_filters() -> None:
    records = [
        record(
            "a",
            alice=[Span(0, 5, "claim"), Span(6, 9, "source")],
            bob=[Span(0, 5, "claim")],
            carol=[Span(1, 5, "claim")],
        )
    ]
    result = compute(
        records, {"labels": ["claim"], "annotators": ["alice", "bob"], "bootstrap_resamples": 0}
    )
    assert result["label_names"] == ["claim"]
    assert result["annotators"] == ["alice", "bob"]
    assert result["overall"]["span_f1_exact_mean"] == 1.0


@pytest.mark.parametrize(
    "params",
    [
        {"bootstrap_resamples": -1},
        {"bootstrap_resamples": "many"},
        {"labels": "claim"},
        {"confidence": 1.5},
        {"per_document_limit": 0},
        {"colour": "red"},
    ],
)
def test_bad_parameters_say_what_is_wrong(params: dict) -> None:
    with pytest.raises(ParameterError):
        compute([], params)


def test_seed_fixture_round_trips_through_the_interchange_reader(tmp_path: Path) -> None:
    line = json.dumps(
        {
            "id": "000",
            "text": TEXT,
            "annotations": {
                "alice": [{"start": 0, "end": 5, "label": "source", "attrs": {"kind": "person"}}],
                "bob": [{"start": 0, "end": 5, "label": "source", "attrs": {"kind": "media"}}],
            },
        }
    )
    records = [item for _, item in iter_records([line])]
    result = compute(records, {"bootstrap_resamples": 0})
    assert result["attributes"]["source"]["kind"]["agreement"] == 0.0


def test_importing_the_package_does_not_load_django() -> None:
    code = (
        "import sys, annotations.agreement, annotations.agreement.bootstrap; "
        "assert 'django' not in sys.modules, sorted(m for m in sys.modules if 'django' in m)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
