"""Span arithmetic for many documents at once, in numpy arrays.

Measured one document at a time, a run spends its time stepping through a few dozen
spans in Python, again for every annotator, pair and label. Here the spans of a batch of
documents sit in flat arrays, one entry per span (never one per character), and each step
is a few numpy operations over all of them:

- ``unions``: the union of each annotator's spans of a label, as sorted disjoint
  intervals (``segments.merge_intervals``), and the characters it covers (``c``);
- ``union_overlaps``: the characters two annotators both cover (``x``,
  ``segments.overlap_length``);
- ``exact_matches``: exact matches (M1, ``span_f1.exact_matching``);
- ``overlap_matches``: the greedy maximum matching of ``span_f1.overlap_matching`` (M1'),
  for every (document, label, pair) at once, and ``confusion_matches``: the same matching
  across labels, on the spans M1' leaves;
- ``link_matches``: relations matching exactly (M5).

Each returns what the one-document functions named above return, document by document;
the tests hold the results against them and against the reference libraries.
``documents.py`` turns the results into sums.

Offsets are non-negative (``interchange.py`` checks them), and a batch holds few enough
spans that ``spans x characters`` stays far below 2**63: keys such as ``group * width +
start`` are plain int64 numbers, sorted and searched by numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
from numpy.typing import NDArray

from annotations.interchange import Span

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]

_start = itemgetter(0)
_end = itemgetter(1)
_label = itemgetter(2)

_INT64_LIMIT = 2**63


def empty() -> Ints:
    return np.zeros(0, dtype=np.int64)


def order_by(*keys: tuple[Ints, int]) -> Ints:
    """The stable order of rows by non-negative integer columns, most significant first,
    each given with an exclusive upper bound.

    One argsort of the columns packed into an int64 when the bounds multiply below 2**63;
    ``np.lexsort`` (several times slower) otherwise.
    """
    total = 1
    for _, bound in keys:
        total *= max(bound, 1)
    if total < _INT64_LIMIT:
        packed = np.zeros(len(keys[0][0]), dtype=np.int64)
        for column, bound in keys:
            packed *= max(bound, 1)
            packed += column
        return np.argsort(packed, kind="stable")
    return np.lexsort([column for column, _ in reversed(keys)])


def ragged_ranges(begins: Ints, counts: Ints) -> tuple[Ints, Ints]:
    """For each ``i``, the integers ``begins[i], ..., begins[i] + counts[i] - 1``, all in one
    array, with the ``i`` each one came from."""
    owner = np.repeat(np.arange(len(counts)), counts)
    firsts = np.cumsum(counts) - counts
    return owner, np.repeat(begins - firsts, counts) + np.arange(len(owner))


def starts_of_runs(*columns: Ints) -> Bools:
    """True where a row differs from the previous one in any of ``columns`` (and first)."""
    size = len(columns[0])
    changed = np.zeros(size, dtype=np.bool_)
    if size:
        changed[0] = True
        for column in columns:
            changed[1:] |= column[1:] != column[:-1]
    return changed


def rank_in_runs(starts: Bools) -> Ints:
    """Per row, how many rows of its run come before it (``starts`` marks run starts)."""
    index = np.arange(len(starts))
    if not len(starts):
        return index
    return index - np.maximum.accumulate(np.where(starts, index, 0))


def run_ends(firsts: Ints, size: int) -> Ints:
    """Per run, given the first row of each run (of ``size`` rows), the row after its last."""
    return np.append(firsts[1:], size).astype(np.int64)[: len(firsts)]


def ends_of_runs(starts: Bools) -> Ints:
    """Per row, the index after the last row of its run."""
    run: Ints = np.cumsum(starts) - 1
    return run_ends(np.flatnonzero(starts), len(starts))[run]


def pairs_in_runs(order: Ints, starts: Bools, annotators: int) -> tuple[Ints, Ints]:
    """The pairs of rows in one run, when ``order`` lists runs of at most one row per
    annotator, sorted by annotator: ``(earlier annotator's row, later one's)``."""
    run = np.cumsum(starts)
    firsts: list[Ints] = [empty()]
    seconds: list[Ints] = [empty()]
    for step in range(1, annotators):
        same = np.flatnonzero(run[step:] == run[:-step])
        firsts.append(order[same])
        seconds.append(order[same + step])
    return np.concatenate(firsts), np.concatenate(seconds)


def pair_index(first: Ints, second: Ints, annotators: Ints) -> Ints:
    """Position of the pair ``(first, second)``, ``first < second``, among the pairs of
    ``annotators`` annotators in the order ``(0, 1), (0, 2), ..., (1, 2), ...``."""
    return first * annotators - first * (first + 1) // 2 + second - first - 1


@dataclass
class Batch:
    """The measured spans of some documents, sorted by document, annotator, label,
    start, end (equal spans in list order).

    ``spans`` lists every span of the batch, measured or not, by document, annotator and
    list position; ``source`` points into it. A *segment* is one annotator's list on one
    document; a *group* is a segment's spans of one label: the lists the one-document
    functions take. Documents, segments and pairs are numbered in batch order.
    """

    spans: list[Span]
    label_names: list[str]  # sorted: label ids sort as names do
    annotators: Ints  # per document
    first_segment: Ints  # per document
    first_pair: Ints  # per document
    segment_doc: Ints
    segment_pos: Ints  # the annotator's position in the document's sorted names
    segment_first_span: Ints  # index in ``spans``
    width: int  # exceeds every offset

    source: Ints
    doc: Ints
    pos: Ints
    label: Ints
    start: Ints
    end: Ints

    group: Ints  # per span
    group_begin: Ints  # per group: its first span
    group_end: Ints  # per group: after its last span
    group_key: Ints  # per group: segment * labels + label (ascending)

    @classmethod
    def build(cls, layers: list[list[list[Span]]], labels: frozenset[str] | None) -> Batch:
        """``layers[d][a]``: the spans of annotator ``a`` (in sorted name order) on
        document ``d``; only labels in ``labels`` (all when None) are measured."""
        spans: list[Span] = []
        sizes: list[int] = []
        for document in layers:
            for annotator_spans in document:
                spans += annotator_spans
                sizes.append(len(annotator_spans))
        count = len(spans)
        annotators = np.array([len(document) for document in layers], dtype=np.int64)
        first_segment = np.cumsum(annotators) - annotators
        pairs = annotators * (annotators - 1) // 2
        segment_doc = np.repeat(np.arange(len(layers)), annotators)
        segment_pos = np.arange(len(sizes)) - first_segment[segment_doc]
        segment_sizes = np.array(sizes, dtype=np.int64)
        segment = np.repeat(np.arange(len(sizes)), segment_sizes)

        names = list(map(_label, spans))
        label_names = sorted(set(names))
        if labels is not None:
            label_names = [name for name in label_names if name in labels]
        lookup = dict.fromkeys(names, -1)
        lookup.update((name, number) for number, name in enumerate(label_names))
        label = np.fromiter(map(lookup.__getitem__, names), dtype=np.int64, count=count)
        start = np.fromiter(map(_start, spans), dtype=np.int64, count=count)
        end = np.fromiter(map(_end, spans), dtype=np.int64, count=count)
        width = int(end.max()) + 1 if count else 1

        kept = np.flatnonzero(label >= 0)
        segment, label, start, end = segment[kept], label[kept], start[kept], end[kept]
        order = order_by(
            (segment, len(sizes)), (label, len(label_names)), (start, width), (end, width)
        )
        segment, label = segment[order], label[order]
        group_key = segment * len(label_names) + label
        new_group = starts_of_runs(group_key)
        group_begin = np.flatnonzero(new_group)
        return cls(
            spans=spans,
            label_names=label_names,
            annotators=annotators,
            first_segment=first_segment,
            first_pair=np.cumsum(pairs) - pairs,
            segment_doc=segment_doc,
            segment_pos=segment_pos,
            segment_first_span=np.cumsum(segment_sizes) - segment_sizes,
            width=width,
            source=kept[order],
            doc=segment_doc[segment],
            pos=segment_pos[segment],
            label=label,
            start=start[order],
            end=end[order],
            group=np.cumsum(new_group) - 1,
            group_begin=group_begin,
            group_end=run_ends(group_begin, len(order)),
            group_key=group_key[group_begin],
        )

    @property
    def pairs(self) -> int:
        return int((self.annotators * (self.annotators - 1) // 2).sum())

    @property
    def most_annotators(self) -> int:
        return int(self.annotators.max()) if len(self.annotators) else 1

    def pair_of(self, doc: Ints, first: Ints, second: Ints) -> Ints:
        """Batch number of the pair of annotators ``first < second`` of ``doc``."""
        return self.first_pair[doc] + pair_index(first, second, self.annotators[doc])

    def partner_group(self, doc: Ints, partner: Ints, label: Ints) -> Ints:
        """The group of annotator ``partner``'s spans of ``label`` in ``doc``; -1 if none."""
        key = (self.first_segment[doc] + partner) * len(self.label_names) + label
        found = np.searchsorted(self.group_key, key)
        last = len(self.group_key) - 1
        missing = (found > last) | (self.group_key[np.minimum(found, max(last, 0))] != key)
        found[missing] = -1
        return found

    def partner_instances(self, spans: Ints) -> tuple[Ints, Ints]:
        """Each of ``spans`` once per annotator after its own in the document:
        ``(position in spans, partner's position)``.

        Listed by distance to the partner first, so that for sorted ``spans`` the
        partners' groups come sorted too (``np.searchsorted`` is much faster on sorted
        queries)."""
        pos = self.pos[spans]
        after = self.annotators[self.doc[spans]] - 1 - pos
        owners = [empty()]
        partners = [empty()]
        for distance in range(1, self.most_annotators):
            owner = np.flatnonzero(after >= distance)
            owners.append(owner)
            partners.append(pos[owner] + distance)
        return np.concatenate(owners), np.concatenate(partners)


