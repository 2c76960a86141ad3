"""The project dashboard: progress per annotator and per document, active time and
documents submitted per day (managers, reviewers).

Managers also get the export panel (``export_panel``): a form that starts an export through
the API, and the project's recent exports.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from annotations.access import STAFF_ROLES, Access
from annotations.models import AssignmentStatus, Role
from annotations.selectors import (
    PROGRESS_STATUSES,
    Progress,
    annotator_progress,
    daily_throughput,
    document_progress,
    documents_by_progress,
    median_active_seconds,
    project_progress,
)
from annotations.views.access import project_page
from annotations.views.charts import daily_bars
from annotations.views.export_panel import panel_context

DOCUMENTS_PER_PAGE = 100
THROUGHPUT_DAYS = 30


def _duration(seconds: float | None) -> str:
    """``1 h 05 min``, ``4 min 10 s``, ``35 s``; a dash for no measurement."""
    if seconds is None:
        return "–"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _bar(progress: Progress, total: int) -> list[dict[str, Any]]:
    """Stacked-bar pieces (status, count, width in percent) in a fixed order."""
    counts = progress.counts
    return [
        {"status": status, "count": counts[status], "width": _percent(counts[status], total)}
        for status in PROGRESS_STATUSES
        if counts[status]
    ]


@project_page(visible_to=STAFF_ROLES)
def dashboard(request: HttpRequest, access: Access) -> HttpResponse:
    project, role = access.project, access.role
    page = Paginator(documents_by_progress(project), DOCUMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    overall = project_progress(project)
    medians = median_active_seconds(project)
    throughput = daily_throughput(project, days=THROUGHPUT_DAYS)
    annotators = [
        {
            "username": row.username,
            "total": row.progress.assigned,
            "counts": row.progress.counts,
            "spans": row.spans,
            "percent_done": _percent(row.progress.done, row.progress.assigned),
            "bar": _bar(row.progress, row.progress.assigned),
            "median_active": medians.get(row.username),
            "median_active_text": _duration(medians.get(row.username)),
        }
        for row in annotator_progress(project)
    ]
    documents = []
    for row in document_progress(list(page)):
        # A document needs k submitted layers; more than k can come from an import.
        wanted = max(project.overlap, row.progress.assigned)
        documents.append(
            {
                "document": row.document,
                "total": row.progress.assigned,
                "wanted": wanted,
                "counts": row.progress.counts,
                "spans": row.spans,
                "gold_spans": row.gold_spans,
                "complete": row.progress.counts[AssignmentStatus.SUBMITTED] >= project.overlap,
                "bar": _bar(row.progress, wanted),
            }
        )
    return render(
        request,
        "annotations/dashboard.html",
        {
            "project": project,
            "role": role,
            "exports": panel_context(project) if role == Role.MANAGER else None,
            "annotators": annotators,
            "documents": documents,
            "page": page,
            "totals": {
                "documents": overall.documents,
                "complete": overall.complete,
                "percent_complete": _percent(overall.complete, overall.documents),
                "assignments": overall.progress.assigned,
                "counts": overall.progress.counts,
                "bar": _bar(overall.progress, overall.progress.assigned),
            },
            "statuses": PROGRESS_STATUSES,
            "throughput": throughput,
            "throughput_total": sum(throughput.counts.values()),
            "throughput_chart": daily_bars(
                throughput.days,
                throughput.annotators,
                throughput.counts,
                f"Documents submitted per day and annotator, last {THROUGHPUT_DAYS} days",
            ),
        },
    )


urlpatterns = [
    path("projects/<slug:slug>/dashboard/", dashboard, name="dashboard"),
]
