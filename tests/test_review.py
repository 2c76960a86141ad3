"""Grouping the annotators' spans into adjudication candidates (no database)."""

from __future__ import annotations

import subprocess
import sys

from annotations.interchange import DocumentRecord, Relation, Span
from annotations.review import (
    ATTRIBUTES,
    BOUNDARY,
    LABEL,
    LINK,
    PARTIAL,
    agreement_level,
    majority,
    review_candidates,
    review_record,
)

TEXT = "Saleh said he is in Panjshir. TASS said he left."
SALEH, CLAIM, TASS, LEFT = (0, 5), (11, 28), (30, 34), (40, 47)


def span(bounds: tuple[int, int], label: str, **attrs: str) -> Span:
    return Span(start=bounds[0], end=bounds[1], label=label, attrs=attrs)


def by_key(review):
    return {candidate.key: candidate for candidate in review.candidates}


def test_a_span_everyone_marked_alike_is_agreed():
    review = review_candidates(
        {"alice": [span(CLAIM, "claim")], "bob": [span(CLAIM, "claim")]}, text=TEXT
    )

    (candidate,) = review.candidates
    assert candidate.quote == "he is in Panjshir"
    assert (candidate.votes, candidate.voters) == (2, 2)
    assert candidate.issues == ()
    assert set(candidate.marks) == {"alice", "bob"}
    assert (review.agreed, review.disagreements) == (1, 0)


def test_a_span_only_some_marked_is_partial_and_an_empty_layer_counts():
    review = review_candidates({"alice": [span(CLAIM, "claim")], "bob": [], "carol": []})

    (candidate,) = review.candidates
    assert candidate.issues == (PARTIAL,)
    assert (candidate.votes, candidate.voters) == (1, 3)
    assert review.disagreements == 1


def test_same_offsets_with_another_label_is_a_label_disagreement_on_both():
    review = review_candidates(
        {"alice": [span(TASS, "source", kind="media")], "bob": [span(TASS, "claim")]}
    )

    source, claim = by_key(review)[(*TASS, "source")], by_key(review)[(*TASS, "claim")]
    assert source.issues == (PARTIAL, LABEL)
    assert claim.issues == (PARTIAL, LABEL)
    assert source.other_labels == ("claim",)
    assert claim.other_labels == ("source",)


def test_two_labels_on_the_same_words_by_everyone_is_no_label_disagreement():
    both = [span(CLAIM, "claim"), span(CLAIM, "sentiment", polarity="neutral")]

    review = review_candidates({"alice": both, "bob": list(both)})

    assert [candidate.issues for candidate in review.candidates] == [(), ()]
    assert by_key(review)[(*CLAIM, "claim")].other_labels == ("sentiment",)


def test_overlapping_spans_of_one_label_with_other_boundaries_disagree():
    longer = (CLAIM[0] - 3, CLAIM[1])  # "he " -> "id he is in Panjshir"
    review = review_candidates(
        {"alice": [span(CLAIM, "claim")], "bob": [span(longer, "claim")]}, text=TEXT
    )

    first, second = review.candidates
    assert (first.start, first.end) == longer  # reading order: the earlier start first
    assert BOUNDARY in first.issues
    assert BOUNDARY in second.issues
    assert second.rivals == (longer,)


def test_a_nested_span_everyone_marked_is_no_boundary_disagreement():
    inner = (CLAIM[0] + 9, CLAIM[1])  # "Panjshir"
    spans = [span(CLAIM, "claim"), span(inner, "claim")]

    review = review_candidates({"alice": spans, "bob": list(spans)})

    assert [candidate.issues for candidate in review.candidates] == [(), ()]
    assert review.candidates[0].rivals == (inner,)


def test_other_attributes_are_a_disagreement_and_the_most_common_come_first():
    review = review_candidates(
        {
            "alice": [span(SALEH, "source", kind="person")],
            "bob": [span(SALEH, "source", kind="media")],
            "carol": [span(SALEH, "source", kind="person")],
        }
    )

    (candidate,) = review.candidates
    assert candidate.issues == (ATTRIBUTES,)
    assert [dict(v.attrs) for v in candidate.variants] == [{"kind": "person"}, {"kind": "media"}]
    assert candidate.variants[0].annotators == ("alice", "carol")
    assert candidate.marks["bob"] == {"kind": "media"}


def test_attribute_ties_go_to_the_first_in_sorted_order_as_the_vote_does():
    review = review_candidates(
        {
            "alice": [span(SALEH, "source", kind="person")],
            "bob": [span(SALEH, "source", kind="media")],
        }
    )

    assert [dict(v.attrs) for v in review.candidates[0].variants] == [
        {"kind": "media"},
        {"kind": "person"},
    ]


def test_open_layers_are_listed_but_do_not_vote_or_disagree():
    review = review_candidates(
        {
            "alice": [span(CLAIM, "claim")],
            "bob": [span(CLAIM, "claim")],
            "carol": [span(LEFT, "claim")],
        },
        pending={"carol"},
    )

    claim, left = review.candidates
    assert review.annotators == ["alice", "bob", "carol"]
    assert review.counted == ["alice", "bob"]
    assert (claim.votes, claim.voters, claim.issues) == (2, 2, ())
    assert (left.votes, left.marks) == (0, {"carol": {}})
    assert left.issues == ()


def test_an_open_layer_s_rival_boundaries_disagree_with_nobody():
    longer = (CLAIM[0] - 3, CLAIM[1])
    review = review_candidates(
        {
            "alice": [span(CLAIM, "claim")],
            "bob": [span(CLAIM, "claim")],
            "carol": [span(longer, "claim")],
        },
        pending={"carol"},
    )

    assert [(c.start, c.votes, c.issues) for c in review.candidates] == [
        (longer[0], 0, ()),
        (CLAIM[0], 2, ()),
    ]
    assert review.candidates[1].rivals == (longer,)


