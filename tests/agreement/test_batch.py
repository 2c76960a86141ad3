"""The batch arithmetic (numpy, many documents at once) against the one-document functions.

``one_document_at_a_time`` sums a corpus the plain way: each document on its own, with
``segments.py`` and ``span_f1.py`` on Python lists. ``accumulate`` must give the very same
integers, counts and per-document floats, whatever the batch boundaries and filters.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from unittest import mock

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.agreement import accumulate, documents
from annotations.agreement.batch import order_by
from annotations.agreement.segments import covered_length, merge_intervals, overlap_length
from annotations.agreement.span_f1 import exact_matching, f1_value, overlap_matching
from annotations.agreement.types import Params
from annotations.interchange import DocumentRecord, Relation, Span

NAMES = ["alice", "bob", "carol", "dan"]
LABELS = ["claim", "source", "sentiment"]
# Values that compare equal across types, or cannot be hashed: counted apart all the same.
VALUES = ["person", "media", 1, 1.0, True, 0.0, -0.0, None, [1], {"a": 1}]


def value_key(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else json.dumps(value, sort_keys=True)


def one_document_at_a_time(records: list[DocumentRecord], params: Params) -> dict[str, Any]:
    """What ``accumulate`` sums, document by document (layout: ``partial.py``'s docstring)."""
    groups: dict[tuple[str, ...], tuple[list[int], dict[str, list[int]]]] = {}
    totals: Counter[tuple[Any, ...]] = Counter()
    scores = []
    for position, record in enumerate(records):
        names = sorted(
            name
            for name in record.annotations
            if params.annotators is None or name in params.annotators
        )
        m = len(names)
        if m < 2:
            continue
        pairs = [(a, b) for a in range(m) for b in range(a + 1, m)]
        layers: list[dict[str, list[tuple[int, int, int]]]] = []
        for name in names:
            by_label: dict[str, list[tuple[int, int, int]]] = {}
            for index, span in enumerate(record.annotations[name]):
                if params.labels is None or span.label in params.labels:
                    by_label.setdefault(span.label, []).append((span.start, span.end, index))
            for items in by_label.values():
                items.sort()
            layers.append(by_label)
        width = 2 * m + 3 * len(pairs)
        label_sums: dict[str, list[int]] = {}
        for a, layer in enumerate(layers):
            for label, items in layer.items():
                sums = label_sums.setdefault(label, [0] * width)
                sums[a] = len(items)
                sums[m + a] = covered_length(merge_intervals(item[:2] for item in items))
        exact_sum = overlap_sum = 0.0
        for p, (a, b) in enumerate(pairs):
            spans_a, spans_b = record.annotations[names[a]], record.annotations[names[b]]
            exact = overlap = 0
            left_a: list[tuple[int, int, str]] = []
            left_b: list[tuple[int, int, str]] = []
            for label, sums in label_sums.items():
                items_a, items_b = layers[a].get(label, []), layers[b].get(label, [])
                sums[2 * m + 3 * p] = overlap_length(
                    merge_intervals(item[:2] for item in items_a),
                    merge_intervals(item[:2] for item in items_b),
                )
                matched = exact_matching(items_a, items_b)
                sums[2 * m + 3 * p + 1] = len(matched)
                exact += len(matched)
                for i, j in matched:
                    attrs_a, attrs_b = spans_a[items_a[i][2]].attrs, spans_b[items_b[j][2]].attrs
                    for attribute in [*attrs_a, *(key for key in attrs_b if key not in attrs_a)]:
                        value_a = value_key(attrs_a[attribute]) if attribute in attrs_a else None
                        value_b = value_key(attrs_b.get(attribute))
                        totals["attr", label, attribute, names[a], names[b], value_a, value_b] += 1
                paired, alone_a, alone_b = overlap_matching(items_a, items_b)
                sums[2 * m + 3 * p + 2] = len(paired)
                overlap += len(paired)
                totals["conf", label, label] += len(paired)
                left_a += [(start, end, label) for start, end, _ in alone_a]
                left_b += [(start, end, label) for start, end, _ in alone_b]
            paired_left, alone_a_left, alone_b_left = overlap_matching(
                sorted(left_a), sorted(left_b)
            )
            for item_a, item_b in paired_left:
                totals["conf", item_a[2], item_b[2]] += 1
            for item in alone_a_left:
                totals["conf", item[2], None] += 1
            for item in alone_b_left:
                totals["conf", None, item[2]] += 1
            sizes = [sum(sums[i] for sums in label_sums.values()) for i in (a, b)]
            exact_sum += f1_value(exact, *sizes)
            overlap_sum += f1_value(overlap, *sizes)

        document_sums = [1, len(record.text)] + [0] * (m + len(pairs))
        links: list[Counter[tuple[Any, ...]]] = []
        for a, name in enumerate(names):
            spans = record.annotations[name]
            mine: Counter[tuple[Any, ...]] = Counter()
            for relation in record.relations.get(name, ()):
                head, tail = spans[relation.head], spans[relation.tail]
                if params.relation_types is not None and relation.type not in params.relation_types:
                    continue
                if params.labels is not None and not {head.label, tail.label} <= set(params.labels):
                    continue
                mine[relation.type, head[:3], tail[:3]] += 1
            document_sums[2 + a] = sum(mine.values())
            links.append(mine)
        for p, (a, b) in enumerate(pairs):
            document_sums[2 + m + p] = sum((links[a] & links[b]).values())

        found_alpha = []
        values = m * len(record.text)
        for sums in label_sums.values():
            ones = sum(sums[m : 2 * m])
            zeros = values - ones
            if ones and zeros:
                both = sum(sums[2 * m + 3 * p] for p in range(len(pairs)))
                disagreement = (m - 1) * ones - 2 * both
                found_alpha.append(1 - (values - 1) * disagreement / ((m - 1) * zeros * ones))
        scores.append(
            [
                position,
                record.id,
                names,
                sum(sums[a] for sums in label_sums.values() for a in range(m)),
                exact_sum / len(pairs),
                overlap_sum / len(pairs),
                sum(found_alpha) / len(found_alpha) if found_alpha else None,
            ]
        )
        group_documents, group_labels = groups.setdefault(
            tuple(names), ([0] * len(document_sums), {})
        )
        group_documents[:] = [x + y for x, y in zip(group_documents, document_sums, strict=True)]
        for label, sums in label_sums.items():
            total = group_labels.setdefault(label, [0] * width)
            total[:] = [x + y for x, y in zip(total, sums, strict=True)]
    return {"groups": groups, "totals": dict(+totals), "scores": scores}


def batched(records: list[DocumentRecord], params: Params, batch_spans: int) -> dict[str, Any]:
    with mock.patch.object(documents, "BATCH_SPANS", batch_spans):
        found = accumulate(records, params)
    return {
        "groups": {
            signature: (group.document_sums, group.label_sums)
            for signature, group in found.groups.items()
        },
        "totals": {key: value for key, value in found.totals.items() if value},
        "scores": found.scores,
    }


@st.composite
def corpora(draw: st.DrawFn) -> list[DocumentRecord]:
    records = []
    for number in range(draw(st.integers(1, 6))):
        length = draw(st.integers(0, 40))
        annotations = {}
        relations = {}
        for name in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4)):
            spans = []
            for _ in range(draw(st.integers(0, 8)) if length else 0):
                start = draw(st.integers(0, length - 1))
                end = draw(st.integers(start + 1, min(length, start + 15)))
                attrs = draw(
                    st.dictionaries(st.sampled_from(["kind", "polarity"]), st.sampled_from(VALUES))
                )
                spans.append(Span(start, end, draw(st.sampled_from(LABELS)), attrs))
            annotations[name] = spans
            if len(spans) >= 2:
                ends = st.lists(st.integers(0, len(spans) - 1), min_size=2, max_size=2, unique=True)
                relations[name] = [
                    Relation(draw(st.sampled_from(["attributed_to", "quotes"])), *draw(ends))
                    for _ in range(draw(st.integers(0, 4)))
                ]
        records.append(
            DocumentRecord(
                id=str(number), text="x" * length, annotations=annotations, relations=relations
            )
        )
    return records


