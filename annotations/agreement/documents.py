"""The one pass of a run: documents in, sums out (``partial.py`` lays the sums out).

``accumulate`` reads the documents once, in order, and measures them in batches of about
``BATCH_SPANS`` spans. The arithmetic on spans runs on a whole batch at once, in numpy
(``batch.py``); what a batch yields is added up here:

- per (document, label), the label sums; per document, the document sums (relations,
  M5); both added to the document's group, and kept per document for the bootstrap;
- per document, its scores: the mean over its pairs of M1 and M1', and alpha's mean over
  its labels, as floats added in the order Python would add them one document at a time;
- for the run, attribute values on exact matches and the confusion table.

Memory follows the batch, not the corpus.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import count
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from annotations.agreement.batch import (
    Batch,
    ExactMatches,
    Ints,
    OverlapMatches,
    confusion_matches,
    exact_matches,
    link_matches,
    order_by,
    overlap_matches,
    pair_index,
    ragged_ranges,
    rank_in_runs,
    starts_of_runs,
    union_overlaps,
    unions,
)
from annotations.agreement.document_labels import count_document_labels
from annotations.agreement.links import count_links
from annotations.agreement.partial import Group, Key, Layout, Partial, Signature
from annotations.agreement.types import LinkLabelSpec, Params
from annotations.interchange import DocumentRecord, Relation

Floats = NDArray[np.float64]

# Spans per batch: large enough that numpy's per-call costs vanish, small enough that the
# batch's arrays stay a few megabytes.
BATCH_SPANS = 20_000

_attrs = itemgetter(3)
_type = attrgetter("type")
_head = attrgetter("head")
_tail = attrgetter("tail")


class Pending(NamedTuple):
    """A document to measure: its position in the run and its annotators, sorted."""

    position: int
    record: DocumentRecord
    names: list[str]


def accumulate(documents: Iterable[DocumentRecord], params: Params, *, start: int = 0) -> Partial:
    """Sufficient statistics of ``documents``; ``start`` is the position of the first one
    in the whole run (it orders the documents for the bootstrap)."""
    partial = Partial(keep_rows=params.bootstrap_resamples > 0)
    labels = frozenset(params.labels) if params.labels is not None else None
    annotators = frozenset(params.annotators) if params.annotators is not None else None
    relation_types = frozenset(params.relation_types) if params.relation_types is not None else None
    pending: list[Pending] = []
    spans = 0
    document_labels = params.document_labels or ()
    for position, record in enumerate(documents, start=start):
        layers = record.annotations
        names = sorted(
            layers if annotators is None else (name for name in layers if name in annotators)
        )
        if len(names) < 2:
            partial.skipped += 1
            continue
        pending.append(Pending(position, record, names))
        count_document_labels(record, names, document_labels, partial.totals)
        spans += sum(len(layers[name]) for name in names)
        if spans >= BATCH_SPANS:
            add_documents(partial, pending, labels, relation_types, params.links or ())
            pending, spans = [], 0
    if pending:
        add_documents(partial, pending, labels, relation_types, params.links or ())
    return partial


def add_documents(
    partial: Partial,
    documents: list[Pending],
    labels: frozenset[str] | None,
    relation_types: frozenset[str] | None,
    links: Sequence[LinkLabelSpec] = (),
) -> None:
    """Add the sums of documents with two annotators or more to ``partial``."""
    batch = Batch.build(
        [[record.annotations[name] for name in names] for _, record, names in documents], labels
    )
    exact = exact_matches(batch)
    overlap = overlap_matches(batch)
    rows = _label_rows(batch, exact, overlap)
    texts = np.array([len(record.text) for _, record, _ in documents], dtype=np.int64)
    document_sums = _document_sums(batch, documents, texts, relation_types, exact)
    partial.documents += len(documents)
    partial.labels.update(batch.label_names[label] for label in np.unique(rows.label).tolist())
    _add_to_groups(partial, batch, documents, rows, document_sums)
    _count_attributes(batch, documents, exact, partial.totals)
    _count_confusion(batch, overlap, partial.totals)
    if links:
        names: list[str] = []
        segment_names = _name_ids([name for _, _, found in documents for name in found], names)
        count_links(batch, overlap, segment_names, names, links, partial.totals)

    exact_mean, overlap_mean, spans = _document_span_f1(batch, exact, overlap)
    alpha = _document_alpha(batch, texts, rows)
    for (position, record, names), measured, exact_f1, overlap_f1, alpha_macro in zip(
        documents, spans, exact_mean.tolist(), overlap_mean.tolist(), alpha, strict=True
    ):
        partial.scores.append(
            [position, record.id, names, measured, exact_f1, overlap_f1, alpha_macro]
        )


# --- label sums ------------------------------------------------------------------------


@dataclass
class _LabelRows:
    """A batch's label sums: one row per (document, label) with spans, laid out for the
    document's annotators (``Layout``) and padded to the widest layout."""

    sums: Ints
    doc: Ints
    label: Ints
    order: Ints  # by document, then label in order of first appearance
    ones: Ints  # characters covered, summed over the annotators
    both: Ints  # characters covered by both, summed over the pairs


