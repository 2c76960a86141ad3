"""The reviewer's pages: the review list (documents worst first) and the review page.

The review page shows one document's annotator layers side by side as a table of candidates
(``annotations.review``) with their disagreements, and the gold layer in the annotation
editor (``static/annotations/js/annotate.js``, driven by ``review.js``): accepting a
candidate writes it into gold through the layer API, "Merge by vote" calls the merge
endpoint, "Reopen" gives a layer back to its annotator. Blind rules: reviewers see the
submitted layers only, managers every layer (open ones listed but not counted).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Max, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from annotations.access import STAFF_ROLES, Access
from annotations.interchange import Relation as RelationRecord
from annotations.interchange import Span as SpanRecord
from annotations.models import (
    AgreementRun,
    Document,
    JobStatus,
    LabelKind,
    Layer,
    LayerStatus,
    Project,
    Relation,
    Role,
    Span,
)
from annotations.review import (
    ATTRIBUTES,
    BOUNDARY,
    LABEL,
    PARTIAL,
    Candidate,
    LinkCandidate,
    Review,
    review_candidates,
    review_record,
)
from annotations.selectors import iter_project_records
from annotations.views.access import project_page
from annotations.views.annotate import label_schema, layer_body, split_paragraphs

DOCUMENTS_PER_PAGE = 100
# Documents read per round of queries when the list counts disagreements.
CHUNK = 500
# Counts only go stale through writes behind the services' back (the admin).
COUNTS_CACHE_SECONDS = 600
DEFAULT_COLOUR = "#888888"


# --- reading --------------------------------------------------------------------------


def _latest_scores(project: Project) -> tuple[int | None, dict[str, dict[str, Any]]]:
    """The latest succeeded agreement run's per-document scores by external id, if any.

    Only that part of the result is read: a large project's result is megabytes.
    """
    row = (
        AgreementRun.objects.filter(project=project, status=JobStatus.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .values_list("pk", "result__per_document")
        .first()
    )
    if row is None:
        return None, {}
    run_id, per_document = row
    items = per_document if isinstance(per_document, list) else []
    return run_id, {
        str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item
    }


@dataclass(frozen=True)
class Counted:
    """What the submitted annotator layers of one document give the review list."""

    annotators: tuple[str, ...]
    candidates: int
    disagreements: int


@dataclass
class DocumentSummary:
    id: int
    external_id: str
    meta: dict[str, Any]
    annotators: tuple[str, ...]
    candidates: int
    disagreements: int
    gold_status: str  # "none", "draft" or "final"
    gold_spans: int


def _gold_status(status: str | None, spans: int) -> str:
    if status == LayerStatus.SUBMITTED:
        return "final"
    return "draft" if spans else "none"


def _count_chunk(document_ids: Sequence[int]) -> dict[int, Counted]:
    """Candidates and disagreements over the submitted layers of some documents, in three
    queries whatever their number (texts are never read)."""
    layer_rows = list(
        Layer.objects.filter(
            document_id__in=document_ids, is_gold=False, status=LayerStatus.SUBMITTED
        )
        .order_by("document_id", "annotator__username")
        .values_list("id", "document_id", "annotator__username")
    )
    layer_ids = [row[0] for row in layer_rows]
    spans: dict[int, list[tuple[int, SpanRecord]]] = {}
    for span_id, layer_id, label, start, end, attrs in (
        Span.objects.filter(layer_id__in=layer_ids)
        .order_by("layer_id", "start", "end", "id")
        .values_list("id", "layer_id", "label__name", "start", "end", "attributes")
    ):
        spans.setdefault(layer_id, []).append(
            (span_id, SpanRecord(start=start, end=end, label=label, attrs=attrs))
        )
    links: dict[int, list[tuple[str, int, int]]] = {}
    for layer_id, kind, head, tail in (
        Relation.objects.filter(layer_id__in=layer_ids)
        .order_by("layer_id", "id")
        .values_list("layer_id", "label__name", "head_id", "tail_id")
    ):
        links.setdefault(layer_id, []).append((kind, head, tail))
    annotations: dict[int, dict[str, list[SpanRecord]]] = {}
    relations: dict[int, dict[str, list[RelationRecord]]] = {}
    for layer_id, document_id, username in layer_rows:
        pairs = spans.get(layer_id, [])
        position = {span_id: index for index, (span_id, _) in enumerate(pairs)}
        annotations.setdefault(document_id, {})[username] = [span for _, span in pairs]
        relations.setdefault(document_id, {})[username] = [
            RelationRecord(type=kind, head=position[head], tail=position[tail])
            for kind, head, tail in links.get(layer_id, [])
        ]
    counted = {}
    for document_id, layers in annotations.items():
        review = review_candidates(layers, relations[document_id])
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
    counted: dict[int, Counted] | None = cache.get(key)
    if counted is None:
        document_ids = list(
            submitted.order_by("document_id").values_list("document_id", flat=True).distinct()
        )
        counted = {}
        for start in range(0, len(document_ids), CHUNK):
            counted.update(_count_chunk(document_ids[start : start + CHUNK]))
        cache.set(key, counted, COUNTS_CACHE_SECONDS)
    return counted


def document_summaries(project: Project) -> list[DocumentSummary]:
    """Every document of the project with its counts and its gold layer's state."""
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
        .iterator(chunk_size=CHUNK)
    ):
        counts = counted.get(row["id"], nothing)
        status, gold_spans = gold.get(row["id"], (None, 0))
        summaries.append(
            DocumentSummary(
                id=row["id"],
                external_id=row["external_id"],
                meta=row["meta"],
                annotators=counts.annotators,
                candidates=counts.candidates,
                disagreements=counts.disagreements,
                gold_status=_gold_status(status, gold_spans),
                gold_spans=gold_spans,
            )
        )
    return summaries


