"""Every write to a layer: spans, relations, bulk replace, submit, reopen, skip.

Each write runs in one transaction that first bumps the layer's version with a
conditional UPDATE (``WHERE version = <the version the client loaded>``). Zero rows
updated means somebody else wrote first: the write is refused with the current version
(``LayerConflict``, 409 in the API) instead of silently overwriting. The UPDATE also
takes the row lock, so writes to one layer run one after the other and the checks that
read the layer's spans see a state nobody changes under them.

Who may write what (DESIGN.md, Roles): an annotator writes their own layer while it is
open; reviewers and managers write the gold layer; a manager may also write an open
annotator layer. A submitted layer is read-only for everyone until a reviewer or a
manager reopens it. Every write records an audit event with before and after snapshots.

The write functions take an optional ``role``: the actor's role in the project when the
caller has read it already (the API has, to decide what the caller may see); without it
they read it themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from annotations import sql
from annotations.interchange import Span as SpanRecord
from annotations.interchange import span_problems
from annotations.models import (
    Assignment,
    AssignmentStatus,
    Document,
    LabelKind,
    LabelType,
    Layer,
    LayerStatus,
    Relation,
    Role,
    Span,
)
from annotations.permissions import STAFF_ROLES, role_in
from annotations.selectors import project_labels
from annotations.services import agreement_runs
from annotations.services.audit import record_event

CONFLICT_MESSAGE = "The layer changed since you loaded it."
SUBMITTED_MESSAGE = "This layer is submitted: ask a reviewer to reopen it."
GOLD_SUBMITTED_MESSAGE = "The gold layer is submitted: reopen it to change it."
GOLD_STAFF_ONLY_MESSAGE = "Only reviewers and managers write the gold layer."
REVIEWER_GOLD_ONLY_MESSAGE = "Reviewers write only the gold layer."
REOPEN_STAFF_ONLY_MESSAGE = "Only a reviewer or a manager can reopen a layer."
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


def can_see(layer: Layer, *, user: User, role: str | None) -> bool:
    """Blind annotation: annotators see their own layer only, reviewers the submitted
    layers and the gold layer, managers everything in the project."""
    if role is None:
        return False
    if layer.annotator_id is not None and layer.annotator_id == user.pk:
        return True
    if role == Role.MANAGER:
        return True
    if role == Role.REVIEWER:
        return layer.is_gold or layer.status == LayerStatus.SUBMITTED
    return False


def write_refusal(layer: Layer, *, user: User, role: str | None) -> str | None:
    """Why ``user`` may not change ``layer`` right now, or None when they may."""
    if layer.status == LayerStatus.SUBMITTED:
        return GOLD_SUBMITTED_MESSAGE if layer.is_gold else SUBMITTED_MESSAGE
    if layer.is_gold:
        return None if role in STAFF_ROLES else GOLD_STAFF_ONLY_MESSAGE
    if layer.annotator_id == user.pk or role == Role.MANAGER:
        return None
    return REVIEWER_GOLD_ONLY_MESSAGE


def _authorise_write(layer: Layer, actor: User, role: str | None) -> str:
    if role is None:
        role = role_in(actor, layer.document.project)
    if role is None:
        raise PermissionDenied("You are not a member of this project.")
    refusal = write_refusal(layer, user=actor, role=role)
    if refusal:
        raise LayerReadOnly(refusal)
    return role


# --- the version bump -----------------------------------------------------------------


def _bump_version(layer: Layer, expected: int | None, **changes: Any) -> None:
    """Claim the next version of an open layer (and apply ``changes``), or raise.

    With ``expected`` the UPDATE only matches that version; without it the write is
    unconditional (scripts). ``layer.version`` is set to the new version. The statement
    is composed by hand: every write runs it (annotations/sql.py).
    """
    values = {"updated_at": timezone.now(), **changes}
    fields = [sql.concrete_field(Layer, name) for name in values]
    assignments = ", ".join(f"{sql.column(f)} = %s" for f in fields)
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    params += [layer.pk, LayerStatus.OPEN]
    version = sql.quote("version")
    statement = (
        f"UPDATE {sql.table(Layer)} SET {version} = {version} + 1, {assignments} "
        f"WHERE {sql.quote('id')} = %s AND {sql.quote('status')} = %s"
    )
    if expected is not None:
        statement += f" AND {version} = %s"
        params.append(expected)
    row = sql.fetch_one(statement + f" RETURNING {version}", params)
    if row is not None:
        layer.version = row[0]
        return
    current_version, status = Layer.objects.values_list("version", "status").get(pk=layer.pk)
    if expected is not None and current_version != expected:
        raise LayerConflict(current_version)
    layer.status = status
    raise LayerReadOnly(GOLD_SUBMITTED_MESSAGE if layer.is_gold else SUBMITTED_MESSAGE)


def _mark_started(layer: Layer) -> None:
    """The first write to an annotator's layer puts the assignment in progress."""
    if layer.annotator_id is None:
        return
    # A layer from selectors.layer_for_caller comes with its assignment's status: once
    # the assignment is under way (or there is none) the UPDATE would change nothing.
    if getattr(layer, "assignment_status", AssignmentStatus.ASSIGNED) != AssignmentStatus.ASSIGNED:
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

    def __init__(self, project_id: int):
        labels = project_labels(project_id)
        self.names = {label.pk: label.name for label in labels}
        self.spans = {label.name: label for label in labels if label.kind == LabelKind.SPAN}
        self.relations = {label.name: label for label in labels if label.kind == LabelKind.RELATION}
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