parameters = st.builds(
    Params,
    labels=st.none() | st.just(("claim", "source")),
    annotators=st.none() | st.just(("alice", "bob", "carol")),
    relation_types=st.none() | st.just(("quotes",)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora(), parameters, st.sampled_from([1, 7, 100_000]))
def test_batches_equal_one_document_at_a_time(
    records: list[DocumentRecord], params: Params, batch_spans: int
) -> None:
    assert batched(records, params, batch_spans) == one_document_at_a_time(records, params)


def test_long_documents_take_the_exact_integer_paths() -> None:
    """Past 2**53 the per-document alpha is computed on Python integers."""
    length = 40_000_000
    spans = [Span(0, length // 2, "claim"), Span(length - 5, length, "claim")]
    record = DocumentRecord(
        id="long",
        text="x" * length,
        annotations={"alice": spans, "bob": [Span(10, length // 3, "claim")], "carol": []},
    )
    assert batched([record], Params(), 100_000) == one_document_at_a_time([record], Params())


def test_tens_of_thousands_of_spans_of_one_label_in_one_document() -> None:
    """More turns of the greedy matching than int16 holds."""
    many = [Span(2 * i, 2 * i + 1, "claim") for i in range(33_000)]
    few = [Span(100 * i, 100 * i + 3, "claim") for i in range(0, 660, 7)]
    record = DocumentRecord(id="many", text="x" * 66_000, annotations={"a": many, "b": few})
    assert batched([record], Params(), 100_000) == one_document_at_a_time([record], Params())


def test_order_by_sorts_stably_beyond_the_int64_range() -> None:
    rng = np.random.default_rng(1)
    first, second = rng.integers(0, 3, 200), rng.integers(0, 5, 200)
    expected = sorted(range(200), key=lambda i: (first[i], second[i]))
    for bound_first, bound_second in ((3, 5), (2**40, 2**40)):  # one int64, then np.lexsort
        order = order_by((first, bound_first), (second, bound_second))
        assert order.tolist() == expected
