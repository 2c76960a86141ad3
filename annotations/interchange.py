"""The JSONL interchange format: one document a line, every annotator's spans with it.

This module is the contract between the importer, the exporters and the agreement
package, so it never imports Django. A line looks like::

    {"id": "000", "text": "...", "meta": {"outlet": "..."},
     "annotations": {"alice": [{"start": 0, "end": 17, "label": "claim", "attrs": {}}]},
     "relations": {"alice": [{"type": "attributed_to", "head": 0, "tail": 3}]},
     "document_labels": {"alice": {"stance": ["supports"]}},
     "gold_state": "final", "gold": [...], "gold_relations": [...],
     "gold_document_labels": {"stance": ["refutes"]}}

Offsets are Unicode code points, half-open: ``text[start:end]``. An annotator absent
from ``annotations`` did not annotate the document; one present with ``[]`` annotated it
and found nothing. ``relations`` point at spans by their index in that annotator's list.
``document_labels`` holds the values each annotator gave the whole document, per
document-level label (an annotator absent from it gave none); ``gold_document_labels``
the gold layer's. Both are left out when empty. The gold keys are there only for a
document with a gold layer (``gold_state`` ``in_progress`` or ``final``): a line without
``gold`` was never adjudicated, ``"gold": []`` was adjudicated and has nothing to mark.

``parse_line`` checks the shape and the offsets (everything that needs no label schema);
``span_problems`` checks a span against a schema; ``dump_record`` writes the one
canonical form (fixed key order, sorted spans, UTF-8 unescaped) that makes
export -> import -> export byte-identical.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, NamedTuple

TOP_LEVEL_KEYS = (
    "id",
    "text",
    "meta",
    "annotations",
    "relations",
    "document_labels",
    "gold_state",
    "gold",
    "gold_relations",
    "gold_document_labels",
)
# The states of a document's gold layer, as ``gold_state`` writes them.
GOLD_IN_PROGRESS = "in_progress"
GOLD_FINAL = "final"
GOLD_STATES = (GOLD_IN_PROGRESS, GOLD_FINAL)
# The longest document id a project stores.
MAX_ID_LENGTH = 200
# How deep ``meta`` may nest: deeper than any real metadata, shallow enough to walk.
MAX_META_DEPTH = 32
# Characters no database column can hold: NUL (PostgreSQL refuses it in text and jsonb)
# and lone surrogates (half of a UTF-16 pair, which UTF-8 cannot encode).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class InterchangeError(ValueError):
    """A record that does not follow the format; ``line`` is 1-based when known."""

    def __init__(self, reason: str, *, line: int | None = None, field: str | None = None):
        self.reason = reason
        self.line = line
        self.field = field
        where = f"line {line}: " if line is not None else ""
        what = f"{field}: " if field else ""
        super().__init__(f"{where}{what}{reason}")


class Span(NamedTuple):
    """A labelled stretch ``text[start:end]``; a tuple, because corpora hold millions."""

    start: int
    end: int
    label: str
    # Shared and never mutated: records are read-only (the selector shares these dicts too).
    attrs: Mapping[str, Any] = {}
    # The key of the catalogue entry the span links to, and its stance toward it.
    entry: str | None = None
    stance: str = ""


@dataclass(frozen=True)
class Relation:
    type: str
    head: int
    tail: int

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "head": self.head, "tail": self.tail}


@dataclass
class DocumentRecord:
    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, list[Span]] = field(default_factory=dict)
    relations: dict[str, list[Relation]] = field(default_factory=dict)
    # The gold layer's state: None when the document has no gold layer (nobody began
    # adjudicating it; ``gold`` is then empty and means nothing), else GOLD_IN_PROGRESS
    # or GOLD_FINAL. Only a record with a state has gold, even an empty one.
    gold_state: str | None = None
    gold: list[Span] = field(default_factory=list)
    gold_relations: list[Relation] = field(default_factory=list)
    # Document-level labels: annotator -> label -> values, and the gold layer's label -> values.
    document_labels: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    gold_document_labels: dict[str, list[str]] = field(default_factory=dict)


# --- reading -----------------------------------------------------------------------


def _is_int(value: object) -> bool:
    # JSON true/false load as bool, which Python also counts as int.
    return isinstance(value, int) and not isinstance(value, bool)


_SPAN_KEYS = frozenset(("start", "end", "label", "attrs", "entry", "stance"))


def _span_problem(raw: object, text: str, where: str) -> InterchangeError:
    """The first thing wrong with a span that failed the fast check in ``_parse_spans``."""
    if not isinstance(raw, dict):
        return InterchangeError("a span must be an object", field=where)
    for key in ("start", "end"):
        if not _is_int(raw.get(key)):
            return InterchangeError("must be an integer", field=f"{where}.{key}")
    problem = offset_problem(text, raw["start"], raw["end"])
    if problem:
        return InterchangeError(problem[1], field=f"{where}.{problem[0]}")
    label = raw.get("label")
    if not isinstance(label, str) or not label:
        return InterchangeError("must be a non-empty string", field=f"{where}.label")
    if not isinstance(raw.get("attrs", {}), dict):
        return InterchangeError("must be an object", field=f"{where}.attrs")
    for key in ("entry", "stance"):
        if key in raw and (not isinstance(raw[key], str) or not raw[key]):
            return InterchangeError("must be a non-empty string", field=f"{where}.{key}")
    if "stance" in raw and "entry" not in raw:
        return InterchangeError("a stance needs an entry", field=f"{where}.stance")
    unknown = set(raw) - _SPAN_KEYS
    return InterchangeError(f"unknown keys {sorted(unknown)}", field=where)


def _parse_spans(raw: object, text: str, where: str) -> list[Span]:
    if not isinstance(raw, list):
        raise InterchangeError("must be a list of spans", field=where)
    length = len(text)
    spans = []
    # One fast test for the well-formed span (corpora hold millions); the slow path only
    # runs to name what is wrong. type() rather than isinstance: JSON true is not an int.
    for index, item in enumerate(raw):
        if type(item) is dict and item.keys() <= _SPAN_KEYS:
            start, end = item.get("start"), item.get("end")
            label, attrs = item.get("label"), item.get("attrs", {})
            if (
                type(start) is int
                and type(end) is int
                and 0 <= start < end <= length
                and type(label) is str
                and label
                and type(attrs) is dict
            ):
                entry, stance = item.get("entry"), item.get("stance", "")
                if entry is None and not stance:
                    spans.append(Span(start, end, label, attrs))
                    continue
                if type(entry) is str and entry and type(stance) is str:
                    spans.append(Span(start, end, label, attrs, entry, stance))
                    continue
        raise _span_problem(item, text, f"{where}[{index}]")
    return spans


def _parse_relations(raw: object, span_count: int, where: str) -> list[Relation]:
    if not isinstance(raw, list):
        raise InterchangeError("must be a list of relations", field=where)
    relations = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise InterchangeError("a relation must be an object", field=here)
        if not isinstance(item.get("type"), str) or not item["type"]:
            raise InterchangeError("must be a non-empty string", field=f"{here}.type")
        for end in ("head", "tail"):
            index = item.get(end)
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < span_count:
                raise InterchangeError(
                    f"must be the index of one of the {span_count} spans", field=f"{here}.{end}"
                )
        if item["head"] == item["tail"]:
            raise InterchangeError("a relation cannot link a span to itself", field=here)
        relations.append(Relation(type=item["type"], head=item["head"], tail=item["tail"]))
    return relations


def _parse_label_values(raw: object, where: str) -> dict[str, list[str]]:
    """``{label: [values]}``, each value once; labels given no value are dropped."""
    if not isinstance(raw, dict):
        raise InterchangeError("must map label names to lists of values", field=where)
    labels = {}
    for name, values in raw.items():
        here = f"{where}.{name}"
        if not name:
            raise InterchangeError("a label name must not be empty", field=where)
        if not isinstance(values, list) or not all(
            isinstance(value, str) and value for value in values
        ):
            raise InterchangeError("must be a list of non-empty strings", field=here)
        if len(set(values)) < len(values):
            raise InterchangeError("the same value appears twice", field=here)
        for value in (name, *values):
            problem = unstorable_problem(value)
            if problem:
                raise InterchangeError(problem, field=here)
        if values:
            labels[name] = sorted(values)
    return labels


def document_label_problems(
    labels: Mapping[str, list[str]], schema: Mapping[str, tuple[bool, list[str]]]
) -> list[tuple[str, str]]:
    """Why ``{label: [values]}`` falls outside a project's document labels, given as
    ``{name: (multiple, choices)}``: an unknown label, a value not among its choices, the
    same value twice, or more than one value for a single-choice label."""
    problems = []
    for name, values in labels.items():
        if name not in schema:
            known = ", ".join(sorted(schema)) or "none"
            problems.append((name, f"unknown document label {name!r} (known: {known})"))
            continue
        multiple, choices = schema[name]
        outside = [value for value in values if value not in choices]
        if outside:
            allowed = ", ".join(choices)
            problems.append((name, f"{outside[0]!r} is not one of: {allowed}"))
        elif len(set(values)) < len(values):
            problems.append((name, "the same value appears twice"))
        elif not multiple and len(values) > 1:
            problems.append((name, "takes a single value"))
    return problems


def unstorable_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return f"holds a NUL character (U+0000) at position {found.start()}"
    return f"holds a lone surrogate (U+{ord(found.group()):04X}) at position {found.start()}"


def _check_meta(value: object, where: str, depth: int = 0) -> None:
    if depth > MAX_META_DEPTH:
        raise InterchangeError(f"nested deeper than {MAX_META_DEPTH} levels", field=where)
    if isinstance(value, str):
        problem = unstorable_problem(value)
        if problem:
            raise InterchangeError(problem, field=where)
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = unstorable_problem(key)
            if problem:
                raise InterchangeError(f"a key {problem}", field=where)
            _check_meta(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_meta(item, f"{where}[{index}]", depth + 1)


def _check_text(value: str, field: str) -> None:
    problem = unstorable_problem(value)
    if problem:
        raise InterchangeError(problem, field=field)


def check_storable(record: DocumentRecord) -> None:
    """Raise InterchangeError (with the field) if a database cannot store ``record``: an id
    too long, NUL characters or lone surrogates in its id, text, meta or annotator names,
    meta nested too deep. Records read from a file of another format (CSV, plain text)
    get this check too."""
    if len(record.id) > MAX_ID_LENGTH:
        raise InterchangeError(
            f"must be at most {MAX_ID_LENGTH} characters (it has {len(record.id)})", field="id"
        )
    _check_text(record.id, "id")
    _check_text(record.text, "text")
    _check_meta(record.meta, "meta")
    for name in record.annotations:
        _check_text(name, "annotations")


def parse_record(raw: object) -> DocumentRecord:
    """Check one decoded JSON value and return it as a record, or raise InterchangeError."""
    if not isinstance(raw, dict):
        raise InterchangeError("a line must hold one JSON object")
    unknown = set(raw) - set(TOP_LEVEL_KEYS)
    if unknown:
        raise InterchangeError(f"unknown keys {sorted(unknown)}")
    doc_id = raw.get("id")
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise InterchangeError("must be a non-empty string", field="id")
    text = raw.get("text")
    if not isinstance(text, str):
        raise InterchangeError("must be a string", field="text")
    meta = raw.get("meta", {})
    if not isinstance(meta, dict):
        raise InterchangeError("must be an object", field="meta")
    raw_annotations = raw.get("annotations", {})
    if not isinstance(raw_annotations, dict):
        raise InterchangeError("must map usernames to lists of spans", field="annotations")
    check_storable(DocumentRecord(id=doc_id, text=text, meta=meta, annotations=raw_annotations))
    annotations = {
        name: _parse_spans(spans, text, f"annotations.{name}")
        for name, spans in raw_annotations.items()
    }

    raw_relations = raw.get("relations", {})
    if not isinstance(raw_relations, dict):
        raise InterchangeError("must map usernames to lists of relations", field="relations")
    relations = {}
    for name, items in raw_relations.items():
        if name not in annotations:
            raise InterchangeError(
                "relations name an annotator with no annotations", field=f"relations.{name}"
            )
        relations[name] = _parse_relations(items, len(annotations[name]), f"relations.{name}")

    raw_document_labels = raw.get("document_labels", {})
    if not isinstance(raw_document_labels, dict):
        raise InterchangeError("must map usernames to labels", field="document_labels")
    document_labels = {}
    for name, labels in raw_document_labels.items():
        where = f"document_labels.{name}"
        if name not in annotations:
            raise InterchangeError("names an annotator with no annotations", field=where)
        parsed = _parse_label_values(labels, where)
        if parsed:
            document_labels[name] = parsed

    gold_state = _parse_gold_state(raw)
    gold = _parse_spans(raw.get("gold", []), text, "gold")
    gold_relations = _parse_relations(raw.get("gold_relations", []), len(gold), "gold_relations")
    gold_document_labels = _parse_label_values(
        raw.get("gold_document_labels", {}), "gold_document_labels"
    )
    return DocumentRecord(
        id=doc_id,
        text=text,
        meta=meta,
        annotations=annotations,
        relations={name: items for name, items in relations.items() if items},
        gold_state=gold_state,
        gold=gold,
        gold_relations=gold_relations,
        document_labels=document_labels,
        gold_document_labels=gold_document_labels,
    )


def _parse_gold_state(raw: dict[str, Any]) -> str | None:
    """The gold state of a line: none without a ``gold`` key, in progress unless it says final."""
    if "gold" not in raw:
        for key in ("gold_state", "gold_relations", "gold_document_labels"):
            if key in raw:
                raise InterchangeError("is given but the line has no gold key", field=key)
        return None
    state = raw.get("gold_state", GOLD_IN_PROGRESS)
    if state not in GOLD_STATES:
        raise InterchangeError(f"must be one of {', '.join(GOLD_STATES)}", field="gold_state")
    assert isinstance(state, str)
    return state


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def parse_line(line: str, line_number: int | None = None) -> DocumentRecord:
    """Decode and check one JSONL line; errors carry the line number."""
    try:
        raw = json.loads(line, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InterchangeError(f"not valid JSON ({exc.msg})", line=line_number) from None
    except RecursionError:
        raise InterchangeError("not valid JSON (nested too deeply)", line=line_number) from None
    except ValueError as exc:  # NaN or Infinity, or an integer past Python's digit limit.
        reason = str(exc)
        if reason.startswith("Exceeds the limit"):
            reason = f"a number has more than {sys.get_int_max_str_digits()} digits"
        raise InterchangeError(f"not valid JSON ({reason})", line=line_number) from None
    try:
        return parse_record(raw)
    except InterchangeError as exc:
        raise InterchangeError(exc.reason, line=line_number, field=exc.field) from None


def iter_records(lines: Iterable[str]) -> Iterator[tuple[int, DocumentRecord]]:
    """Yield ``(line_number, record)`` for every non-blank line."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, parse_line(line, number)


