"""A batch of span and link writes to one layer, applied at once (docs/layer-writes.md).

The annotation page queues its edits while a save is in flight and sends what queued as
one batch. Each operation is checked by the same rules as its single write in
``annotations.services.layers`` (``create_span``, ``update_span``, ``delete_span``,
``create_relation``, ``delete_relation``), in order, against the layer as the operations
before it left it; the first one refused refuses the batch (``operations[3].end``), and
nothing is written. A batch bumps the layer's version once and records one audit event
per operation, as the single writes do.

What makes it cheaper per span than single writes: the spans and links the batch names
are read in one query each (the spans of a label that forbids overlap too, when the batch
places one), the checks run in memory, and the changes go out in a few bulk statements.
Operations name spans and links by id, or by the ``ref`` the client gave one made earlier
in the same batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from annotations import sql
from annotations.access import Access
from annotations.models import CatalogueEntry, LabelType, Relation, Span
from annotations.services.audit import Change, record_changes
from annotations.services.layers import (
    NOTHING_TO_CHANGE_MESSAGE,
    SpanInput,
    _bump_version,
    _check_link,
    _check_span,
    _end_label_problem,
    _entry_key,
    _mark_started,
    _Problems,
    _Schema,
    _writable_layer,
    relation_snapshot,
    span_snapshot,
)

# A span or a link: its id in the layer, or the ref a create earlier in the batch gave it.
Target = int | str


@dataclass(frozen=True)
class CreateSpan(SpanInput):
    ref: str | None = None


@dataclass(frozen=True)
class UpdateSpan:
    """What is None stays; ``unlink`` takes the entry and stance off."""

    id: Target
    label: str | None = None
    start: int | None = None
    end: int | None = None
    attrs: Mapping[str, Any] | None = None
    quote: str | None = None
    entry: str | None = None
    stance: str | None = None
    unlink: bool = False


@dataclass(frozen=True)
class DeleteSpan:
    id: Target


@dataclass(frozen=True)
class CreateLink:
    type: str
    head: Target
    tail: Target
    ref: str | None = None


@dataclass(frozen=True)
class DeleteLink:
    id: Target


Operation = CreateSpan | UpdateSpan | DeleteSpan | CreateLink | DeleteLink


@dataclass
class BatchResult:
    version: int
    # ref -> the span or link made under it (those the batch did not delete again).
    spans: dict[str, Span]
    links: dict[str, Relation]


class _Refused(Exception):
    """One operation's problems: field -> reasons."""

    def __init__(self, errors: Mapping[str, list[str]]):
        self.errors = errors


def _raise(problems: _Problems) -> None:
    if problems.errors:
        raise _Refused(problems.errors)


