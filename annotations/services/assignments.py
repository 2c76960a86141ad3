"""Handing documents to annotators: the project's plan of k annotators per document.

The plan, whoever runs it (the assignment page, the API, ``manage.py assign``, an import
with "assign now", the seed loader):

- each document should have k = ``project.overlap`` annotators, drawn from the project's
  current annotators, never the same person twice on a document;
- a document's places are held by every assignment of a current annotator, and by the
  submitted work of anyone (a former annotator's finished layer still counts);
- the missing places go, document by document in id order, to the annotators with the
  smallest *open* load (assigned or in progress: finished work does not weigh), ties
  broken by username, so the same data always gives the same plan;
- a document with more than k places loses only *unstarted* assignments (status
  ``assigned`` and a layer never written: version 1, no spans), the most loaded
  annotator's first; started work stays even if the document keeps more than k;
- an annotator who left the project (or is no longer an annotator) loses their unstarted
  assignments; their started and submitted layers stay, they are the project's data.

Every assignment comes with the annotator's empty layer, and an unstarted assignment
leaves with its empty layer: no annotator layer is ever empty and unassigned.

Writes lock the project's row first, so that two runs at once cannot both fill the same
document. An unstarted layer is locked again before it is deleted, in the order the
layer writes take their locks (layer, then assignment), and deleted only if it is still
unwritten: an annotator who starts a document at that moment keeps it.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from annotations import sql
from annotations.access import Access
from annotations.models import (
    Assignment,
    AssignmentStatus,
    Document,
    Layer,
    LayerStatus,
    Project,
    Role,
    Span,
)
from annotations.services.audit import record_event

MANAGERS_ONLY_MESSAGE = "Only the project's managers assign documents."
OPEN_STATUSES = (AssignmentStatus.ASSIGNED, AssignmentStatus.IN_PROGRESS)
# Largest k a project may ask for: more annotators per document is no longer a sample.
MAX_OVERLAP = 50
# Documents named as examples of those the plan cannot fill.
EXAMPLES = 10
# Rows written or locked per statement.
BATCH = 2000
# One activity report counts at most this many seconds: the page reports every 30 s.
MAX_ACTIVITY_REPORT = 120


@dataclass(frozen=True)
class AnnotatorPlan:
    """What the plan does to one person's work in the project."""

    username: str
    # False: no longer an annotator of the project (their unstarted work is taken back).
    is_annotator: bool
    open_before: int
    added: int
    removed: int

    @property
    def open_after(self) -> int:
        return self.open_before + self.added - self.removed


@dataclass(frozen=True)
class Plan:
    """What applying the plan would do (a preview) or did."""

    overlap: int
    documents: int
    # Documents with no place held, and with fewer than k (the unassigned included).
    unassigned: int
    under_filled: int
    # Documents that get at least one new annotator; assignments added and removed.
    documents_filled: int
    added: int
    removed: int
    # Documents still short of k afterwards: fewer annotators left to draw than needed.
    unfillable: int
    unfillable_examples: list[str]
    annotators: list[AnnotatorPlan]


@dataclass
class _Work:
    """A plan with the rows it writes: new (document, annotator) pairs and the
    assignments to take back, each with its layer id (None when it has no layer)."""

    plan: Plan
    new_pairs: list[tuple[int, int]] = field(default_factory=list)
    removals: list[tuple[int, int | None]] = field(default_factory=list)


def _check_overlap(overlap: int) -> None:
    if not 1 <= overlap <= MAX_OVERLAP:
        raise ValidationError({"k": [f"must be between 1 and {MAX_OVERLAP}"]})


def _unwritten(version: int, status: str, has_spans: bool) -> bool:
    """A layer nobody has written: still at its first version, open, without a span.
    (``_take_back`` checks the same in its DELETE, on the locked row.)"""
    return version == 1 and status == LayerStatus.OPEN and not has_spans