@dataclass
class Unions:
    """Per group, the union of its spans as sorted disjoint intervals (touching spans
    join, as in ``segments.merge_intervals``) and the characters it covers."""

    start: Ints
    end: Ints
    first_span: Ints  # per interval: its first span (for document, annotator, label)
    group_first: Ints  # per group: its first interval
    cumulative: Ints  # per interval: covered length of the intervals before it
    covered: Ints  # per group


def unions(batch: Batch) -> Unions:
    # Shifting each group by its own multiple of ``width`` keeps groups apart, so one
    # running maximum over the whole batch gives every group's union.
    shift = batch.group * batch.width
    end = batch.end + shift
    reach = np.maximum.accumulate(end) if len(end) else end
    new_interval = np.ones(len(end), dtype=np.bool_)
    new_interval[1:] = batch.start[1:] + shift[1:] > reach[:-1]
    first = np.flatnonzero(new_interval)
    last = run_ends(first, len(end)) - 1
    start = batch.start[first]
    stop = reach[last] - shift[first]
    lengths = stop - start
    group_first = np.flatnonzero(starts_of_runs(batch.group[first]))
    covered = np.add.reduceat(lengths, group_first) if len(first) else lengths
    return Unions(
        start=start,
        end=stop,
        first_span=first,
        group_first=group_first,
        cumulative=np.cumsum(lengths) - lengths,
        covered=covered,
    )