class _Layer:
    """The part of the layer a batch touches, in memory, as its operations change it.

    Spans and links are tracked by identity: the ones made here have no id yet.
    """

    def __init__(self, access: Access, schema: _Schema, operations: Sequence[Operation]):
        layer = access.layer
        assert layer is not None
        self.layer = layer
        self.schema = schema
        self.text = layer.document.text
        labels = {label.pk: label for label in (*schema.spans.values(), *schema.relations.values())}
        named: set[Target] = set()
        placed: set[str | None] = set()  # labels of spans placed or moved (None: any)
        link_ids: set[Target] = set()
        for op in operations:
            if isinstance(op, CreateSpan):
                placed.add(op.label)
            elif isinstance(op, UpdateSpan):
                named.add(op.id)
                if op.label is not None:
                    placed.add(op.label)
                elif op.start is not None or op.end is not None:
                    placed.add(None)
            elif isinstance(op, DeleteSpan):
                named.add(op.id)
            elif isinstance(op, CreateLink):
                named |= {op.head, op.tail}
            else:
                link_ids.add(op.id)
        span_ids = {value for value in named if isinstance(value, int)}
        link_ids = {value for value in link_ids if isinstance(value, int)}
        # Spans of labels that forbid overlap are all read when the batch places one.
        strict = [
            label.pk
            for name, label in schema.spans.items()
            if not label.allow_overlap and (name in placed or None in placed)
        ]
        self.spans: dict[int, Span] = {}  # id(span) -> span, for every live span known
        self.by_id: dict[int, Span] = {}
        if span_ids or strict:
            for span in (
                Span.objects.filter(layer=layer)
                .filter(Q(pk__in=span_ids) | Q(label_id__in=strict))
                .select_related("entry")
                .order_by()
            ):
                span.label = labels[span.label_id]
                span.layer = layer
                self.spans[id(span)] = span
                self.by_id[span.pk] = span
        self.links: dict[int, Relation] = {}  # id(link) -> link
        self.link_by_id: dict[int, Relation] = {}
        if span_ids or link_ids:
            for link in (
                Relation.objects.filter(layer=layer)
                .filter(Q(head_id__in=span_ids) | Q(tail_id__in=span_ids) | Q(pk__in=link_ids))
                .order_by()
            ):
                link.label = labels[link.label_id]
                # Only the ends the batch names are read; the others are known by id.
                if link.head_id in self.by_id:
                    link.head = self.by_id[link.head_id]
                if link.tail_id in self.by_id:
                    link.tail = self.by_id[link.tail_id]
                self.links[id(link)] = link
                self.link_by_id[link.pk] = link
        self.refs: dict[str, Span | Relation] = {}
        self.created_spans: list[Span] = []
        self.created_links: list[Relation] = []
        self.changed: dict[int, tuple[Span, set[str]]] = {}  # id(span) -> fields changed
        self.deleted_spans: list[Span] = []
        self.deleted_links: list[Relation] = []  # those in the database, deleted by name
        self.trail: list[_Event] = []
        self.entries: dict[tuple[str, str], CatalogueEntry | None] = {}  # looked up once

    # --- finding what an operation names ------------------------------------------------

    def span(self, target: Target) -> Span | None:
        found = self.by_id.get(target) if isinstance(target, int) else self.refs.get(target)
        return found if isinstance(found, Span) and id(found) in self.spans else None

    def link(self, target: Target) -> Relation | None:
        found = self.link_by_id.get(target) if isinstance(target, int) else self.refs.get(target)
        return found if isinstance(found, Relation) and id(found) in self.links else None

    def links_of(self, span: Span) -> list[tuple[str, Relation]]:
        """(which end, link) for the live links that touch ``span``."""
        return [
            (end, link)
            for link in self.links.values()
            for end, at in (("head", link.head_id), ("tail", link.tail_id))
            if _is_end(link, end, at, span)
        ]

    def name(self, span: Span) -> str:
        if span.pk is not None:
            return str(span.pk)
        ref = next(ref for ref, made in self.refs.items() if made is span)
        return repr(ref)

    def take_ref(self, problems: _Problems, ref: str | None, made: Span | Relation) -> None:
        if ref is None:
            return
        if ref in self.refs:
            problems.add("ref", f"{ref!r} names another object of this batch already")
        else:
            self.refs[ref] = made

    # --- the rules ----------------------------------------------------------------------

    def overlap(self, label: LabelType, start: int, end: int, span: Span | None) -> None:
        """``_refuse_overlap``'s rule, against the layer as the batch left it."""
        if label.allow_overlap:
            return
        clashes = sorted(
            (other.start, other.end, self.name(other))
            for other in self.spans.values()
            if other is not span
            and other.label_id == label.pk
            and other.start < end
            and other.end > start
        )
        if clashes:
            other_start, other_end, other = clashes[0]
            reason = (
                f"overlaps the {label.name} span {other} at [{other_start}, {other_end}): "
                f"{label.name} spans may not overlap"
            )
            raise _Refused({"start": [reason], "end": [reason]})

    def create_span(self, access: Access, op: CreateSpan) -> None:
        problems = _Problems()
        attrs = dict(op.attrs)
        _check_span(
            problems,
            self.schema,
            self.text,
            label=op.label,
            start=op.start,
            end=op.end,
            attrs=attrs,
            quote=op.quote,
        )
        linked = _check_link(
            problems,
            access,
            self.schema.spans.get(op.label),
            op.entry,
            op.stance,
            seen=self.entries,
        )
        _raise(problems)
        span = Span(
            layer=self.layer,
            label=self.schema.spans[op.label],
            start=op.start,
            end=op.end,
            attributes=attrs,
            quote=self.text[op.start : op.end],
            entry=linked,
            stance=op.stance,
        )
        self.take_ref(problems, op.ref, span)
        _raise(problems)
        self.overlap(span.label, op.start, op.end, None)
        self.spans[id(span)] = span
        self.created_spans.append(span)
        self.trail.append(_Event("create", span, after=span_snapshot(span)))

    def update_span(self, access: Access, op: UpdateSpan) -> None:
        asked = (op.label, op.start, op.end, op.attrs, op.quote, op.entry, op.stance)
        if all(value is None for value in asked) and not op.unlink:
            raise _Refused({"op": [NOTHING_TO_CHANGE_MESSAGE]})
        span = self.span(op.id)
        if span is None:
            raise _Refused({"id": [f"no span {op.id!r} in this layer"]})
        before = span_snapshot(span)
        label_name = span.label.name
        new_label = label_name if op.label is None else op.label
        if op.unlink:
            new_entry, new_stance = None, ""
        else:
            new_entry = _entry_key(span) if op.entry is None else op.entry
            new_stance = span.stance if op.stance is None else op.stance
        new_start = span.start if op.start is None else op.start
        new_end = span.end if op.end is None else op.end
        new_attrs = dict(span.attributes if op.attrs is None else op.attrs)
        problems = _Problems()
        _check_span(
            problems,
            self.schema,
            self.text,
            label=new_label,
            start=new_start,
            end=new_end,
            attrs=new_attrs,
            quote=op.quote,
        )
        linked = span.entry
        # As update_span: an untouched link is not checked again.
        touched = op.entry is not None or op.stance is not None or new_label != label_name
        if op.unlink or touched:
            linked = _check_link(
                problems,
                access,
                self.schema.spans.get(new_label),
                new_entry,
                new_stance,
                seen=self.entries,
            )
        _raise(problems)
        changed: set[str] = set()
        if new_label != label_name:
            for end_name, link in self.links_of(span):
                reason = _end_label_problem(self.schema, link.label, end_name, new_label)
                if reason:
                    problems.add("label", f"the span is the {end_name} of a link: {reason}")
            _raise(problems)
            changed.add("label")
        label = self.schema.spans[new_label]
        if changed or op.start is not None or op.end is not None:
            self.overlap(label, new_start, new_end, span)
        span.label = label
        if op.start is not None or op.end is not None:
            span.start, span.end = new_start, new_end
            span.quote = self.text[new_start:new_end]
            changed |= {"start", "end", "quote"}
        if op.attrs is not None:
            span.attributes = new_attrs
            changed.add("attributes")
        if (linked.pk if linked else None) != span.entry_id or new_stance != span.stance:
            span.entry, span.stance = linked, new_stance
            changed |= {"entry", "stance"}
        if span.pk is not None and changed:
            self.changed.setdefault(id(span), (span, set()))[1].update(changed)
        self.trail.append(_Event("update", span, before, span_snapshot(span)))

    def delete_span(self, op: DeleteSpan) -> None:
        span = self.span(op.id)
        if span is None:
            raise _Refused({"id": [f"no span {op.id!r} in this layer"]})
        # Its links go with it: those in the database by the cascade of the span's delete.
        links = [link for _, link in self.links_of(span)]
        for link in links:
            del self.links[id(link)]
        del self.spans[id(span)]
        self.deleted_spans.append(span)
        self.trail.append(_Event("delete", span, span_snapshot(span), links=links))

    def create_link(self, op: CreateLink) -> None:
        problems = _Problems()
        label = self.schema.relations.get(op.type)
        if label is None:
            known = ", ".join(sorted(self.schema.relations)) or "none"
            problems.add("type", f"unknown relation {op.type!r} (known: {known})")
        if op.head == op.tail:
            problems.add("tail", "a relation cannot link a span to itself")
        _raise(problems)
        assert label is not None
        ends: dict[str, Span] = {}
        for end_name, target in (("head", op.head), ("tail", op.tail)):
            span = self.span(target)
            if span is None:
                problems.add(end_name, f"no span {target!r} in this layer")
                continue
            ends[end_name] = span
            reason = _end_label_problem(self.schema, label, end_name, span.label.name)
            if reason:
                problems.add(end_name, reason)
        _raise(problems)
        head, tail = ends["head"], ends["tail"]
        if head is tail:
            raise _Refused({"tail": ["a relation cannot link a span to itself"]})
        if any(
            end == "head"
            and link.label_id == label.pk
            and _is_end(link, "tail", link.tail_id, tail)
            for end, link in self.links_of(head)
        ):
            raise _Refused({"tail": ["these two spans are already linked by this relation"]})
        link = Relation(layer=self.layer, label=label, head=head, tail=tail)
        self.take_ref(problems, op.ref, link)
        _raise(problems)
        self.links[id(link)] = link
        self.created_links.append(link)
        self.trail.append(_Event("create", link))

    def delete_link(self, op: DeleteLink) -> None:
        link = self.link(op.id)
        if link is None:
            raise _Refused({"id": [f"no relation {op.id!r} in this layer"]})
        del self.links[id(link)]
        if link.pk is not None:
            self.deleted_links.append(link)
        self.trail.append(_Event("delete", link))

    # --- writing ------------------------------------------------------------------------

    def write(self, access: Access) -> None:
        """The batch's end state in a few statements, then its audit trail."""
        if self.deleted_links:
            Relation.objects.filter(pk__in=[link.pk for link in self.deleted_links]).delete()
        changed = [span for span, _ in self.changed.values() if id(span) in self.spans]
        if changed:
            fields = set().union(*(names for _, names in self.changed.values()))
            Span.objects.bulk_update(changed, sorted(fields))
        if self.created_spans:
            sql.insert_many(self.created_spans)
        self._write_new_links()
        # Last, spans made here among them (their audit events name their ids); their
        # links go with them, by the cascade.
        if self.deleted_spans:
            Span.objects.filter(pk__in=[span.pk for span in self.deleted_spans]).delete()
        self._write_trail(access)

    def _write_new_links(self) -> None:
        """Links made here, some perhaps deleted again: a link made twice (made, deleted,
        made again) goes in rounds so that the first is gone before the second comes."""
        pending = self.created_links
        while pending:
            seen: set[tuple[int, int, int]] = set()
            now: list[Relation] = []
            later: list[Relation] = []
            for link in pending:
                link.head_id, link.tail_id = link.head.pk, link.tail.pk
                key = (link.label_id, link.head_id, link.tail_id)
                (later if key in seen else now).append(link)
                seen.add(key)
            sql.insert_many(now)
            doomed = [link.pk for link in now if id(link) not in self.links]
            if doomed:
                Relation.objects.filter(pk__in=doomed).delete()
            pending = later

    def _write_trail(self, access: Access) -> None:
        """The events the single writes record, one per operation, now that ids are known."""
        where = {"layer": self.layer.pk, "version": self.layer.version}
        changes: list[Change] = []
        for event in self.trail:
            before, after = event.snapshots()
            after = {**where, **after} if after is not None else where
            changes.append((event.action, event.made, before, after))
        record_changes(access, changes)


