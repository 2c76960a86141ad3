"""Every measure against the reference libraries, to 1e-9, in the same run.

M2 against ``krippendorff.alpha``, M3 against ``sklearn.metrics.cohen_kappa_score``, M4
against ``statsmodels``' ``fleiss_kappa``, all on per-character vectors built here; M1,
M1' and M5 against brute force. Undefined on our side must be undefined (nan, or an
error) on theirs, and the other way round.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.agreement import compute
from annotations.interchange import DocumentRecord, Relation, Span
from tests.agreement import reference

TOLERANCE = 1e-9


def assert_same(ours: float | None, theirs: float | None, what: str) -> None:
    if theirs is None:
        assert ours is None, f"{what}: ours {ours}, reference undefined"
    else:
        assert ours is not None, f"{what}: ours undefined, reference {theirs}"
        assert abs(ours - theirs) <= TOLERANCE, f"{what}: ours {ours}, reference {theirs}"


def check_against_references(records: list[DocumentRecord]) -> dict[str, Any]:
    result = compute(records, {"bootstrap_resamples": 0})
    names = reference.annotators_of(records)
    assert result["annotators"] == names
    assert result["documents"] == len(reference.measured(records))
    labels = result["label_names"]
    for label in labels:
        entry = result["labels"][label]
        assert_same(
            entry["alpha_char"], reference.reference_alpha(records, label), f"alpha {label}"
        )
        assert_same(
            entry["fleiss_kappa_char"],
            reference.reference_fleiss(records, label),
            f"fleiss {label}",
        )
        if entry["alpha_char"] is None:
            assert entry["alpha_char_reason"]
    for pair in result["pairs"]:
        a, b = pair["a"], pair["b"]
        for label in labels:
            assert_same(
                pair["cohen_kappa_char"][label],
                reference.reference_cohen(records, a, b, label),
                f"cohen {a}/{b} {label}",
            )
            assert_same(
                pair["span_f1_exact_by_label"][label],
                reference.brute_f1(records, a, b, label, overlap=False),
                f"exact F1 {a}/{b} {label}",
            )
            assert_same(
                pair["span_f1_overlap_by_label"][label],
                reference.brute_f1(records, a, b, label, overlap=True),
                f"overlap F1 {a}/{b} {label}",
            )
        assert_same(
            pair["span_f1_exact"],
            reference.brute_f1(records, a, b, None, overlap=False),
            f"exact F1 {a}/{b}",
        )
        assert_same(
            pair["span_f1_overlap"],
            reference.brute_f1(records, a, b, None, overlap=True),
            f"overlap F1 {a}/{b}",
        )
        assert_same(
            pair["relation_f1"], reference.brute_relation_f1(records, a, b), f"relation F1 {a}/{b}"
        )
    return result


def doc(doc_id: str, text: str, **annotations: list[tuple[int, int, str]]) -> DocumentRecord:
    return DocumentRecord(
        id=doc_id,
        text=text,
        annotations={
            name: [Span(start, end, label) for start, end, label in spans]
            for name, spans in annotations.items()
        },
    )


TEXT = "Saleh said he is still in Panjshir, a source in Kabul told TASS."


def test_perfect_agreement_gives_one_everywhere() -> None:
    spans = [(0, 5, "source"), (6, 34, "claim"), (36, 53, "source")]
    records = [doc("a", TEXT, alice=spans, bob=spans, carol=spans)]
    result = check_against_references(records)
    assert result["overall"]["alpha_char_macro"] == 1.0
    assert result["overall"]["span_f1_exact_mean"] == 1.0
    assert result["overall"]["fleiss_kappa_char_macro"] == 1.0
    assert result["labels"]["claim"]["cohen_kappa_char_mean"] == 1.0


def test_total_disagreement_is_below_zero() -> None:
    records = [
        doc("a", TEXT, alice=[(0, 30, "claim")], bob=[(30, 60, "claim")]),
        doc("b", TEXT, alice=[(30, 60, "claim")], bob=[(0, 30, "claim")]),
    ]
    result = check_against_references(records)
    assert result["labels"]["claim"]["alpha_char"] < 0
    assert result["overall"]["span_f1_exact_mean"] == 0.0
    assert result["overall"]["span_f1_overlap_mean"] == 0.0


def test_annotator_missing_from_some_documents() -> None:
    records = [
        doc("a", TEXT, alice=[(0, 5, "source")], bob=[(0, 6, "source")], carol=[(0, 5, "source")]),
        doc("b", TEXT, alice=[(6, 34, "claim")], bob=[(6, 30, "claim")]),
        doc("c", TEXT, bob=[(36, 53, "source")], carol=[(36, 53, "source")]),
        doc("d", TEXT, carol=[(0, 10, "claim")]),  # one annotator: not measured
    ]
    result = check_against_references(records)
    assert result["documents"] == 3
    assert result["documents_skipped"] == 1
    pairs = {(p["a"], p["b"]): p for p in result["pairs"]}
    assert pairs["alice", "carol"]["documents"] == 1


def test_annotator_with_an_empty_layer_counts_as_zeros() -> None:
    records = [
        doc("a", TEXT, alice=[(0, 5, "source"), (6, 34, "claim")], bob=[]),
        doc("b", TEXT, alice=[(6, 34, "claim")], bob=[(6, 34, "claim")]),
    ]
    result = check_against_references(records)
    assert result["pairs"][0]["span_f1_exact"] == pytest.approx(2 * 1 / 4)


def test_nested_and_overlapping_spans_of_one_annotator() -> None:
    records = [
        doc(
            "a",
            TEXT,
            alice=[(0, 34, "claim"), (6, 20, "claim"), (10, 40, "claim"), (0, 5, "source")],
            bob=[(6, 34, "claim"), (6, 34, "claim"), (0, 5, "source"), (2, 8, "source")],
            carol=[(0, 60, "claim"), (30, 35, "claim")],
        )
    ]
    check_against_references(records)


def test_touching_spans_do_not_overlap() -> None:
    records = [doc("a", TEXT, alice=[(0, 10, "claim")], bob=[(10, 20, "claim")])]
    result = check_against_references(records)
    assert result["pairs"][0]["span_f1_overlap"] == 0.0
    # Touching spans of one annotator cover each character once.
    records = [doc("a", TEXT, alice=[(0, 10, "claim"), (10, 20, "claim")], bob=[(0, 20, "claim")])]
    result = check_against_references(records)
    assert result["labels"]["claim"]["alpha_char"] == 1.0


def test_emoji_and_right_to_left_text_count_code_points() -> None:
    text = "گزارش 🇦🇫 «صالح» said 👍🏽 «he is in Panjshir»"
    start = text.index("«صالح»")
    quote = text.index("«he")
    records = [
        doc(
            "fa",
            text,
            alice=[(start, start + 6, "source"), (quote, len(text), "claim")],
            bob=[(start + 1, start + 5, "source"), (quote, len(text) - 1, "claim")],
        ),
        doc("emoji", "🇦🇫🇦🇫 ok", alice=[(0, 2, "claim")], bob=[(2, 4, "claim"), (0, 1, "claim")]),
    ]
    check_against_references(records)


def test_no_variation_is_null_with_a_reason_never_zero_or_one() -> None:
    records = [doc("a", TEXT, alice=[], bob=[])]
    result = compute(records, {"labels": ["claim"], "bootstrap_resamples": 0})
    claim = result["labels"]["claim"]
    assert claim["alpha_char"] is None
    assert claim["alpha_char_reason"].startswith("no variation")
    assert claim["fleiss_kappa_char"] is None
    assert claim["cohen_kappa_char_mean"] is None
    assert "no variation" in claim["cohen_kappa_char_mean_reason"]
    assert result["overall"]["alpha_char_macro"] is None
    assert result["overall"]["alpha_char_macro_reason"]
    # Neither marked anything: span F1 is 1.0 by definition (docs/agreement.md).
    assert result["overall"]["span_f1_exact_mean"] == 1.0
    assert reference.reference_alpha(records, "claim") is None


def test_no_document_with_two_annotators() -> None:
    result = compute([doc("a", TEXT, alice=[(0, 5, "claim")])], {"bootstrap_resamples": 0})
    assert result["documents"] == 0
    assert result["documents_skipped"] == 1
    assert result["annotators"] == []
    assert result["overall"]["span_f1_exact_mean"] is None
    assert result["overall"]["span_f1_exact_mean_reason"]


def test_pair_that_shares_no_document_is_null() -> None:
    records = [
        doc("a", TEXT, alice=[(0, 5, "claim")], bob=[(0, 5, "claim")]),
        doc("b", TEXT, bob=[(0, 5, "claim")], carol=[(0, 6, "claim")]),
    ]
    result = check_against_references(records)
    pair = next(p for p in result["pairs"] if (p["a"], p["b"]) == ("alice", "carol"))
    assert pair["span_f1_exact"] is None
    assert pair["span_f1_exact_reason"].startswith("no shared document")
    assert pair["cohen_kappa_char"]["claim"] is None
    assert pair["cohen_kappa_char_reason"]["claim"]
    assert result["labels"]["claim"]["fleiss_kappa_char"] is None


def test_empty_text_documents_are_measured_but_add_no_characters() -> None:
    records = [
        doc("empty", "", alice=[], bob=[]),
        doc("a", TEXT, alice=[(0, 5, "claim")], bob=[(0, 7, "claim")]),
    ]
    result = check_against_references(records)
    assert result["documents"] == 2


def test_relations_match_when_both_ends_match_exactly() -> None:
    spans = [Span(0, 5, "source"), Span(6, 34, "claim"), Span(36, 53, "source")]
    record = DocumentRecord(
        id="r",
        text=TEXT,
        annotations={"alice": spans, "bob": list(reversed(spans)), "carol": spans[:2]},
        relations={
            "alice": [Relation("attributed_to", 1, 0), Relation("attributed_to", 1, 2)],
            "bob": [Relation("attributed_to", 1, 2)],  # (6, 34) -> (0, 5) in bob's order
            "carol": [Relation("attributed_to", 0, 1)],  # reversed direction: no match
        },
    )
    result = check_against_references([record])
    pairs = {(p["a"], p["b"]): p for p in result["pairs"]}
    assert pairs["alice", "bob"]["relation_f1"] == pytest.approx(2 / 3)
    assert pairs["alice", "carol"]["relation_f1"] == 0.0


# --- random cases ----------------------------------------------------------------------

NAMES = ["alice", "bob", "carol", "dan"]
LABELS = ["claim", "source", "sentiment"]


@st.composite
def records_strategy(draw: st.DrawFn) -> list[DocumentRecord]:
    records = []
    for number in range(draw(st.integers(1, 5))):
        length = draw(st.integers(0, 30))
        text = "".join(draw(st.lists(st.sampled_from("ab 🇦🇫صل"), min_size=length, max_size=length)))
        present = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4))
        annotations = {}
        relations = {}
        for name in present:
            spans = []
            if length:
                for _ in range(draw(st.integers(0, 6))):
                    start = draw(st.integers(0, length - 1))
                    end = draw(st.integers(start + 1, min(length, start + 12)))
                    spans.append(Span(start, end, draw(st.sampled_from(LABELS))))
            annotations[name] = spans
            if len(spans) >= 2:
                links = []
                for _ in range(draw(st.integers(0, 3))):
                    head, tail = draw(
                        st.lists(
                            st.integers(0, len(spans) - 1), min_size=2, max_size=2, unique=True
                        )
                    )
                    links.append(Relation("attributed_to", head, tail))
                if links:
                    relations[name] = links
        records.append(
            DocumentRecord(id=str(number), text=text, annotations=annotations, relations=relations)
        )
    return records


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_strategy())
def test_random_cases_equal_the_references(records: list[DocumentRecord]) -> None:
    check_against_references(records)


@settings(max_examples=60, deadline=None)
@given(records_strategy())
def test_random_cases_with_alpha_from_nltk(records: list[DocumentRecord]) -> None:
    """nltk's AnnotationTask is a second, independent alpha (slow: small cases only)."""
    from nltk.metrics.agreement import AnnotationTask

    result = compute(records, {"bootstrap_resamples": 0, "labels": ["claim"]})
    data = []
    for record in reference.measured(records):
        for name in record.annotations:
            values = reference.char_values(record, name, "claim")
            data.extend((name, f"{record.id}:{i}", value) for i, value in enumerate(values))
    ours = result["labels"]["claim"]["alpha_char"]
    if ours is None:
        return
    theirs = AnnotationTask(data=data).alpha()
    assert abs(ours - theirs) <= TOLERANCE
