"""Agreement on document-level labels (e.g. an article's stance): nominal Krippendorff's
alpha and pairwise Cohen's kappa, with the document as the unit.

A *single-choice* label is one nominal item per document: an annotator's value is the
value they gave, or missing when they gave none (a layer that leaves the label unset says
nothing about it). A *multiple-choice* label is one yes/no item per allowed value and
document: every annotator who annotated the document said yes (they gave the value) or
no (they did not); the label's figures are the means of its values' figures.

Like the span measures, only the documents with two annotators or more count, and the
sums add up across chunks of documents. They sit in ``Partial.totals``:

- ``("dl_coincidence", label, item, m, value_a, value_b)``: ordered pairs of values of
  two annotators in units (documents) where ``m`` annotators gave a value;
- ``("dl_pair", label, item, a, b, value_a, value_b)``: documents where annotators ``a < b``
  gave these values (Cohen's confusion table of the pair).

``item`` is ``None`` for a single-choice label and the value for a multiple-choice one
(whose values are then ``1`` and ``0``). Alpha from the coincidence matrix ``o``::

    o_ck = sum_u (pairs of values c, k in unit u) / (m_u - 1)
    alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k

References: ``krippendorff.alpha(level_of_measurement="nominal")`` on the annotators x
documents matrix, ``sklearn.metrics.cohen_kappa_score`` per pair (tests hold the two).
Undefined (``None`` with a reason): no document with two values, or a single value in
all of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from itertools import combinations
from typing import Any

from annotations.agreement.kappa import cohen_kappa_nominal
from annotations.agreement.types import DocumentLabelSpec, Measure, mean_of
from annotations.interchange import DocumentRecord

Key = tuple[Any, ...]

NO_UNITS = "no document where two annotators gave this label a value"
NO_VARIATION = "no variation: every annotator gave the same value to every document"


def _items(
    spec: DocumentLabelSpec, labels: Mapping[str, Sequence[str]]
) -> list[tuple[str | None, Any]]:
    """An annotator's ``(item, value)`` pairs for one label; ``value`` None is missing."""
    given = labels.get(spec.name, ())
    if spec.multiple:
        return [(choice, int(choice in given)) for choice in spec.choices]
    return [(None, given[0] if given else None)]


def count_document_labels(
    record: DocumentRecord,
    names: Sequence[str],
    specs: Sequence[DocumentLabelSpec],
    totals: dict[Key, int],
) -> None:
    """Add one document's sums: ``names`` are its measured annotators, sorted."""
    for spec in specs:
        per_annotator = [dict(_items(spec, record.document_labels.get(name, {}))) for name in names]
        for item in per_annotator[0] if per_annotator else ():
            values = [(name, found[item]) for name, found in zip(names, per_annotator, strict=True)]
            given = [(name, value) for name, value in values if value is not None]
            m = len(given)
            if m < 2:
                continue
            for (name_a, value_a), (name_b, value_b) in combinations(given, 2):
                pair = ("dl_pair", spec.name, item, name_a, name_b, value_a, value_b)
                totals[pair] = totals.get(pair, 0) + 1
                for first, second in ((value_a, value_b), (value_b, value_a)):
                    key = ("dl_coincidence", spec.name, item, m, first, second)
                    totals[key] = totals.get(key, 0) + 1


