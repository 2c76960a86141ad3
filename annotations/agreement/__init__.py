"""Inter-annotator agreement on span annotation, from plain interchange records.

Django-free (stdlib and numpy), so that the tests can hold it against the reference
libraries and ``bench/`` can time it alone. The measures (docs/agreement.md):

- M1 exact span F1 and M1' overlap span F1, per pair, mean, per label (``span_f1.py``);
- M2 character-level Krippendorff's alpha per label and its macro mean (``alpha.py``);
- M3 pairwise Cohen's kappa and M4 Fleiss' kappa, character level, per label (``kappa.py``);
- M5 relation F1 per pair; attribute agreement on exactly matched spans; a label confusion
  table; per-document scores; bootstrap confidence intervals (``bootstrap.py``).

Only the documents with at least two annotator layers count. Character-level measures
never build per-character arrays: they add up lengths of stretches between span edges
(``segments.py``), so the cost follows the number of spans, not of characters.

Three steps, so that a large project can be split into chunks measured in parallel::

    partial = accumulate(chunk, params, start=offset)   # per chunk, anywhere
    merged = merge([partial, ...])                       # Partial.to_json() travels
    result = finalize(merged, params)                    # the result JSON

``compute(documents, params)`` does the three at once. Undefined values are ``None``, with
the reason under ``<key>_reason`` beside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from annotations.agreement.bootstrap import intervals as bootstrap_intervals
from annotations.agreement.documents import accumulate
from annotations.agreement.partial import Partial
from annotations.agreement.report import annotators_of, build_result, labels_of, measures
from annotations.agreement.types import ParameterError, Params
from annotations.interchange import DocumentRecord

__all__ = [
    "ParameterError",
    "Params",
    "Partial",
    "accumulate",
    "compute",
    "finalize",
    "merge",
]


def _params(params: Params | Mapping[str, Any] | None) -> Params:
    return params if isinstance(params, Params) else Params.from_mapping(params)


def merge(partials: Iterable[Partial]) -> Partial:
    """Add up the sums of several chunks (in any order)."""
    merged: Partial | None = None
    for partial in partials:
        merged = partial if merged is None else merged.merge(partial)
    return merged if merged is not None else Partial()


def finalize(partial: Partial, params: Params | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The result JSON from merged sums, with bootstrap intervals when asked for."""
    params = _params(params)
    found = None
    if params.bootstrap_resamples > 0 and partial.keep_rows:
        annotators = annotators_of(partial, params)
        labels = labels_of(partial, params)
        found = bootstrap_intervals(
            partial.groups,
            lambda totals: measures(totals, annotators, labels),
            resamples=params.bootstrap_resamples,
            seed=params.bootstrap_seed,
            confidence=params.confidence,
        )
    return build_result(partial, params, found)


def compute(
    documents: Iterable[DocumentRecord], params: Params | Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Measure agreement over ``documents`` in one pass; see the module docstring."""
    params = _params(params)
    return finalize(accumulate(documents, params), params)
