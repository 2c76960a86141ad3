"""From sufficient statistics to the measures and the result JSON.

``measures`` is the one place where the sums of ``partial.py`` become M1, M1', M2, M3, M4
and M5: the report calls it once on the exact integer sums (so the values are correctly
rounded quotients of integers), and ``bootstrap.py`` calls it once per resample on
reweighted sums. Its answer is flat, ``{path: (value, reason)}``, with paths like
``("labels", "claim", "alpha_char")`` or ``("pairs", ("alice", "bob"), "cohen_kappa_char",
"claim")``; ``nest`` lays such a mapping out as the result JSON.

Means (over pairs, over labels) are taken over the defined values only; a mean with no
defined value is undefined, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from annotations.agreement.alpha import binary_nominal_alpha
from annotations.agreement.document_labels import document_label_report
from annotations.agreement.kappa import cohen_kappa_binary, cohen_kappa_nominal, fleiss_kappa_binary
from annotations.agreement.links import link_report
from annotations.agreement.partial import Key, Layout, Partial, Signature, Sums
from annotations.agreement.span_f1 import f1_value
from annotations.agreement.types import Measure, Number, Params

Path = tuple[Any, ...]
Pair = tuple[str, str]

RESULT_VERSION = 1
NO_SHARED = "no shared document: the two annotators never annotated the same document"
NO_FULL = "no document was annotated by every annotator"
# The figures under "overall" and under each label, in the order every report shows them:
# PostgreSQL's jsonb keeps no key order, so readers of a stored result take it from here.
OVERALL_METRICS = (
    "alpha_char_macro",
    "span_f1_exact_mean",
    "span_f1_overlap_mean",
    "cohen_kappa_char_macro",
    "fleiss_kappa_char_macro",
    "relation_f1_mean",
)
LABEL_METRICS = (
    "alpha_char",
    "cohen_kappa_char_mean",
    "fleiss_kappa_char",
    "span_f1_exact_mean",
    "span_f1_overlap_mean",
)


def all_pairs(annotators: Sequence[str]) -> list[Pair]:
    return [(a, b) for i, a in enumerate(annotators) for b in annotators[i + 1 :]]


def index_pairs(m: int) -> list[tuple[int, int]]:
    """Positions of the pairs of ``m`` annotators, in the order of ``partial.py``'s sums."""
    return [(a, b) for a in range(m) for b in range(a + 1, m)]


def _mean(values: Iterable[Measure], what: str) -> Measure:
    found: list[float] = []
    reasons: set[str] = set()
    for value, reason in values:
        if value is None:
            reasons.add(reason or "undefined")
        elif not math.isnan(value):
            found.append(value)
    if found:
        return sum(found) / len(found), None
    if not reasons:
        return None, f"no {what} to average"
    if len(reasons) == 1:
        return None, f"undefined for every {what}: {reasons.pop()}"
    return None, f"undefined for every {what}"


class _PairSums:
    __slots__ = ("by_label", "characters", "documents", "relations")

    def __init__(self) -> None:
        self.documents: Number = 0
        self.characters: Number = 0
        # label -> [c_a, c_b, x, exact, overlap, n_a, n_b]
        self.by_label: dict[str, list[Number]] = {}
        # [relations of a, relations of b, matches]
        self.relations: list[Number] = [0, 0, 0]