def _assignment_rows(
    project: Project, annotator: User | None = None
) -> list[tuple[int, int, int, str, int | None, bool]]:
    """(id, document, annotator, status, layer id, written) of every assignment in the
    project (of ``annotator`` only, if given), in document order; written: its layer is
    not unstarted. Three plain reads joined here: a correlated subquery per assignment
    costs several times more on a large project."""
    assignments = Assignment.objects.filter(document__project=project)
    layers = Layer.objects.filter(document__project=project, is_gold=False)
    if annotator is not None:
        assignments = assignments.filter(annotator=annotator)
        layers = layers.filter(annotator=annotator)
    # Spans can make a layer at version 1 started only if something wrote them without
    # a version bump (an import); look at those layers only.
    with_spans = set(
        Span.objects.filter(layer__in=layers.filter(version=1, status=LayerStatus.OPEN))
        .values_list("layer_id", flat=True)
        .distinct()
    )
    layer_of = {
        (document_id, annotator_id): (
            pk,
            not _unwritten(version, status, pk in with_spans),
        )
        for pk, document_id, annotator_id, version, status in layers.values_list(
            "pk", "document_id", "annotator_id", "version", "status"
        )
    }
    rows = []
    for pk, document_id, annotator_id, status in assignments.order_by(
        "document_id", "id"
    ).values_list("pk", "document_id", "annotator_id", "status"):
        layer_id, written = layer_of.get((document_id, annotator_id), (None, False))
        rows.append((pk, document_id, annotator_id, status, layer_id, written))
    return rows


def _compute(project: Project, overlap: int) -> _Work:
    """The plan for ``project`` with k = ``overlap``, read in seven queries."""
    _check_overlap(overlap)
    annotators = list(
        get_user_model()
        .objects.filter(memberships__project=project, memberships__role=Role.ANNOTATOR)
        .order_by("username", "pk")
        .values_list("pk", "username")
    )
    current = {pk for pk, _ in annotators}
    rank = {pk: position for position, (pk, _) in enumerate(annotators)}
    document_ids = list(
        Document.objects.filter(project=project).order_by("id").values_list("id", flat=True)
    )
    load: Counter[int] = Counter({pk: 0 for pk in current})
    # Per document: annotators holding a place, and the unstarted assignments among them.
    holders: dict[int, set[int]] = defaultdict(set)
    unstarted: dict[int, list[tuple[int, int, int | None]]] = defaultdict(list)
    removals: list[tuple[int, int | None]] = []
    removed_from: Counter[int] = Counter()
    open_before: Counter[int] = Counter()
    on_document: dict[int, set[int]] = defaultdict(set)
    for pk, document_id, annotator_id, status, layer_id, written in _assignment_rows(project):
        on_document[document_id].add(annotator_id)
        is_open = status in OPEN_STATUSES
        if is_open:
            open_before[annotator_id] += 1
        not_started = status == AssignmentStatus.ASSIGNED and not written
        if annotator_id in current:
            if is_open:
                load[annotator_id] += 1
            holders[document_id].add(annotator_id)
            if not_started:
                unstarted[document_id].append((pk, annotator_id, layer_id))
        elif not_started:
            removals.append((pk, layer_id))
            removed_from[annotator_id] += 1
        elif status == AssignmentStatus.SUBMITTED:
            holders[document_id].add(annotator_id)

    # A heap of (open load, rank, annotator): the next annotator to draw is on top.
    heap = [(load[pk], rank[pk], pk) for pk in current]
    heapq.heapify(heap)
    added: Counter[int] = Counter()
    new_pairs: list[tuple[int, int]] = []
    unassigned = under_filled = documents_filled = unfillable = 0
    unfillable_ids: list[int] = []
    for document_id in document_ids:
        held = holders.get(document_id, set())
        if not held:
            unassigned += 1
        if len(held) < overlap:
            under_filled += 1
        excess = len(held) - overlap
        if excess > 0 and unstarted.get(document_id):
            # Take back from the most loaded annotators first (ties: the last by name).
            candidates = sorted(
                unstarted[document_id], key=lambda row: (-load[row[1]], -rank[row[1]])
            )
            for pk, annotator_id, layer_id in candidates[:excess]:
                removals.append((pk, layer_id))
                removed_from[annotator_id] += 1
                load[annotator_id] -= 1
            heap = [(load[pk], rank[pk], pk) for pk in current]
            heapq.heapify(heap)
            continue
        wanted = overlap - len(held)
        if wanted <= 0:
            continue
        taken = on_document.get(document_id, set())
        drawn: list[tuple[int, int, int]] = []
        passed: list[tuple[int, int, int]] = []
        while heap and len(drawn) < wanted:
            entry = heapq.heappop(heap)
            (passed if entry[2] in taken else drawn).append(entry)
        for entry_load, entry_rank, annotator_id in drawn:
            load[annotator_id] += 1
            added[annotator_id] += 1
            new_pairs.append((document_id, annotator_id))
            heapq.heappush(heap, (entry_load + 1, entry_rank, annotator_id))
        for entry in passed:
            heapq.heappush(heap, entry)
        if drawn:
            documents_filled += 1
        if len(drawn) < wanted:
            unfillable += 1
            if len(unfillable_ids) < EXAMPLES:
                unfillable_ids.append(document_id)

    names = dict(
        get_user_model()
        .objects.filter(pk__in=set(open_before) | set(removed_from) | current)
        .values_list("pk", "username")
    )
    people = sorted(
        current | {pk for pk in removed_from if removed_from[pk]},
        key=lambda pk: (pk not in current, names[pk], pk),
    )
    examples = dict(Document.objects.filter(pk__in=unfillable_ids).values_list("pk", "external_id"))
    plan = Plan(
        overlap=overlap,
        documents=len(document_ids),
        unassigned=unassigned,
        under_filled=under_filled,
        documents_filled=documents_filled,
        added=len(new_pairs),
        removed=len(removals),
        unfillable=unfillable,
        unfillable_examples=[examples[pk] for pk in unfillable_ids],
        annotators=[
            AnnotatorPlan(
                username=names[pk],
                is_annotator=pk in current,
                open_before=open_before[pk],
                added=added[pk],
                removed=removed_from[pk],
            )
            for pk in people
        ],
    )
    return _Work(plan=plan, new_pairs=new_pairs, removals=removals)


