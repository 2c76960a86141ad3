"""Read queries, scoped and streaming."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import caches
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Length, Substr, TruncDate
from django.utils import timezone

from annotations.access import Access
from annotations.interchange import (
    GOLD_FINAL,
    GOLD_IN_PROGRESS,
    CatalogueRecord,
    DocumentRecord,
    Relation,
    Span,
)
from annotations.models import (
    AgreementRun,
    Assignment,
    AssignmentStatus,
    CatalogueEntry,
    Document,
    DocumentLabel,
    JobStatus,
    LabelType,
    Layer,
    LayerStatus,
    Project,
    ReviewDecision,
    Role,
)
from annotations.models import Relation as RelationRow
from annotations.models import Span as SpanRow
from annotations.review import Review, review_candidates, review_record


def documents_for(access: Access, *, queue: Sequence[str] | None = None) -> QuerySet[Document]:
    """The project's documents the caller may see, by id, with their length in code points
    and the caller's own assignment ``status``.

    Annotators see the documents assigned to them, reviewers and managers all. With
    ``queue``, only the caller's own assignments in those statuses, whatever their role.
    """
    documents = Document.objects.filter(project=access.project)
    if queue is not None:
        documents = documents.filter(
            assignments__annotator=access.user, assignments__status__in=queue
        )
    elif access.role == Role.ANNOTATOR:
        documents = documents.filter(assignments__annotator=access.user)
    mine = Assignment.objects.filter(document=OuterRef("pk"), annotator=access.user).order_by()
    return documents.annotate(
        length=Length("text"), status=Subquery(mine.values("status")[:1])
    ).order_by("id")


def own_layer(access: Access, document: Document) -> Layer | None:
    """The caller's own layer of ``document`` (made when it was assigned), or None."""
    return Layer.objects.filter(document=document, annotator=access.user).first()


def gold_layer(document: Document) -> Layer | None:
    """The document's gold layer, or None while nobody has started adjudicating it."""
    layer = Layer.objects.filter(document=document, is_gold=True).first()
    if layer is not None:
        layer.document = document
    return layer


def visible_layers(access: Access, document: Document) -> list[Layer]:
    """The document's layers the caller may see, with their span counts: gold last,
    annotators by username."""
    candidates = (
        Layer.objects.filter(document=document)
        .select_related("annotator")
        .annotate(span_count=Count("spans"))
        .order_by("is_gold", "annotator__username")
    )
    return [layer for layer in candidates if access.can_see(layer)]


def iter_project_records(
    project: Project,
    *,
    include_unsubmitted: bool = False,
    documents: QuerySet[Document] | None = None,
    chunk_size: int = 500,
) -> Iterator[DocumentRecord]:
    """Every document of the project as an interchange record, streamed in chunks.

    Annotator layers are keyed by username; only submitted ones count unless
    ``include_unsubmitted`` (an annotator with a submitted empty layer appears with ``[]``,
    one with no submitted layer is absent). The gold layer comes whole, and every layer's
    document labels with it. Each chunk costs five queries, whatever its size, and memory
    holds one chunk at a time. The records are read-only: spans with equal attributes
    share one attributes dict.
    """
    label_names = dict(LabelType.objects.filter(project=project).values_list("id", "name"))
    entry_keys = dict(CatalogueEntry.objects.filter(project=project).values_list("id", "key"))
    queryset = documents if documents is not None else project.documents.all()
    last_id = 0
    while True:
        chunk = list(
            queryset.filter(id__gt=last_id)
            .order_by("id")
            .values("id", "external_id", "text", "meta")[:chunk_size]
        )
        if not chunk:
            return
        last_id = chunk[-1]["id"]
        yield from _records_for_chunk(chunk, label_names, entry_keys, include_unsubmitted)


