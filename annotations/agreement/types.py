"""Plain types shared by the agreement modules: parameters and measure values.

A measure is ``(value, reason)``: ``(0.71, None)`` when defined, ``(None, "no variation:
...")`` when not. In the result JSON the value sits under its key (a number, or ``null``)
and, only when it is ``null``, the reason sits beside it under ``<key>_reason``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

Number = int | float
Measure = tuple[float | None, str | None]

DEFAULT_RESAMPLES = 1000
# Past this the intervals change in the third decimal while the run's time and memory grow
# with every resample: a bound, so that a typo cannot keep a worker busy for days.
MAX_RESAMPLES = 10_000
MAX_SEED = 2**63 - 1


class ParameterError(ValueError):
    """Parameters that cannot be used; the message says which and why."""


class DocumentLabelSpec(NamedTuple):
    """A document-level label to measure: single or multiple choice, and its values."""

    name: str
    multiple: bool
    choices: tuple[str, ...]


def _label_specs(
    raw: Mapping[str, Any], key: str, shape: str, fits: Callable[[Mapping[str, Any]], bool]
) -> list[tuple[str, Mapping[str, Any]]] | None:
    """``raw[key]``, a mapping of label names to specs that ``fits`` accepts, sorted by
    name; None when absent."""
    value = raw.get(key)
    if value is None:
        return None
    problem = ParameterError(f"{key} must map label names to {shape}")
    if not isinstance(value, Mapping):
        raise problem
    found = []
    for name in sorted(value):
        spec = value[name]
        if not isinstance(name, str) or not name or not isinstance(spec, Mapping) or not fits(spec):
            raise problem
        found.append((name, spec))
    return found


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


def _document_labels(raw: Mapping[str, Any]) -> tuple[DocumentLabelSpec, ...] | None:
    specs = _label_specs(
        raw,
        "document_labels",
        '{"multiple": true or false, "choices": [values]}',
        lambda spec: (
            isinstance(spec.get("multiple", False), bool) and _strings(spec.get("choices"))
        ),
    )
    if specs is None:
        return None
    return tuple(
        DocumentLabelSpec(name, spec.get("multiple", False), tuple(spec["choices"]))
        for name, spec in specs
    )


class LinkLabelSpec(NamedTuple):
    """A span label whose spans link to a catalogue: which one (``proposition`` or
    ``source``), and the stances a span may take toward its entry (none: no stance)."""

    name: str
    catalogue: str
    stances: tuple[str, ...]


CATALOGUES = ("proposition", "source")


def _links(raw: Mapping[str, Any]) -> tuple[LinkLabelSpec, ...] | None:
    specs = _label_specs(
        raw,
        "links",
        '{"catalogue": "proposition" or "source", "stances": [values]}',
        lambda spec: spec.get("catalogue") in CATALOGUES and _strings(spec.get("stances", [])),
    )
    if specs is None:
        return None
    return tuple(
        LinkLabelSpec(name, spec["catalogue"], tuple(spec.get("stances", [])))
        for name, spec in specs
    )


def mean_of(measures: Iterable[Measure], what: str) -> Measure:
    """The mean of the defined values; undefined, with the first reason, when none is."""
    found = list(measures)
    defined = [value for value, _ in found if value is not None]
    if not defined:
        reasons = sorted({reason for _, reason in found if reason})
        return None, reasons[0] if reasons else f"no {what}"
    return sum(defined) / len(defined), None


def _names(raw: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(
        isinstance(item, str) and item for item in value
    ):
        raise ParameterError(f"{key} must be a list of non-empty strings")
    return tuple(sorted(set(value)))


def _integer(
    raw: Mapping[str, Any], key: str, default: int | None, low: int, high: int | None = None
) -> int | None:
    value = raw.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ParameterError(f"{key} must be an integer of at least {low}")
    if high is not None and value > high:
        raise ParameterError(f"{key} must be an integer of at most {high}")
    return value


@dataclass(frozen=True)
class Params:
    """What a run measures. Every field has a default, so ``Params()`` is a full run.

    - ``labels``: the span labels to measure (others are ignored); default: every label
      that occurs in the measured documents.
    - ``annotators``: whose layers count (others are ignored); default: everyone's.
    - ``relation_types``: the relation types of M5; default: every type.
    - ``bootstrap_resamples``: resamples of the documents for confidence intervals, at most
      ``MAX_RESAMPLES``; 0 skips them. ``bootstrap_seed`` makes them repeatable;
      ``confidence`` is their level.
    - ``per_document_limit``: keep only the worst N documents in ``per_document``.
    - ``document_labels``: the document-level labels to measure, each with whether it
      takes several values and its allowed values; default: none.
    - ``links``: the span labels whose catalogue links to measure (``links.py``), each
      with its catalogue and stance values; default: none.
    """

    labels: tuple[str, ...] | None = None
    annotators: tuple[str, ...] | None = None
    relation_types: tuple[str, ...] | None = None
    bootstrap_resamples: int = DEFAULT_RESAMPLES
    bootstrap_seed: int = 0
    confidence: float = 0.95
    per_document_limit: int | None = None
    document_labels: tuple[DocumentLabelSpec, ...] | None = None
    links: tuple[LinkLabelSpec, ...] | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> Params:
        """Read parameters from JSON-like data, or raise ParameterError."""
        raw = raw or {}
        if not isinstance(raw, Mapping):
            raise ParameterError("parameters must be an object")
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            known = ", ".join(sorted(cls.__dataclass_fields__))
            raise ParameterError(f"unknown parameters {sorted(unknown)} (known: {known})")
        confidence = raw.get("confidence", 0.95)
        if (
            not isinstance(confidence, int | float)
            or isinstance(confidence, bool)
            or not math.isfinite(confidence)
            or not 0 < confidence < 1
        ):
            raise ParameterError("confidence must be a number between 0 and 1")
        return cls(
            labels=_names(raw, "labels"),
            annotators=_names(raw, "annotators"),
            relation_types=_names(raw, "relation_types"),
            bootstrap_resamples=_integer(
                raw, "bootstrap_resamples", DEFAULT_RESAMPLES, 0, MAX_RESAMPLES
            )
            or 0,
            bootstrap_seed=_integer(raw, "bootstrap_seed", 0, 0, MAX_SEED) or 0,
            confidence=float(confidence),
            per_document_limit=_integer(raw, "per_document_limit", None, 1),
            document_labels=_document_labels(raw),
            links=_links(raw),
        )

    def to_json(self) -> dict[str, Any]:
        found = {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
            if key not in ("document_labels", "links")
        }
        if self.document_labels is not None:
            found["document_labels"] = {
                spec.name: {"multiple": spec.multiple, "choices": list(spec.choices)}
                for spec in self.document_labels
            }
        if self.links is not None:
            found["links"] = {
                spec.name: {"catalogue": spec.catalogue, "stances": list(spec.stances)}
                for spec in self.links
            }
        return found