def _covered_before(batch: Batch, found: Unions, group: Ints, position: Ints) -> Ints:
    """How many characters before ``position`` the union of ``group`` covers."""
    keys = batch.group[found.first_span] * batch.width + found.start
    after = np.searchsorted(keys, group * batch.width + position)
    first = found.group_first[group]
    last = np.maximum(after - 1, 0)
    inside = np.minimum(position, found.end[last]) - found.start[last]
    value = found.cumulative[last] - found.cumulative[first] + inside
    return np.where(after > first, value, 0)


def union_overlaps(batch: Batch, found: Unions) -> tuple[Ints, Ints, Ints]:
    """Characters covered by both annotators of each (document, label, pair): an
    interval of the earlier annotator overlaps the later one's union by the characters
    that union covers before the interval's end, minus those before its start. Returns
    ``(a span of the earlier annotator's group, later annotator's position, characters)``
    per interval and partner."""
    interval, partner = batch.partner_instances(found.first_span)
    span = found.first_span[interval]
    other = batch.partner_group(batch.doc[span], partner, batch.label[span])
    present = np.flatnonzero(other >= 0)
    interval, partner, span, other = (
        interval[present],
        partner[present],
        span[present],
        other[present],
    )
    both = _covered_before(batch, found, other, found.end[interval]) - _covered_before(
        batch, found, other, found.start[interval]
    )
    return span, partner, both