def _raw_rows(queryset: QuerySet[Any]) -> Iterator[tuple[Any, ...]]:
    """The rows of a ``values_list`` query as the database driver gives them: no converters,
    so only for columns whose driver value is already the Python one."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(2000):
            yield from rows


@lru_cache(maxsize=4096)
def _decode_attrs(raw: str) -> dict[str, Any]:
    # A corpus repeats a handful of attribute sets ({} above all) across millions of
    # spans: decode each once. The dicts are shared, so records are read-only.
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


def _records_for_chunk(
    chunk: Sequence[Mapping[str, Any]],
    label_names: dict[int, str],
    entry_keys: dict[int, str],
    include_unsubmitted: bool,
) -> Iterator[DocumentRecord]:
    document_ids = [row["id"] for row in chunk]
    layers = Layer.objects.filter(document_id__any_of=document_ids)
    if not include_unsubmitted:
        layers = layers.exclude(is_gold=False, status=LayerStatus.OPEN)
    layer_rows = list(
        layers.order_by("document_id", "annotator__username").values_list(
            "id", "document_id", "is_gold", "annotator__username", "status"
        )
    )
    wanted = {row[0] for row in layer_rows}
    # Spans and links are selected by document (a few hundred ids), not by layer (a few
    # thousand); the attributes come as text, and the rows straight from the database
    # cursor: Django's per-row handling was half the cost of reading a large export.
    spans_by_layer: dict[int, list[Span]] = {}
    span_ids_by_layer: dict[int, list[int]] = {}
    span_rows = SpanRow.objects.filter(layer__document_id__any_of=document_ids)
    if not include_unsubmitted:
        span_rows = span_rows.exclude(layer__is_gold=False, layer__status=LayerStatus.OPEN)
    rows = span_rows.order_by("layer_id", "start", "end", "id").values_list(
        "id",
        "layer_id",
        "label_id",
        "start",
        "end",
        Cast("attributes", TextField()),
        "entry_id",
        "stance",
    )
    current_layer = None
    spans: list[Span] = []
    span_ids: list[int] = []
    for span_id, layer_id, label_id, start, end, attrs, entry_id, stance in _raw_rows(rows):
        if layer_id != current_layer:  # the rows come layer by layer
            current_layer = layer_id
            spans = spans_by_layer[layer_id] = []
            span_ids = span_ids_by_layer[layer_id] = []
        spans.append(
            Span(start, end, label_names[label_id], _decode_attrs(attrs))
            if entry_id is None and not stance
            else Span(
                start,
                end,
                label_names[label_id],
                _decode_attrs(attrs),
                entry_keys.get(entry_id) if entry_id is not None else None,
                stance,
            )
        )
        span_ids.append(span_id)
    relations_by_layer: dict[int, list[tuple[str, int, int]]] = {}
    for layer_id, label_id, head_id, tail_id in (
        RelationRow.objects.filter(layer__document_id__any_of=document_ids)
        .order_by("layer_id", "id")
        .values_list("layer_id", "label_id", "head_id", "tail_id")
    ):
        if layer_id in wanted:
            relations_by_layer.setdefault(layer_id, []).append(
                (label_names[label_id], head_id, tail_id)
            )

    labels_by_layer: dict[int, dict[str, list[str]]] = {}
    for layer_id, label_id, value in (
        DocumentLabel.objects.filter(layer__document_id__any_of=document_ids)
        .order_by("layer_id", "label_id", "value")
        .values_list("layer_id", "label_id", "value")
    ):
        if layer_id in wanted:
            labels_by_layer.setdefault(layer_id, {}).setdefault(label_names[label_id], []).append(
                value
            )

    layers_by_document: dict[int, list[tuple[int, int, bool, str | None, str]]] = {}
    for row in layer_rows:
        layers_by_document.setdefault(row[1], []).append(row)
    for document in chunk:
        record = DocumentRecord(
            id=document["external_id"], text=document["text"], meta=document["meta"]
        )
        for layer_id, _, is_gold, username, status in layers_by_document.get(document["id"], []):
            spans = spans_by_layer.get(layer_id, [])
            relations: list[Relation] = []
            if layer_id in relations_by_layer:
                position = {span_id: i for i, span_id in enumerate(span_ids_by_layer[layer_id])}
                relations = [
                    Relation(type=kind, head=position[head], tail=position[tail])
                    for kind, head, tail in relations_by_layer[layer_id]
                ]
            document_labels = labels_by_layer.get(layer_id)
            if is_gold:
                final = status == LayerStatus.SUBMITTED
                record.gold_state = GOLD_FINAL if final else GOLD_IN_PROGRESS
                record.gold, record.gold_relations = spans, relations
                if document_labels:
                    record.gold_document_labels = document_labels
            else:
                assert username is not None  # an annotator layer has its annotator
                record.annotations[username] = spans
                if relations:
                    record.relations[username] = relations
                if document_labels:
                    record.document_labels[username] = document_labels
        yield record


# --- agreement runs -------------------------------------------------------------------


def succeeded_runs(project: Project) -> QuerySet[AgreementRun]:
    """The project's succeeded agreement runs, the latest finished first.

    The first is the one every report shows: the agreement page, the review list's scores
    and the export's dataset card.
    """
    return AgreementRun.objects.filter(project=project, status=JobStatus.SUCCEEDED).order_by(
        "-finished_at", "-id"
    )


def latest_succeeded_run(project: Project) -> AgreementRun | None:
    return succeeded_runs(project).first()


# --- the annotator's queue ------------------------------------------------------------

# An annotator's open documents in the order they come next: resume before starting anew.
QUEUE_ORDER = (AssignmentStatus.IN_PROGRESS, AssignmentStatus.ASSIGNED)


def queue_rank(status_field: str) -> Case:
    """An order_by term putting rows in ``QUEUE_ORDER`` by their assignment status (other
    statuses last), whatever order the status strings happen to sort in."""
    return Case(
        *(
            When(**{status_field: status}, then=Value(rank))
            for rank, status in enumerate(QUEUE_ORDER)
        ),
        default=Value(len(QUEUE_ORDER)),
        output_field=IntegerField(),
    )


# --- layers and labels as the pages and the API show them -----------------------------


def layer_body(layer_id: int) -> dict[str, Any]:
    """The layer as every client receives it: ``GET /api/layers/<id>/``, the responses to
    layer writes, and the annotation and review pages, which start from it without a
    round trip. Four queries of value rows: a layer of 500 spans through model instances
    and a serializer costs several times more. ``api.serializers.LayerSerializer``
    documents the same shape (a test holds the two together)."""
    document_id, annotator, is_gold, status, version = (
        Layer.objects.filter(pk=layer_id)
        .values_list("document_id", "annotator__username", "is_gold", "status", "version")
        .get()
    )
    spans = [
        {
            "id": pk,
            "label": label,
            "start": start,
            "end": end,
            "attrs": attrs,
            "quote": quote,
            "entry": entry,
            "stance": stance,
        }
        for pk, label, start, end, attrs, quote, entry, stance in SpanRow.objects.filter(
            layer_id=layer_id
        )
        .order_by("start", "end", "id")
        .values_list(
            "id", "label__name", "start", "end", "attributes", "quote", "entry__key", "stance"
        )
    ]
    relations = [
        {"id": pk, "type": kind, "head": head, "tail": tail}
        for pk, kind, head, tail in RelationRow.objects.filter(layer_id=layer_id)
        .order_by("id")
        .values_list("id", "label__name", "head_id", "tail_id")
    ]
    return {
        "id": layer_id,
        "document": document_id,
        "annotator": annotator,
        "is_gold": is_gold,
        "status": status,
        "version": version,
        "spans": spans,
        "relations": relations,
        "document_labels": layer_document_labels(layer_id),
    }


def layer_document_labels(layer_id: int) -> dict[str, list[str]]:
    """The values a layer gives its document, ``{label name: [values]}``, by label name."""
    found: dict[str, list[str]] = {}
    for name, value in (
        DocumentLabel.objects.filter(layer_id=layer_id)
        .order_by("label__name", "value")
        .values_list("label__name", "value")
    ):
        found.setdefault(name, []).append(value)
    return found


def catalogue_records(project: Project) -> list[CatalogueRecord]:
    """Every entry of the project's catalogues, as the interchange writes them: by kind,
    then key."""
    return [
        CatalogueRecord(key, kind, name, source_kind, description, status)
        for key, kind, name, source_kind, description, status in CatalogueEntry.objects.filter(
            project=project
        )
        .order_by("kind", "key")
        .values_list("key", "kind", "name", "source_kind", "description", "status")
    ]


def labels_with_ends(project: Project) -> QuerySet[LabelType]:
    """The project's label schema: every label, with the labels a relation's ends take."""
    return LabelType.objects.filter(project=project).select_related("head_label", "tail_label")


# --- the dashboard: progress per annotator, per document, overall ---------------------

# The statuses counted, in the order the dashboard's bars stack them. Plain strings: they
# also name the count annotations.
PROGRESS_STATUSES: tuple[str, ...] = tuple(
    status.value
    for status in (
        AssignmentStatus.SUBMITTED,
        AssignmentStatus.IN_PROGRESS,
        AssignmentStatus.ASSIGNED,
        AssignmentStatus.SKIPPED,
    )
)


@dataclass(frozen=True)
class Progress:
    """Assignments by status, of one annotator, one document or the whole project."""

    assigned: int
    counts: dict[str, int]

    @property
    def done(self) -> int:
        return self.counts[AssignmentStatus.SUBMITTED] + self.counts[AssignmentStatus.SKIPPED]


@dataclass(frozen=True)
class AnnotatorProgress:
    username: str
    progress: Progress
    spans: int


@dataclass(frozen=True)
class DocumentProgress:
    document: Document
    progress: Progress
    spans: int
    gold_spans: int


@dataclass(frozen=True)
class ProjectProgress:
    documents: int
    # Documents with at least the project's overlap of submitted layers.
    complete: int
    progress: Progress


def _status_counts(assignments: str, **within: Any) -> dict[str, Count]:
    """One count per status of the rows reached through ``assignments``."""
    return {
        status: Count(
            assignments,
            filter=Q(**{f"{assignments}__status": status}, **within),
            distinct=True,
        )
        for status in PROGRESS_STATUSES
    }


def _progress(row: Any) -> Progress:
    return Progress(
        assigned=row.assigned_total,
        counts={status: getattr(row, status) for status in PROGRESS_STATUSES},
    )


def annotator_progress(project: Project) -> list[AnnotatorProgress]:
    """The project's annotators by name, each with their assignments here and the spans of
    their layers (two queries)."""
    here = {"assignments__document__project": project}
    annotators = (
        User.objects.filter(memberships__project=project, memberships__role=Role.ANNOTATOR)
        .annotate(
            assigned_total=Count("assignments", filter=Q(**here), distinct=True),
            **_status_counts("assignments", **here),
        )
        .order_by("username")
    )
    spans = dict(
        SpanRow.objects.filter(layer__document__project=project, layer__is_gold=False)
        .values_list("layer__annotator_id")
        .annotate(n=Count("id"))
        .values_list("layer__annotator_id", "n")
    )
    return [
        AnnotatorProgress(
            username=user.get_username(), progress=_progress(user), spans=spans.get(user.pk, 0)
        )
        for user in annotators
    ]


def median_active_seconds(project: Project) -> dict[str, float]:
    """By annotator's username: the median active time of their submitted documents here,
    over the documents with measured time (an imported layer has none). One query."""
    by_annotator: dict[str, list[float]] = {}
    for username, seconds in (
        Assignment.objects.filter(
            document__project=project, status=AssignmentStatus.SUBMITTED, active_seconds__gt=0
        )
        .order_by("annotator__username", "active_seconds")
        .values_list("annotator__username", "active_seconds")
    ):
        by_annotator.setdefault(username, []).append(seconds)
    return {username: statistics.median(values) for username, values in by_annotator.items()}


@dataclass(frozen=True)
class Throughput:
    """Documents submitted per day and annotator over the last ``days`` (oldest first)."""

    days: list[date]
    annotators: list[str]
    counts: dict[tuple[str, date], int]


def daily_throughput(project: Project, *, days: int = 30) -> Throughput:
    """Submitted documents per annotator and day (in the site's time zone), the last
    ``days`` days up to today. One query."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    rows = (
        Assignment.objects.filter(
            document__project=project,
            status=AssignmentStatus.SUBMITTED,
            finished_at__date__gte=first,
        )
        .annotate(day=TruncDate("finished_at"))
        .values_list("annotator__username", "day")
        .annotate(n=Count("id"))
        .order_by("annotator__username", "day")
    )
    counts = {(username, day): n for username, day, n in rows}
    return Throughput(
        days=[first + timedelta(days=offset) for offset in range(days)],
        annotators=sorted({username for username, _ in counts}),
        counts=counts,
    )


