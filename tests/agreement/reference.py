"""The reference side of the agreement tests: per-character vectors and the libraries.

Everything the product refuses to do (one array entry per character) is done here, on
purpose, so that the reference libraries see exactly the data docs/agreement.md defines.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Sequence

import krippendorff
import numpy as np
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa

from annotations.interchange import DocumentRecord, Span


def measured(records: Sequence[DocumentRecord]) -> list[DocumentRecord]:
    """The documents agreement counts: two annotator layers or more."""
    return [record for record in records if len(record.annotations) >= 2]


def annotators_of(records: Sequence[DocumentRecord]) -> list[str]:
    return sorted({name for record in measured(records) for name in record.annotations})


def char_values(record: DocumentRecord, name: str, label: str) -> list[int]:
    values = [0] * len(record.text)
    for span in record.annotations[name]:
        if span.label == label:
            for position in range(span.start, span.end):
                values[position] = 1
    return values


def reliability_matrix(records: Sequence[DocumentRecord], label: str) -> np.ndarray:
    """Annotators x characters, nan where the annotator did not annotate the document."""
    names = annotators_of(records)
    rows: list[list[float]] = [[] for _ in names]
    for record in measured(records):
        for row, name in zip(rows, names, strict=True):
            if name in record.annotations:
                row.extend(char_values(record, name, label))
            else:
                row.extend([math.nan] * len(record.text))
    return np.array(rows, dtype=float).reshape(len(names), -1)


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def reference_alpha(records: Sequence[DocumentRecord], label: str) -> float | None:
    data = reliability_matrix(records, label)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = krippendorff.alpha(
                reliability_data=data, level_of_measurement="nominal", value_domain=[0, 1]
            )
        except ValueError:  # no pairable unit
            return None
    return _finite(value)


def pair_vectors(
    records: Sequence[DocumentRecord], a: str, b: str, label: str
) -> tuple[list[int], list[int]]:
    first: list[int] = []
    second: list[int] = []
    for record in measured(records):
        if a in record.annotations and b in record.annotations:
            first.extend(char_values(record, a, label))
            second.extend(char_values(record, b, label))
    return first, second


def reference_cohen(records: Sequence[DocumentRecord], a: str, b: str, label: str) -> float | None:
    first, second = pair_vectors(records, a, b, label)
    if not first:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _finite(cohen_kappa_score(first, second))


def reference_fleiss(records: Sequence[DocumentRecord], label: str) -> float | None:
    names = annotators_of(records)
    table = []
    for record in measured(records):
        if set(record.annotations) != set(names):
            continue
        columns = [char_values(record, name, label) for name in names]
        for position in range(len(record.text)):
            ones = sum(column[position] for column in columns)
            table.append([len(names) - ones, ones])
    if not table:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _finite(fleiss_kappa(np.array(table), method="fleiss"))


def _span_key(span: Span) -> tuple[int, int, str]:
    return (span.start, span.end, span.label)


def brute_exact(spans_a: Sequence[Span], spans_b: Sequence[Span], label: str | None) -> int:
    keep_a = [_span_key(s) for s in spans_a if label is None or s.label == label]
    keep_b = [_span_key(s) for s in spans_b if label is None or s.label == label]
    return sum((Counter(keep_a) & Counter(keep_b)).values())


def max_matching(left: int, right: int, edges: set[tuple[int, int]]) -> int:
    """Maximum bipartite matching by augmenting paths (Kuhn), for checking the greedy."""
    partner: dict[int, int] = {}

    def augment(u: int, seen: set[int]) -> bool:
        for v in range(right):
            if (u, v) in edges and v not in seen:
                seen.add(v)
                if v not in partner or augment(partner[v], seen):
                    partner[v] = u
                    return True
        return False

    return sum(augment(u, set()) for u in range(left))


def brute_overlap(spans_a: Sequence[Span], spans_b: Sequence[Span], label: str | None) -> int:
    total = 0
    labels = {s.label for s in [*spans_a, *spans_b]} if label is None else {label}
    for name in labels:
        keep_a = [s for s in spans_a if s.label == name]
        keep_b = [s for s in spans_b if s.label == name]
        edges = {
            (i, j)
            for i, x in enumerate(keep_a)
            for j, y in enumerate(keep_b)
            if x.start < y.end and y.start < x.end
        }
        total += max_matching(len(keep_a), len(keep_b), edges)
    return total


def brute_f1(
    records: Sequence[DocumentRecord], a: str, b: str, label: str | None, overlap: bool
) -> float | None:
    matches = size = 0
    shared = False
    for record in measured(records):
        if a in record.annotations and b in record.annotations:
            shared = True
            spans_a, spans_b = record.annotations[a], record.annotations[b]
            match = brute_overlap if overlap else brute_exact
            matches += match(spans_a, spans_b, label)
            size += sum(1 for s in [*spans_a, *spans_b] if label is None or s.label == label)
    if not shared:
        return None
    return 1.0 if size == 0 else 2 * matches / size


def brute_relation_f1(records: Sequence[DocumentRecord], a: str, b: str) -> float | None:
    matches = size = 0
    shared = False
    for record in measured(records):
        if a in record.annotations and b in record.annotations:
            shared = True
            links = []
            for name in (a, b):
                spans = record.annotations[name]
                links.append(
                    Counter(
                        (r.type, _span_key(spans[r.head]), _span_key(spans[r.tail]))
                        for r in record.relations.get(name, [])
                    )
                )
            matches += sum((links[0] & links[1]).values())
            size += sum(links[0].values()) + sum(links[1].values())
    if not shared:
        return None
    return 1.0 if size == 0 else 2 * matches / size