# --- presenting -----------------------------------------------------------------------


def attrs_text(attrs: Mapping[str, Any]) -> str:
    """Attributes in a table cell: the value alone when there is one, else name=value."""
    if len(attrs) == 1:
        return str(next(iter(attrs.values())))
    return " · ".join(f"{name}={attrs[name]}" for name in sorted(attrs))


def _issue_badges(candidate: Candidate) -> list[dict[str, str]]:
    text = {
        PARTIAL: f"{candidate.votes} of {candidate.voters}",
        LABEL: "also " + ", ".join(candidate.other_labels),
        BOUNDARY: "boundaries differ",
        ATTRIBUTES: "attributes differ",
    }
    return [{"kind": issue, "text": text[issue]} for issue in candidate.issues]


def _candidate_row(
    index: int, candidate: Candidate, review: Review, colours: Mapping[str, str]
) -> dict[str, Any]:
    majority = dict(candidate.variants[0].attrs) if candidate.variants else {}
    cells = []
    for name in review.annotators:
        attrs = candidate.marks.get(name)
        cells.append(
            {
                "annotator": name,
                "marked": attrs is not None,
                "attrs": attrs_text(attrs) if attrs else "",
                # Attributes that differ from the most common ones stand out.
                "odd": attrs is not None and dict(attrs) != majority,
                "counted": name in review.counted,
            }
        )
    return {
        "index": index,
        "candidate": candidate,
        "colour": colours.get(candidate.label, DEFAULT_COLOUR),
        "cells": cells,
        "badges": _issue_badges(candidate),
        "gold_attrs": attrs_text(candidate.gold_attrs) if candidate.gold_attrs else "",
        "variants": [
            {
                "index": position,
                "text": attrs_text(variant.attrs),
                "count": len(variant.annotators),
            }
            for position, variant in enumerate(candidate.variants)
        ],
    }


def _link_row(
    index: int, link: LinkCandidate, review: Review, colours: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "index": index,
        "link": link,
        "head_colour": colours.get(link.head.label, DEFAULT_COLOUR),
        "tail_colour": colours.get(link.tail.label, DEFAULT_COLOUR),
        "cells": [
            {
                "annotator": name,
                "marked": name in link.annotators,
                "counted": name in review.counted,
            }
            for name in review.annotators
        ],
    }


def _review_data(review: Review) -> dict[str, Any]:
    """What review.js needs to write a candidate into gold."""

    def key(candidate: Candidate) -> str:
        return f"{candidate.start}:{candidate.end}:{candidate.label}"

    return {
        "candidates": [
            {
                "key": key(candidate),
                "start": candidate.start,
                "end": candidate.end,
                "label": candidate.label,
                "variants": [dict(variant.attrs) for variant in candidate.variants],
            }
            for candidate in review.candidates
        ],
        "links": [
            {"type": link.type, "head": key(link.head), "tail": key(link.tail)}
            for link in review.links
        ],
    }


