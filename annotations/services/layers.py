"""Every write to a layer: spans, relations, bulk replace, submit, reopen, skip.

Each write runs in one transaction that first bumps the layer's version with a
conditional UPDATE (``WHERE version = <the version the client loaded>``). Zero rows
updated means somebody else wrote first: the write is refused with the current version
(``LayerConflict``, 409 in the API) instead of silently overwriting. The UPDATE also
takes the row lock, so writes to one layer run one after the other and the checks that
read the layer's spans see a state nobody changes under them.

Who may write what: an annotator writes their own layer while it is open; reviewers and
managers write the gold layer; a manager may also write an open annotator layer. A
submitted layer is read-only for everyone until a reviewer or a manager reopens it. Every
write records an audit event with before and after snapshots.

The writes take the caller's ``Access`` to the layer (``annotations.access``): the layer
with its document and project, the caller and their role, all read by the one function
that makes an ``Access``, so a caller cannot hand in a role it did not get from there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotations import sql
from annotations.access import STAFF_ROLES, Access
from annotations.interchange import Span as SpanRecord
from annotations.interchange import document_label_problems, end_label_problem, span_problems
from annotations.models import (
    Assignment,
    AssignmentStatus,
    CatalogueEntry,
    Document,
    DocumentLabel,
    LabelKind,
    LabelType,
    Layer,
    LayerStatus,
    Relation,
    ReviewDecision,
    Role,
    Span,
)
from annotations.selectors import unsettled_candidates
from annotations.services import agreement_runs
from annotations.services.audit import record_event
from annotations.services.catalogues import link_problems, unlinked_spans

CONFLICT_MESSAGE = "The layer changed since you loaded it."
SUBMITTED_MESSAGE = "This layer is submitted: ask a reviewer to reopen it."
GOLD_SUBMITTED_MESSAGE = "The gold layer is submitted: reopen it to change it."
GOLD_STAFF_ONLY_MESSAGE = "Only reviewers and managers write the gold layer."
REVIEWER_GOLD_ONLY_MESSAGE = "Reviewers write only the gold layer."
OTHERS_LAYER_MESSAGE = "Another annotator's layer is read-only for you: you write only your own."
REOPEN_STAFF_ONLY_MESSAGE = "Only a reviewer or a manager can reopen a layer."
UNSUBMIT_OWN_ONLY_MESSAGE = (
    "Only the annotator who submitted a layer can undo it; reviewers and managers reopen it."
)
UNSUBMIT_REVIEWED_MESSAGE = (
    "Review of this document has started: ask a reviewer to reopen your layer."
)
NOTHING_TO_CHANGE_MESSAGE = "nothing to change"
# Longest quote repeated back in an error message.
QUOTE_PREVIEW = 80


class LayerConflict(Exception):
    """A write carried a version older than the layer's: the client must reload."""

    def __init__(self, current_version: int):
        self.current_version = current_version
        super().__init__(f"{CONFLICT_MESSAGE} (current version {current_version})")


class LayerReadOnly(PermissionDenied):
    """The caller may see the layer but not change it; the message says why."""


# --- who may see and write ------------------------------------------------------------


def _layer_of(access: Access) -> Layer:
    if access.layer is None:
        raise TypeError("a layer write needs the caller's access to a layer")
    return access.layer


def write_refusal(access: Access) -> str | None:
    """Why the caller may not change the layer right now, or None when they may."""
    layer = _layer_of(access)
    if layer.status == LayerStatus.SUBMITTED:
        return GOLD_SUBMITTED_MESSAGE if layer.is_gold else SUBMITTED_MESSAGE
    if layer.is_gold:
        return None if access.is_project_staff else GOLD_STAFF_ONLY_MESSAGE
    if layer.annotator_id == access.user.pk or access.role == Role.MANAGER:
        return None
    if access.role == Role.ANNOTATOR:  # a project that is not blind shows them the layer
        return OTHERS_LAYER_MESSAGE
    return REVIEWER_GOLD_ONLY_MESSAGE


def _writable_layer(access: Access) -> Layer:
    refusal = write_refusal(access)
    if refusal:
        raise LayerReadOnly(refusal)
    return _layer_of(access)


