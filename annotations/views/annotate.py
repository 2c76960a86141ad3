"""The annotator's pages: the queue, the annotation page, "next", the guidelines.

The annotation page edits the caller's own layer only; in a project that is not blind it
also lists, read-only, the other annotators' spans on the document. Every write goes from
the page's JavaScript to the layer API.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse

from annotations.access import Access
from annotations.api.serializers import LabelSerializer
from annotations.guidelines import render_guidelines
from annotations.models import (
    Assignment,
    AssignmentStatus,
    LabelKind,
    Layer,
    LayerStatus,
    Project,
    Role,
)
from annotations.selectors import (
    QUEUE_ORDER,
    labels_with_ends,
    layer_body,
    other_annotators_spans,
    queue_rank,
)
from annotations.services.layers import unsubmit_refusal
from annotations.views.access import project_page

# One block per line: the "\n" stays at the end of its block's text, so the blocks'
# text put together is the document's text, character for character.
_PARAGRAPH = re.compile(r"[^\n]*\n|[^\n]+")


def split_paragraphs(text: str) -> list[str]:
    """``text`` cut after every line feed; ``"".join(result) == text``."""
    return _PARAGRAPH.findall(text)


def _my_assignments(access: Access) -> QuerySet[Assignment]:
    # Document id order, as the API's queue uses.
    return (
        Assignment.objects.filter(document__project=access.project, annotator=access.user)
        .select_related("document")
        .order_by("document_id")
    )


def label_schema(project: Project) -> list[dict[str, Any]]:
    """The project's labels as the labels API renders them."""
    return list(LabelSerializer(labels_with_ends(project), many=True).data)


@project_page()
def project_home(request: HttpRequest, access: Access) -> HttpResponse:
    if access.role == Role.ANNOTATOR:
        return redirect("project-queue", slug=access.project.slug)
    return redirect("dashboard", slug=access.project.slug)


@project_page()
def queue(request: HttpRequest, access: Access) -> HttpResponse:
    project = access.project
    assignments = list(_my_assignments(access))
    span_counts = dict(
        Layer.objects.filter(document__project=project, annotator=access.user)
        .annotate(spans_count=Count("spans"))
        .values_list("document_id", "spans_count")
    )
    counts = {status: 0 for status in AssignmentStatus.values}
    for assignment in assignments:
        counts[assignment.status] += 1
    done = counts[AssignmentStatus.SUBMITTED] + counts[AssignmentStatus.SKIPPED]
    return render(
        request,
        "annotations/queue.html",
        {
            "project": project,
            "role": access.role,
            "rows": [
                {"assignment": a, "spans": span_counts.get(a.document_id, 0)} for a in assignments
            ],
            "counts": counts,
            "done": done,
            "open": len(assignments) - done,
            "percent_done": round(100 * done / len(assignments)) if assignments else 0,
        },
    )


@project_page()
def annotate(request: HttpRequest, access: Access, doc_id: int) -> HttpResponse:
    project = access.project
    assignments = list(_my_assignments(access))
    position = next(
        (i for i, assignment in enumerate(assignments) if assignment.document_id == doc_id), None
    )
    # Only the documents handed to the caller: anything else does not exist for them.
    if position is None:
        raise Http404("No such document.")
    assignment = assignments[position]
    document = assignment.document
    layer = Layer.objects.filter(document=document, annotator=access.user).first()
    layer_id = layer.pk if layer is not None else None
    config = {
        "project": project.slug,
        "document": document.pk,
        "externalId": document.external_id,
        "assignmentStatus": assignment.status,
        "api": {
            "mine": f"/api/projects/{project.slug}/documents/{document.pk}/layers/mine/",
            "layers": "/api/layers/",
            "skip": f"/api/projects/{project.slug}/documents/{document.pk}/skip/",
            "catalogue": reverse("catalogue", kwargs={"slug": project.slug}),
            # Active time counts for open work on the annotator's own layer only.
            **(
                {"activity": reverse("layer-activity", kwargs={"layer_id": layer_id})}
                if layer_id is not None and assignment.status in QUEUE_ORDER
                else {}
            ),
        },
        "submitChecks": project.submit_checks,
        "next": reverse("annotate-next", kwargs={"slug": project.slug}),
        "queue": reverse("project-queue", kwargs={"slug": project.slug}),
    }
    labels = label_schema(project)
    # "Undo submit" while the service would allow it (see layers.unsubmit_refusal).
    can_unsubmit = (
        layer is not None
        and layer.status == LayerStatus.SUBMITTED
        and unsubmit_refusal(layer, access.user.pk) is None
    )
    return render(
        request,
        "annotations/annotate.html",
        {
            "project": project,
            "document": document,
            "assignment": assignment,
            "paragraphs": split_paragraphs(document.text),
            "span_labels": [label for label in labels if label["kind"] == LabelKind.SPAN],
            "labels": labels,
            "layer": layer_body(layer_id) if layer_id is not None else None,
            # Not blind: the other annotators' spans, read-only (None hides the panel).
            "other_layers": None if project.blind else other_annotators_spans(access, document),
            "config": config,
            "unsubmit_url": (
                reverse("layer-unsubmit", kwargs={"layer_id": layer_id}) if can_unsubmit else None
            ),
            "position": position + 1,
            "total": len(assignments),
            "previous_doc": assignments[position - 1].document if position > 0 else None,
            "following_doc": (
                assignments[position + 1].document if position + 1 < len(assignments) else None
            ),
        },
    )


@project_page()
def annotate_next(request: HttpRequest, access: Access) -> HttpResponse:
    project = access.project
    # As GET /api/projects/<slug>/queue/next/: documents in progress first, then by id.
    following = (
        _my_assignments(access)
        .filter(status__in=QUEUE_ORDER)
        .order_by(queue_rank("status"), "document_id")
        .first()
    )
    if following is not None:
        return redirect("annotate", slug=project.slug, doc_id=following.document_id)
    messages.success(request, "Nothing left to annotate in this project: your queue is done.")
    return redirect("project-queue", slug=project.slug)


@project_page()
def guidelines(request: HttpRequest, access: Access) -> HttpResponse:
    project = access.project
    html = render_guidelines(project.guidelines)
    schema = label_schema(project)
    return render(
        request,
        "annotations/guidelines.html",
        {
            "project": project,
            "role": access.role,
            "guidelines_html": html,
            "span_labels": [label for label in schema if label["kind"] == LabelKind.SPAN],
            "relation_labels": [label for label in schema if label["kind"] == LabelKind.RELATION],
        },
    )


urlpatterns = [
    path("projects/<slug:slug>/", project_home, name="project-home"),
    path("projects/<slug:slug>/queue/", queue, name="project-queue"),
    path(
        "projects/<slug:slug>/documents/<int:doc_id>/annotate/",
        annotate,
        name="annotate",
    ),
    path("projects/<slug:slug>/next/", annotate_next, name="annotate-next"),
    path("projects/<slug:slug>/guidelines/", guidelines, name="guidelines"),
]