# --- checking against a label schema -------------------------------------------------


def offset_problem(text: str, start: int, end: int) -> tuple[str, str] | None:
    """The (field, reason) that makes ``[start, end)`` impossible in ``text``, or None."""
    if start < 0:
        return "start", "must be 0 or more"
    if end <= start:
        return "end", "must be greater than start"
    if end > len(text):
        return "end", f"must be at most the text's length ({len(text)} code points)"
    return None


def attribute_problems(
    attrs: Mapping[str, Any], allowed: Mapping[str, list[Any]]
) -> list[tuple[str, str]]:
    """Why ``attrs`` fall outside a label's attribute schema ``{name: [values]}``."""
    problems = []
    for name, value in attrs.items():
        if name not in allowed:
            problems.append((f"attrs.{name}", "is not an attribute of this label"))
        elif value not in allowed[name]:
            choices = ", ".join(str(choice) for choice in allowed[name])
            problems.append((f"attrs.{name}", f"{value!r} is not one of: {choices}"))
    return problems


def span_problems(
    text: str, span: Span, schema: Mapping[str, Mapping[str, list[Any]]]
) -> list[tuple[str, str]]:
    """Everything wrong with ``span`` for a document text and a project's span labels.

    ``schema`` maps each span label name to its attribute schema. Bad offsets and an
    unknown label are both reported; the attributes only once the label is known.
    """
    problems = []
    offsets = offset_problem(text, span.start, span.end)
    if offsets:
        problems.append(offsets)
    if span.label not in schema:
        known = ", ".join(sorted(schema))
        problems.append(("label", f"unknown label {span.label!r} (known: {known})"))
    else:
        problems += attribute_problems(span.attrs, schema[span.label])
    return problems


