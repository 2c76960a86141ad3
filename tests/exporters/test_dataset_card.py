from __future__ import annotations

import pytest

from annotations.exporters.base import ExportOptions
from annotations.exporters.dataset_card import demote_headings, metric_text
from tests.exporters.conftest import Export, make_card

AGREEMENT = {
    "documents": 2,
    "annotators": ["alice", "bob"],
    "overall": {
        "alpha_char_macro": {"value": 0.7123, "ci": [0.65, 0.77]},
        "span_f1_exact_mean": 0.5,
    },
    "labels": {"claim": {"alpha_char": None, "span_f1_exact_mean": 0.6}},
    "pairs": [{"a": "alice", "b": "bob", "span_f1_exact": 0.5, "span_f1_overlap": 0.8}],
    "intervals": {"overall": {"span_f1_exact_mean": [0.4, 0.6]}},
}


def test_card_holds_schema_counts_annotators_agreement_guidelines_and_version(
    export: Export,
) -> None:
    card = make_card(agreement=AGREEMENT)
    archive, _ = export("jsonl", card=card)
    text = archive.read("README.md").decode()
    assert "# Panjshir" in text
    assert "| claim | span | A statement asserted as fact |" in text
    assert "kind: person, organisation, media, anonymous" in text
    assert "| documents | 2 | 2 | 2 | 1 |" in text  # gold, alice, bob, carol
    assert "| `claim` spans | 6 | 3 | 2 | 0 |" in text
    assert "| `attributed_to` relations | 2 | 2 | 1 | 0 |" in text
    assert "- carol: 1 document in this export" in text
    assert "0.712 (95% CI 0.650–0.770)" in text
    assert "0.500 (95% CI 0.400–0.600)" in text
    assert "| alice | bob | 0.500 | 0.800 |" in text
    assert "### Claims\n\nMark every claim." in text
    assert "workbench 0.1.0 on 2026-11-22T12:00:00+00:00" in text


def test_card_says_when_no_agreement_run_has_finished(export: Export) -> None:
    archive, _ = export("jsonl")
    assert "No agreement run has finished" in archive.read("README.md").decode()


# spaCy and Parquet compress their contents, so a byte search would prove nothing there;
# pseudonyms are applied before any format sees a record.
@pytest.mark.parametrize("format", ["jsonl", "conll", "brat", "xmi"])
def test_pseudonymised_exports_name_no_annotator_anywhere(export: Export, format: str) -> None:
    card = make_card(agreement=AGREEMENT)
    archive, _ = export(format, ExportOptions(pseudonymise=True), card=card)
    for name in archive.namelist():
        assert "alice" not in name
        assert "bob" not in name
        data = archive.read(name)
        for username in (b"alice", b"bob", b"carol"):
            assert username not in data, name
    text = archive.read("README.md").decode()
    assert "| annotator_01 | annotator_02 | 0.500 | 0.800 |" in text


def test_undefined_metrics_say_why() -> None:
    assert metric_text({"value": None, "reason": "no variation"}) == "undefined (no variation)"
    assert metric_text(0.25, {"low": 0.1, "high": 0.4}) == "0.250 (95% CI 0.100–0.400)"


def test_guideline_headings_nest_under_the_card_but_code_stays() -> None:
    assert demote_headings("# A\n```\n# shell\n```\n## B") == "### A\n```\n# shell\n```\n#### B"