# --- pages ----------------------------------------------------------------------------


@project_page(visible_to=STAFF_ROLES)
def review_list(request: HttpRequest, access: Access) -> HttpResponse:
    project = access.project
    run_id, scores = _latest_scores(project)
    rows: list[dict[str, Any]] = []
    for summary in document_summaries(project):
        score = scores.get(summary.external_id, {})
        rows.append(
            {
                "summary": summary,
                "submitted": len(summary.annotators),
                "f1": score.get("span_f1_exact_mean"),
                "alpha": score.get("alpha_char_macro"),
            }
        )

    # What needs a decision first: most disagreements, then the lowest agreement; documents
    # nobody submitted and documents whose gold is final go last.
    def urgency(row: dict[str, Any]) -> tuple[bool, bool, int, float, str]:
        summary = row["summary"]
        return (
            summary.gold_status == "final",
            row["submitted"] == 0,
            -summary.disagreements,
            row["f1"] if isinstance(row["f1"], int | float) else math.inf,
            summary.external_id,
        )

    rows.sort(key=urgency)
    page = Paginator(rows, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "annotations/review_list.html",
        {
            "project": project,
            "role": access.role,
            "current": "review",
            "page": page,
            "rows": list(page),
            "run_id": run_id,
            "totals": {
                "documents": len(rows),
                "ready": sum(1 for row in rows if row["submitted"]),
                "disputed": sum(
                    1
                    for row in rows
                    if row["summary"].disagreements and row["summary"].gold_status != "final"
                ),
                "final": sum(1 for row in rows if row["summary"].gold_status == "final"),
            },
        },
    )


@project_page(visible_to=STAFF_ROLES)
def review(request: HttpRequest, access: Access, doc_id: int) -> HttpResponse:
    project, role = access.project, access.role
    document = Document.objects.filter(project=project, pk=doc_id).first()
    if document is None:
        raise Http404("No such document.")
    manager = role == Role.MANAGER
    layers = (
        Layer.objects.filter(document=document, is_gold=False)
        .select_related("annotator")
        .annotate(span_count=Count("spans"))
        .order_by("annotator__username")
    )
    if not manager:
        layers = layers.filter(status=LayerStatus.SUBMITTED)
    layer_rows = list(layers)
    pending = [
        layer.annotator.get_username()
        for layer in layer_rows
        if layer.annotator is not None and layer.status != LayerStatus.SUBMITTED
    ]
    record = next(
        iter_project_records(
            project,
            include_unsubmitted=manager,
            documents=Document.objects.filter(pk=document.pk),
        )
    )
    review = review_record(record, pending=pending)
    gold = Layer.objects.filter(document=document, is_gold=True).select_related("annotator").first()
    run_id, scores = _latest_scores(project)
    labels = label_schema(project)
    counted = len(review.counted)
    colours = {label["name"]: label["colour"] for label in labels}
    config = {
        "project": project.slug,
        "document": document.pk,
        "externalId": document.external_id,
        "api": {
            "layer": f"/api/projects/{project.slug}/documents/{document.pk}/layers/gold/",
            "layers": "/api/layers/",
            "merge": reverse("gold-merge", kwargs={"slug": project.slug, "doc_id": document.pk}),
        },
        "next": reverse("review-list", kwargs={"slug": project.slug}),
    }
    return render(
        request,
        "annotations/review.html",
        {
            "project": project,
            "role": role,
            "document": document,
            "paragraphs": split_paragraphs(document.text),
            "span_labels": [label for label in labels if label["kind"] == LabelKind.SPAN],
            "labels": labels,
            "layers": layer_rows,
            "review": review,
            "rows": [
                _candidate_row(index, candidate, review, colours)
                for index, candidate in enumerate(review.candidates)
            ],
            "link_rows": [
                _link_row(index, link, review, colours) for index, link in enumerate(review.links)
            ],
            "gold": gold,
            "gold_body": layer_body(gold) if gold is not None else None,
            "review_data": _review_data(review),
            "config": config,
            "vote_choices": list(range(1, counted + 1)),
            "majority": counted // 2 + 1,
            "run_id": run_id,
            "score": scores.get(document.external_id),
        },
    )


urlpatterns = [
    path("projects/<slug:slug>/review/", review_list, name="review-list"),
    path("projects/<slug:slug>/documents/<int:doc_id>/review/", review, name="review"),
]