@dataclass
class ExactMatches:
    """M1: pairs ``(x, y)`` of spans of an earlier and a later annotator with equal
    offsets and label; ``offsets`` numbers each span's (document, label, start, end)."""

    x: Ints
    y: Ints
    offsets: Ints


def exact_matches(batch: Batch) -> ExactMatches:
    """The k-th span with given offsets in one annotator's list pairs with the k-th with
    the same offsets in the other's: the multiset matching of ``span_f1.exact_matching``."""
    rank = rank_in_runs(starts_of_runs(batch.group, batch.start, batch.end))
    order = order_by(
        (batch.doc, len(batch.annotators)),
        (batch.label, len(batch.label_names)),
        (batch.start, batch.width),
        (batch.end, batch.width),
        (rank, int(rank.max()) + 1 if len(rank) else 1),
        (batch.pos, batch.most_annotators),
    )
    same_offsets = starts_of_runs(
        batch.doc[order], batch.label[order], batch.start[order], batch.end[order]
    )
    offsets = np.empty(len(order), dtype=np.int64)
    offsets[order] = np.cumsum(same_offsets) - 1
    x, y = pairs_in_runs(order, same_offsets | starts_of_runs(rank[order]), batch.most_annotators)
    return ExactMatches(x, y, offsets)


def link_matches(keys: Sequence[tuple[Ints, int]], pos: Ints, annotators: int) -> tuple[Ints, Ints]:
    """Pairs ``(x, y)`` of items of an earlier and a later annotator with equal ``keys``,
    as multisets (the k-th of one with the k-th of the other): M5's exact matches."""
    order = order_by(*keys, (pos, annotators))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = rank_in_runs(starts_of_runs(*(key[order] for key, _ in keys), pos[order]))
    order = order_by(*keys, (rank, int(rank.max()) + 1 if len(rank) else 1), (pos, annotators))
    starts = starts_of_runs(*(key[order] for key, _ in keys), rank[order])
    return pairs_in_runs(order, starts, annotators)


def greedy_matching(
    x_start: Ints,
    x_end: Ints,
    x_step: Ints,
    x_tag: Ints,
    candidates: tuple[Ints, Ints],
    y_end: Ints,
    tags: int,
) -> tuple[Ints, Ints]:
    """``span_f1.overlap_matching`` for many independent problems at once: the matched
    pairs ``(x, y)``.

    Each problem has a list of ``x`` and a list of ``y``, both sorted by start. The
    one-problem pass takes its ``x`` from the last and gives each the free overlapping
    ``y`` that comes last. Here ``x_step`` says when each ``x`` takes its turn (0 for the
    last of its problem, 1 for the one before...), and turn after turn every problem
    moves at once. ``candidates`` gives, per ``x``, the range of ``y`` (indices into
    ``y_end``) of its problem that start before it ends, and may start earlier than the
    first ``y`` that overlaps it. A ``y`` can serve several problems (one annotator's
    spans, matched against each other annotator's): it is taken per ``x_tag``, one of
    ``tags``. Candidates are listed one turn at a time, so memory follows the batch even
    when a long span makes every ``y`` a candidate.
    """
    low, high = candidates
    turns = int(x_step.max()) + 1 if len(x_step) else 0
    # Turns are small numbers: as int16, numpy's stable sort is a radix sort.
    order = np.argsort(x_step.astype(np.int16) if turns <= 2**15 else x_step, kind="stable")
    bounds = np.searchsorted(x_step[order], np.arange(turns + 1))
    taken = np.zeros(len(y_end) * tags, dtype=np.bool_)
    matched_x: list[Ints] = [empty()]
    matched_y: list[Ints] = [empty()]
    for first, last in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        xs = order[first:last]
        owner, y = ragged_ranges(low[xs], high[xs] - low[xs])
        slots = y * tags + x_tag[xs[owner]]
        usable = np.flatnonzero((y_end[y] > x_start[xs[owner]]) & ~taken[slots])
        owner, y, slots = owner[usable], y[usable], slots[usable]
        # Each x takes its last usable candidate.
        chosen = np.flatnonzero(starts_of_runs(owner[::-1]))
        chosen = len(owner) - 1 - chosen
        taken[slots[chosen]] = True
        matched_x.append(xs[owner[chosen]])
        matched_y.append(y[chosen])
    return np.concatenate(matched_x), np.concatenate(matched_y)