def _lock_project(project: Project) -> Project:
    # NO KEY: rows that merely point at the project (audit events, jobs) are not held up.
    return Project.objects.select_for_update(no_key=True).get(pk=project.pk)


def _batches(items: Sequence[int], size: int = BATCH) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _take_back(removals: Sequence[tuple[int, int | None]]) -> int:
    """Delete unstarted assignments with their empty layers; returns how many went.

    Each DELETE checks its condition on the row as it is once it holds the row's lock,
    the layer first, then its assignment (the order the layer writes take their locks
    in): a layer written since the plan was read stays, and so does its assignment.
    """
    by_layer = {layer_id: pk for pk, layer_id in removals if layer_id is not None}
    this_layer = f"{sql.table(Layer)}.{sql.column_of(Layer, 'id')}"
    unwritten = (
        f"{sql.column_of(Layer, 'version')} = 1 AND {sql.column_of(Layer, 'status')} = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {sql.table(Span)} s "
        f"WHERE s.{sql.column_of(Span, 'layer')} = {this_layer})"
    )
    emptied = _delete_where(Layer, sorted(by_layer), unwritten, [LayerStatus.OPEN.value])
    assignment_ids = sorted(
        [pk for pk, layer_id in removals if layer_id is None] + [by_layer[i] for i in emptied]
    )
    status_is = f"{sql.column_of(Assignment, 'status')} = %s"
    return len(
        _delete_where(Assignment, assignment_ids, status_is, [AssignmentStatus.ASSIGNED.value])
    )