# --- the version bump -----------------------------------------------------------------


def _bump_version(layer: Layer, expected: int | None, **changes: Any) -> None:
    """Claim the next version of an open layer (and apply ``changes``), or raise.

    With ``expected`` the UPDATE only matches that version; without it the write is
    unconditional (scripts). ``layer.version`` is set to the new version. Every write
    runs it, so the statement is composed by hand (``annotations.sql``).
    """
    new_version = sql.bump_version(
        layer.pk,
        while_status=LayerStatus.OPEN,
        expected=expected,
        changes={"updated_at": timezone.now(), **changes},
    )
    if new_version is not None:
        layer.version = new_version
        return
    current_version, status = Layer.objects.values_list("version", "status").get(pk=layer.pk)
    if expected is not None and current_version != expected:
        raise LayerConflict(current_version)
    layer.status = status
    raise LayerReadOnly(GOLD_SUBMITTED_MESSAGE if layer.is_gold else SUBMITTED_MESSAGE)


def _mark_started(access: Access) -> None:
    """The first write to an annotator's layer puts the assignment in progress."""
    layer = _layer_of(access)
    # Once the assignment is under way (or there is none, as for gold) the UPDATE would
    # change nothing: skip it, it would cost every write a round trip.
    if access.assignment_status != AssignmentStatus.ASSIGNED:
        return
    Assignment.objects.filter(
        document_id=layer.document_id,
        annotator_id=layer.annotator_id,
        status=AssignmentStatus.ASSIGNED,
    ).update(status=AssignmentStatus.IN_PROGRESS, started_at=timezone.now())


# --- checks ---------------------------------------------------------------------------


@dataclass
class _Problems:
    """Field -> reasons, gathered across a request and raised as one ValidationError."""

    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, name: str, reason: str) -> None:
        self.errors[name].append(reason)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(dict(self.errors))


class _Schema:
    """A project's labels, read once per write."""

    def __init__(self, access: Access):
        labels = access.labels()
        self.names = {label.pk: label.name for label in labels}
        self.spans = {label.name: label for label in labels if label.kind == LabelKind.SPAN}
        self.relations = {label.name: label for label in labels if label.kind == LabelKind.RELATION}
        self.documents = {label.name: label for label in labels if label.kind == LabelKind.DOCUMENT}
        self.attributes = {name: label.attribute_schema for name, label in self.spans.items()}


def _preview(text: str) -> str:
    if len(text) <= QUOTE_PREVIEW:
        return text
    return text[: QUOTE_PREVIEW - 1] + "…"


def _check_span(
    problems: _Problems,
    schema: _Schema,
    text: str,
    *,
    label: str,
    start: int,
    end: int,
    attrs: Mapping[str, Any],
    quote: str | None,
    prefix: str = "",
) -> None:
    for name, reason in span_problems(
        text, SpanRecord(start=start, end=end, label=label, attrs=attrs), schema.attributes
    ):
        problems.add(prefix + name, reason)
    if quote is not None and 0 <= start < end <= len(text) and quote != text[start:end]:
        problems.add(
            prefix + "quote",
            f"does not match the text at [{start}, {end}): expected '{_preview(text[start:end])}'",
        )


def _check_link(
    problems: _Problems,
    access: Access,
    label: LabelType | None,
    entry: str | None,
    stance: str,
    prefix: str = "",
    seen: dict[tuple[str, str], CatalogueEntry | None] | None = None,
) -> CatalogueEntry | None:
    """The entry a span of ``label`` links to (None: no link), or its problems noted."""
    if label is None or (not entry and not stance):
        return None
    reasons, found = link_problems(access, label, entry, stance, seen)
    for name, reason in reasons:
        problems.add(prefix + name, reason)
    return found