def _label_rows(batch: Batch, exact: ExactMatches, overlap: OverlapMatches) -> _LabelRows:
    """The label sums of every (document, label) of the batch, from the matchings."""
    labels = max(len(batch.label_names), 1)
    group_doc = batch.doc[batch.group_begin]
    group_pos = batch.pos[batch.group_begin]
    row_key, group_row = np.unique(
        group_doc * labels + batch.label[batch.group_begin], return_inverse=True
    )
    width = Layout(batch.most_annotators).label_width
    cells: list[Ints] = []
    values: list[Ints] = []

    def add(spans: Ints, column: Ints, value: Ints) -> None:
        cells.append(group_row[batch.group[spans]] * width + column)
        values.append(value)

    def add_pair(spans: Ints, partner: Ints, offset: int, value: Ints) -> None:
        m = batch.annotators[batch.doc[spans]]
        add(spans, 2 * m + 3 * pair_index(batch.pos[spans], partner, m) + offset, value)

    found = unions(batch)
    add(batch.group_begin, group_pos, batch.group_end - batch.group_begin)
    add(batch.group_begin, batch.annotators[group_doc] + group_pos, found.covered)
    span, partner, both = union_overlaps(batch, found)
    add_pair(span, partner, 0, both)
    add_pair(exact.x, batch.pos[exact.y], 1, np.ones_like(exact.x))
    add_pair(overlap.x, overlap.partner, 2, np.ones_like(overlap.x))
    # Integer sums of integers: exact in float64 far beyond any document's size.
    sums = np.bincount(
        np.concatenate(cells),
        weights=np.concatenate(values).astype(np.float64),
        minlength=len(row_key) * width,
    )

    # A label first appears with its first span in the annotators' lists, in order.
    group_first = (
        np.minimum.reduceat(batch.source, batch.group_begin) if len(group_row) else group_row
    )
    row_first = np.full(len(row_key), len(batch.spans), dtype=np.int64)
    np.minimum.at(row_first, group_row, group_first)
    doc = row_key // labels
    return _LabelRows(
        sums=sums.astype(np.int64).reshape(len(row_key), width),
        doc=doc,
        label=row_key % labels,
        order=order_by((doc, len(batch.annotators)), (row_first, len(batch.spans) + 1)),
        ones=_sum_by(group_row, found.covered, len(row_key)),
        both=_sum_by(group_row[batch.group[span]], both, len(row_key)),
    )


def _sum_by(index: Ints, values: Ints, size: int) -> Ints:
    return np.bincount(index, weights=values, minlength=size).astype(np.int64)


# --- document sums: documents, characters, relations (M5) ------------------------------