def _delete_where(
    model: type[Assignment] | type[Layer], ids: Sequence[int], condition: str, params: list[str]
) -> list[int]:
    """DELETE the rows ``ids`` of ``model`` that still meet ``condition``; returns the ids
    deleted. No cascade collector (a few queries per batch): nothing points at an
    assignment, and an unstarted layer has no spans, links or document labels.

    On PostgreSQL the ids go as one array joined in one statement: right after a large
    apply the planner's statistics are stale, and a list of ids per batch got a scan of
    the whole table per batch.
    """
    if not ids:
        return []
    table, pk = sql.table(model), sql.column_of(model, "id")
    tail = f" AND {condition} RETURNING {table}.{pk}"
    statements: list[tuple[str, list[Any]]]
    if connection.vendor == "postgresql":
        statements = [
            (
                f"DELETE FROM {table} USING unnest(%s::bigint[]) AS wanted(id) "
                f"WHERE {table}.{pk} = wanted.id{tail}",
                [list(ids), *params],
            )
        ]
    else:
        statements = [
            (
                f"DELETE FROM {table} WHERE {pk} IN ({', '.join(['%s'] * len(chunk))}){tail}",
                [*chunk, *params],
            )
            for chunk in _batches(ids)
        ]
    deleted: list[int] = []
    with connection.cursor() as cursor:
        for statement, values in statements:
            cursor.execute(statement, values)
            deleted += [row[0] for row in cursor.fetchall()]
    return deleted