def test_links_are_grouped_by_type_and_ends_and_partial_when_some_drew_them():
    link = [Relation(type="attributed_to", head=0, tail=1)]
    spans = [span(CLAIM, "claim"), span(SALEH, "source", kind="person")]

    review = review_candidates(
        {"alice": spans, "bob": list(reversed(spans)), "carol": spans},
        {"alice": link, "bob": [Relation(type="attributed_to", head=1, tail=0)]},
        gold=[span(CLAIM, "claim"), span(SALEH, "source")],
        gold_relations=link,
    )

    (found,) = review.links
    assert (found.type, found.head.key, found.tail.key) == (
        "attributed_to",
        (*CLAIM, "claim"),
        (*SALEH, "source"),
    )
    assert found.annotators == ("alice", "bob")
    assert (found.votes, found.voters, found.issues) == (2, 3, (PARTIAL,))
    assert found.in_gold
    assert review.disagreements == 1


def test_gold_marks_the_candidates_it_holds_with_its_attributes():
    review = review_candidates(
        {"alice": [span(SALEH, "source", kind="media")], "bob": [span(TASS, "source")]},
        gold=[span(SALEH, "source", kind="person")],
    )

    saleh, tass = review.candidates
    assert saleh.in_gold
    assert saleh.gold_attrs == {"kind": "person"}
    assert not tass.in_gold


def test_candidates_read_in_text_order_longer_first_and_quote_code_points():
    text = "Kabul 😀 reported calm 🇦🇫 today."
    calm = (text.index("calm"), text.index("calm") + 4)
    record = DocumentRecord(
        id="x",
        text=text,
        annotations={
            "alice": [
                span(calm, "claim"),
                span((0, len(text) - 1), "claim"),
                span((0, 5), "source"),
            ]
        },
    )

    review = review_record(record)

    assert [(c.start, c.end, c.label) for c in review.candidates] == [
        (0, len(text) - 1, "claim"),
        (0, 5, "source"),
        (*calm, "claim"),
    ]
    assert review.candidates[2].quote == "calm"


def test_the_grouping_module_does_not_import_django():
    code = "import sys, annotations.review; print('django' in sys.modules)"

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


def test_a_majority_is_more_than_half_of_the_voters():
    assert [majority(voters) for voters in (1, 2, 3, 4, 5)] == [1, 2, 2, 3, 3]


def test_agreement_says_whether_all_some_or_one_of_the_counted_annotators_marked_it():
    link = [Relation(type="attributed_to", head=0, tail=1)]
    review = review_candidates(
        {
            "alice": [span(CLAIM, "claim"), span(SALEH, "source"), span(TASS, "source")],
            "bob": [span(CLAIM, "claim"), span(SALEH, "source")],
            "carol": [span(CLAIM, "claim"), span(LEFT, "claim")],
            "dan": [span(TASS, "claim")],
        },
        {"alice": link, "bob": link},
        pending={"dan"},
    )

    levels = {(c.start, c.label): c.agreement for c in review.candidates}
    assert levels == {
        (SALEH[0], "source"): "some",
        (CLAIM[0], "claim"): "all",
        (TASS[0], "source"): "one",
        (TASS[0], "claim"): "none",  # only dan, whose layer is still open, marked it
        (LEFT[0], "claim"): "one",
    }
    assert [found.agreement for found in review.links] == ["some"]


def test_a_lone_counted_annotator_backs_up_nobody():
    assert [agreement_level(1, 1), agreement_level(2, 2), agreement_level(0, 1)] == [
        "one",
        "all",
        "none",
    ]


def linked(bounds: tuple[int, int], entry: str | None, stance: str = "", **attrs: str) -> Span:
    return Span(bounds[0], bounds[1], "claim", attrs, entry, stance)


def test_different_entries_or_stances_are_link_variants_not_attribute_ones():
    review = review_candidates(
        {
            "alice": [linked(CLAIM, "stays", "asserts")],
            "bob": [linked(CLAIM, "stays", "asserts")],
            "carol": [linked(CLAIM, "fled", "denies")],
        }
    )

    (candidate,) = review.candidates
    assert candidate.issues == (LINK,)
    assert [(v.entry, v.stance, v.annotators) for v in candidate.variants] == [
        ("stays", "asserts", ("alice", "bob")),
        ("fled", "denies", ("carol",)),
    ]
    assert candidate.links == {
        "alice": ("stays", "asserts"),
        "bob": ("stays", "asserts"),
        "carol": ("fled", "denies"),
    }


def test_a_stance_alone_makes_a_variant_and_attributes_stay_their_own_issue():
    review = review_candidates(
        {
            "alice": [linked(CLAIM, "stays", "asserts", tone="calm")],
            "bob": [linked(CLAIM, "stays", "reports", tone="calm")],
        }
    )
    (candidate,) = review.candidates
    assert candidate.issues == (LINK,)
    assert len(candidate.variants) == 2

    review = review_candidates(
        {"alice": [linked(CLAIM, "stays", tone="calm")], "bob": [linked(CLAIM, "stays", tone="x")]}
    )
    assert review.candidates[0].issues == (ATTRIBUTES,)


def test_gold_link_of_a_candidate_is_known():
    record = DocumentRecord(
        id="d",
        text=TEXT,
        annotations={"alice": [linked(CLAIM, "stays", "asserts")]},
        gold_state="in_progress",
        gold=[linked(CLAIM, "fled", "denies")],
    )
    (candidate,) = review_record(record).candidates
    assert candidate.in_gold
    assert candidate.gold_link == ("fled", "denies")
