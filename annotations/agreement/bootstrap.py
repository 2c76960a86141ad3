"""Bootstrap confidence intervals over documents.

A resample draws as many documents as were measured, with replacement, and recomputes
every measure on them. Because every measure is a function of sums over documents
(``partial.py``), a resample is a weighted sum of the per-document rows: weights are how
many times each document was drawn. Per group of documents (same annotators) the rows
form a dense matrix ``X`` (documents x sums), and a batch of resamples is one matrix
product ``W @ X``; the spans are never looked at again.

The interval is the percentile interval of the resampled values (``numpy.percentile``,
linear interpolation) at the requested confidence. Resamples in which a measure is
undefined (say, no variation among the drawn documents) are left out of that measure's
interval; a measure undefined in every resample has no interval.

The draws come from ``numpy.random.default_rng(seed)`` over the documents in the order
they were given, so the same documents, seed and resample count give the same intervals,
however the documents were split into chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from annotations.agreement.partial import Group, Signature, Sums
from annotations.agreement.types import Measure

Path = tuple[object, ...]
Interval = tuple[list[float] | None, str | None]

# Cells of the (resamples x documents) weight matrix drawn at once: bounds memory.
BATCH_CELLS = 4_000_000


def intervals(
    groups: Mapping[Signature, Group],
    measure: Callable[[dict[Signature, Sums]], dict[Path, Measure]],
    *,
    resamples: int,
    seed: int,
    confidence: float,
) -> dict[Path, Interval]:
    """``{path: ([low, high], None)}`` for every path ``measure`` returns."""
    signatures = [signature for signature, group in groups.items() if group.rows]
    all_positions = (
        np.concatenate(
            [np.asarray(groups[signature].positions, dtype=np.int64) for signature in signatures]
        )
        if signatures
        else np.zeros(0, dtype=np.int64)
    )
    documents = len(all_positions)
    if documents == 0:
        return {}
    # Rank of each document in input order: column of the weight matrix.
    ranks = np.empty(documents, dtype=np.int64)
    ranks[np.argsort(all_positions, kind="stable")] = np.arange(documents)

    matrices = []
    offset = 0
    for signature in signatures:
        group = groups[signature]
        width = max(len(row) for row in group.rows)
        matrix = np.zeros((len(group.rows), width))
        for row_index, row in enumerate(group.rows):
            matrix[row_index, : len(row)] = row
        matrices.append((group, ranks[offset : offset + len(group.rows)], matrix))
        offset += len(group.rows)

    rng = np.random.default_rng(seed)
    batch = max(1, BATCH_CELLS // documents)
    samples: dict[Path, list[float]] = {}
    done = 0
    while done < resamples:
        size = min(batch, resamples - done)
        draws = rng.integers(0, documents, size=(size, documents))
        draws += (np.arange(size, dtype=np.int64) * documents)[:, None]
        weights = (
            np.bincount(draws.ravel(), minlength=size * documents)
            .reshape(size, documents)
            .astype(np.float64)
        )
        sums = [(group, weights[:, columns] @ matrix) for group, columns, matrix in matrices]
        for sample in range(size):
            totals = {
                group.annotators: group.row_sums(values[sample].tolist()) for group, values in sums
            }
            for path, (value, _) in measure(totals).items():
                samples.setdefault(path, []).append(np.nan if value is None else value)
        done += size

    tail = (1 - confidence) / 2 * 100
    out: dict[Path, Interval] = {}
    for path, values in samples.items():
        array = np.asarray(values)
        defined = array[~np.isnan(array)]
        if defined.size == 0:
            out[path] = (None, "undefined in every resample")
        else:
            low, high = np.percentile(defined, [tail, 100 - tail])
            out[path] = ([float(low), float(high)], None)
    return out
