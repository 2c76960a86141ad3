"""The project list and the health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from annotations.models import AssignmentStatus, Membership
from annotations.services.workers import workers_answering
from workbench.celery import app


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert user.is_authenticated  # for the type checker: login_required ensured it
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("project")
        .annotate(
            documents=Count("project__documents", distinct=True),
            my_open=Count(
                "project__documents__assignments",
                filter=Q(project__documents__assignments__annotator=user)
                & Q(
                    project__documents__assignments__status__in=[
                        AssignmentStatus.ASSIGNED,
                        AssignmentStatus.IN_PROGRESS,
                    ]
                ),
                distinct=True,
            ),
        )
        .order_by("project__name")
    )
    return render(request, "annotations/project_list.html", {"memberships": memberships})


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 otherwise; workers are reported."""
    checks: dict[str, str] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # Whatever the driver raises, the database is down.
        checks["database"] = f"down: {exc}"
        healthy = False
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = "none configured: tasks run eagerly in the web process"
        checks["workers"] = "not needed (eager mode)"
    else:
        try:
            with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:  # Any transport error means the broker is unreachable.
            checks["broker"] = f"down: {exc}"
            healthy = False
        workers = workers_answering(timeout=1.0) if healthy else []
        checks["workers"] = (
            f"{len(workers)} answering: {', '.join(workers)}"
            if workers
            else "no worker answering: jobs will wait in the queue"
        )
    checks["status"] = "ok" if healthy else "unhealthy"
    return JsonResponse(checks, status=200 if healthy else 503)