def _document_sums(
    batch: Batch,
    documents: list[Pending],
    texts: Ints,
    relation_types: frozenset[str] | None,
    exact: ExactMatches,
) -> Ints:
    """One row of document sums per document, padded to the widest layout.

    A relation is a link ``(type, head span, tail span)``; two links match exactly when
    their types are equal and their ends have equal offsets and labels (as M1's spans)."""
    sums = np.zeros((len(documents), Layout(batch.most_annotators).document_width), np.int64)
    sums[:, 0] = 1
    sums[:, 1] = texts
    links: list[Relation] = []
    sizes: list[int] = []
    for _, record, names in documents:
        relations = record.relations
        for name in names:
            mine = relations.get(name, ())
            links += mine
            sizes.append(len(mine))
    total = len(links)
    if not total:
        return sums
    # Per span of the batch's list: its (document, label, start, end); -1 if not measured.
    offsets = np.full(len(batch.spans), -1, dtype=np.int64)
    offsets[batch.source] = exact.offsets
    segment = np.repeat(np.arange(len(sizes)), sizes)
    types = list(map(_type, links))
    kinds = sorted(set(types) if relation_types is None else set(types) & relation_types)
    lookup = dict.fromkeys(types, -1)
    lookup.update((kind, number) for number, kind in enumerate(kinds))
    kind = np.fromiter(map(lookup.__getitem__, types), dtype=np.int64, count=total)
    head = offsets[_span_index(batch, segment, np.fromiter(map(_head, links), np.int64, total))]
    tail = offsets[_span_index(batch, segment, np.fromiter(map(_tail, links), np.int64, total))]
    kept = np.flatnonzero((kind >= 0) & (head >= 0) & (tail >= 0))
    segment, kind, head, tail = segment[kept], kind[kept], head[kept], tail[kept]
    doc, pos = batch.segment_doc[segment], batch.segment_pos[segment]
    np.add.at(sums, (doc, 2 + pos), 1)
    classes = int(offsets.max()) + 1
    x, y = link_matches(
        ((kind, len(kinds)), (head, classes), (tail, classes)), pos, batch.most_annotators
    )
    m = batch.annotators[doc[x]]
    np.add.at(sums, (doc[x], 2 + m + pair_index(pos[x], pos[y], m)), 1)
    return sums


def _span_index(batch: Batch, segment: Ints, index: Ints) -> Ints:
    """Where span ``index`` of a segment's list sits in ``batch.spans``, with Python's
    list indexing: negative counts from the end, past the end is an error."""
    sizes = np.diff(np.append(batch.segment_first_span, len(batch.spans)))[segment]
    index = np.where(index < 0, index + sizes, index)
    if ((index < 0) | (index >= sizes)).any():
        raise IndexError("a relation points at a span that does not exist")
    return batch.segment_first_span[segment] + index


# --- groups ----------------------------------------------------------------------------


