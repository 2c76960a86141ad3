"""One pass over the documents into sufficient statistics that add up.

Every measure of the report is a function of sums over documents, so a run reads each
document once, turns it into a handful of integers, and forgets it: memory does not grow
with the text, and chunks of documents can be measured apart (in parallel Celery tasks)
and merged. ``Partial.to_json`` / ``Partial.from_json`` carry a chunk's sums between
processes.

Documents are grouped by the set of annotators who annotated them (their *signature*).
Inside a group the number of annotators ``m`` is fixed, which is what alpha and Fleiss'
kappa need, and the sums of a pair of annotators are the sums over the groups that hold
both. Each group adds up, per document:

==========================  =================================================================
key                         sum over the group's documents of
==========================  =================================================================
``("D",)``                  1 (documents)
``("T",)``                  characters of the text
``("n", a, label)``         spans of ``a`` with the label
``("c", a, label)``         characters ``a`` covers with the label (``segments.py``)
``("x", a, b, label)``      characters both ``a`` and ``b`` cover with the label
``("em", a, b, label)``     exact matches between ``a`` and ``b`` (M1)
``("om", a, b, label)``     overlap matches, maximum matching (M1')
``("rn", a)``               relations of ``a`` (of the measured types)
``("rm", a, b)``            relations matching exactly (M5)
==========================  =================================================================

A few sums do not need resampling and are kept once for the whole run:
``("attr", label, attribute, a, b, value_a, value_b)`` counts attribute values on exact
matches, and ``("conf", label_a, label_b)`` counts the spans that M1' and then a
cross-label matching align, for pairs ``a < b`` (``None``: no span there). When
confidence intervals are wanted, each document's group sums are kept too, as one row per
document, for ``bootstrap.py``.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from annotations.agreement.segments import Interval, overlap_length, union_of_sorted
from annotations.agreement.span_f1 import (
    SpanRef,
    exact_matching,
    f1_value,
    multiset_matches,
    overlap_matching,
)
from annotations.agreement.types import Params
from annotations.interchange import DocumentRecord

Key = tuple[Any, ...]
Signature = tuple[str, ...]
Link = tuple[str, int, int, str, int, int, str]

# A per-document score row: position, id, annotators, spans, M1 mean, M1' mean,
# alpha macro (None when undefined for every label).
ScoreRow = list[Any]


@dataclass
class Group:
    """The sums of the documents that one set of annotators annotated."""

    annotators: Signature
    totals: dict[Key, int] = field(default_factory=dict)
    # Per-document rows, only when intervals are wanted: column keys and values.
    columns: dict[Key, int] = field(default_factory=dict)
    positions: array[int] = field(default_factory=lambda: array("q"))
    rows: list[array[float]] = field(default_factory=list)

    def add(self, stats: dict[Key, int], position: int | None) -> None:
        totals = self.totals
        for key, value in stats.items():
            totals[key] = totals.get(key, 0) + value
        if position is None:
            return
        columns = self.columns
        row = array("d", bytes(8 * len(columns)))
        for key, value in stats.items():
            column = columns.get(key)
            if column is None:
                column = columns[key] = len(columns)
                row.append(value)
            else:
                row[column] = value
        self.positions.append(position)
        self.rows.append(row)

    def merge(self, other: Group) -> None:
        for key, value in other.totals.items():
            self.totals[key] = self.totals.get(key, 0) + value
        if not other.rows:
            return
        mapping = []
        for key in other.columns:
            column = self.columns.get(key)
            if column is None:
                column = self.columns[key] = len(self.columns)
            mapping.append(column)
        width = len(self.columns)
        for position, row in zip(other.positions, other.rows, strict=True):
            new_row = array("d", bytes(8 * width))
            for old_column, cell in enumerate(row):
                new_row[mapping[old_column]] = cell
            self.positions.append(position)
            self.rows.append(new_row)

    def to_json(self) -> dict[str, Any]:
        return {
            "annotators": list(self.annotators),
            "totals": [[list(key), value] for key, value in self.totals.items()],
            "columns": [list(key) for key in self.columns],
            "positions": list(self.positions),
            "rows": [row.tolist() for row in self.rows],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Group:
        group = cls(annotators=tuple(raw["annotators"]))
        group.totals = {tuple(key): value for key, value in raw["totals"]}
        group.columns = {tuple(key): column for column, key in enumerate(raw["columns"])}
        group.positions = array("q", raw["positions"])
        group.rows = [array("d", row) for row in raw["rows"]]
        return group


@dataclass
class Partial:
    """Sufficient statistics of some documents; ``merge`` adds another chunk's."""

    keep_rows: bool = False
    documents: int = 0
    skipped: int = 0
    groups: dict[Signature, Group] = field(default_factory=dict)
    totals: dict[Key, int] = field(default_factory=dict)
    labels: set[str] = field(default_factory=set)
    scores: list[ScoreRow] = field(default_factory=list)

    def merge(self, other: Partial) -> Partial:
        self.documents += other.documents
        self.skipped += other.skipped
        for signature, group in other.groups.items():
            mine = self.groups.get(signature)
            if mine is None:
                self.groups[signature] = mine = Group(annotators=signature)
            mine.merge(group)
        for key, value in other.totals.items():
            self.totals[key] = self.totals.get(key, 0) + value
        self.labels |= other.labels
        self.scores.extend(other.scores)
        return self

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (Celery's serializer carries it between tasks)."""
        return {
            "keep_rows": self.keep_rows,
            "documents": self.documents,
            "skipped": self.skipped,
            "groups": [group.to_json() for group in self.groups.values()],
            "totals": [[list(key), value] for key, value in self.totals.items()],
            "labels": sorted(self.labels),
            "scores": self.scores,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Partial:
        partial = cls(
            keep_rows=raw["keep_rows"],
            documents=raw["documents"],
            skipped=raw["skipped"],
            labels=set(raw["labels"]),
            scores=raw["scores"],
        )
        for item in raw["groups"]:
            group = Group.from_json(item)
            partial.groups[group.annotators] = group
        partial.totals = {tuple(key): value for key, value in raw["totals"]}
        return partial


def accumulate(documents: Iterable[DocumentRecord], params: Params, *, start: int = 0) -> Partial:
    """Sufficient statistics of ``documents``; ``start`` is the position of the first one
    in the whole run (it orders the documents for the bootstrap)."""
    partial = Partial(keep_rows=params.bootstrap_resamples > 0)
    labels = frozenset(params.labels) if params.labels is not None else None
    annotators = frozenset(params.annotators) if params.annotators is not None else None
    relation_types = frozenset(params.relation_types) if params.relation_types is not None else None
    for position, record in enumerate(documents, start=start):
        add_document(partial, record, position, labels, annotators, relation_types)
    return partial


def add_document(
    partial: Partial,
    record: DocumentRecord,
    position: int,
    labels: frozenset[str] | None,
    annotators: frozenset[str] | None,
    relation_types: frozenset[str] | None,
) -> None:
    """Add one document's sums to ``partial`` (or count it as skipped)."""
    annotations = record.annotations
    names = sorted(
        annotations if annotators is None else (name for name in annotations if name in annotators)
    )
    m = len(names)
    if m < 2:
        partial.skipped += 1
        return
    partial.documents += 1
    text_length = len(record.text)
    stats: dict[Key, int] = {("D",): 1, ("T",): text_length}

    # Per annotator: label -> spans sorted by offsets, and label -> union of their extents.
    refs: list[dict[str, list[SpanRef]]] = []
    unions: list[dict[str, list[Interval]]] = []
    ones_by_label: dict[str, int] = {}
    span_total = 0
    for name in names:
        by_label: dict[str, list[SpanRef]] = {}
        for index, span in enumerate(annotations[name]):
            label = span.label
            items = by_label.get(label)
            if items is None:
                if labels is not None and label not in labels:
                    continue
                by_label[label] = [(span.start, span.end, index)]
            else:
                items.append((span.start, span.end, index))
        union_by_label: dict[str, list[Interval]] = {}
        for label, items in by_label.items():
            items.sort()
            union, covered = union_of_sorted(items)
            union_by_label[label] = union
            stats["n", name, label] = len(items)
            stats["c", name, label] = covered
            ones_by_label[label] = ones_by_label.get(label, 0) + covered
            span_total += len(items)
        refs.append(by_label)
        unions.append(union_by_label)
    partial.labels.update(ones_by_label)

    # Pairs: overlaps, matches, attribute agreement, confusion.
    totals = partial.totals
    exact_sum = 0.0
    overlap_sum = 0.0
    overlap_by_label: dict[str, int] = {}
    for i in range(m):
        name_a = names[i]
        refs_a = refs[i]
        unions_a = unions[i]
        spans_a = annotations[name_a]
        for j in range(i + 1, m):
            name_b = names[j]
            refs_b = refs[j]
            unions_b = unions[j]
            spans_b = annotations[name_b]
            exact = overlap = size_a = size_b = 0
            left_a: list[tuple[int, int, str]] = []
            left_b: list[tuple[int, int, str]] = []
            for label, items_a in refs_a.items():
                size_a += len(items_a)
                items_b = refs_b.get(label)
                if items_b is None:
                    left_a += [(start, end, label) for start, end, _ in items_a]
                    continue
                both = overlap_length(unions_a[label], unions_b[label])
                if both:
                    stats["x", name_a, name_b, label] = both
                    overlap_by_label[label] = overlap_by_label.get(label, 0) + both
                matched = exact_matching(items_a, items_b)
                if matched:
                    stats["em", name_a, name_b, label] = len(matched)
                    exact += len(matched)
                    for p, q in matched:
                        attrs_a = spans_a[items_a[p][2]].attrs
                        attrs_b = spans_b[items_b[q][2]].attrs
                        if attrs_a or attrs_b:
                            _add_attributes(totals, label, name_a, name_b, attrs_a, attrs_b)
                paired, alone_a, alone_b = overlap_matching(items_a, items_b)
                found = len(paired)
                if found:
                    stats["om", name_a, name_b, label] = found
                    overlap += found
                    key = ("conf", label, label)
                    totals[key] = totals.get(key, 0) + found
                for item in alone_a:
                    left_a.append((item[0], item[1], label))
                for item in alone_b:
                    left_b.append((item[0], item[1], label))
            for label, items_b in refs_b.items():
                size_b += len(items_b)
                if label not in refs_a:
                    left_b += [(start, end, label) for start, end, _ in items_b]
            if left_a or left_b:
                _add_confusion(totals, left_a, left_b)
            exact_sum += f1_value(exact, size_a, size_b)
            overlap_sum += f1_value(overlap, size_a, size_b)

    if record.relations:
        _add_relations(stats, record, names, relation_types, labels)

    signature = tuple(names)
    group = partial.groups.get(signature)
    if group is None:
        group = partial.groups[signature] = Group(annotators=signature)
    group.add(stats, position if partial.keep_rows else None)

    pair_count = m * (m - 1) // 2
    partial.scores.append(
        [
            position,
            record.id,
            names,
            span_total,
            exact_sum / pair_count,
            overlap_sum / pair_count,
            _document_alpha(m, text_length, ones_by_label, overlap_by_label),
        ]
    )


def _document_alpha(
    m: int, text_length: int, ones_by_label: dict[str, int], overlap_by_label: dict[str, int]
) -> float | None:
    """Alpha of one document, mean over the labels where it is defined (None if nowhere)."""
    values = m * text_length
    found = []
    for label, ones in ones_by_label.items():
        zeros = values - ones
        if ones and zeros:
            disagreement = (m - 1) * ones - 2 * overlap_by_label.get(label, 0)
            found.append(1 - (values - 1) * disagreement / ((m - 1) * zeros * ones))
    return sum(found) / len(found) if found else None


def _value_key(value: Any) -> Hashable:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _add_attributes(
    totals: dict[Key, int],
    label: str,
    name_a: str,
    name_b: str,
    attrs_a: Mapping[str, Any],
    attrs_b: Mapping[str, Any],
) -> None:
    """Count the attribute values of two exactly matched spans:
    ``("attr", label, attribute, a, b, value_a, value_b)``."""
    for attribute, value_a in attrs_a.items():
        value_b = attrs_b.get(attribute)
        key = (
            "attr",
            label,
            attribute,
            name_a,
            name_b,
            value_a if type(value_a) is str else _value_key(value_a),
            value_b if type(value_b) is str else _value_key(value_b),
        )
        totals[key] = totals.get(key, 0) + 1
    for attribute, value_b in attrs_b.items():
        if attribute not in attrs_a:
            key = ("attr", label, attribute, name_a, name_b, None, _value_key(value_b))
            totals[key] = totals.get(key, 0) + 1


def _add_confusion(
    totals: dict[Key, int],
    left_a: list[tuple[int, int, str]],
    left_b: list[tuple[int, int, str]],
) -> None:
    """Pair the spans left unmatched by M1' across labels, by maximum overlap matching.

    Spans of one label left on both sides never overlap (the matching would have taken
    them), so every pair found here is a label confusion. Counted in one direction only
    (``("conf", label of a, label of b)``, ``None`` for no span); the report adds the
    transpose.
    """
    if left_a and left_b:
        left_a.sort()
        left_b.sort()
        paired, alone_a, alone_b = overlap_matching(left_a, left_b)
        for item_a, item_b in paired:
            key: Key = ("conf", item_a[2], item_b[2])
            totals[key] = totals.get(key, 0) + 1
    else:
        alone_a, alone_b = left_a, left_b
    for item in alone_a:
        key = ("conf", item[2], None)
        totals[key] = totals.get(key, 0) + 1
    for item in alone_b:
        key = ("conf", None, item[2])
        totals[key] = totals.get(key, 0) + 1


def _add_relations(
    stats: dict[Key, int],
    record: DocumentRecord,
    names: list[str],
    relation_types: frozenset[str] | None,
    labels: frozenset[str] | None,
) -> None:
    """Relation counts and exact matches: a link is ``(type, head span, tail span)``."""
    links: list[Counter[Link] | set[Link]] = []
    for name in names:
        spans = record.annotations[name]
        mine = []
        for relation in record.relations.get(name, ()):
            if relation_types is not None and relation.type not in relation_types:
                continue
            head, tail = spans[relation.head], spans[relation.tail]
            if labels is not None and (head.label not in labels or tail.label not in labels):
                continue
            mine.append(
                (relation.type, head.start, head.end, head.label, tail.start, tail.end, tail.label)
            )
        if mine:
            stats["rn", name] = len(mine)
        unique = set(mine)
        # A set is enough (and cheaper) unless an annotator drew the same link twice.
        links.append(unique if len(unique) == len(mine) else Counter(mine))
    for i in range(len(names)):
        if not links[i]:
            continue
        for j in range(i + 1, len(names)):
            first, second = links[i], links[j]
            if not second:
                continue
            if isinstance(first, set) and isinstance(second, set):
                matched = len(first & second)
            else:
                matched = multiset_matches(Counter(first), Counter(second))
            if matched:
                stats["rm", names[i], names[j]] = matched
