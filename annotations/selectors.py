"""Read queries, scoped and streaming."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery, TextField
from django.db.models.functions import Cast, Length

from annotations.access import Access
from annotations.interchange import DocumentRecord, Relation, Span
from annotations.models import (
    Assignment,
    Document,
    LabelType,
    Layer,
    LayerStatus,
    Project,
    Role,
)
from annotations.models import Relation as RelationRow
from annotations.models import Span as SpanRow


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
    one with no submitted layer is absent). The gold layer comes whole. Each chunk costs
    four queries, whatever its size, and memory holds one chunk at a time. The records are
    read-only: spans with equal attributes share one attributes dict.
    """
    label_names = dict(LabelType.objects.filter(project=project).values_list("id", "name"))
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
        yield from _records_for_chunk(chunk, label_names, include_unsubmitted)


@lru_cache(maxsize=4096)
def _decode_attrs(raw: str) -> dict[str, Any]:
    # A corpus repeats a handful of attribute sets ({} above all) across millions of
    # spans: decode each once. The dicts are shared, so records are read-only.
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


def _records_for_chunk(
    chunk: Sequence[Mapping[str, Any]], label_names: dict[int, str], include_unsubmitted: bool
) -> Iterator[DocumentRecord]:
    document_ids = [row["id"] for row in chunk]
    layers = Layer.objects.filter(document_id__in=document_ids)
    if not include_unsubmitted:
        layers = layers.exclude(is_gold=False, status=LayerStatus.OPEN)
    layer_rows = list(
        layers.order_by("document_id", "annotator__username").values_list(
            "id", "document_id", "is_gold", "annotator__username"
        )
    )
    wanted = {row[0] for row in layer_rows}
    # Spans and links are selected by document (a few hundred ids), not by layer (a few
    # thousand); the attributes come as text, skipping Django's per-row JSON converter.
    spans_by_layer: dict[int, list[Span]] = {}
    span_ids_by_layer: dict[int, list[int]] = {}
    rows = (
        SpanRow.objects.filter(layer__document_id__in=document_ids)
        .order_by("layer_id", "start", "end", "id")
        .values_list("id", "layer_id", "label_id", "start", "end", Cast("attributes", TextField()))
    )
    for layer_id, span_rows in groupby(rows, key=itemgetter(1)):
        if layer_id not in wanted:
            continue
        group = list(span_rows)
        spans_by_layer[layer_id] = [
            Span(start, end, label_names[label_id], _decode_attrs(attrs))
            for _, _, label_id, start, end, attrs in group
        ]
        span_ids_by_layer[layer_id] = [row[0] for row in group]
    relations_by_layer: dict[int, list[tuple[str, int, int]]] = {}
    for layer_id, label_id, head_id, tail_id in (
        RelationRow.objects.filter(layer__document_id__in=document_ids)
        .order_by("layer_id", "id")
        .values_list("layer_id", "label_id", "head_id", "tail_id")
    ):
        if layer_id in wanted:
            relations_by_layer.setdefault(layer_id, []).append(
                (label_names[label_id], head_id, tail_id)
            )

    layers_by_document: dict[int, list[tuple[int, int, bool, str | None]]] = {}
    for row in layer_rows:
        layers_by_document.setdefault(row[1], []).append(row)
    for document in chunk:
        record = DocumentRecord(
            id=document["external_id"], text=document["text"], meta=document["meta"]
        )
        for layer_id, _, is_gold, username in layers_by_document.get(document["id"], []):
            spans = spans_by_layer.get(layer_id, [])
            relations: list[Relation] = []
            if layer_id in relations_by_layer:
                position = {span_id: i for i, span_id in enumerate(span_ids_by_layer[layer_id])}
                relations = [
                    Relation(type=kind, head=position[head], tail=position[tail])
                    for kind, head, tail in relations_by_layer[layer_id]
                ]
            if is_gold:
                record.gold, record.gold_relations = spans, relations
            else:
                assert username is not None  # an annotator layer has its annotator
                record.annotations[username] = spans
                if relations:
                    record.relations[username] = relations
        yield record
