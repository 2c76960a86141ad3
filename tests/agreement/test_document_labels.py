"""Agreement on document-level labels against the reference libraries: nominal alpha
against ``krippendorff.alpha`` on the annotators x documents matrix, Cohen's kappa per pair
against ``sklearn.metrics.cohen_kappa_score``. Single choice: one nominal item per
document, missing where an annotator gave no value. Multiple choice: one yes/no item per
value and document, the label's figures the means over its values."""

from __future__ import annotations

import math
import random
import warnings
from itertools import combinations

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from annotations.agreement import accumulate, compute, finalize, merge
from annotations.agreement.types import Params
from annotations.interchange import DocumentRecord
from tests.agreement.test_against_references import assert_same

STANCES = ["supports", "refutes", "neutral"]
TOPICS = ["security", "politics", "economy"]
SCHEMA = {
    "stance": {"multiple": False, "choices": STANCES},
    "topics": {"multiple": True, "choices": TOPICS},
}
NAMES = ["alice", "bob", "carol"]


def random_records(seed: int, documents: int = 40) -> list[DocumentRecord]:
    """Annotators who mostly agree, sometimes skip a document or leave the stance unset."""
    rng = random.Random(seed)
    records = []
    for number in range(documents):
        record = DocumentRecord(id=f"doc-{number}", text="Saleh stays in Panjshir.")
        truth = rng.choice(STANCES)
        topics = {topic for topic in TOPICS if rng.random() < 0.4}
        for name in NAMES:
            if rng.random() < 0.15:
                continue  # did not annotate the document
            record.annotations[name] = []
            labels: dict[str, list[str]] = {}
            if rng.random() < 0.85:
                labels["stance"] = [truth if rng.random() < 0.7 else rng.choice(STANCES)]
            mine = {topic for topic in TOPICS if (topic in topics) != (rng.random() < 0.2)}
            if mine:
                labels["topics"] = sorted(mine)
            if labels:
                record.document_labels[name] = labels
        records.append(record)
    return records


def value_of(record: DocumentRecord, name: str, label: str, item: str | None) -> object:
    """The reference's cell: the value, 1/0 for a multiple-choice item, None for missing."""
    if name not in record.annotations:
        return None
    given = record.document_labels.get(name, {}).get(label, [])
    if item is not None:
        return int(item in given)
    return given[0] if given else None


def measured(records: list[DocumentRecord]) -> list[DocumentRecord]:
    return [record for record in records if len(record.annotations) >= 2]


def reference_alpha(records: list[DocumentRecord], label: str, item: str | None) -> float | None:
    codes = {value: code for code, value in enumerate([*STANCES, 0, 1])}
    matrix = [
        [
            math.nan if (v := value_of(r, name, label, item)) is None else codes[v]
            for r in measured(records)
        ]
        for name in NAMES
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = krippendorff.alpha(
                reliability_data=np.array(matrix, dtype=float), level_of_measurement="nominal"
            )
        except ValueError:
            return None
    return float(value) if np.isfinite(value) else None


def reference_kappa(
    records: list[DocumentRecord], a: str, b: str, label: str, item: str | None
) -> float | None:
    pairs = [(value_of(r, a, label, item), value_of(r, b, label, item)) for r in measured(records)]
    kept = [(x, y) for x, y in pairs if x is not None and y is not None]
    if not kept:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = cohen_kappa_score([str(x) for x, _ in kept], [str(y) for _, y in kept])
    return float(value) if np.isfinite(value) else None


def check(result: dict, records: list[DocumentRecord], label: str, item: str | None) -> None:
    assert_same(result["alpha"], reference_alpha(records, label, item), f"{label}/{item} alpha")
    kappas = []
    found = {(pair["a"], pair["b"]): pair for pair in result["pairs"]}
    for a, b in combinations(NAMES, 2):
        theirs = reference_kappa(records, a, b, label, item)
        if (a, b) in found:
            assert_same(found[a, b]["cohen_kappa"], theirs, f"{label}/{item} kappa {a}-{b}")
            if theirs is not None:
                kappas.append(theirs)
    mean = sum(kappas) / len(kappas) if kappas else None
    assert_same(result["cohen_kappa_mean"], mean, f"{label}/{item} kappa mean")


@pytest.mark.parametrize("seed", range(6))
def test_document_label_agreement_matches_the_references(seed: int) -> None:
    records = random_records(seed)
    result = compute(records, {"bootstrap_resamples": 0, "document_labels": SCHEMA})
    stance = result["document_labels"]["stance"]
    topics = result["document_labels"]["topics"]

    check(stance, records, "stance", None)
    pairable = [
        r
        for r in measured(records)
        if sum(value_of(r, n, "stance", None) is not None for n in NAMES) >= 2
    ]
    assert stance["n_documents"] == len(pairable)
    assert topics["multiple"] is True
    for topic in TOPICS:
        check(topics["values"][topic], records, "topics", topic)
    alphas = [
        topics["values"][t]["alpha"] for t in TOPICS if topics["values"][t]["alpha"] is not None
    ]
    assert topics["alpha"] == pytest.approx(sum(alphas) / len(alphas))


def test_chunks_merged_give_the_same_figures_as_one_pass() -> None:
    records = random_records(7, documents=30)
    params = Params.from_mapping({"bootstrap_resamples": 0, "document_labels": SCHEMA})
    chunks = [records[:10], records[10:22], records[22:]]
    partials = [accumulate(chunk, params) for chunk in chunks]
    # Through JSON, as the Celery chunks send them.
    travelled = [type(p).from_json(p.to_json()) for p in partials]

    assert (
        finalize(merge(travelled), params)["document_labels"]
        == compute(records, params)["document_labels"]
    )


def test_no_variation_is_undefined_with_a_reason() -> None:
    records = []
    for number in range(3):
        record = DocumentRecord(id=str(number), text="text")
        for name in ("alice", "bob"):
            record.annotations[name] = []
            record.document_labels[name] = {"stance": ["refutes"]}
        records.append(record)

    found = compute(records, {"bootstrap_resamples": 0, "document_labels": SCHEMA})[
        "document_labels"
    ]

    assert found["stance"]["alpha"] is None
    assert found["stance"]["alpha_reason"].startswith("no variation")
    assert found["stance"]["cohen_kappa_mean"] is None
    assert found["stance"]["n_documents"] == 3
    assert found["topics"]["alpha"] is None  # nobody gave a topic: "no" everywhere


def test_a_document_with_one_annotator_does_not_count() -> None:
    record = DocumentRecord(id="alone", text="text", annotations={"alice": []})
    record.document_labels["alice"] = {"stance": ["refutes"]}

    found = compute([record], {"bootstrap_resamples": 0, "document_labels": SCHEMA})

    assert found["document_labels"]["stance"]["n_documents"] == 0
    assert found["document_labels"]["stance"]["alpha"] is None
    assert found["document_labels"]["stance"]["pairs"] == []


def test_without_document_labels_in_the_parameters_the_result_has_none() -> None:
    assert "document_labels" not in compute(random_records(1), {"bootstrap_resamples": 0})
