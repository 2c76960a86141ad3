"""M1 exact span F1, M1' overlap span F1 and M5 relation F1, pairwise.

For two annotators ``a`` and ``b`` over the documents both annotated::

    F1(a, b) = 2 * matches / (|spans of a| + |spans of b|)      (micro: sums over documents)

and 1.0 when neither has a span (they agree that there is nothing to mark).

- M1, exact: a span of ``a`` matches a span of ``b`` when ``(start, end, label)`` are equal.
  The spans are multisets, so two identical spans of ``a`` need two in ``b``.
- M1', overlap: the labels are equal and the spans share at least one character
  (half-open, so touching spans ``[0, 5)`` and ``[5, 9)`` do not), each span matched at most
  once, and the number of matches is a *maximum* matching. For intervals a greedy pass is
  already maximum: take ``a``'s spans by decreasing start, give each the still free
  overlapping span of ``b`` that starts last (exchange argument in ``overlap_matching``;
  the tests check it against augmenting paths).
- M5, relations: a link matches when its type and both ends match exactly (M1's rule).

There is no reference library for span F1; the tests check these functions against brute
force on random cases. A run computes the same matchings for many documents at once
(``batch.py``); the tests hold that against these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from annotations.agreement.types import Number

# (start, end, index): a span of one label, with its position in the annotator's list.
SpanRef = tuple[int, int, int]
Item = TypeVar("Item", bound=tuple[Any, ...])


def f1_value(matches: Number, size_a: Number, size_b: Number) -> float:
    """``2 * matches / (size_a + size_b)``, and 1.0 when both sides are empty."""
    if size_a + size_b == 0:
        return 1.0
    return 2 * matches / (size_a + size_b)


def exact_matching(first: Sequence[SpanRef], second: Sequence[SpanRef]) -> list[tuple[int, int]]:
    """Pairs of positions ``(i, j)`` of spans with equal offsets, as a multiset matching.

    Both lists must be sorted by ``(start, end)``; equal spans pair up in list order.
    """
    pairs: list[tuple[int, int]] = []
    i = j = 0
    len_first, len_second = len(first), len(second)
    while i < len_first and j < len_second:
        start_a, end_a, _ = first[i]
        start_b, end_b, _ = second[j]
        if start_a == start_b and end_a == end_b:
            pairs.append((i, j))
            i += 1
            j += 1
        elif start_a < start_b or (start_a == start_b and end_a < end_b):
            i += 1
        else:
            j += 1
    return pairs


def overlap_matching(
    first: Sequence[Item], second: Sequence[Item]
) -> tuple[list[tuple[Item, Item]], list[Item], list[Item]]:
    """A maximum matching of overlapping spans: the matched pairs, then the spans left
    unmatched in ``first`` and in ``second``.

    Both lists hold ``(start, end, anything)`` sorted by start. The greedy pass takes
    ``first``'s spans by decreasing start and gives each the free overlapping span of
    ``second`` that starts last. Why that is maximum (mirror the text so that starts
    become ends): let ``x`` be the free span of ``first`` that starts last and ``y`` its
    overlapping free partner that starts last. Take any maximum matching that pairs ``x``
    with ``w`` and ``y`` with ``z``. Then ``z.end > y.start >= w.start`` and
    ``w.end > x.start >= z.start``, so ``z`` overlaps ``w``: swapping gives a maximum
    matching that contains ``(x, y)``. Induction does the rest. No sorting: the cost is
    that of the scan.
    """
    free = list(second)
    pairs: list[tuple[Item, Item]] = []
    alone: list[Item] = []
    for i in range(len(first) - 1, -1, -1):
        item_a = first[i]
        if not free:
            alone.append(item_a)
            continue
        start_a, end_a = item_a[0], item_a[1]
        for k in range(len(free) - 1, -1, -1):
            item_b = free[k]
            if item_b[0] < end_a and item_b[1] > start_a:
                pairs.append((item_a, item_b))
                del free[k]
                break
        else:
            alone.append(item_a)
    return pairs, alone, free
