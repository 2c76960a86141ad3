"""The project list and the health check."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from annotations.models import AssignmentStatus, Membership
from annotations.services.health import check_health


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
    """200 when the database, the broker and a worker answer; 503 naming what does not."""
    health = check_health()
    body = {**health.parts, "status": "ok" if health.healthy else "unhealthy"}
    return JsonResponse(body, status=200 if health.healthy else 503)
