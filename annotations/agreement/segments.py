"""Character coverage from span edges: the boundary sweep behind M2, M3 and M4.

The character-level measures look at one label at a time. For an annotator, each
character of a document is 1 if one of their spans of that label covers it, else 0.
Between two consecutive span edges nothing changes, so the text falls into constant
stretches, and every sum the measures need is a sum of stretch lengths:

- ``c_a``: how many characters annotator ``a`` covers (the length of the union of
  ``a``'s spans; nested, overlapping and touching spans count each character once);
- ``x_ab``: how many characters both ``a`` and ``b`` cover (the length of the
  intersection of the two unions).

From these two, per document, follow the 2 x 2 table of Cohen's kappa, the value counts
of Krippendorff's coincidence matrix and Fleiss' category counts (see ``alpha.py`` and
``kappa.py``): for a document annotated by ``m`` annotators, summing over its characters,
``sum n1 = sum_a c_a`` and ``sum n1 (n1 - 1) = 2 sum_{a<b} x_ab``, where ``n1`` is the number
of annotators who cover the character. The cost is that of sorting the spans; no array
ever has one entry per character.

Checked against per-character vectors built in the tests (``tests/agreement``). A run
computes the same unions and overlaps for many documents at once (``batch.py``); the tests
hold that against these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Interval = tuple[int, int]


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of half-open intervals as sorted, disjoint, non-touching intervals."""
    ordered = sorted(intervals)
    if not ordered:
        return []
    merged: list[Interval] = []
    current_start, current_end = ordered[0]
    for start, end in ordered[1:]:
        if start <= current_end:
            if end > current_end:
                current_end = end
        else:
            merged.append((current_start, current_end))
            current_start, current_end = start, end
    merged.append((current_start, current_end))
    return merged


def covered_length(merged: Sequence[Interval]) -> int:
    """Characters covered by a union from ``merge_intervals``."""
    return sum(end - start for start, end in merged)


def overlap_length(first: Sequence[Interval], second: Sequence[Interval]) -> int:
    """Characters covered by both of two unions from ``merge_intervals``.

    A two-pointer sweep over the edges of both: linear in the number of intervals.
    """
    total = 0
    i = j = 0
    len_first, len_second = len(first), len(second)
    while i < len_first and j < len_second:
        start_a, end_a = first[i]
        start_b, end_b = second[j]
        low = start_a if start_a > start_b else start_b
        high = end_a if end_a < end_b else end_b
        if high > low:
            total += high - low
        if end_a < end_b:
            i += 1
        else:
            j += 1
    return total