def nominal_alpha(coincidences: Mapping[tuple[int, Any, Any], int]) -> Measure:
    """Alpha from ``{(m, value_a, value_b): ordered pairs in units of m values}``.

    In integers: each count is weighed by ``L / (m - 1)``, ``L`` the least common
    multiple of the ``m - 1``, so that with ``N`` the weighed total, ``O`` its part off
    the diagonal and ``C_c`` the margins, ``alpha = 1 - (N - L) O / (N^2 - sum C_c^2)``:
    one division of two integers, correctly rounded."""
    if not coincidences:
        return None, NO_UNITS
    scale = math.lcm(*{m - 1 for m, _, _ in coincidences})
    total = observed = 0
    margins: dict[Any, int] = {}
    for (m, value_a, _value_b), count in coincidences.items():
        weight = count * (scale // (m - 1))
        total += weight
        margins[value_a] = margins.get(value_a, 0) + weight
    for (m, value_a, value_b), count in coincidences.items():
        if value_a != value_b:
            observed += count * (scale // (m - 1))
    expected = total * total - sum(n * n for n in margins.values())
    if expected == 0:
        return None, NO_VARIATION
    return (expected - (total - scale) * observed) / expected, None


def _with_reason(into: dict[str, Any], key: str, measure: Measure) -> None:
    into[key] = measure[0]
    if measure[0] is None:
        into[f"{key}_reason"] = measure[1]


def _item_report(
    totals: Mapping[Key, int], label: str, item: str | None, annotators: Sequence[str]
) -> dict[str, Any]:
    coincidences = {
        key[3:]: count
        for key, count in totals.items()
        if key[0] == "dl_coincidence" and key[1] == label and key[2] == item
    }
    tables: dict[tuple[str, str], dict[tuple[Any, Any], int]] = {}
    for key, count in totals.items():
        if key[0] == "dl_pair" and key[1] == label and key[2] == item:
            _, _, _, a, b, value_a, value_b = key
            table = tables.setdefault((a, b), {})
            table[value_a, value_b] = table.get((value_a, value_b), 0) + count
    pairs = []
    kappas = []
    for a, b in combinations(annotators, 2):
        if (a, b) not in tables:
            continue
        table = tables[a, b]
        kappa = cohen_kappa_nominal(table)
        kappas.append(kappa)
        entry: dict[str, Any] = {"a": a, "b": b, "n_documents": sum(table.values())}
        _with_reason(entry, "cohen_kappa", kappa)
        pairs.append(entry)
    # Each document adds m (m - 1) ordered pairs, i.e. m (m - 1) / (m - 1) = m values.
    documents = sum(Fraction(count, m * (m - 1)) for (m, _, _), count in coincidences.items())
    report: dict[str, Any] = {"n_documents": int(documents)}
    _with_reason(report, "alpha", nominal_alpha(coincidences))
    _with_reason(report, "cohen_kappa_mean", mean_of(kappas, "pair of annotators"))
    report["pairs"] = pairs
    return report


def _measure(found: Mapping[str, Any], key: str) -> Measure:
    return found[key], found.get(f"{key}_reason")


def _multiple_report(values: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """A multiple-choice label: the means over its values, per pair too."""
    report: dict[str, Any] = {
        "multiple": True,
        "n_documents": max((found["n_documents"] for found in values.values()), default=0),
    }
    for key in ("alpha", "cohen_kappa_mean"):
        _with_reason(report, key, mean_of([_measure(v, key) for v in values.values()], "value"))
    kappas: dict[tuple[str, str], list[Measure]] = {}
    documents: dict[tuple[str, str], int] = {}
    for found in values.values():
        for pair in found["pairs"]:
            names = (pair["a"], pair["b"])
            kappas.setdefault(names, []).append(_measure(pair, "cohen_kappa"))
            documents[names] = max(documents.get(names, 0), pair["n_documents"])
    report["pairs"] = []
    for (a, b), measures in kappas.items():
        entry: dict[str, Any] = {"a": a, "b": b, "n_documents": documents[a, b]}
        _with_reason(entry, "cohen_kappa", mean_of(measures, "value"))
        report["pairs"].append(entry)
    report["values"] = dict(values)
    return report


def document_label_report(
    totals: Mapping[Key, int], specs: Sequence[DocumentLabelSpec], annotators: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """``{label: {"alpha", "cohen_kappa_mean", "pairs", "n_documents", ...}}``; a
    multiple-choice label also has ``values``: the same figures per value."""
    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        if spec.multiple:
            out[spec.name] = _multiple_report(
                {
                    choice: _item_report(totals, spec.name, choice, annotators)
                    for choice in spec.choices
                }
            )
        else:
            out[spec.name] = {
                "multiple": False,
                **_item_report(totals, spec.name, None, annotators),
            }
    return out
