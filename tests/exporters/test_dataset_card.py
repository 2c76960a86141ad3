from __future__ import annotations

from dataclasses import replace

import pytest

from annotations.agreement import compute
from annotations.exporters.base import ExportOptions, LabelInfo
from annotations.exporters.dataset_card import demote_headings, metric_text, schema_section
from annotations.interchange import DocumentRecord
from tests.exporters.conftest import Export, labelled_card, make_card


@pytest.fixture
def agreement(records: list) -> dict:
    """A real agreement result on the fixture records, with bootstrap intervals."""
    return compute(records, {"bootstrap_resamples": 50, "bootstrap_seed": 1})


def test_card_holds_schema_counts_annotators_agreement_guidelines_and_version(
    export: Export, agreement: dict
) -> None:
    card = make_card(agreement=agreement)
    archive, _ = export("jsonl", card=card)
    text = archive.read("README.md").decode()
    assert "# Panjshir" in text
    assert "### Span labels" in text
    assert "| claim | A statement asserted as fact |   | yes |" in text
    assert "kind: person, organisation, media, anonymous" in text
    assert "| documents | 2 | 2 | 2 | 1 |" in text  # gold, alice, bob, carol
    assert "| `claim` spans | 6 | 3 | 2 | 0 |" in text
    assert "| `attributed_to` relations | 2 | 2 | 1 | 0 |" in text
    assert "- carol: 1 document in this export" in text
    value = agreement["overall"]["alpha_char_macro"]
    low, high = agreement["intervals"]["overall"]["alpha_char_macro"]
    assert f"| alpha_char_macro | {value:.3f} (95% CI {low:.3f}–{high:.3f}) |" in text
    pair = agreement["pairs"][0]
    low, high = agreement["intervals"]["pairs"][0]["span_f1_overlap"]
    assert f"{pair['span_f1_overlap']:.3f} (95% CI {low:.3f}–{high:.3f})" in text
    assert "### Claims\n\nMark every claim." in text
    assert "workbench 0.1.0 on 2026-11-22T12:00:00+00:00" in text


def test_card_says_when_no_agreement_run_has_finished(export: Export) -> None:
    archive, _ = export("jsonl")
    assert "No agreement run has finished" in archive.read("README.md").decode()


# spaCy and Parquet compress their contents, so a byte search would prove nothing there;
# pseudonyms are applied before any format sees a record.
@pytest.mark.parametrize("format", ["jsonl", "conll", "brat", "xmi"])
def test_pseudonymised_exports_name_no_annotator_anywhere(
    export: Export, format: str, agreement: dict
) -> None:
    card = make_card(agreement=agreement)
    archive, _ = export(format, ExportOptions(pseudonymise=True), card=card)
    for name in archive.namelist():
        assert "alice" not in name
        assert "bob" not in name
        data = archive.read(name)
        for username in (b"alice", b"bob", b"carol"):
            assert username not in data, name
    text = archive.read("README.md").decode()
    assert "| annotator_01 | annotator_02 |" in text


def test_undefined_metrics_say_why() -> None:
    assert metric_text(None, None, "no variation") == "undefined (no variation)"
    assert metric_text(0.25, [0.1, 0.4], None, "90% CI") == "0.250 (90% CI 0.100–0.400)"


def test_guideline_headings_nest_under_the_card_but_code_stays() -> None:
    assert demote_headings("# A\n```\n# shell\n```\n## B") == "### A\n```\n# shell\n```\n#### B"


def test_the_schema_lists_attributes_relation_ends_and_document_label_choices() -> None:
    labels = [
        LabelInfo("claim", allow_overlap=False),
        LabelInfo("sentiment", attributes={"polarity": ["positive", "negative"]}),
        LabelInfo("attributed_to", kind="relation", head="claim", tail="source"),
        LabelInfo("related", kind="relation"),
        LabelInfo("stance", kind="document", choices=["for", "against", "neutral"]),
        LabelInfo("topics", kind="document", choices=["war", "aid"], multiple=True),
    ]

    text = "\n".join(schema_section(labels))

    assert "| claim |   |   | no |" in text
    assert "| sentiment |   | polarity: positive, negative | yes |" in text
    assert "### Relation types" in text
    assert "| attributed_to |   | claim | source |" in text
    assert "| related |   | any | any |" in text
    assert "### Document labels" in text
    assert "| stance |   | for, against, neutral | single |" in text
    assert "| topics |   | war, aid | multiple |" in text


def test_card_lists_document_labels_and_their_agreement(
    export: Export, labelled: list[DocumentRecord]
) -> None:
    schema = {
        "stance": {"multiple": False, "choices": ["supports", "refutes", "neutral"]},
        "topics": {"multiple": True, "choices": ["security", "politics"]},
    }
    agreement = compute(labelled, {"bootstrap_resamples": 0, "document_labels": schema})
    archive, _ = export(
        "jsonl",
        ExportOptions(pseudonymise=True),
        card=labelled_card(agreement=agreement),
        source=labelled,
    )
    text = archive.read("README.md").decode()

    assert "| stance |   | supports, refutes, neutral | single |" in text
    assert "| topics |   | security, politics | multiple |" in text
    assert "| document label | alpha | cohen_kappa_mean | documents |" in text
    assert "| topics=politics |" in text
    assert b"alice" not in archive.read("documents.jsonl")  # renamed in document_labels too


def test_card_counts_documents_per_gold_state(export: Export, gold_states) -> None:
    archive, _ = export("jsonl", source=gold_states)
    text = archive.read("README.md").decode()

    assert "- Gold: 1 final, 1 in progress, 1 not started" in text
    # The gold column counts only the two documents that have gold.
    assert "| documents | 2 | 3 | 2 |" in text
    assert "candidates still open" not in text


def test_card_says_how_much_final_gold_was_marked_final_with_candidates_open(
    export: Export, gold_states
) -> None:
    archive, _ = export("jsonl", card=make_card(final_with_open_candidates=1), source=gold_states)
    text = archive.read("README.md").decode()

    assert "- Of the project's final gold, 1 document(s) were marked final with candidates" in (
        text
    )


def test_card_lists_link_agreement_per_label_and_pair_with_pseudonyms(
    export: Export, records: list[DocumentRecord]
) -> None:
    linked = [
        replace(
            record,
            annotations={
                name: [
                    span._replace(entry="fled", stance="asserts") if span.label == "claim" else span
                    for span in spans
                ]
                for name, spans in record.annotations.items()
            },
        )
        for record in records
    ]
    links = {"claim": {"catalogue": "proposition", "stances": ["asserts", "denies"]}}
    agreement = compute(linked, {"bootstrap_resamples": 0, "links": links})
    archive, _ = export(
        "jsonl", ExportOptions(pseudonymise=True), card=make_card(agreement=agreement)
    )
    text = archive.read("README.md").decode()

    assert "Catalogue links" in text
    found = agreement["links"]["claim"]
    assert f"| claim | proposition | {found['linked']} of {found['spans']} |" in text
    assert "| claim | annotator_01 | annotator_02 |" in text
    assert "alice" not in text