def _insert_pairs(
    model: type[Assignment] | type[Layer], pairs: Sequence[tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """One INSERT of a row per (document, annotator) pair on PostgreSQL, from two arrays,
    every other column at the value the ORM would give a new row; rows that exist already
    (a layer kept from earlier work) are left alone. Returns (id, document, annotator) of
    the rows made. At 200,000 rows it costs a fraction of ``bulk_create``'s time."""
    blank = model(document_id=0, annotator_id=0)
    fields = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname not in ("document_id", "annotator_id")
    ]
    values = [f.get_db_prep_save(f.pre_save(blank, add=True), connection) for f in fields]
    statement = (
        f"INSERT INTO {sql.table(model)} ({sql.column_of(model, 'document')}, "
        f"{sql.column_of(model, 'annotator')}, {', '.join(sql.column(f) for f in fields)}) "
        f"SELECT pairs.d, pairs.a, "
        f"{', '.join(f'CAST(%s AS {f.cast_db_type(connection)})' for f in fields)} "
        f"FROM unnest(%s::bigint[], %s::bigint[]) AS pairs(d, a) "
        f"ON CONFLICT DO NOTHING RETURNING {sql.column_of(model, 'id')}, "
        f"{sql.column_of(model, 'document')}, {sql.column_of(model, 'annotator')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*values, [d for d, _ in pairs], [a for _, a in pairs]])
        return [(pk, d, a) for pk, d, a in cursor.fetchall()]


def _give(pairs: Sequence[tuple[int, int]]) -> list[Assignment]:
    if not pairs:
        return []
    if connection.vendor == "postgresql":
        made = [
            Assignment(pk=pk, document_id=d, annotator_id=a)
            for pk, d, a in _insert_pairs(Assignment, pairs)
        ]
        _insert_pairs(Layer, pairs)
        return made
    made = Assignment.objects.bulk_create(
        [Assignment(document_id=d, annotator_id=a) for d, a in pairs], batch_size=BATCH
    )
    Layer.objects.bulk_create(
        [Layer(document_id=d, annotator_id=a) for d, a in pairs],
        batch_size=BATCH,
        ignore_conflicts=True,  # a layer kept from earlier work on the document
    )
    return made


def _set_overlap(project: Project, overlap: int, actor: User | None) -> None:
    _check_overlap(overlap)
    if project.overlap == overlap:
        return
    before = project.overlap
    Project.objects.filter(pk=project.pk).update(overlap=overlap)
    project.overlap = overlap
    record_event(
        actor=actor,
        project=project,
        action="update",
        obj=project,
        before={"overlap": before},
        after={"overlap": overlap},
    )


def _plan_json(plan: Plan) -> dict[str, object]:
    return {
        "overlap": plan.overlap,
        "added": plan.added,
        "removed": plan.removed,
        "unfillable": plan.unfillable,
        "annotators": {
            row.username: {"added": row.added, "removed": row.removed}
            for row in plan.annotators
            if row.added or row.removed
        },
    }


def _apply(project: Project, overlap: int, actor: User | None) -> tuple[Plan, list[Assignment]]:
    work = _compute(project, overlap)
    _take_back(work.removals)
    made = _give(work.new_pairs)
    if work.new_pairs or work.removals:
        record_event(
            actor=actor,
            project=project,
            action="assign",
            object_type="assignment",
            after=_plan_json(work.plan),
        )
    return work.plan, made


@transaction.atomic
def apply_to_project(
    *, project: Project, overlap: int | None = None, actor: User | None = None
) -> Plan:
    """Fill the plan for every document of ``project`` (the services' shared core).

    With ``overlap``, the project's k becomes that first (audited). Returns what was done.
    """
    locked = _lock_project(project)
    if overlap is not None:
        _set_overlap(locked, overlap, actor)
        project.overlap = locked.overlap
    plan, _ = _apply(locked, locked.overlap, actor)
    return plan


def plan_for(project: Project, overlap: int | None = None) -> Plan:
    """What ``apply_to_project`` would do now, with k = ``overlap`` or the project's."""
    return _compute(project, project.overlap if overlap is None else overlap).plan


def preview_plan(access: Access, *, overlap: int | None = None) -> Plan:
    """What "assign unassigned documents" would do, writing nothing (managers)."""
    access.require((Role.MANAGER,), MANAGERS_ONLY_MESSAGE)
    return plan_for(access.project, overlap)


def apply_plan(access: Access, *, overlap: int | None = None) -> Plan:
    """Fill the plan for every document (managers); ``overlap`` sets k first."""
    access.require((Role.MANAGER,), MANAGERS_ONLY_MESSAGE)
    return apply_to_project(project=access.project, overlap=overlap, actor=access.user)


@transaction.atomic
def assign_documents(
    *,
    project: Project,
    overlap: int | None = None,
    actor: User | None = None,
) -> list[Assignment]:
    """Apply the plan with k = ``overlap`` for this run (the project's k by default; the
    project keeps its k); returns the assignments made. Used by the seed loader and by
    imports with "assign now"."""
    locked = _lock_project(project)
    _, made = _apply(locked, locked.overlap if overlap is None else overlap, actor)
    return made


@transaction.atomic
def release_assignments(*, project: Project, user: User, actor: User | None = None) -> int:
    """Take back ``user``'s unstarted assignments in ``project`` (they left, or are no
    longer an annotator); their started and submitted work stays. The documents go back
    to the pool, which the next run of the plan hands out. Returns how many went."""
    _lock_project(project)
    rows = [
        (pk, layer_id)
        for pk, _, _, status, layer_id, written in _assignment_rows(project, user)
        if status == AssignmentStatus.ASSIGNED and not written
    ]
    released = _take_back(rows)
    if released:
        record_event(
            actor=actor,
            project=project,
            action="unassign",
            object_type="assignment",
            after={"user": user.get_username(), "released": released},
        )
    return released


# --- one document by hand -------------------------------------------------------------


def _is_started(assignment: Assignment, layer: Layer | None) -> bool:
    if assignment.status != AssignmentStatus.ASSIGNED:
        return True
    return layer is not None and not _unwritten(layer.version, layer.status, layer.spans.exists())


@transaction.atomic
def reassign(
    *,
    access: Access,
    document: Document,
    from_user: User,
    to_user: User,
    keep_started: bool = False,
) -> Assignment:
    """Move ``from_user``'s assignment of ``document`` to ``to_user`` (managers).

    Unstarted work moves with its empty layer. Started work moves only with
    ``keep_started``: the old layer then stays as it is (the project's data), and the
    new annotator starts on a layer of their own. Refuses someone already on the
    document and anyone who is not an annotator of the project.
    """
    access.require((Role.MANAGER,), MANAGERS_ONLY_MESSAGE)
    project = _lock_project(access.project)
    if document.project_id != project.pk:
        raise ValidationError({"document": ["no such document in this project"]})
    problems: dict[str, list[str]] = {}
    if not project.memberships.filter(user=to_user, role=Role.ANNOTATOR).exists():
        problems["to_user"] = [f"{to_user.get_username()} is not an annotator of this project"]
    elif Assignment.objects.filter(document=document, annotator=to_user).exists():
        problems["to_user"] = [f"{to_user.get_username()} is already on this document"]
    assignment = (
        Assignment.objects.select_for_update()
        .filter(document=document, annotator=from_user)
        .first()
    )
    if assignment is None:
        problems["from_user"] = [f"{from_user.get_username()} is not on this document"]
    if problems:
        raise ValidationError(problems)
    assert assignment is not None
    layer = Layer.objects.select_for_update().filter(document=document, annotator=from_user).first()
    started = _is_started(assignment, layer)
    if started and not keep_started:
        raise ValidationError(
            {
                "keep_started": [
                    f"{from_user.get_username()} has started this document "
                    f"({assignment.status.replace('_', ' ')}): move it anyway to keep "
                    "their layer as it is and give the new annotator a fresh one"
                ]
            }
        )
    before = {"annotator": from_user.get_username(), "status": assignment.status}
    assignment.delete()
    if layer is not None and not started:
        layer.delete()
    moved = Assignment.objects.create(document=document, annotator=to_user)
    Layer.objects.get_or_create(document=document, annotator=to_user)
    record_event(
        actor=access.user,
        project=project,
        action="reassign",
        obj=moved,
        before=before,
        after={
            "document": document.external_id,
            "annotator": to_user.get_username(),
            "kept_started_layer": started,
        },
    )
    return moved


def reassign_named(
    *,
    access: Access,
    document: str,
    from_user: str,
    to_user: str,
    keep_started: bool = False,
) -> Assignment:
    """``reassign`` by the document's external id and the annotators' usernames, as the
    page and the API receive them; an unknown one is a 400 on its field."""
    access.require((Role.MANAGER,), MANAGERS_ONLY_MESSAGE)
    problems: dict[str, list[str]] = {}
    found = Document.objects.filter(project=access.project, external_id=document).first()
    if found is None:
        problems["document"] = [f"no document {document!r} in this project"]
    users = {
        user.get_username(): user
        for user in get_user_model().objects.filter(username__in=[from_user, to_user])
    }
    for name, username in (("from_user", from_user), ("to_user", to_user)):
        if username not in users:
            problems[name] = [f"no user named {username!r}"]
    if from_user == to_user and "to_user" not in problems:
        problems["to_user"] = ["must be someone else than the annotator it moves from"]
    if problems:
        raise ValidationError(problems)
    assert found is not None
    return reassign(
        access=access,
        document=found,
        from_user=users[from_user],
        to_user=users[to_user],
        keep_started=keep_started,
    )


# --- active time ----------------------------------------------------------------------


@transaction.atomic
def record_activity(*, access: Access, seconds: float) -> float:
    """Add ``seconds`` of active time to the caller's own assignment of the layer's
    document; returns the assignment's total.

    A report counts at most ``MAX_ACTIVITY_REPORT`` seconds, and the total never passes
    the time since the document was assigned. Only open work counts: time spent on a
    submitted or skipped document is not annotation.
    """
    layer = access.layer
    if layer is None or layer.annotator_id != access.user.pk:
        raise PermissionDenied("Only the annotator of this layer reports time on it.")
    if seconds <= 0:
        raise ValidationError({"seconds": ["must be more than 0"]})
    assignment = (
        Assignment.objects.select_for_update()
        .filter(document_id=layer.document_id, annotator=access.user)
        .first()
    )
    if assignment is None:
        raise PermissionDenied("You are not assigned to this document.")
    if assignment.status not in OPEN_STATUSES:
        return assignment.active_seconds
    since_assigned = (timezone.now() - assignment.assigned_at).total_seconds()
    total = min(assignment.active_seconds + min(seconds, MAX_ACTIVITY_REPORT), since_assigned)
    if total > assignment.active_seconds:
        assignment.active_seconds = total
        assignment.save(update_fields=["active_seconds"])
    return assignment.active_seconds
