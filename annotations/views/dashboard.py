"""The project dashboard: progress per annotator and per document (managers, reviewers).

Managers also get the export panel (``export_panel``): a form that starts an export through
the API, and the project's recent exports.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from annotations.access import STAFF_ROLES, Access
from annotations.models import AssignmentStatus, Document, Role, Span
from annotations.views.access import project_page
from annotations.views.export_panel import panel_context

DOCUMENTS_PER_PAGE = 100
# Plain strings: they name the count annotations, in the order the bars stack them.
_STATUSES: tuple[str, ...] = tuple(
    status.value
    for status in (
        AssignmentStatus.SUBMITTED,
        AssignmentStatus.IN_PROGRESS,
        AssignmentStatus.ASSIGNED,
        AssignmentStatus.SKIPPED,
    )
)


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _bar(counts: dict[str, int], total: int) -> list[dict[str, Any]]:
    """Stacked-bar pieces (status, count, width in percent) in a fixed order."""
    return [
        {"status": status, "count": counts[status], "width": _percent(counts[status], total)}
        for status in _STATUSES
        if counts[status]
    ]


def _status_counts(prefix: str) -> dict[str, Count]:
    return {
        status: Count(f"{prefix}id", filter=Q(**{f"{prefix}status": status}), distinct=True)
        for status in _STATUSES
    }


@project_page(visible_to=STAFF_ROLES)
def dashboard(request: HttpRequest, access: Access) -> HttpResponse:
    project, role = access.project, access.role
    overlap = project.overlap

    annotators = (
        get_user_model()
        .objects.filter(memberships__project=project, memberships__role=Role.ANNOTATOR)
        .annotate(
            assigned_total=Count(
                "assignments", filter=Q(assignments__document__project=project), distinct=True
            ),
            **{
                status: Count(
                    "assignments",
                    filter=Q(assignments__document__project=project, assignments__status=status),
                    distinct=True,
                )
                for status in _STATUSES
            },
        )
        .order_by("username")
    )
    spans_by_annotator = dict(
        Span.objects.filter(layer__document__project=project, layer__is_gold=False)
        .values_list("layer__annotator__username")
        .annotate(n=Count("id"))
        .values_list("layer__annotator__username", "n")
    )
    annotator_rows = []
    for user in annotators:
        counts = {status: getattr(user, status) for status in _STATUSES}
        done = counts[AssignmentStatus.SUBMITTED] + counts[AssignmentStatus.SKIPPED]
        annotator_rows.append(
            {
                "username": user.get_username(),
                "total": user.assigned_total,
                "counts": counts,
                "spans": spans_by_annotator.get(user.get_username(), 0),
                "percent_done": _percent(done, user.assigned_total),
                "bar": _bar(counts, user.assigned_total),
            }
        )

    documents = (
        Document.objects.filter(project=project)
        .annotate(
            assigned_total=Count("assignments", distinct=True),
            **_status_counts("assignments__"),
        )
        .order_by("external_id", "id")
    )
    page = Paginator(documents, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))
    documents_on_page: list[Any] = list(page)
    document_ids = [document.pk for document in documents_on_page]
    spans_by_document = dict(
        Span.objects.filter(layer__document_id__in=document_ids, layer__is_gold=False)
        .values_list("layer__document_id")
        .annotate(n=Count("id"))
        .values_list("layer__document_id", "n")
    )
    gold_by_document = dict(
        Span.objects.filter(layer__document_id__in=document_ids, layer__is_gold=True)
        .values_list("layer__document_id")
        .annotate(n=Count("id"))
        .values_list("layer__document_id", "n")
    )
    document_rows = []
    for document in documents_on_page:
        counts = {status: getattr(document, status) for status in _STATUSES}
        # A document needs k submitted layers; more than k can come from an import.
        wanted = max(overlap, document.assigned_total)
        document_rows.append(
            {
                "document": document,
                "total": document.assigned_total,
                "wanted": wanted,
                "counts": counts,
                "spans": spans_by_document.get(document.pk, 0),
                "gold_spans": gold_by_document.get(document.pk, 0),
                "complete": counts[AssignmentStatus.SUBMITTED] >= overlap,
                "bar": _bar(counts, wanted),
            }
        )

    totals = Document.objects.filter(project=project).aggregate(
        documents=Count("id", distinct=True),
        **_status_counts("assignments__"),
    )
    complete_documents = (
        Document.objects.filter(project=project)
        .annotate(
            n=Count(
                "assignments",
                filter=Q(assignments__status=AssignmentStatus.SUBMITTED),
                distinct=True,
            )
        )
        .filter(n__gte=overlap)
        .count()
    )
    all_assignments = sum(totals[status] for status in _STATUSES)
    overall_counts = {status: totals[status] for status in _STATUSES}
    return render(
        request,
        "annotations/dashboard.html",
        {
            "project": project,
            "role": role,
            "exports": panel_context(project) if role == Role.MANAGER else None,
            "annotators": annotator_rows,
            "documents": document_rows,
            "page": page,
            "totals": {
                "documents": totals["documents"],
                "complete": complete_documents,
                "percent_complete": _percent(complete_documents, totals["documents"]),
                "assignments": all_assignments,
                "counts": overall_counts,
                "bar": _bar(overall_counts, all_assignments),
            },
            "statuses": _STATUSES,
        },
    )


urlpatterns = [
    path("projects/<slug:slug>/dashboard/", dashboard, name="dashboard"),
]