def _refuse_overlap(
    layer: Layer, label: LabelType, start: int, end: int, span_id: int | None = None
) -> None:
    """A label that forbids overlap: no two of its spans in a layer share a character.

    Only such labels pay for the check: one query on the layer's offsets index, run under
    the layer's lock (after the version bump) so that no concurrent write slips past it.
    """
    if label.allow_overlap:
        return
    others = Span.objects.filter(layer=layer, label=label, start__lt=end, end__gt=start)
    if span_id is not None:
        others = others.exclude(pk=span_id)
    clash = others.order_by("start", "end").values_list("pk", "start", "end").first()
    if clash is not None:
        pk, other_start, other_end = clash
        reason = (
            f"overlaps the {label.name} span {pk} at [{other_start}, {other_end}): "
            f"{label.name} spans may not overlap"
        )
        raise ValidationError({"start": [reason], "end": [reason]})


def _overlap_problems(problems: _Problems, schema: _Schema, spans: Sequence[SpanInput]) -> None:
    """The same rule over a whole layer sent at once (no query: the spans are all here)."""
    by_label: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for index, item in enumerate(spans):
        label = schema.spans.get(item.label)
        if label is not None and not label.allow_overlap:
            by_label[item.label].append((item.start, item.end, index))
    for name, items in by_label.items():
        items.sort()
        reach, reach_index = -1, -1
        for start, end, index in items:
            if start < reach:
                problems.add(
                    f"spans[{index}].start",
                    f"overlaps spans[{reach_index}]: {name} spans may not overlap",
                )
            if end > reach:
                reach, reach_index = end, index


def _end_label_problem(
    schema: _Schema, relation_label: LabelType, end: str, span_label: str
) -> str | None:
    allowed_id = relation_label.head_label_id if end == "head" else relation_label.tail_label_id
    allowed = schema.names.get(allowed_id) if allowed_id is not None else None
    return end_label_problem(relation_label.name, end, allowed, span_label)


# --- snapshots for the audit trail ----------------------------------------------------


def span_snapshot(span: Span) -> dict[str, Any]:
    return {
        "id": span.pk,
        "label": span.label.name,
        "start": span.start,
        "end": span.end,
        "attrs": span.attributes,
        "quote": span.quote,
        "entry": _entry_key(span),
        "stance": span.stance,
    }


def _entry_key(span: Span) -> str | None:
    entry = span.entry if span.entry_id is not None else None
    return entry.key if entry is not None else None


def relation_snapshot(relation: Relation) -> dict[str, Any]:
    return {
        "id": relation.pk,
        "type": relation.label.name,
        "head": relation.head_id,
        "tail": relation.tail_id,
    }


def _layer_content(layer: Layer) -> dict[str, Any]:
    document_labels: dict[str, list[str]] = {}
    for name, value in layer.document_labels.order_by("label__name", "value").values_list(
        "label__name", "value"
    ):
        document_labels.setdefault(name, []).append(value)
    content: dict[str, Any] = {
        "spans": [
            span_snapshot(s) for s in layer.spans.select_related("label", "entry").order_by("id")
        ],
        "relations": [
            relation_snapshot(r) for r in layer.relations.select_related("label").order_by("id")
        ],
    }
    if document_labels:  # most projects have none: keep their events as they were
        content["document_labels"] = document_labels
    return content