@dataclass
class Leftovers:
    """Spans the M1' matching left alone, per pair: ``x`` of the earlier annotator with
    its partner's position, ``y`` of the later one with its partner's position."""

    x: Ints
    x_partner: Ints
    y: Ints
    y_partner: Ints


@dataclass
class OverlapMatches:
    """M1': the spans ``x`` of an earlier annotator that the matching pairs, with the
    partner's position and the partner's span ``y``, and the spans it leaves alone."""

    x: Ints
    partner: Ints
    left: Leftovers
    y: Ints


def overlap_matches(batch: Batch) -> OverlapMatches:
    """The greedy maximum matching of M1' for every (document, label, pair) at once."""
    count = len(batch.start)
    x, partner = batch.partner_instances(np.arange(count))
    other = batch.partner_group(batch.doc[x], partner, batch.label[x])
    present = other >= 0
    other = np.where(present, other, 0)
    keys = batch.group * batch.width + batch.start
    # A partner span starting at or before x's start minus the partner's longest span
    # cannot reach x: the candidates start after that, and before x ends.
    longest = np.maximum.reduceat(batch.end - batch.start, batch.group_begin) if count else empty()
    earliest = np.maximum(batch.start[x] - longest[other] + 1, 0)
    low = np.searchsorted(keys, other * batch.width + earliest)
    high = np.where(present, np.searchsorted(keys, other * batch.width + batch.end[x]), low)
    # The greedy pass takes a group's spans from its last one.
    step = batch.group_end[batch.group[x]] - 1 - x
    tags = batch.most_annotators
    matched_x, matched_y = greedy_matching(
        batch.start[x], batch.end[x], step, batch.pos[x], (low, high), batch.end, tags
    )
    alone_x = np.ones(len(x), dtype=np.bool_)
    alone_x[matched_x] = False
    taken = np.zeros(count * tags, dtype=np.bool_)
    taken[matched_y * tags + batch.pos[x[matched_x]]] = True
    # Each span is also matched against every annotator before its own.
    y, earlier = ragged_ranges(np.zeros(count, dtype=np.int64), batch.pos)
    alone_y = ~taken[y * tags + earlier]
    return OverlapMatches(
        x[matched_x],
        partner[matched_x],
        Leftovers(x[alone_x], partner[alone_x], y[alone_y], earlier[alone_y]),
        matched_y,
    )


def confusion_matches(batch: Batch, left: Leftovers) -> tuple[Ints, Ints, Ints, Ints]:
    """The matching across labels of the spans M1' left, per (document, pair), each side
    sorted by offsets then label (``documents.py`` explains the table): the labels of the
    matched pairs (the earlier annotator's, the later one's), then the labels left alone
    on each side."""

    def sorted_side(spans: Ints, first: Ints, second: Ints) -> tuple[Ints, Ints]:
        problem = batch.pair_of(batch.doc[spans], first, second)
        order = order_by(
            (problem, batch.pairs),
            (batch.start[spans], batch.width),
            (batch.end[spans], batch.width),
            (batch.label[spans], len(batch.label_names)),
        )
        return spans[order], problem[order]

    x, x_problem = sorted_side(left.x, batch.pos[left.x], left.x_partner)
    y, y_problem = sorted_side(left.y, left.y_partner, batch.pos[left.y])
    step = ends_of_runs(starts_of_runs(x_problem)) - 1 - np.arange(len(x))
    keys = y_problem * batch.width + batch.start[y]
    longest = int((batch.end[y] - batch.start[y]).max()) if len(y) else 1
    earliest = np.maximum(batch.start[x] - longest + 1, 0)
    low = np.searchsorted(keys, x_problem * batch.width + earliest)
    high = np.searchsorted(keys, x_problem * batch.width + batch.end[x])
    matched_x, matched_y = greedy_matching(
        batch.start[x],
        batch.end[x],
        step,
        np.zeros(len(x), dtype=np.int64),
        (low, high),
        batch.end[y],
        1,
    )
    alone_x = np.ones(len(x), dtype=np.bool_)
    alone_x[matched_x] = False
    alone_y = np.ones(len(y), dtype=np.bool_)
    alone_y[matched_y] = False
    label = batch.label
    return label[x[matched_x]], label[y[matched_y]], label[x[alone_x]], label[y[alone_y]]