def _add_to_groups(
    partial: Partial,
    batch: Batch,
    documents: list[Pending],
    rows: _LabelRows,
    document_sums: Ints,
) -> None:
    """Add the batch's sums to the documents' groups: per group at once, and per
    document as rows when the bootstrap wants them."""
    number_of: dict[Signature, int] = {}
    groups: list[Group] = []
    for _, _, names in documents:
        signature = tuple(names)
        if signature not in number_of:
            number_of[signature] = len(groups)
            group = partial.groups.get(signature)
            if group is None:
                group = partial.groups[signature] = Group(annotators=signature)
            groups.append(group)
    doc_group = np.array([number_of[tuple(names)] for _, _, names in documents], np.int64)
    document_totals = np.zeros((len(groups), document_sums.shape[1]), dtype=np.int64)
    np.add.at(document_totals, doc_group, document_sums)
    labels = len(batch.label_names)
    cells, cell_of_row = np.unique(doc_group[rows.doc] * labels + rows.label, return_inverse=True)
    label_totals = np.zeros((len(cells), rows.sums.shape[1]), dtype=np.int64)
    np.add.at(label_totals, cell_of_row, rows.sums)
    label_sums: list[dict[str, list[int]]] = [{} for _ in groups]
    for cell, totals in zip(cells.tolist(), label_totals.tolist(), strict=True):
        label_sums[cell // labels][batch.label_names[cell % labels]] = totals
    for group, document, by_label in zip(groups, document_totals.tolist(), label_sums, strict=True):
        width = Layout(len(group.annotators)).label_width
        group.add(
            document[: len(group.document_sums)],
            {label: totals[:width] for label, totals in by_label.items()},
        )
    if partial.keep_rows:
        _add_rows(batch, documents, rows, document_sums, [groups[i] for i in doc_group])


def _add_rows(
    batch: Batch,
    documents: list[Pending],
    rows: _LabelRows,
    document_sums: Ints,
    groups: list[Group],
) -> None:
    """Keep each document's sums as a row of its group, for the bootstrap."""
    sums = rows.sums.tolist()
    order = rows.order.tolist()
    first_row = np.searchsorted(rows.doc[rows.order], np.arange(len(documents) + 1)).tolist()
    label_names = [batch.label_names[label] for label in rows.label.tolist()]
    for number, ((position, _, names), group, document) in enumerate(
        zip(documents, groups, document_sums.tolist(), strict=True)
    ):
        layout = Layout(len(names))
        group.add_row(
            position,
            document[: layout.document_width],
            {
                label_names[row]: sums[row][: layout.label_width]
                for row in order[first_row[number] : first_row[number + 1]]
            },
        )


# --- per-document scores ---------------------------------------------------------------


def _document_span_f1(
    batch: Batch, exact: ExactMatches, overlap: OverlapMatches
) -> tuple[Floats, Floats, list[int]]:
    """Per document, the mean over its pairs of M1 and of M1' (``span_f1.f1_value`` per
    pair, added pair after pair in order), and its spans measured."""
    segments = len(batch.segment_doc)
    segment_spans = np.bincount(batch.first_segment[batch.doc] + batch.pos, minlength=segments)
    # The batch's pairs, in order: (segment of the earlier annotator, later position).
    segment, second = ragged_ranges(
        batch.segment_pos + 1, batch.annotators[batch.segment_doc] - 1 - batch.segment_pos
    )
    doc = batch.segment_doc[segment]
    sizes = segment_spans[segment] + segment_spans[batch.first_segment[doc] + second]
    turn = np.arange(len(doc)) - batch.first_pair[doc]
    means = []
    for x, partner in ((exact.x, batch.pos[exact.y]), (overlap.x, overlap.partner)):
        matches = np.bincount(
            batch.pair_of(batch.doc[x], batch.pos[x], partner), minlength=len(doc)
        )
        f1 = np.ones(len(doc))
        np.divide(2 * matches, sizes, out=f1, where=sizes > 0)
        # One pair of each document at a time, in order: the floats add up exactly as
        # in a loop over one document's pairs.
        total = np.zeros(len(batch.annotators))
        for step in range(int(turn.max()) + 1 if len(turn) else 0):
            at = np.flatnonzero(turn == step)
            total[doc[at]] += f1[at]
        means.append(total / (batch.annotators * (batch.annotators - 1) // 2))
    spans = np.bincount(batch.segment_doc, weights=segment_spans, minlength=len(batch.annotators))
    return means[0], means[1], spans.astype(np.int64).tolist()


def _document_alpha(batch: Batch, texts: Ints, rows: _LabelRows) -> list[float | None]:
    """Alpha of each document, mean over the labels where it is defined (None if
    nowhere), labels in order of first appearance (``alpha.py`` for the formula)."""
    m = batch.annotators[rows.doc]
    values = m * texts[rows.doc]
    ones, both = rows.ones, rows.both
    zeros = values - ones
    defined = (ones > 0) & (zeros > 0)
    # numpy's float division of integers is Python's (correctly rounded) while they are
    # exact as floats; past 2**53 (documents of millions of characters), Python's own.
    if float(((m - 1) * values.astype(np.float64) ** 2).max(initial=0.0)) < 2.0**52:
        numerator = (values - 1) * ((m - 1) * ones - 2 * both)
        alpha = 1 - numerator / np.where(defined, (m - 1) * zeros * ones, 1)
    else:
        alpha = np.array(
            [
                1 - (v - 1) * ((k - 1) * o - 2 * b) / ((k - 1) * (v - o) * o) if 0 < o < v else 0.0
                for v, k, o, b in zip(
                    values.tolist(), m.tolist(), ones.tolist(), both.tolist(), strict=True
                )
            ]
        )
    # One label of each document at a time, in order of first appearance (as above).
    turn = rank_in_runs(starts_of_runs(rows.doc[rows.order]))
    total = np.zeros(len(texts))
    found = np.zeros(len(texts), dtype=np.int64)
    for step in range(int(turn.max()) + 1 if len(turn) else 0):
        at = rows.order[np.flatnonzero((turn == step) & defined[rows.order])]
        total[rows.doc[at]] += alpha[at]
        found[rows.doc[at]] += 1
    return [
        value / labels if labels else None
        for value, labels in zip(total.tolist(), found.tolist(), strict=True)
    ]


# --- attribute agreement ---------------------------------------------------------------


def _count_attributes(
    batch: Batch, documents: list[Pending], exact: ExactMatches, totals: dict[Key, int]
) -> None:
    """Count attribute values on exact matches where either span has attributes:
    ``("attr", label, attribute, a, b, value_a, value_b)``, once per distinct (label,
    names, attributes of a, attributes of b) with its number of matches."""
    attrs = list(map(_attrs, batch.spans))
    with_attrs = np.flatnonzero(np.fromiter(map(bool, attrs), np.bool_, len(attrs)))
    kind = np.zeros(len(attrs), dtype=np.int64)  # 0: no attributes
    kind[with_attrs] = _attribute_ids(list(map(attrs.__getitem__, with_attrs.tolist())))
    kind = kind[batch.source]
    chosen = np.flatnonzero((kind[exact.x] > 0) | (kind[exact.y] > 0))
    x, y = exact.x[chosen], exact.y[chosen]
    names: list[str] = []
    segment_name = _name_ids([name for _, _, found in documents for name in found], names)
    segment = batch.first_segment[batch.doc[x]]
    columns = (
        batch.label[x],
        segment_name[segment + batch.pos[x]],
        segment_name[segment + batch.pos[y]],
        kind[x],
        kind[y],
    )
    kinds = len(attrs) + 1
    bounds = (len(batch.label_names), len(names), len(names), kinds, kinds)
    order = order_by(*zip(columns, bounds, strict=True))
    firsts = np.flatnonzero(starts_of_runs(*(column[order] for column in columns)))
    matches = np.diff(np.append(firsts, len(order))).tolist()
    label, name_x, name_y = (column.tolist() for column in columns[:3])
    source_x, source_y = batch.source[x].tolist(), batch.source[y].tolist()
    for row, times in zip(order[firsts].tolist(), matches, strict=True):
        _add_attributes(
            totals,
            batch.label_names[label[row]],
            (names[name_x[row]], names[name_y[row]]),
            (attrs[source_x[row]], attrs[source_y[row]]),
            times,
        )


def _name_ids(segment_names: list[str], names: list[str]) -> Ints:
    """Per segment, its annotator as an index into ``names`` (filled here)."""
    ids: dict[str, int] = {}
    found = np.array([ids.setdefault(name, len(ids)) for name in segment_names], dtype=np.int64)
    names.extend(ids)
    return found


def _attribute_ids(attrs: list[Any]) -> Ints:
    """An id (from 1) per mapping of attributes, equal only for mappings that count alike.

    Tuples of items are cheap and exact while every value is a string or None; other
    values could merge (``1 == 1.0 == True``, yet ``_value_key`` tells them apart), and
    lists cannot be hashed: then reprs, which tell values and their types apart."""
    ids: dict[Any, int] = {}  # items (tuples of pairs), or reprs
    try:
        found = np.fromiter(
            map(ids.setdefault, map(tuple, map(dict.items, attrs)), count(1)),
            dtype=np.int64,
            count=len(attrs),
        )
        if all(type(value) is str or value is None for items in ids for _, value in items):
            return found
    except TypeError:  # a mapping that is not a dict, or a value that cannot be hashed
        pass
    ids = {}
    return np.fromiter(
        map(ids.setdefault, map(repr, attrs), count(1)), dtype=np.int64, count=len(attrs)
    )


def _value_key(value: Any) -> Hashable:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _add_attributes(
    totals: dict[Key, int],
    label: str,
    names: tuple[str, str],
    attrs: tuple[Mapping[str, Any], Mapping[str, Any]],
    times: int,
) -> None:
    """Count ``times`` the attribute values of two exactly matched spans."""
    name_a, name_b = names
    attrs_a, attrs_b = attrs
    for attribute, value_a in attrs_a.items():
        value_b = attrs_b.get(attribute)
        key = ("attr", label, attribute, name_a, name_b, _value_key(value_a), _value_key(value_b))
        totals[key] = totals.get(key, 0) + times
    for attribute, value_b in attrs_b.items():
        if attribute not in attrs_a:
            key = ("attr", label, attribute, name_a, name_b, None, _value_key(value_b))
            totals[key] = totals.get(key, 0) + times


# --- confusion table -------------------------------------------------------------------


def _count_confusion(batch: Batch, overlap: OverlapMatches, totals: dict[Key, int]) -> None:
    """``("conf", label of a, label of b)`` for pairs ``a < b``, ``None`` for no span.

    M1' aligns spans of one label; the spans it leaves are then paired across labels by
    the same maximum overlap matching (spans of one label left on both sides never
    overlap: the matching would have taken them). The report adds the transpose."""
    names: list[str | None] = [*batch.label_names, None]
    none = len(batch.label_names)
    size = none + 1
    matched_a, matched_b, alone_a, alone_b = confusion_matches(batch, overlap.left)
    same = batch.label[overlap.x]
    cells = np.concatenate(
        [
            same * size + same,
            matched_a * size + matched_b,
            alone_a * size + none,
            none * size + alone_b,
        ]
    )
    counts = np.bincount(cells, minlength=size * size)
    for cell in np.flatnonzero(counts).tolist():
        key = ("conf", names[cell // size], names[cell % size])
        totals[key] = totals.get(key, 0) + int(counts[cell])