def _record(
    access: Access,
    action: str,
    obj: Span | Relation | Layer,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    # Each event names the layer and the version the write produced, so the trail
    # of one layer reads in order.
    layer = _layer_of(access)
    where = {"layer": layer.pk, "version": layer.version}
    record_event(
        actor=access.user,
        project=access.project,
        action=action,
        obj=obj,
        before=before,
        after={**where, **after} if after is not None else where,
    )


# --- layers ---------------------------------------------------------------------------


def _document_in_project(access: Access, document: Document) -> None:
    if document.project_id != access.project.pk:
        raise Document.DoesNotExist("No such document.")


def ensure_gold_layer(*, access: Access, document: Document) -> Layer:
    """The document's gold layer, made (adjudication starts) by a reviewer or a manager."""
    return start_gold_layer(access=access, document=document)[0]


@transaction.atomic
def start_gold_layer(*, access: Access, document: Document) -> tuple[Layer, bool]:
    """Start adjudicating ``document``: its gold layer, and whether this call made it.

    Only writes make a gold layer (this, a merge by vote): reading never does, so a
    document nobody adjudicated keeps no gold (docs/exports.md).
    """
    _document_in_project(access, document)
    layer = Layer.objects.filter(document=document, is_gold=True).first()
    if layer is not None:
        layer.document = document
        return layer, False
    access.require(STAFF_ROLES, GOLD_STAFF_ONLY_MESSAGE)
    layer, created = Layer.objects.get_or_create(document=document, is_gold=True)
    if created:
        record_event(
            actor=access.user,
            project=document.project,
            action="create",
            obj=layer,
            after={"document": document.pk, "gold": True},
        )
    return layer, created


# --- spans ----------------------------------------------------------------------------


@transaction.atomic
def create_span(
    *,
    access: Access,
    label: str,
    start: int,
    end: int,
    attrs: Mapping[str, Any] | None = None,
    quote: str | None = None,
    entry: str | None = None,
    stance: str = "",
    version: int | None = None,
) -> Span:
    """Add a span to the caller's layer; ``access.layer.version`` becomes the new version.

    ``entry`` is the key of a catalogue entry of the label's catalogue, ``stance`` one of
    the label's stance values toward it."""
    layer = _writable_layer(access)
    attrs = dict(attrs or {})
    text = layer.document.text
    schema = _Schema(access)
    problems = _Problems()
    _check_span(problems, schema, text, label=label, start=start, end=end, attrs=attrs, quote=quote)
    linked = _check_link(problems, access, schema.spans.get(label), entry, stance)
    problems.raise_if_any()
    _bump_version(layer, version)
    _refuse_overlap(layer, schema.spans[label], start, end)
    span = Span(
        layer=layer,
        label=schema.spans[label],
        start=start,
        end=end,
        attributes=attrs,
        quote=text[start:end],
        entry=linked,
        stance=stance,
    )
    sql.insert(span)
    _mark_started(access)
    _record(access, "create", span, None, span_snapshot(span))
    return span


def _span_of(layer: Layer, span_id: int) -> Span:
    """The layer's span ``span_id``; read after the version bump, under the layer's lock,
    so that it is the state the previous write left."""
    span = Span.objects.filter(layer=layer, pk=span_id).select_related("label", "entry").first()
    if span is None:
        raise Span.DoesNotExist("No such span.")
    span.layer = layer
    return span


@transaction.atomic
def update_span(
    *,
    access: Access,
    span_id: int,
    version: int | None = None,
    label: str | None = None,
    start: int | None = None,
    end: int | None = None,
    attrs: Mapping[str, Any] | None = None,
    quote: str | None = None,
    entry: str | None = None,
    stance: str | None = None,
    unlink: bool = False,
) -> Span:
    """Change any of a span's label, offsets, attributes, catalogue entry (by key) and
    stance; what is not sent stays as the latest write left it. ``unlink`` removes the
    span's entry and stance.

    A quote, when given, must match the new offsets; the stored quote always follows
    the offsets. Changing the label must keep the links that touch the span valid.
    ``Span.DoesNotExist`` when the layer has no such span (any more).
    """
    asked = (label, start, end, attrs, quote, entry, stance)
    if all(value is None for value in asked) and not unlink:
        raise ValidationError(NOTHING_TO_CHANGE_MESSAGE)
    layer = _writable_layer(access)
    schema = _Schema(access)
    # Lock first, read second: two writers without a version each see the other's change.
    _bump_version(layer, version)
    span = _span_of(layer, span_id)
    before = span_snapshot(span)
    new_label = span.label.name if label is None else label
    if unlink:
        new_entry, new_stance = None, ""
    else:
        new_entry = _entry_key(span) if entry is None else entry
        new_stance = span.stance if stance is None else stance
    new_start = span.start if start is None else start
    new_end = span.end if end is None else end
    new_attrs = dict(span.attributes if attrs is None else attrs)
    text = layer.document.text
    problems = _Problems()
    _check_span(
        problems,
        schema,
        text,
        label=new_label,
        start=new_start,
        end=new_end,
        attrs=new_attrs,
        quote=quote,
    )
    linked = span.entry
    # An untouched link is not checked again: a merge may have moved it to an entry the
    # annotator cannot see yet, and their other edits must still go through.
    if unlink or entry is not None or stance is not None or new_label != span.label.name:
        linked = _check_link(problems, access, schema.spans.get(new_label), new_entry, new_stance)
    problems.raise_if_any()
    changed: list[str] = []
    if new_label != span.label.name:
        links = [
            ("head", r)
            for r in Relation.objects.filter(head=span).select_related("label").order_by()
        ] + [
            ("tail", r)
            for r in Relation.objects.filter(tail=span).select_related("label").order_by()
        ]
        for end_name, relation in links:
            reason = _end_label_problem(schema, relation.label, end_name, new_label)
            if reason:
                problems.add("label", f"the span is the {end_name} of a link: {reason}")
        problems.raise_if_any()
        span.label = schema.spans[new_label]
        changed.append("label")
    if "label" in changed or start is not None or end is not None:
        _refuse_overlap(layer, span.label, new_start, new_end, span.pk)
    if start is not None or end is not None:
        span.start, span.end, span.quote = new_start, new_end, text[new_start:new_end]
        changed += ["start", "end", "quote"]
    if attrs is not None:
        span.attributes = new_attrs
        changed.append("attributes")
    if (linked.pk if linked else None) != span.entry_id or new_stance != span.stance:
        span.entry, span.stance = linked, new_stance
        changed += ["entry", "stance"]
    if changed:
        span.save(update_fields=changed)
    _record(access, "update", span, before, span_snapshot(span))
    return span


@transaction.atomic
def delete_span(*, access: Access, span_id: int, version: int | None = None) -> Layer:
    """Remove a span and the links that touch it; returns the layer at its new version.

    ``Span.DoesNotExist`` when the layer has no such span (any more).
    """
    layer = _writable_layer(access)
    _bump_version(layer, version)
    span = _span_of(layer, span_id)
    links = Relation.objects.filter(layer=layer, head=span) | Relation.objects.filter(
        layer=layer, tail=span
    )
    before = {
        **span_snapshot(span),
        "relations": [relation_snapshot(r) for r in links.select_related("label").order_by("id")],
    }
    span.delete()
    span.pk = span_id
    _record(access, "delete", span, before, None)
    return layer


# --- relations ------------------------------------------------------------------------


@transaction.atomic
def create_relation(
    *,
    access: Access,
    type: str,
    head: int,
    tail: int,
    version: int | None = None,
) -> Relation:
    """Link two spans of the caller's layer (by span id) with a relation label."""
    layer = _writable_layer(access)
    schema = _Schema(access)
    problems = _Problems()
    relation_label = schema.relations.get(type)
    if relation_label is None:
        known = ", ".join(sorted(schema.relations)) or "none"
        problems.add("type", f"unknown relation {type!r} (known: {known})")
    if head == tail:
        problems.add("tail", "a relation cannot link a span to itself")
    problems.raise_if_any()
    assert relation_label is not None
    _bump_version(layer, version)
    # Read after the bump: the row lock keeps the spans from changing under us.
    ends = {
        span.pk: span
        for span in Span.objects.filter(layer=layer, pk__in=[head, tail])
        .select_related("label")
        .order_by()
    }
    for end_name, span_id in (("head", head), ("tail", tail)):
        span = ends.get(span_id)
        if span is None:
            problems.add(end_name, f"no span {span_id} in this layer")
            continue
        reason = _end_label_problem(schema, relation_label, end_name, span.label.name)
        if reason:
            problems.add(end_name, reason)
    problems.raise_if_any()
    if Relation.objects.filter(layer=layer, label=relation_label, head_id=head, tail_id=tail):
        problems.add("tail", "these two spans are already linked by this relation")
        problems.raise_if_any()
    relation = Relation.objects.create(
        layer=layer, label=relation_label, head=ends[head], tail=ends[tail]
    )
    _mark_started(access)
    _record(access, "create", relation, None, relation_snapshot(relation))
    return relation


@transaction.atomic
def delete_relation(*, access: Access, relation_id: int, version: int | None = None) -> Layer:
    """Remove one link; returns the layer at its new version.

    ``Relation.DoesNotExist`` when the layer has no such link (any more).
    """
    layer = _writable_layer(access)
    _bump_version(layer, version)
    relation = Relation.objects.filter(layer=layer, pk=relation_id).select_related("label").first()
    if relation is None:
        raise Relation.DoesNotExist("No such relation.")
    before = relation_snapshot(relation)
    relation.delete()
    relation.pk = relation_id
    _record(access, "delete", relation, before, None)
    return layer


# --- document labels ------------------------------------------------------------------


def document_label_of(access: Access, name: str) -> LabelType:
    """The project's document-level label ``name``; ``LabelType.DoesNotExist`` otherwise."""
    for label in access.labels():
        if label.name == name and label.kind == LabelKind.DOCUMENT:
            return label
    raise LabelType.DoesNotExist(f"No document label {name!r} in this project.")


@transaction.atomic
def set_document_label(
    *, access: Access, label: LabelType, values: Sequence[str], version: int | None = None
) -> Layer:
    """Replace the values the layer gives its document for ``label`` (a document label of
    the layer's project, from ``document_label_of``); ``[]`` clears them. A single-choice
    label takes at most one value; every value must be one of the label's choices."""
    layer = _writable_layer(access)
    if label.project_id != access.project.pk or label.kind != LabelKind.DOCUMENT:
        raise LabelType.DoesNotExist("No such document label in this project.")
    problems = _Problems()
    for _, reason in document_label_problems(
        {label.name: list(values)}, {label.name: (label.multiple, list(label.choices))}
    ):
        problems.add("values", reason)
    problems.raise_if_any()
    _bump_version(layer, version)
    rows = DocumentLabel.objects.filter(layer=layer, label=label)
    before = sorted(rows.values_list("value", flat=True))
    rows.delete()
    DocumentLabel.objects.bulk_create(
        [DocumentLabel(layer=layer, label=label, value=value) for value in sorted(values)]
    )
    _mark_started(access)
    _record(
        access,
        "document_label",
        layer,
        {"label": label.name, "values": before},
        {"label": label.name, "values": sorted(values)},
    )
    return layer


# --- the whole layer ------------------------------------------------------------------


@dataclass(frozen=True)
class SpanInput:
    label: str
    start: int
    end: int
    attrs: Mapping[str, Any] = field(default_factory=dict)
    quote: str | None = None
    entry: str | None = None
    stance: str = ""


@dataclass(frozen=True)
class RelationInput:
    """A link between two spans of the same request, by their index in its span list."""

    type: str
    head: int
    tail: int


@transaction.atomic
def replace_layer(
    *,
    access: Access,
    spans: Sequence[SpanInput],
    relations: Sequence[RelationInput] = (),
    document_labels: Mapping[str, Sequence[str]] | None = None,
    version: int | None = None,
) -> Layer:
    """Replace every span and relation of the caller's layer at once, or change nothing;
    with ``document_labels`` (``{label name: [values]}``) every document label too.

    Errors name the item: ``spans[3].end``, ``relations[0].head``,
    ``document_labels.stance``.
    """
    layer = _writable_layer(access)
    text = layer.document.text
    schema = _Schema(access)
    problems = _Problems()
    for index, item in enumerate(spans):
        _check_span(
            problems,
            schema,
            text,
            label=item.label,
            start=item.start,
            end=item.end,
            attrs=item.attrs,
            quote=item.quote,
            prefix=f"spans[{index}].",
        )
    links = [
        _check_link(
            problems,
            access,
            schema.spans.get(item.label),
            item.entry,
            item.stance,
            prefix=f"spans[{index}].",
        )
        for index, item in enumerate(spans)
    ]
    seen: set[RelationInput] = set()
    for index, link in enumerate(relations):
        here = f"relations[{index}]"
        relation_label = schema.relations.get(link.type)
        if relation_label is None:
            known = ", ".join(sorted(schema.relations)) or "none"
            problems.add(f"{here}.type", f"unknown relation {link.type!r} (known: {known})")
        for end_name in ("head", "tail"):
            position = getattr(link, end_name)
            if not 0 <= position < len(spans):
                problems.add(
                    f"{here}.{end_name}", f"must be the index of one of the {len(spans)} spans"
                )
            elif relation_label is not None:
                reason = _end_label_problem(schema, relation_label, end_name, spans[position].label)
                if reason:
                    problems.add(f"{here}.{end_name}", reason)
        if link.head == link.tail:
            problems.add(here, "a relation cannot link a span to itself")
        if link in seen:
            problems.add(here, "the same link appears twice")
        seen.add(link)
    _overlap_problems(problems, schema, spans)
    if document_labels is not None:
        allowed = {
            name: (label.multiple, label.choices) for name, label in schema.documents.items()
        }
        for name, reason in document_label_problems(
            {name: list(values) for name, values in document_labels.items()}, allowed
        ):
            problems.add(f"document_labels.{name}", reason)
    problems.raise_if_any()

    before = _layer_content(layer)
    _bump_version(layer, version)
    if document_labels is not None:
        layer.document_labels.all().delete()
        DocumentLabel.objects.bulk_create(
            [
                DocumentLabel(layer=layer, label=schema.documents[name], value=value)
                for name, values in document_labels.items()
                for value in sorted(values)
            ]
        )
    layer.spans.all().delete()
    made = Span.objects.bulk_create(
        [
            Span(
                layer=layer,
                label=schema.spans[item.label],
                start=item.start,
                end=item.end,
                attributes=dict(item.attrs),
                quote=text[item.start : item.end],
                entry=linked,
                stance=item.stance,
            )
            for item, linked in zip(spans, links, strict=True)
        ]
    )
    Relation.objects.bulk_create(
        [
            Relation(
                layer=layer,
                label=schema.relations[link.type],
                head=made[link.head],
                tail=made[link.tail],
            )
            for link in relations
        ]
    )
    _mark_started(access)
    _record(access, "replace", layer, before, _layer_content(layer))
    return layer


def _refuse_unlinked(layer: Layer) -> None:
    """An annotator's layer is not handed in while spans of a label whose link is required
    name no catalogue entry (the reviewers curate gold's links themselves)."""
    missing = unlinked_spans(layer)
    if missing:
        counts = ", ".join(
            f"{count} {name} span{'' if count == 1 else 's'}"
            for name, count in sorted(missing.items())
        )
        raise ValidationError(
            {"entry": [f"link every span to its catalogue entry first: {counts} unlinked"]}
        )


def _final_reason(layer: Layer, reason: str) -> tuple[str, int]:
    """Marking gold final: the reason kept and the candidates left open, or raise.

    Final means settled: every candidate of the submitted layers in gold or rejected;
    with some still open, only a reason lets it through.
    """
    open_candidates = len(unsettled_candidates(layer.document))
    reason = reason.strip()
    if open_candidates and not reason:
        noun = "candidate" if open_candidates == 1 else "candidates"
        raise ValidationError(
            {
                "reason": [
                    f"{open_candidates} {noun} not settled: settle them (in gold or "
                    "rejected) or say why gold is final anyway"
                ]
            }
        )
    return (reason if open_candidates else ""), open_candidates


@transaction.atomic
def submit_layer(*, access: Access, version: int | None = None, reason: str = "") -> Layer:
    """Hand a layer in: it becomes read-only and the annotator's assignment submitted.

    For gold, ``reason`` is needed when candidates are still unsettled (``_final_reason``).
    """
    layer = _writable_layer(access)
    now = timezone.now()
    changes: dict[str, Any] = {"status": LayerStatus.SUBMITTED, "submitted_at": now}
    after: dict[str, Any] = {"status": LayerStatus.SUBMITTED}
    if layer.is_gold:
        # A stale page hears of the conflict first, not of candidates it may not see.
        current_version = Layer.objects.values_list("version", flat=True).get(pk=layer.pk)
        if version is not None and current_version != version:
            raise LayerConflict(current_version)
        changes["final_reason"], after["open_candidates"] = _final_reason(layer, reason)
        if changes["final_reason"]:
            after["reason"] = changes["final_reason"]
        layer.final_reason = changes["final_reason"]
    else:
        _refuse_unlinked(layer)
    _bump_version(layer, version, **changes)
    layer.status, layer.submitted_at = LayerStatus.SUBMITTED, now
    if layer.annotator_id is not None:
        Assignment.objects.filter(
            document_id=layer.document_id, annotator_id=layer.annotator_id
        ).update(status=AssignmentStatus.SUBMITTED, finished_at=now)
        # Agreement figures go stale with every submission (debounced; off by default).
        agreement_runs.schedule_rerun(access.project)
    _record(access, "submit", layer, {"status": LayerStatus.OPEN}, after)
    return layer


def _reopen(access: Access, layer: Layer, version: int | None, action: str) -> Layer:
    """Open a submitted layer again (the assignment goes back in progress), audited."""
    rows = Layer.objects.filter(pk=layer.pk, status=LayerStatus.SUBMITTED)
    if version is not None:
        rows = rows.filter(version=version)
    if not rows.update(
        status=LayerStatus.OPEN,
        submitted_at=None,
        final_reason="",
        version=F("version") + 1,
        updated_at=timezone.now(),
    ):
        current_version = Layer.objects.values_list("version", flat=True).get(pk=layer.pk)
        if version is not None and current_version != version:
            raise LayerConflict(current_version)
        raise ValidationError({"status": ["the layer is already open"]})
    layer.refresh_from_db(
        fields=["status", "submitted_at", "version", "updated_at", "final_reason"]
    )
    if layer.annotator_id is not None:
        Assignment.objects.filter(
            document_id=layer.document_id, annotator_id=layer.annotator_id
        ).update(status=AssignmentStatus.IN_PROGRESS, finished_at=None)
    _record(access, action, layer, {"status": LayerStatus.SUBMITTED}, {"status": layer.status})
    return layer


@transaction.atomic
def reopen_layer(*, access: Access, version: int | None = None) -> Layer:
    """Give a submitted layer back to its annotator (or reopen the gold layer)."""
    layer = _layer_of(access)
    if not access.is_project_staff:
        raise LayerReadOnly(REOPEN_STAFF_ONLY_MESSAGE)
    return _reopen(access, layer, version, "reopen")


def unsubmit_refusal(layer: Layer, user_id: int) -> str | None:
    """Why ``user_id`` may not undo the submission of ``layer`` now, or None if they may.

    Only the annotator, and only until review of the document has started: a gold layer
    exists for it (adjudication began) or a reviewer decided on a candidate. Opening the
    review page records nothing, so "started" is the first thing review writes, not a
    reviewer's visit.
    """
    if layer.is_gold or layer.annotator_id != user_id:
        return UNSUBMIT_OWN_ONLY_MESSAGE
    document = layer.document_id
    if (
        Layer.objects.filter(document_id=document, is_gold=True).exists()
        or ReviewDecision.objects.filter(document_id=document).exists()
    ):
        return UNSUBMIT_REVIEWED_MESSAGE
    return None


@transaction.atomic
def unsubmit_layer(*, access: Access, version: int | None = None) -> Layer:
    """The annotator takes back their submission, while review has not started."""
    layer = _layer_of(access)
    refusal = unsubmit_refusal(layer, access.user.pk)
    if refusal:
        raise LayerReadOnly(refusal)
    return _reopen(access, layer, version, "unsubmit")


# --- the queue ------------------------------------------------------------------------


@transaction.atomic
def skip_document(*, access: Access, document: Document, reason: str) -> Assignment:
    """Set a document aside, with the reason; it leaves the caller's queue."""
    _document_in_project(access, document)
    annotator = access.user
    if not reason.strip():
        raise ValidationError({"reason": ["say why you skip the document"]})
    assignment = (
        Assignment.objects.select_for_update()
        .filter(document=document, annotator=annotator)
        .first()
    )
    if assignment is None:
        raise PermissionDenied("Only an annotator assigned to this document can skip it.")
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise ValidationError({"status": ["the document is submitted already"]})
    before = {"status": assignment.status, "skip_reason": assignment.skip_reason}
    assignment.status = AssignmentStatus.SKIPPED
    assignment.skip_reason = reason.strip()
    assignment.finished_at = timezone.now()
    assignment.save(update_fields=["status", "skip_reason", "finished_at"])
    record_event(
        actor=annotator,
        project=document.project,
        action="skip",
        obj=assignment,
        before=before,
        after={"status": assignment.status, "skip_reason": assignment.skip_reason},
    )
    return assignment