def end_label_problem(
    relation_type: str, end: str, allowed_label: str | None, span_label: str
) -> str | None:
    """Why a span labelled ``span_label`` may not stand at ``end`` ("head" or "tail") of a
    ``relation_type`` link whose schema allows ``allowed_label`` there (None: any)."""
    if allowed_label is not None and allowed_label != span_label:
        return f"{relation_type} takes a {allowed_label} as its {end}, not a {span_label}"
    return None


# --- writing -------------------------------------------------------------------------


_offsets_and_label = itemgetter(0, 1, 2)  # a Span's (start, end, label)


def _sorted_with_relations(
    spans: list[Span], relations: list[Relation]
) -> tuple[list[Span], list[Relation]]:
    """Sort spans canonically and renumber the relations that point into them."""

    keys = list(map(_offsets_and_label, spans))
    order = sorted(range(len(spans)), key=keys.__getitem__)
    # The attributes only break ties of offsets and label (rare): encoding them for every
    # span was most of an export's time. Sorting is stable, so the order is the same.
    if len(set(keys)) < len(keys):
        run = 0
        for k in range(1, len(order) + 1):
            if k == len(order) or keys[order[k]] != keys[order[run]]:
                if k - run > 1:
                    order[run:k] = sorted(order[run:k], key=lambda i: _attrs_key(spans[i]))
                run = k
    new_index = {old: new for new, old in enumerate(order)}
    sorted_relations = sorted(
        (Relation(r.type, new_index[r.head], new_index[r.tail]) for r in relations),
        key=lambda r: (r.head, r.tail, r.type),
    )
    return [spans[i] for i in order], sorted_relations