def _end_label_problem(
    schema: _Schema, relation_label: LabelType, end: str, span_label: str
) -> str | None:
    allowed_id = relation_label.head_label_id if end == "head" else relation_label.tail_label_id
    allowed = schema.names.get(allowed_id) if allowed_id is not None else None
    if allowed is not None and allowed != span_label:
        return f"{relation_label.name} takes a {allowed} as its {end}, not a {span_label}"
    return None


# --- snapshots for the audit trail ----------------------------------------------------


def span_snapshot(span: Span) -> dict[str, Any]:
    return {
        "id": span.pk,
        "label": span.label.name,
        "start": span.start,
        "end": span.end,
        "attrs": span.attributes,
        "quote": span.quote,
    }


def relation_snapshot(relation: Relation) -> dict[str, Any]:
    return {
        "id": relation.pk,
        "type": relation.label.name,
        "head": relation.head_id,
        "tail": relation.tail_id,
    }


def _layer_content(layer: Layer) -> dict[str, Any]:
    return {
        "spans": [span_snapshot(s) for s in layer.spans.select_related("label").order_by("id")],
        "relations": [
            relation_snapshot(r) for r in layer.relations.select_related("label").order_by("id")
        ],
    }


def _record(
    actor: User,
    layer: Layer,
    action: str,
    obj: Span | Relation | Layer,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    # Each event names the layer and the version the write produced, so the trail
    # of one layer reads in order.
    where = {"layer": layer.pk, "version": layer.version}
    record_event(
        actor=actor,
        project=layer.document.project,
        action=action,
        obj=obj,
        before=before,
        after={**where, **after} if after is not None else where,
    )


# --- layers ---------------------------------------------------------------------------


@transaction.atomic
def ensure_own_layer(*, document: Document, annotator: User) -> Layer:
    """The annotator's layer of ``document``; made if they are assigned and it is missing.

    Raises ``Layer.DoesNotExist`` when the annotator has neither a layer nor an assignment.
    """
    layer = Layer.objects.filter(document=document, annotator=annotator).first()
    if layer is not None:
        return layer
    if not Assignment.objects.filter(document=document, annotator=annotator).exists():
        raise Layer.DoesNotExist("You are not assigned to this document.")
    layer, created = Layer.objects.get_or_create(document=document, annotator=annotator)
    if created:
        record_event(
            actor=annotator,
            project=document.project,
            action="create",
            obj=layer,
            after={"document": document.pk, "annotator": annotator.get_username()},
        )
    return layer


@transaction.atomic
def ensure_gold_layer(*, document: Document, actor: User) -> Layer:
    """The document's gold layer, made on first use by a reviewer or a manager."""
    layer = Layer.objects.filter(document=document, is_gold=True).first()
    if layer is not None:
        return layer
    if role_in(actor, document.project) not in STAFF_ROLES:
        raise PermissionDenied(GOLD_STAFF_ONLY_MESSAGE)
    layer, created = Layer.objects.get_or_create(document=document, is_gold=True)
    if created:
        record_event(
            actor=actor,
            project=document.project,
            action="create",
            obj=layer,
            after={"document": document.pk, "gold": True},
        )
    return layer


# --- spans ----------------------------------------------------------------------------


@transaction.atomic
def create_span(
    *,
    layer: Layer,
    actor: User,
    label: str,
    start: int,
    end: int,
    attrs: Mapping[str, Any] | None = None,
    quote: str | None = None,
    version: int | None = None,
    role: str | None = None,
) -> Span:
    """Add a span to ``layer``; ``layer.version`` becomes the new version."""
    _authorise_write(layer, actor, role)
    attrs = dict(attrs or {})
    text = layer.document.text
    schema = _Schema(layer.document.project_id)
    problems = _Problems()
    _check_span(problems, schema, text, label=label, start=start, end=end, attrs=attrs, quote=quote)
    problems.raise_if_any()
    _bump_version(layer, version)
    span = Span(
        layer=layer,
        label=schema.spans[label],
        start=start,
        end=end,
        attributes=attrs,
        quote=text[start:end],
    )
    sql.insert(span)
    _mark_started(layer)
    _record(actor, layer, "create", span, None, span_snapshot(span))
    return span


@transaction.atomic
def update_span(
    *,
    span: Span,
    actor: User,
    version: int | None = None,
    role: str | None = None,
    label: str | None = None,
    start: int | None = None,
    end: int | None = None,
    attrs: Mapping[str, Any] | None = None,
    quote: str | None = None,
) -> Span:
    """Change any of a span's label, offsets and attributes (the rest stays).

    A quote, when given, must match the new offsets; the stored quote always follows
    the offsets. Changing the label must keep the links that touch the span valid.
    """
    layer = span.layer
    _authorise_write(layer, actor, role)
    before = span_snapshot(span)
    new_label = span.label.name if label is None else label
    new_start = span.start if start is None else start
    new_end = span.end if end is None else end
    new_attrs = dict(span.attributes if attrs is None else attrs)
    text = layer.document.text
    schema = _Schema(layer.document.project_id)
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
    problems.raise_if_any()
    _bump_version(layer, version)
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
    span.start, span.end, span.attributes = new_start, new_end, new_attrs
    span.quote = text[new_start:new_end]
    span.save(update_fields=["label", "start", "end", "attributes", "quote"])
    _record(actor, layer, "update", span, before, span_snapshot(span))
    return span


@transaction.atomic
def delete_span(
    *, span: Span, actor: User, version: int | None = None, role: str | None = None
) -> Layer:
    """Remove a span and the links that touch it; returns the layer at its new version."""
    layer = span.layer
    _authorise_write(layer, actor, role)
    _bump_version(layer, version)
    links = Relation.objects.filter(layer=layer, head=span) | Relation.objects.filter(
        layer=layer, tail=span
    )
    before = {
        **span_snapshot(span),
        "relations": [relation_snapshot(r) for r in links.select_related("label").order_by("id")],
    }
    deleted_id = span.pk
    span.delete()
    span.pk = deleted_id
    _record(actor, layer, "delete", span, before, None)
    return layer


# --- relations ------------------------------------------------------------------------


@transaction.atomic
def create_relation(
    *,
    layer: Layer,
    actor: User,
    type: str,
    head: int,
    tail: int,
    version: int | None = None,
    role: str | None = None,
) -> Relation:
    """Link two spans of ``layer`` (by span id) with a relation label of the project."""
    _authorise_write(layer, actor, role)
    schema = _Schema(layer.document.project_id)
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
    _mark_started(layer)
    _record(actor, layer, "create", relation, None, relation_snapshot(relation))
    return relation


@transaction.atomic
def delete_relation(
    *, relation: Relation, actor: User, version: int | None = None, role: str | None = None
) -> Layer:
    """Remove one link; returns the layer at its new version."""
    layer = relation.layer
    _authorise_write(layer, actor, role)
    _bump_version(layer, version)
    before = relation_snapshot(relation)
    relation.delete()
    relation.pk = before["id"]
    _record(actor, layer, "delete", relation, before, None)
    return layer


# --- the whole layer ------------------------------------------------------------------


@dataclass(frozen=True)
class SpanInput:
    label: str
    start: int
    end: int
    attrs: Mapping[str, Any] = field(default_factory=dict)
    quote: str | None = None


@dataclass(frozen=True)
class RelationInput:
    """A link between two spans of the same request, by their index in its span list."""

    type: str
    head: int
    tail: int


@transaction.atomic
def replace_layer(
    *,
    layer: Layer,
    actor: User,
    spans: Sequence[SpanInput],
    relations: Sequence[RelationInput] = (),
    version: int | None = None,
    role: str | None = None,
) -> Layer:
    """Replace every span and relation of ``layer`` at once, or change nothing.

    Errors name the item: ``spans[3].end``, ``relations[0].head``.
    """
    _authorise_write(layer, actor, role)
    text = layer.document.text
    schema = _Schema(layer.document.project_id)
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
    problems.raise_if_any()

    before = _layer_content(layer)
    _bump_version(layer, version)
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
            )
            for item in spans
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
    _mark_started(layer)
    _record(actor, layer, "replace", layer, before, _layer_content(layer))
    return layer