def measures(
    groups: Mapping[Signature, Sums],
    annotators: Sequence[str],
    labels: Sequence[str],
) -> dict[Path, Measure]:
    """Every resampled measure, from the group sums (see ``partial.py`` for the layout)."""
    out: dict[Path, Measure] = {}
    full = tuple(annotators)
    pairs = {pair: _PairSums() for pair in all_pairs(annotators)}
    # label -> [pairable values, ones, {m: disagreement numerator}]
    alpha_sums: dict[str, list[Any]] = {label: [0, 0, {}] for label in labels}
    fleiss_sums: dict[str, tuple[Number, Number, Number]] = {}

    for signature, (document_sums, label_sums) in groups.items():
        layout = Layout(len(signature))
        m = layout.m
        documents, characters = document_sums[0], document_sums[1]
        for label in labels:
            sums = label_sums.get(label)
            ones = sum(sums[m : 2 * m]) if sums is not None else 0
            both = sum(sums[2 * m :: 3]) if sums is not None else 0
            found = alpha_sums[label]
            found[0] += m * characters
            found[1] += ones
            found[2][m] = found[2].get(m, 0) + (m - 1) * ones - 2 * both
            if signature == full:
                fleiss_sums[label] = (characters, ones, both)

        for number, (a, b) in enumerate(index_pairs(m)):
            pair_sums = pairs.get((signature[a], signature[b]))
            if pair_sums is None:
                continue
            pair_sums.documents += documents
            pair_sums.characters += characters
            slot = layout.pair_slot(number)
            for label in labels:
                sums = label_sums.get(label)
                if sums is None:
                    continue
                row = pair_sums.by_label.setdefault(label, [0, 0, 0, 0, 0, 0, 0])
                row[0] += sums[m + a]
                row[1] += sums[m + b]
                row[2] += sums[slot]
                row[3] += sums[slot + 1]
                row[4] += sums[slot + 2]
                row[5] += sums[a]
                row[6] += sums[b]
            pair_sums.relations[0] += document_sums[2 + a]
            pair_sums.relations[1] += document_sums[2 + b]
            pair_sums.relations[2] += document_sums[2 + m + number]

    for label in labels:
        values, ones, by_m = alpha_sums[label]
        denominator = math.lcm(*(m - 1 for m in by_m)) if by_m else 1
        numerator = sum(part * (denominator // (m - 1)) for m, part in by_m.items())
        out["labels", label, "alpha_char"] = binary_nominal_alpha(
            values, ones, numerator, denominator
        )
        if label in fleiss_sums:
            characters, ones_full, both_full = fleiss_sums[label]
            out["labels", label, "fleiss_kappa_char"] = fleiss_kappa_binary(
                characters, len(full), ones_full, both_full
            )
        else:
            out["labels", label, "fleiss_kappa_char"] = (None, NO_FULL)

    for pair, pair_sums in pairs.items():
        here = ("pairs", pair)
        if not pair_sums.documents:
            for name in ("span_f1_exact", "span_f1_overlap", "relation_f1"):
                out[(*here, name)] = (None, NO_SHARED)
            for label in labels:
                for name in (
                    "cohen_kappa_char",
                    "span_f1_exact_by_label",
                    "span_f1_overlap_by_label",
                ):
                    out[(*here, name, label)] = (None, NO_SHARED)
            continue
        exact: Number = 0
        overlap: Number = 0
        size_a: Number = 0
        size_b: Number = 0
        for label in labels:
            c_a, c_b, both, matched, paired, n_a, n_b = pair_sums.by_label.get(
                label, [0, 0, 0, 0, 0, 0, 0]
            )
            out[(*here, "cohen_kappa_char", label)] = cohen_kappa_binary(
                pair_sums.characters, c_a, c_b, both
            )
            out[(*here, "span_f1_exact_by_label", label)] = (f1_value(matched, n_a, n_b), None)
            out[(*here, "span_f1_overlap_by_label", label)] = (f1_value(paired, n_a, n_b), None)
            exact += matched
            overlap += paired
            size_a += n_a
            size_b += n_b
        out[(*here, "span_f1_exact")] = (f1_value(exact, size_a, size_b), None)
        out[(*here, "span_f1_overlap")] = (f1_value(overlap, size_a, size_b), None)
        rel_a, rel_b, rel_matched = pair_sums.relations
        out[(*here, "relation_f1")] = (f1_value(rel_matched, rel_a, rel_b), None)

    for label in labels:
        for name, source in (
            ("cohen_kappa_char_mean", "cohen_kappa_char"),
            ("span_f1_exact_mean", "span_f1_exact_by_label"),
            ("span_f1_overlap_mean", "span_f1_overlap_by_label"),
        ):
            out["labels", label, name] = _mean(
                (out["pairs", pair, source, label] for pair in pairs), "pair of annotators"
            )

    def over_labels(name: str) -> Measure:
        return _mean((out["labels", label, name] for label in labels), "label")

    def over_pairs(name: str) -> Measure:
        return _mean((out["pairs", pair, name] for pair in pairs), "pair of annotators")

    out["overall", "alpha_char_macro"] = over_labels("alpha_char")
    out["overall", "span_f1_exact_mean"] = over_pairs("span_f1_exact")
    out["overall", "span_f1_overlap_mean"] = over_pairs("span_f1_overlap")
    out["overall", "cohen_kappa_char_macro"] = over_labels("cohen_kappa_char_mean")
    out["overall", "fleiss_kappa_char_macro"] = over_labels("fleiss_kappa_char")
    out["overall", "relation_f1_mean"] = over_pairs("relation_f1")
    return out


def skeleton(annotators: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """The containers ``nest`` fills: overall, labels, pairs (in a fixed order)."""
    return {
        "overall": {},
        "labels": {label: {} for label in labels},
        "pairs": [{"a": a, "b": b} for a, b in all_pairs(annotators)],
    }


def nest(flat: Mapping[Path, tuple[Any, str | None]], into: dict[str, Any]) -> dict[str, Any]:
    """Lay a flat ``{path: (value, reason)}`` out in ``into`` (made by ``skeleton``).

    A ``None`` value gets its reason beside it under ``<key>_reason``.
    """
    pair_index = {(item["a"], item["b"]): item for item in into["pairs"]}
    for path, (value, reason) in flat.items():
        if path[0] == "overall":
            container, key = into["overall"], path[1]
        elif path[0] == "labels":
            container, key = into["labels"][path[1]], path[2]
        else:
            container, key = pair_index[path[1]], path[2]
            if len(path) == 4:
                container[key] = container.get(key, {})
                container[key][path[3]] = value
                if value is None:
                    container.setdefault(f"{key}_reason", {})[path[3]] = reason
                continue
        container[key] = value
        if value is None:
            container[f"{key}_reason"] = reason
    return into


def group_sums(partial: Partial) -> dict[Signature, Sums]:
    return {signature: group.sums() for signature, group in partial.groups.items()}


def annotators_of(partial: Partial, params: Params) -> list[str]:
    if params.annotators is not None:
        return list(params.annotators)
    return sorted({name for signature in partial.groups for name in signature})


def labels_of(partial: Partial, params: Params) -> list[str]:
    return list(params.labels) if params.labels is not None else sorted(partial.labels)


def build_result(
    partial: Partial,
    params: Params,
    intervals: Mapping[Path, tuple[list[float] | None, str | None]] | None,
) -> dict[str, Any]:
    """The result JSON (the keys in docs/agreement.md) from merged sums."""
    annotators = annotators_of(partial, params)
    labels = labels_of(partial, params)
    flat = measures(group_sums(partial), annotators, labels)
    body = nest(flat, skeleton(annotators, labels))
    _add_counts(body, partial, labels)

    result: dict[str, Any] = {
        "version": RESULT_VERSION,
        "documents": partial.documents,
        "documents_skipped": partial.skipped,
        "annotators": annotators,
        "label_names": labels,
        "params": params.to_json(),
        "overall": body["overall"],
        "labels": body["labels"],
        "pairs": body["pairs"],
        "attributes": attribute_agreement(partial.totals, annotators),
        "confusion": confusion_table(partial.totals, labels),
        "per_document": per_document(partial, params.per_document_limit),
    }
    if params.document_labels:
        result["document_labels"] = document_label_report(
            partial.totals, params.document_labels, annotators
        )
    if params.links:
        shared = frozenset(pair for signature in partial.groups for pair in all_pairs(signature))
        result["links"] = link_report(partial.totals, params.links, all_pairs(annotators), shared)
    if intervals is None:
        result["intervals"] = None
        result["intervals_reason"] = "bootstrap_resamples is 0"
    else:
        laid_out = nest(intervals, skeleton(annotators, labels))
        result["intervals"] = {
            "method": "percentile bootstrap over documents",
            "resamples": params.bootstrap_resamples,
            "seed": params.bootstrap_seed,
            "confidence": params.confidence,
            **laid_out,
        }
    return result


def _add_counts(body: dict[str, Any], partial: Partial, labels: Sequence[str]) -> None:
    spans = dict.fromkeys(labels, 0)
    shared: dict[Pair, list[int]] = {}
    for signature, group in partial.groups.items():
        m = len(signature)
        for label, sums in group.label_sums.items():
            if label in spans:
                spans[label] += sum(sums[:m])
        for pair in all_pairs(signature):
            found = shared.setdefault(pair, [0, 0])
            found[0] += group.document_sums[0]
            found[1] += group.document_sums[1]
    for label in labels:
        body["labels"][label]["spans"] = spans[label]
    for item in body["pairs"]:
        documents, characters = shared.get((item["a"], item["b"]), [0, 0])
        item["documents"] = documents
        item["characters"] = characters


def attribute_agreement(
    totals: Mapping[Key, int], annotators: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Agreement on attribute values of exactly matched spans, per label and attribute.

    ``agreement`` is the share of matched span pairs with equal values (pooled over the
    pairs of annotators); ``cohen_kappa`` is Cohen's kappa of one pair over its matched
    spans (a value missing on one side counts as its own category), and
    ``cohen_kappa_mean`` their mean.
    """
    tables: dict[tuple[str, str], dict[Pair, dict[tuple[Any, Any], int]]] = {}
    for key, count in totals.items():
        if key[0] == "attr":
            _, label, attribute, a, b, value_a, value_b = key
            pair_tables = tables.setdefault((label, attribute), {})
            table = pair_tables.setdefault((a, b), {})
            table[value_a, value_b] = table.get((value_a, value_b), 0) + count
    out: dict[str, dict[str, Any]] = {}
    for (label, attribute), pair_tables in sorted(tables.items()):
        matched = agreed = 0
        values: set[Any] = set()
        pair_items = []
        kappas = []
        for a, b in all_pairs(annotators):
            found = pair_tables.get((a, b))
            if not found:
                continue
            pair_matched = sum(found.values())
            pair_agreed = sum(count for (va, vb), count in found.items() if va == vb)
            matched += pair_matched
            agreed += pair_agreed
            for value_a, value_b in found:
                values.update((value_a, value_b))
            kappa = cohen_kappa_nominal(found)
            kappas.append(kappa)
            item: dict[str, Any] = {
                "a": a,
                "b": b,
                "matched": pair_matched,
                "agreement": pair_agreed / pair_matched,
                "cohen_kappa": kappa[0],
            }
            if kappa[0] is None:
                item["cohen_kappa_reason"] = kappa[1]
            pair_items.append(item)
        mean = _mean(kappas, "pair of annotators")
        entry: dict[str, Any] = {
            "matched": matched,
            "agreement": agreed / matched if matched else None,
            "cohen_kappa_mean": mean[0],
            "values": sorted(values, key=lambda value: (value is None, str(value))),
            "pairs": pair_items,
        }
        if mean[0] is None:
            entry["cohen_kappa_mean_reason"] = mean[1]
        out.setdefault(label, {})[attribute] = entry
    return out


def confusion_table(totals: Mapping[Key, int], labels: Sequence[str]) -> dict[str, Any]:
    """Which label one annotator gave where another gave another (``None``: no span).

    Rows are the first annotator's label, columns the other's, over ordered pairs of
    annotators, so the table is symmetric; the diagonal counts M1' matches twice.
    """
    names: list[str | None] = [*labels, None]
    index = {name: position for position, name in enumerate(names)}
    counts = [[0] * len(names) for _ in names]
    for key, count in totals.items():
        if key[0] == "conf" and key[1] in index and key[2] in index:
            # Both directions: (a's label, b's label) and (b's label, a's label).
            counts[index[key[1]]][index[key[2]]] += count
            counts[index[key[2]]][index[key[1]]] += count
    return {"labels": names, "counts": counts}


def per_document(partial: Partial, limit: int | None) -> list[dict[str, Any]]:
    """Per-document scores, worst first (lowest M1 mean, then M1', then alpha)."""

    scores = partial.scores
    # Sorted as columns (positions are unique: no ties are left to order).
    order = np.lexsort(
        (
            np.array([row[0] for row in scores], dtype=np.int64),
            np.array([math.inf if row[6] is None else row[6] for row in scores]),
            np.array([row[5] for row in scores]),
            np.array([row[4] for row in scores]),
        )
    )
    rows = [scores[index] for index in order.tolist()]
    if limit is not None:
        rows = rows[:limit]
    out = []
    for _, doc_id, names, spans, exact, overlap, alpha in rows:
        item: dict[str, Any] = {
            "id": doc_id,
            "annotators": names,
            "spans": spans,
            "span_f1_exact_mean": exact,
            "span_f1_overlap_mean": overlap,
            "alpha_char_macro": alpha,
        }
        if alpha is None:
            item["alpha_char_macro_reason"] = "undefined for every label (no variation)"
        out.append(item)
    return out
