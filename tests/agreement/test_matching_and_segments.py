"""The building blocks against brute force: unions and overlaps, exact and maximum matchings."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.agreement.segments import covered_length, merge_intervals, overlap_length
from annotations.agreement.span_f1 import exact_matching, f1_value, overlap_matching
from tests.agreement.reference import max_matching

intervals = st.lists(
    st.tuples(st.integers(0, 40), st.integers(1, 15)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=12,
)


def characters(items: list[tuple[int, int]]) -> set[int]:
    return {position for start, end in items for position in range(start, end)}


@given(intervals, intervals)
def test_union_and_overlap_lengths_equal_character_counts(
    first: list[tuple[int, int]], second: list[tuple[int, int]]
) -> None:
    union_a, union_b = merge_intervals(first), merge_intervals(second)
    assert covered_length(union_a) == len(characters(first))
    assert overlap_length(union_a, union_b) == len(characters(first) & characters(second))
    # Disjoint, sorted, and touching stretches joined.
    assert all(end < next_start for (_, end), (next_start, _) in pairwise(union_a))


def refs(items: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Sorted by start, with the position in the sorted list as third element."""
    ordered = sorted(items)
    return [(start, end, position) for position, (start, end) in enumerate(ordered)]


@settings(max_examples=500)
@given(intervals, intervals)
def test_greedy_overlap_matching_is_maximum(
    first: list[tuple[int, int]], second: list[tuple[int, int]]
) -> None:
    a, b = refs(first), refs(second)
    matched, alone_a, alone_b = overlap_matching(a, b)
    # Items are unique (their third element is the position in the input).
    pairs = [(x[2], y[2]) for x, y in matched]
    assert sorted([*(i for i, _ in pairs), *(x[2] for x in alone_a)]) == list(range(len(a)))
    assert sorted([*(j for _, j in pairs), *(y[2] for y in alone_b)]) == list(range(len(b)))
    edges = {
        (i, j)
        for i, (sa, ea, _) in enumerate(a)
        for j, (sb, eb, _) in enumerate(b)
        if sa < eb and sb < ea
    }
    assert len(pairs) == max_matching(len(a), len(b), edges)
    assert all(pair in edges for pair in pairs)
    assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)


@given(intervals, intervals)
def test_exact_matching_is_the_multiset_intersection(
    first: list[tuple[int, int]], second: list[tuple[int, int]]
) -> None:
    a, b = refs(first), refs(second)
    pairs = exact_matching(a, b)
    assert len(pairs) == sum((Counter(first) & Counter(second)).values())
    assert all(a[i][:2] == b[j][:2] for i, j in pairs)


def test_f1_is_one_when_both_sides_are_empty() -> None:
    assert f1_value(0, 0, 0) == 1.0
    assert f1_value(1, 2, 2) == 0.5
    assert f1_value(0, 3, 0) == 0.0
