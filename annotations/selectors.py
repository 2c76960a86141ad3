"""Read queries, scoped and streaming."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.db.models import QuerySet

from annotations.interchange import DocumentRecord, Relation, Span
from annotations.models import Document, LabelType, Layer, LayerStatus, Project
from annotations.models import Relation as RelationRow
from annotations.models import Span as SpanRow


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
    four queries, whatever its size, and memory holds one chunk at a time.
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


def _records_for_chunk(
    chunk: Sequence[Mapping[str, Any]], label_names: dict[int, str], include_unsubmitted: bool
) -> Iterator[DocumentRecord]:
    document_ids = [row["id"] for row in chunk]
    layers = Layer.objects.filter(document_id__in=document_ids)
    if not include_unsubmitted:
        layers = layers.exclude(is_gold=False, status=LayerStatus.OPEN)
    layer_rows = list(
        layers.order_by("document_id", "annotator__username").values(
            "id", "document_id", "is_gold", "annotator__username"
        )
    )
    layer_ids = [row["id"] for row in layer_rows]
    spans_by_layer: dict[int, list[tuple[int, Span]]] = {}
    for span_id, layer_id, label_id, start, end, attrs in (
        SpanRow.objects.filter(layer_id__in=layer_ids)
        .order_by("layer_id", "start", "end", "id")
        .values_list("id", "layer_id", "label_id", "start", "end", "attributes")
    ):
        spans_by_layer.setdefault(layer_id, []).append(
            (span_id, Span(start=start, end=end, label=label_names[label_id], attrs=attrs))
        )
    relations_by_layer: dict[int, list[tuple[str, int, int]]] = {}
    for layer_id, label_id, head_id, tail_id in (
        RelationRow.objects.filter(layer_id__in=layer_ids)
        .order_by("layer_id", "id")
        .values_list("layer_id", "label_id", "head_id", "tail_id")
    ):
        relations_by_layer.setdefault(layer_id, []).append(
            (label_names[label_id], head_id, tail_id)
        )

    layers_by_document: dict[int, list[Mapping[str, Any]]] = {}
    for row in layer_rows:
        layers_by_document.setdefault(row["document_id"], []).append(row)
    for document in chunk:
        record = DocumentRecord(
            id=document["external_id"], text=document["text"], meta=document["meta"]
        )
        for layer in layers_by_document.get(document["id"], []):
            pairs = spans_by_layer.get(layer["id"], [])
            position = {span_id: index for index, (span_id, _) in enumerate(pairs)}
            spans = [span for _, span in pairs]
            relations = [
                Relation(type=kind, head=position[head], tail=position[tail])
                for kind, head, tail in relations_by_layer.get(layer["id"], [])
            ]
            if layer["is_gold"]:
                record.gold, record.gold_relations = spans, relations
            else:
                username = layer["annotator__username"]
                record.annotations[username] = spans
                if relations:
                    record.relations[username] = relations
        yield record