@transaction.atomic
def submit_layer(
    *, layer: Layer, actor: User, version: int | None = None, role: str | None = None
) -> Layer:
    """Hand a layer in: it becomes read-only and the annotator's assignment submitted."""
    _authorise_write(layer, actor, role)
    now = timezone.now()
    _bump_version(layer, version, status=LayerStatus.SUBMITTED, submitted_at=now)
    layer.status, layer.submitted_at = LayerStatus.SUBMITTED, now
    if layer.annotator_id is not None:
        Assignment.objects.filter(
            document_id=layer.document_id, annotator_id=layer.annotator_id
        ).update(status=AssignmentStatus.SUBMITTED, finished_at=now)
        # Agreement figures go stale with every submission (debounced; off by default).
        agreement_runs.schedule_rerun(layer.document.project)
    _record(actor, layer, "submit", layer, {"status": LayerStatus.OPEN}, {"status": layer.status})
    return layer


@transaction.atomic
def reopen_layer(
    *, layer: Layer, actor: User, version: int | None = None, role: str | None = None
) -> Layer:
    """Give a submitted layer back to its annotator (or reopen the gold layer)."""
    if role is None:
        role = role_in(actor, layer.document.project)
    if role not in STAFF_ROLES:
        raise LayerReadOnly(REOPEN_STAFF_ONLY_MESSAGE)
    rows = Layer.objects.filter(pk=layer.pk, status=LayerStatus.SUBMITTED)
    if version is not None:
        rows = rows.filter(version=version)
    if not rows.update(
        status=LayerStatus.OPEN,
        submitted_at=None,
        version=F("version") + 1,
        updated_at=timezone.now(),
    ):
        current_version = Layer.objects.values_list("version", flat=True).get(pk=layer.pk)
        if version is not None and current_version != version:
            raise LayerConflict(current_version)
        raise ValidationError({"status": ["the layer is already open"]})
    layer.refresh_from_db(fields=["status", "submitted_at", "version", "updated_at"])
    if layer.annotator_id is not None:
        Assignment.objects.filter(
            document_id=layer.document_id, annotator_id=layer.annotator_id
        ).update(status=AssignmentStatus.IN_PROGRESS, finished_at=None)
    _record(
        actor, layer, "reopen", layer, {"status": LayerStatus.SUBMITTED}, {"status": layer.status}
    )
    return layer


# --- the queue ------------------------------------------------------------------------


@transaction.atomic
def skip_document(*, document: Document, annotator: User, reason: str) -> Assignment:
    """Set a document aside, with the reason; it leaves the annotator's queue."""
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