def documents_by_progress(project: Project) -> QuerySet[Document]:
    """The project's documents in external id order, with their assignments by status;
    lazy, so that the dashboard pages through it. The texts stay in the database."""
    return (
        Document.objects.filter(project=project)
        .defer("text")
        .annotate(
            assigned_total=Count("assignments", distinct=True), **_status_counts("assignments")
        )
        .order_by("external_id", "id")
    )


def document_progress(documents: Sequence[Document]) -> list[DocumentProgress]:
    """Documents from ``documents_by_progress`` with their annotator and gold span counts
    (one query)."""
    spans = {
        document_id: (annotator_spans, gold_spans)
        for document_id, annotator_spans, gold_spans in SpanRow.objects.filter(
            layer__document__in=documents
        )
        .values_list("layer__document_id")
        .annotate(
            annotator_spans=Count("id", filter=Q(layer__is_gold=False)),
            gold_spans=Count("id", filter=Q(layer__is_gold=True)),
        )
        .values_list("layer__document_id", "annotator_spans", "gold_spans")
    }
    return [
        DocumentProgress(
            document=document,
            progress=_progress(document),
            spans=spans.get(document.pk, (0, 0))[0],
            gold_spans=spans.get(document.pk, (0, 0))[1],
        )
        for document in documents
    ]


