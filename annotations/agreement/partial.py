"""Sufficient statistics that add up: what one pass over the documents leaves.

Every measure of the report is a function of sums over documents, so a run reads each
document once, turns it into a handful of integers (``documents.py``), and forgets it:
memory does not grow with the text, and chunks of documents can be measured apart (in
parallel Celery tasks) and merged. ``Partial.to_json`` / ``Partial.from_json`` carry a
chunk's sums between processes.

Documents are grouped by the set of annotators who annotated them (their *signature*).
Inside a group the number of annotators ``m`` is fixed, which is what alpha and Fleiss'
kappa need, and the sums of a pair of annotators are the sums over the groups that hold
both. Because ``m`` is fixed, a group keeps its sums in flat lists at fixed positions
(``Layout`` names them) rather than under one key per number, so that sums add up
position by position. Pairs are numbered ``p`` in the order ``(0, 1), (0, 2), ...,
(1, 2), ...`` of the annotators' positions in the signature.

==============================  ===============================================================
``document_sums``, position     sum over the group's documents of
==============================  ===============================================================
``0``                           1 (documents)
``1``                           characters of the text
``2 + a``                       relations of annotator ``a`` (of the measured types)
``2 + m + p``                   relations of pair ``p`` matching exactly (M5)
==============================  ===============================================================

==============================  ===============================================================
``label_sums[label]``, position sum over the group's documents of
==============================  ===============================================================
``a``                           spans of ``a`` with the label
``m + a``                       characters ``a`` covers with the label (``segments.py``)
``2m + 3p``                     characters both annotators of pair ``p`` cover with the label
``2m + 3p + 1``                 exact matches of pair ``p`` (M1)
``2m + 3p + 2``                 overlap matches of pair ``p``, maximum matching (M1')
==============================  ===============================================================

A few sums do not need resampling and are kept once for the whole run, in
``Partial.totals``: ``("attr", label, attribute, a, b, value_a, value_b)`` counts attribute
values on exact matches, and ``("conf", label_a, label_b)`` counts the spans that M1' and
then a cross-label matching align, for pairs ``a < b`` (``None``: no span there). When
confidence intervals are wanted, each document's group sums are kept too, as one row per
document, for ``bootstrap.py``.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from operator import add
from typing import Any, NamedTuple

from annotations.agreement.types import Number

Key = tuple[Any, ...]
Signature = tuple[str, ...]

# A per-document score row: position, id, annotators, spans, M1 mean, M1' mean,
# alpha macro (None when undefined for every label).
ScoreRow = list[Any]


class Layout(NamedTuple):
    """Where the sums of a group of ``m`` annotators sit (see the module docstring)."""

    m: int

    @property
    def pairs(self) -> int:
        return self.m * (self.m - 1) // 2

    @property
    def document_width(self) -> int:
        return 2 + self.m + self.pairs

    @property
    def label_width(self) -> int:
        return 2 * self.m + 3 * self.pairs

    def pair_slot(self, pair: int) -> int:
        """Position of pair ``pair``'s overlap in a label's sums (its matches follow)."""
        return 2 * self.m + 3 * pair


class Sums(NamedTuple):
    """A group's sums: per document, and per label (resampled by ``bootstrap.py``)."""

    document_sums: Sequence[Number]
    label_sums: Mapping[str, Sequence[Number]]


@dataclass
class Group:
    """The sums of the documents that one set of annotators annotated."""

    annotators: Signature
    document_sums: list[int] = field(default_factory=list)
    label_sums: dict[str, list[int]] = field(default_factory=dict)
    # Per-document rows, only when intervals are wanted: a row holds the document sums,
    # then each label's sums from its column on (labels in order of first appearance).
    columns: dict[str, int] = field(default_factory=dict)
    positions: array[int] = field(default_factory=lambda: array("q"))
    rows: list[array[float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.document_sums:
            self.document_sums = [0] * Layout(len(self.annotators)).document_width

    def sums(self) -> Sums:
        return Sums(self.document_sums, self.label_sums)

    def add(self, document_sums: Sequence[int], label_sums: Mapping[str, Sequence[int]]) -> None:
        """Add sums (of one document or more) to the group's totals."""
        self.document_sums = list(map(add, self.document_sums, document_sums))
        totals = self.label_sums
        for label, values in label_sums.items():
            total = totals.get(label)
            totals[label] = list(values) if total is None else list(map(add, total, values))

    def add_row(
        self,
        position: int,
        document_sums: Sequence[Number],
        label_sums: Mapping[str, Sequence[Number]],
    ) -> None:
        """Keep one document's sums as a row, for the bootstrap."""
        self.positions.append(position)
        self.rows.append(self._row(document_sums, label_sums))

    def _row(
        self, document_sums: Sequence[Number], label_sums: Mapping[str, Sequence[Number]]
    ) -> array[float]:
        """One document's sums laid out in this group's columns (new labels get new ones)."""
        width = Layout(len(self.annotators)).label_width
        columns = self.columns
        for label in label_sums:
            if label not in columns:
                columns[label] = len(document_sums) + width * len(columns)
        row = array("d", bytes(8 * (len(document_sums) + width * len(columns))))
        row[: len(document_sums)] = array("d", document_sums)
        for label, values in label_sums.items():
            column = columns[label]
            row[column : column + width] = array("d", values)
        return row

    def row_sums(self, row: Sequence[Number]) -> Sums:
        """The inverse of ``_row``: a row (or a weighted sum of rows) as ``Sums``. A row
        stops at the labels the group knew when it was made: later labels are absent."""
        width = Layout(len(self.annotators)).label_width
        return Sums(
            row[: len(self.document_sums)],
            {
                label: row[column : column + width]
                for label, column in self.columns.items()
                if column < len(row)
            },
        )

    def merge(self, other: Group) -> None:
        self.add(other.document_sums, other.label_sums)
        for position, row in zip(other.positions, other.rows, strict=True):
            self.add_row(position, *other.row_sums(row))

    def to_json(self) -> dict[str, Any]:
        return {
            "annotators": list(self.annotators),
            "document_sums": self.document_sums,
            "label_sums": self.label_sums,
            "columns": self.columns,
            "positions": list(self.positions),
            "rows": [row.tolist() for row in self.rows],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Group:
        return cls(
            annotators=tuple(raw["annotators"]),
            document_sums=raw["document_sums"],
            label_sums=raw["label_sums"],
            columns=raw["columns"],
            positions=array("q", raw["positions"]),
            rows=[array("d", row) for row in raw["rows"]],
        )


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
