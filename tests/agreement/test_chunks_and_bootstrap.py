"""Chunks merge to the whole, and the bootstrap equals recomputing from the spans."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from annotations.agreement import Partial, accumulate, compute, finalize, merge
from annotations.agreement.types import Params
from annotations.interchange import DocumentRecord, Span
from tests.agreement.reference import measured

LABELS = ["claim", "source", "sentiment"]


def random_records(count: int, seed: int) -> list[DocumentRecord]:
    rng = random.Random(seed)
    records = []
    for number in range(count):
        length = rng.randint(0, 120)
        names = rng.sample(["alice", "bob", "carol", "dan"], rng.randint(1, 4))
        annotations = {}
        for name in names:
            spans = []
            for _ in range(rng.randint(0, 5) if length else 0):
                start = rng.randrange(length)
                end = min(length, start + rng.randint(1, 30))
                label = rng.choice(LABELS)
                attrs = (
                    {"polarity": rng.choice(["positive", "negative"])}
                    if label == "sentiment"
                    else {}
                )
                spans.append(Span(start, end, label, attrs))
            annotations[name] = spans
        records.append(DocumentRecord(id=f"d{number}", text="x" * length, annotations=annotations))
    return records


def without_timing(result: dict) -> dict:
    return json.loads(json.dumps(result, allow_nan=False))


def test_chunks_merged_through_json_equal_one_pass() -> None:
    records = random_records(60, seed=3)
    params = Params(bootstrap_resamples=200, bootstrap_seed=7)
    whole = compute(records, params)
    partials = []
    for start in range(0, len(records), 13):
        partial = accumulate(records[start : start + 13], params, start=start)
        partials.append(Partial.from_json(json.loads(json.dumps(partial.to_json()))))
    partials.reverse()  # any order
    assert without_timing(finalize(merge(partials), params)) == without_timing(whole)


def test_same_seed_same_intervals_other_seed_other_intervals() -> None:
    records = random_records(40, seed=5)
    first = compute(records, {"bootstrap_resamples": 100, "bootstrap_seed": 1})
    again = compute(records, {"bootstrap_resamples": 100, "bootstrap_seed": 1})
    other = compute(records, {"bootstrap_resamples": 100, "bootstrap_seed": 2})
    assert first["intervals"] == again["intervals"]
    assert first["intervals"] != other["intervals"]


def test_bootstrap_equals_recomputing_each_resample_from_spans() -> None:
    records = random_records(30, seed=11)
    resamples, seed, confidence = 150, 42, 0.9
    result = compute(
        records,
        {"bootstrap_resamples": resamples, "bootstrap_seed": seed, "confidence": confidence},
    )
    kept = measured(records)
    draws = np.random.default_rng(seed).integers(0, len(kept), size=(resamples, len(kept)))
    values: dict[str, list[float]] = {"alpha": [], "exact": [], "kappa": [], "pair": []}
    for row in draws:
        sample = compute([kept[i] for i in row], {"bootstrap_resamples": 0, "labels": LABELS})
        for key, value in (
            ("alpha", sample["overall"]["alpha_char_macro"]),
            ("exact", sample["overall"]["span_f1_exact_mean"]),
            ("kappa", sample["labels"]["claim"]["cohen_kappa_char_mean"]),
            ("pair", sample["pairs"][0]["span_f1_overlap"]),
        ):
            if value is not None:
                values[key].append(value)
    intervals = result["intervals"]
    for key, ours in (
        ("alpha", intervals["overall"]["alpha_char_macro"]),
        ("exact", intervals["overall"]["span_f1_exact_mean"]),
        ("kappa", intervals["labels"]["claim"]["cohen_kappa_char_mean"]),
        ("pair", intervals["pairs"][0]["span_f1_overlap"]),
    ):
        theirs = np.percentile(values[key], [5, 95])
        assert ours == pytest.approx(list(theirs), abs=1e-9), key


def test_perfect_agreement_has_a_degenerate_interval() -> None:
    spans = [Span(0, 4, "claim")]
    records = [
        DocumentRecord(id=str(i), text="abcdefgh", annotations={"a": spans, "b": spans})
        for i in range(5)
    ]
    result = compute(records, {"bootstrap_resamples": 50})
    assert result["intervals"]["overall"]["alpha_char_macro"] == [1.0, 1.0]


def test_no_resamples_no_intervals() -> None:
    result = compute(random_records(5, seed=1), {"bootstrap_resamples": 0})
    assert result["intervals"] is None
    assert result["intervals_reason"]