def _attrs_key(span: Span) -> str:
    return json.dumps(
        [span.attrs, span.entry or "", span.stance], sort_keys=True, ensure_ascii=False
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def attrs_json(attrs: Mapping[str, Any]) -> str:
    """A span's attributes as the canonical form writes them: keys sorted."""
    return _dumps({key: attrs[key] for key in sorted(attrs)} if len(attrs) > 1 else dict(attrs))


class _SpanWriter:
    """Spans as the canonical JSON writes them, from pieces kept between spans.

    A corpus has a handful of labels, attribute sets and links over millions of spans:
    each combination is encoded once. An attribute set is known by identity (records
    share them, and are read-only), and the writer holds every set it has encoded, so
    that no other object can take its identity.
    """

    def __init__(self) -> None:
        # (label, identity of attrs, entry, stance) -> the span's JSON after its offsets;
        # the attribute sets it names, kept so that no other object takes their identity.
        self._tails: dict[tuple[str, int, str | None, str], str] = {}
        self._kept: list[Mapping[str, Any]] = []

    def spans(self, spans: list[Span]) -> str:
        return "[" + ", ".join(map(self.span, spans)) + "]"

    def span(self, span: Span) -> str:
        start, end, label, attrs, entry, stance = span
        key = (label, id(attrs), entry, stance)
        tail = self._tails.get(key)
        if tail is None:
            tail = self._tails[key] = self._tail(span)
            self._kept.append(attrs)
        return f'{{"start": {start}, "end": {end}{tail}'

    def _tail(self, span: Span) -> str:
        if len(self._tails) >= 4096:  # a corpus of ever new attribute sets: start again
            self._tails.clear()
            self._kept.clear()
        tail = f', "label": {_dumps(span.label)}, "attrs": {attrs_json(span.attrs)}'
        # Written only when set: a corpus without catalogues keeps its lines as they were.
        if span.entry is not None:
            tail += f', "entry": {_dumps(span.entry)}'
        if span.stance:
            tail += f', "stance": {_dumps(span.stance)}'
        return tail + "}"


# One writer a thread: its pieces are never shared, so no thread clears another's.
_writers = threading.local()


def _span_writer() -> _SpanWriter:
    writer: _SpanWriter | None = getattr(_writers, "writer", None)
    if writer is None:
        writer = _writers.writer = _SpanWriter()
    return writer


def _sorted_label_values(labels: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Labels by name, each one's values sorted; labels with no value left out."""
    return {name: sorted(labels[name]) for name in sorted(labels) if labels[name]}


def _sort_keys_deep(value: Any) -> Any:
    # PostgreSQL's jsonb does not keep key order, so the canonical form sorts it.
    if isinstance(value, dict):
        return {key: _sort_keys_deep(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sort_keys_deep(item) for item in value]
    return value


def dump_record(record: DocumentRecord) -> str:
    """One canonical JSONL line, newline included.

    The line is what ``json.dumps(..., ensure_ascii=False)`` writes for the record's
    object with its keys in ``TOP_LEVEL_KEYS`` order, spans sorted by offsets and label
    (relations renumbered to follow them), meta's keys and span attributes' keys sorted;
    ``relations``, ``document_labels`` and the gold keys as the module docstring says.
    The spans, most of a line, are written from pieces (``_SpanWriter``) rather than
    through dicts handed to ``json.dumps``.
    """
    writer = _span_writer()
    annotations: list[str] = []
    relations: dict[str, Any] = {}
    for name in sorted(record.annotations):
        spans, rels = _sorted_with_relations(
            record.annotations[name], record.relations.get(name, [])
        )
        annotations.append(f"{_dumps(name)}: {writer.spans(spans)}")
        if rels:
            relations[name] = [rel.to_json() for rel in rels]
    line = (
        f'{{"id": {_dumps(record.id)}, "text": {_dumps(record.text)}, '
        f'"meta": {_dumps(_sort_keys_deep(record.meta))}, '
        f'"annotations": {{{", ".join(annotations)}}}, "relations": {_dumps(relations)}'
    )
    document_labels = {
        name: labels
        for name in sorted(record.document_labels)
        if (labels := _sorted_label_values(record.document_labels[name]))
    }
    if document_labels:
        line += f', "document_labels": {_dumps(document_labels)}'
    if record.gold_state is not None:
        gold, gold_relations = _sorted_with_relations(record.gold, record.gold_relations)
        line += (
            f', "gold_state": {_dumps(record.gold_state)}, "gold": {writer.spans(gold)}'
            f', "gold_relations": {_dumps([rel.to_json() for rel in gold_relations])}'
        )
        gold_document_labels = _sorted_label_values(record.gold_document_labels)
        if gold_document_labels:
            line += f', "gold_document_labels": {_dumps(gold_document_labels)}'
    return line + "}\n"


# --- catalogues ----------------------------------------------------------------------

# The file of a project's catalogue entries, one entry a line, beside the documents.
CATALOGUES_FILE = "catalogues.jsonl"
CATALOGUE_KINDS = ("proposition", "source")
ENTRY_STATUSES = ("proposed", "approved")
_KEY = re.compile(r"^[-a-zA-Z0-9_]{1,100}$")


@dataclass(frozen=True)
class CatalogueRecord:
    """One catalogue entry: spans name it by ``key`` (their ``entry``)."""

    key: str
    kind: str
    name: str
    source_kind: str = ""
    description: str = ""
    status: str = "approved"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "name": self.name,
            "source_kind": self.source_kind,
            "description": self.description,
            "status": self.status,
        }


def parse_catalogue_line(line: str, line_number: int | None = None) -> CatalogueRecord:
    """One line of ``catalogues.jsonl``, checked; errors carry the line and the field."""

    def fail(reason: str, field: str | None = None) -> InterchangeError:
        return InterchangeError(reason, line=line_number, field=field)

    try:
        raw = json.loads(line, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise fail("not valid JSON") from None
    if not isinstance(raw, dict):
        raise fail("a line must hold one JSON object")
    unknown = set(raw) - set(CatalogueRecord.__dataclass_fields__)
    if unknown:
        raise fail(f"unknown keys {sorted(unknown)}")
    for key in CatalogueRecord.__dataclass_fields__:
        value = raw.get(key, "")
        if not isinstance(value, str):
            raise fail("must be a string", key)
        problem = unstorable_problem(value)
        if problem:
            raise fail(problem, key)
    if not _KEY.match(raw.get("key", "")):
        raise fail("must be 1 to 100 letters, digits, hyphens or underscores", "key")
    if raw.get("kind") not in CATALOGUE_KINDS:
        raise fail(f"must be one of {', '.join(CATALOGUE_KINDS)}", "kind")
    if not raw.get("name", "").strip():
        raise fail("must be a non-empty string", "name")
    if raw.get("status", "approved") not in ENTRY_STATUSES:
        raise fail(f"must be one of {', '.join(ENTRY_STATUSES)}", "status")
    return CatalogueRecord(**raw)


def dump_catalogue_record(record: CatalogueRecord) -> str:
    """One canonical line of ``catalogues.jsonl``, newline included."""
    return json.dumps(record.to_json(), ensure_ascii=False) + "\n"