def project_progress(project: Project) -> ProjectProgress:
    """The project's documents, how many are complete, and all assignments by status
    (two queries)."""
    totals = (
        Document.objects.filter(project=project)
        .annotate(
            submitted=Count(
                "assignments",
                filter=Q(assignments__status=AssignmentStatus.SUBMITTED),
                distinct=True,
            )
        )
        .aggregate(
            documents=Count("id"),
            complete=Count("id", filter=Q(submitted__gte=project.overlap)),
        )
    )
    counts = dict(
        Assignment.objects.filter(document__project=project)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    by_status = {status: counts.get(status, 0) for status in PROGRESS_STATUSES}
    return ProjectProgress(
        documents=totals["documents"],
        complete=totals["complete"],
        progress=Progress(assigned=sum(by_status.values()), counts=by_status),
    )


# --- review: the documents worst first, one document's layers and candidates ----------

# Documents whose submitted layers are counted per round of queries.
REVIEW_CHUNK = 500
# The counts only go stale through writes behind the services' back.
REVIEW_COUNTS_CACHE_SECONDS = 600


@dataclass(frozen=True)
class Counted:
    """What the submitted annotator layers of one document give the review list."""

    annotators: tuple[str, ...]
    candidates: int
    disagreements: int


@dataclass(frozen=True)
class DocumentSummary:
    id: int
    external_id: str
    meta: dict[str, Any]
    annotators: tuple[str, ...]
    candidates: int
    disagreements: int
    gold_status: str  # one of GOLD_STATES
    gold_spans: int
    # From the latest succeeded agreement run, when it measured the document.
    span_f1_exact: float | None = None
    alpha_char: float | None = None


def latest_document_scores(project: Project) -> tuple[int | None, dict[str, dict[str, Any]]]:
    """The latest succeeded run's id and its per-document scores by external id, if any.

    Only that part of the result is read: a large project's result is megabytes.
    """
    row = succeeded_runs(project).values_list("pk", "result__per_document").first()
    if row is None:
        return None, {}
    run_id, per_document = row
    items = per_document if isinstance(per_document, list) else []
    return run_id, {
        str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item
    }


def _count_chunk(
    label_names: dict[int, str], entry_keys: dict[int, str], document_ids: Sequence[int]
) -> dict[int, Counted]:
    # Only the marks count here: the records go without texts and meta, so a chunk costs
    # three queries (layers, spans, links) whatever its size.
    rows = [{"id": pk, "external_id": "", "text": "", "meta": {}} for pk in document_ids]
    counted = {}
    for document_id, record in zip(
        document_ids, _records_for_chunk(rows, label_names, entry_keys, False), strict=True
    ):
        review = review_candidates(record.annotations, record.relations)
        counted[document_id] = Counted(
            annotators=tuple(review.annotators),
            candidates=len(review.candidates) + len(review.links),
            disagreements=review.disagreements,
        )
    return counted


def submitted_counts(project: Project) -> dict[int, Counted]:
    """By document id, for every document with a submitted annotator layer.

    Cached until the project's submitted layers change: a submitted layer is read-only,
    so it changes only by leaving the set (reopen, which bumps its version and time) or
    by new ones joining (submit, import); both move the key. During adjudication the
    annotators' layers stand still, so the list costs one aggregate query.
    """
    submitted = Layer.objects.filter(
        document__project=project, is_gold=False, status=LayerStatus.SUBMITTED
    )
    state = submitted.aggregate(n=Count("id"), versions=Sum("version"), latest=Max("updated_at"))
    latest = state["latest"].isoformat() if state["latest"] else "-"
    key = f"review-counts:{project.pk}:{state['n']}:{state['versions']}:{latest}"
    counted: dict[int, Counted] | None = caches["default"].get(key)
    if counted is None:
        document_ids = list(
            submitted.order_by("document_id").values_list("document_id", flat=True).distinct()
        )
        label_names = dict(LabelType.objects.filter(project=project).values_list("id", "name"))
        entry_keys = dict(CatalogueEntry.objects.filter(project=project).values_list("id", "key"))
        counted = {}
        for start in range(0, len(document_ids), REVIEW_CHUNK):
            chunk = document_ids[start : start + REVIEW_CHUNK]
            counted.update(_count_chunk(label_names, entry_keys, chunk))
        caches["default"].set(key, counted, REVIEW_COUNTS_CACHE_SECONDS)
    return counted


def catalogue_names(project: Project) -> dict[str, str]:
    """The names of the project's catalogue entries, by key (for a reviewer: proposed
    entries too)."""
    return dict(CatalogueEntry.objects.filter(project=project).values_list("key", "name"))


# A document's gold: no gold layer yet, a gold layer open, or a gold layer submitted.
GOLD_NOT_STARTED = "not_started"
GOLD_STATES = {
    GOLD_NOT_STARTED: "not started",
    GOLD_IN_PROGRESS: "in progress",
    GOLD_FINAL: "final",
}


def gold_state(status: str | None) -> str:
    """The gold state of a document whose gold layer has ``status`` (None: no layer)."""
    if status is None:
        return GOLD_NOT_STARTED
    return GOLD_FINAL if status == LayerStatus.SUBMITTED else GOLD_IN_PROGRESS


def _number(value: Any) -> float | None:
    return value if isinstance(value, int | float) else None


def _urgency(summary: DocumentSummary) -> tuple[bool, bool, int, float, str]:
    # What needs a decision first: most disagreements, then the lowest agreement; documents
    # nobody submitted and documents whose gold is final go last.
    return (
        summary.gold_status == GOLD_FINAL,
        not summary.annotators,
        -summary.disagreements,
        summary.span_f1_exact if summary.span_f1_exact is not None else math.inf,
        summary.external_id,
    )


def documents_to_review(project: Project) -> tuple[int | None, list[DocumentSummary]]:
    """Every document of the project with its candidates, disagreements, gold state and
    the latest run's scores, what needs a decision first; and that run's id, if any."""
    run_id, scores = latest_document_scores(project)
    counted = submitted_counts(project)
    gold = {
        document_id: (status, span_count)
        for document_id, status, span_count in Layer.objects.filter(
            document__project=project, is_gold=True
        )
        .annotate(span_count=Count("spans"))
        .order_by()
        .values_list("document_id", "status", "span_count")
    }
    nothing = Counted(annotators=(), candidates=0, disagreements=0)
    summaries = []
    for row in (
        Document.objects.filter(project=project)
        .order_by("id")
        .values("id", "external_id", "meta")
        .iterator(chunk_size=REVIEW_CHUNK)
    ):
        counts = counted.get(row["id"], nothing)
        status, gold_spans = gold.get(row["id"], (None, 0))
        score = scores.get(row["external_id"], {})
        summaries.append(
            DocumentSummary(
                id=row["id"],
                external_id=row["external_id"],
                meta=row["meta"],
                annotators=counts.annotators,
                candidates=counts.candidates,
                disagreements=counts.disagreements,
                gold_status=gold_state(status),
                gold_spans=gold_spans,
                span_f1_exact=_number(score.get("span_f1_exact_mean")),
                alpha_char=_number(score.get("alpha_char_macro")),
            )
        )
    summaries.sort(key=_urgency)
    return run_id, summaries


@dataclass(frozen=True)
class DocumentReview:
    document: Document
    # The annotator layers the caller may see, by annotator, each with its ``span_count``.
    layers: Sequence[Layer]
    review: Review
    gold: Layer | None
    # Each shown annotator's document labels, by username: {label: [values]}.
    document_labels: Mapping[str, Mapping[str, list[str]]]


def document_review(
    project: Project, document_id: int, *, role: str | None
) -> DocumentReview | None:
    """One document's annotator layers grouped into candidates, and its gold layer.

    Blind rules: a reviewer sees the submitted layers only; a manager every layer, the
    open ones listed but not counted (their annotators have not finished).
    """
    document = Document.objects.filter(project=project, pk=document_id).first()
    if document is None:
        return None
    with_open = role == Role.MANAGER
    layers = (
        Layer.objects.filter(document=document, is_gold=False)
        .select_related("annotator")
        .annotate(span_count=Count("spans"))
        .order_by("annotator__username")
    )
    if not with_open:
        layers = layers.filter(status=LayerStatus.SUBMITTED)
    shown = list(layers)
    pending = [
        layer.annotator.get_username()
        for layer in shown
        if layer.annotator is not None and layer.status != LayerStatus.SUBMITTED
    ]
    record = next(
        iter_project_records(
            project,
            include_unsubmitted=with_open,
            documents=Document.objects.filter(pk=document.pk),
        )
    )
    gold = Layer.objects.filter(document=document, is_gold=True).select_related("annotator").first()
    return DocumentReview(
        document=document,
        layers=shown,
        review=review_record(record, pending=pending),
        gold=gold,
        document_labels=record.document_labels,
    )


def review_decisions(document: Document) -> list[dict[str, Any]]:
    """The reviewers' decisions on ``document``'s candidates, by key, with who and when."""
    return [
        {
            "key": decision.key,
            "decision": decision.decision,
            "decided_by": decision.decided_by.get_username() if decision.decided_by else None,
            "decided_at": decision.decided_at,
        }
        for decision in ReviewDecision.objects.filter(document=document)
        .select_related("decided_by")
        .order_by("key")
    ]


def rejected_keys(document: Document) -> set[str]:
    return set(
        ReviewDecision.objects.filter(document=document, decision="reject").values_list(
            "key", flat=True
        )
    )


def unsettled_candidates(document: Document) -> list[str]:
    """Keys of the candidates from the submitted annotator layers that are neither in
    gold nor rejected: what keeps the document's gold from being final without a reason."""
    found = document_review(document.project, document.pk, role=None)
    if found is None:
        return []
    return found.review.unsettled(rejected_keys(document))


def final_with_open_candidates(project: Project) -> int:
    """Documents whose gold was marked final with candidates unsettled (and a reason)."""
    return (
        Layer.objects.filter(document__project=project, is_gold=True, status=LayerStatus.SUBMITTED)
        .exclude(final_reason="")
        .count()
    )


def other_annotators_spans(access: Access, document: Document) -> list[dict[str, Any]]:
    """In a project that is not blind: the other annotators' layers of ``document`` that
    the caller may see (``Access.can_see``), each with its spans in text order (label,
    colour, quote), for the annotation page's read-only panel."""
    others = [
        layer
        for layer in visible_layers(access, document)
        if not layer.is_gold and layer.annotator_id not in (None, access.user.pk)
    ]
    spans = (
        SpanRow.objects.filter(layer__in=others)
        .select_related("label")
        .order_by("layer_id", "start", "end", "id")
    )
    by_layer: dict[int, list[dict[str, Any]]] = {layer.pk: [] for layer in others}
    for span in spans:
        by_layer[span.layer_id].append(
            {"label": span.label.name, "colour": span.label.colour, "quote": span.quote}
        )
    return [
        {
            "annotator": layer.annotator.get_username() if layer.annotator else "",
            "status": layer.status,
            "spans": by_layer[layer.pk],
        }
        for layer in others
    ]


# --- the documents list (managers) -------------------------------------------------------

# The status filter: a document's assignments (one annotator's, with an annotator chosen).
DOCUMENT_STATUSES = {
    "unassigned": "not assigned",
    "assigned": "waiting to be started",
    "in_progress": "in progress",
    "submitted": "submitted by all",
    "skipped": "skipped",
}
# Counting a filtered list stops here: past it the page says "more than", which stays
# fast on a search that matches most documents.
COUNT_CAP = 1_000
# The first window of ids a search looks in (see ``_ids_in_windows``).
SEARCH_WINDOW = 2_000
TITLE_LENGTH = 120


@dataclass(frozen=True)
class DocumentFilters:
    search: str = ""
    status: str = ""  # a key of DOCUMENT_STATUSES, or "" for any
    annotator: int | None = None  # a user id


@dataclass
class DocumentRow:
    document: Document
    title: str
    length: int
    assignments: list[Assignment]


@dataclass
class DocumentsPage:
    rows: list[DocumentRow]
    has_previous: bool
    has_next: bool
    count: int  # of all the matching documents, up to COUNT_CAP when filtered
    more: bool  # more than ``count`` match


def _search_haystack() -> RawSQL:
    """What the search box looks in, as one upper-cased string: the external id, the
    title the meta gives (PostgreSQL) and the text. On PostgreSQL the same expression has
    a trigram index (migration ``0005_documents_search``), which a LIKE '%…%' uses."""
    table = Document._meta.db_table
    parts = [f'"{table}"."external_id"', f'"{table}"."text"']
    if connection.vendor == "postgresql":
        parts.insert(1, f"""COALESCE("{table}"."meta" ->> 'title', '')""")
    joined = " || ' ' || ".join(parts)
    return RawSQL(f"UPPER({joined})", [], output_field=TextField())


def filtered_documents(project: Project, filters: DocumentFilters) -> QuerySet[Document]:
    """The project's documents that match ``filters``, unordered."""
    documents = Document.objects.filter(project=project)
    if filters.search:
        documents = documents.alias(haystack=_search_haystack()).filter(
            haystack__contains=filters.search.upper()
        )
    assignments = Assignment.objects.filter(document=OuterRef("pk"))
    if filters.annotator is not None:
        assignments = assignments.filter(annotator_id=filters.annotator)
    if filters.status == "unassigned":
        documents = documents.filter(~Exists(assignments))
    elif filters.status == "submitted" and filters.annotator is None:
        unsubmitted = assignments.exclude(status=AssignmentStatus.SUBMITTED)
        documents = documents.filter(Exists(assignments), ~Exists(unsubmitted))
    elif filters.status in DOCUMENT_STATUSES:
        documents = documents.filter(Exists(assignments.filter(status=filters.status)))
    elif filters.annotator is not None:
        documents = documents.filter(Exists(assignments))
    return documents.order_by()


def count_documents(project: Project, filters: DocumentFilters) -> tuple[int, bool]:
    """How many documents match (at most ``COUNT_CAP`` of them when filtered), and
    whether there are more than that."""
    if filters == DocumentFilters():
        return Document.objects.filter(project=project).count(), False
    cap = COUNT_CAP
    counted = filtered_documents(project, filters).values("pk")[: cap + 1].count()
    return min(counted, cap), counted > cap


def _title(meta: Mapping[str, Any], head: str) -> str:
    """The meta's title, else the text's first non-empty line."""
    title = meta.get("title") if isinstance(meta, Mapping) else None
    if not isinstance(title, str) or not title.strip():
        title = next((line for line in head.splitlines() if line.strip()), "")
    title = title.strip()
    return title if len(title) <= TITLE_LENGTH else title[: TITLE_LENGTH - 1] + "…"


def _ids_in_windows(
    project: Project, documents: QuerySet[Document], *, edge: int | None, backward: bool, want: int
) -> list[int]:
    """Up to ``want`` ids of ``documents`` past ``edge``, nearest first, looked for in
    windows of ids that double in size: a search that matches most documents stops after
    the first window instead of checking every document's text to sort the matches.
    (A search that matches few is faster without: the trigram index finds them all.)"""
    bounds = Document.objects.filter(project=project).aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return []
    found: list[int] = []
    window = SEARCH_WINDOW
    if backward:
        end = edge if edge is not None else bounds["high"] + 1
        while len(found) < want and end > bounds["low"]:
            chunk = documents.filter(pk__lt=end, pk__gte=end - window).order_by("-pk")
            found += chunk.values_list("pk", flat=True)[: want - len(found)]
            end, window = end - window, window * 2
    else:
        start = edge if edge is not None else bounds["low"] - 1
        while len(found) < want and start < bounds["high"]:
            chunk = documents.filter(pk__gt=start, pk__lte=start + window).order_by("pk")
            found += chunk.values_list("pk", flat=True)[: want - len(found)]
            start, window = start + window, window * 2
    return found


def documents_page(
    project: Project,
    filters: DocumentFilters,
    *,
    after: int | None,
    before: int | None,
    size: int,
) -> DocumentsPage:
    """One page of the documents that match ``filters``, in id order, after (or before) a
    document id: the keyset costs the same on the last page as on the first."""
    count, more_than_count = count_documents(project, filters)
    documents = filtered_documents(project, filters)
    backward = before is not None
    edge = before if backward else after
    if filters.search and more_than_count:
        ids = _ids_in_windows(project, documents, edge=edge, backward=backward, want=size + 1)
    else:
        if edge is not None:
            documents = documents.filter(pk__lt=edge) if backward else documents.filter(pk__gt=edge)
        ordered = documents.order_by("-pk" if backward else "pk")
        ids = list(ordered.values_list("pk", flat=True)[: size + 1])
    more = len(ids) > size
    ids = sorted(ids[:size])
    has_previous, has_next = (more, True) if backward else (after is not None, more)
    found = list(
        Document.objects.filter(pk__in=ids)
        .annotate(length=Length("text"), head=Substr("text", 1, 400))
        .only("pk", "external_id", "meta")
        .order_by("pk")
    )
    assignments: dict[int, list[Assignment]] = {}
    for assignment in (
        Assignment.objects.filter(document__in=[document.pk for document in found])
        .select_related("annotator")
        .only("document_id", "status", "annotator__username")
        .order_by("annotator__username")
    ):
        assignments.setdefault(assignment.document_id, []).append(assignment)
    return DocumentsPage(
        rows=[
            DocumentRow(
                document=document,
                title=_title(document.meta, document.head),  # type: ignore[attr-defined]
                length=document.length,  # type: ignore[attr-defined]
                assignments=assignments.get(document.pk, []),
            )
            for document in found
        ],
        has_previous=has_previous,
        has_next=has_next,
        count=count,
        more=more_than_count,
    )