def _is_end(link: Relation, end: str, at: int | None, span: Span) -> bool:
    """Whether ``span`` is the ``end`` of ``link`` (``at``: that end's id, if it has one).
    A span made in this batch has no id yet: it is known by identity."""
    if span.pk is not None:
        return at == span.pk
    return at is None and getattr(link, end) is span


@dataclass
class _Event:
    """One operation's audit event. A span's snapshots are taken when the operation runs
    (a later one may change the span), with the id filled in once it is written; a link
    never changes, so its snapshot is taken then."""

    action: str
    made: Span | Relation
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    links: Sequence[Relation] = ()  # a deleted span's links, which went with it

    def snapshots(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        if isinstance(self.made, Relation):
            made = relation_snapshot(self.made)
            return (None, made) if self.action == "create" else (made, None)
        for snapshot in (self.before, self.after):
            if snapshot is not None:
                snapshot["id"] = self.made.pk
        if self.before is not None and self.action == "delete":
            links = sorted(self.links, key=lambda link: link.pk)
            self.before["relations"] = [relation_snapshot(link) for link in links]
        return self.before, self.after


@transaction.atomic
def apply_operations(
    *, access: Access, operations: Sequence[Operation], version: int | None = None
) -> BatchResult:
    """Apply ``operations`` to the caller's layer in order, all or none, as one new version.

    ``ValidationError`` names the first operation refused and its field
    (``operations[2].head``); nothing is written then.
    """
    layer = _writable_layer(access)
    schema = _Schema(access)
    _bump_version(layer, version)  # the row lock: nobody changes the layer under the checks
    state = _Layer(access, schema, operations)
    for index, op in enumerate(operations):
        try:
            if isinstance(op, CreateSpan):
                state.create_span(access, op)
            elif isinstance(op, UpdateSpan):
                state.update_span(access, op)
            elif isinstance(op, DeleteSpan):
                state.delete_span(op)
            elif isinstance(op, CreateLink):
                state.create_link(op)
            else:
                state.delete_link(op)
        except _Refused as refused:
            raise ValidationError(
                {f"operations[{index}].{name}": reasons for name, reasons in refused.errors.items()}
            ) from None
    state.write(access)
    if state.created_spans or state.created_links:  # as the single creates do
        _mark_started(access)
    return BatchResult(
        version=layer.version,
        spans={
            ref: made
            for ref, made in state.refs.items()
            if isinstance(made, Span) and id(made) in state.spans
        },
        links={
            ref: made
            for ref, made in state.refs.items()
            if isinstance(made, Relation) and id(made) in state.links
        },
    )
