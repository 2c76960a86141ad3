"""The project list (with the form that starts a project) and the health check."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from annotations.forms import NewProjectForm, show_errors
from annotations.models import AssignmentStatus, Membership
from annotations.services import projects as project_service
from annotations.services.health import check_health


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request: HttpRequest) -> HttpResponse:
    """The caller's projects, archived ones apart; for those who may create projects, the
    form that starts one (a POST from anyone else is refused with 403)."""
    user = request.user
    assert isinstance(user, User)  # login_required
    may_create = project_service.may_create_projects(user)
    form = NewProjectForm(request.POST or None) if may_create else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied(project_service.CREATE_PROJECTS_MESSAGE)
        if form.is_valid():
            data = form.cleaned_data
            schema = data["schema"] or project_service.PRESET_SCHEMA
            try:
                project = project_service.start_project(
                    user=user,
                    name=data["name"],
                    slug=data["slug"] or slugify(data["name"]),
                    description=data["description"],
                    overlap=data["overlap"],
                    blind=data["blind"],
                    schema=schema,
                )
            except ValidationError as exc:
                show_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"Project {project.name!r} is ready, with "
                    f"{project_service.SCHEMA_STARTS[schema]}. "
                    "Set its guidelines here, then its labels and members.",
                )
                return redirect("project-settings", slug=project.slug)
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
    return render(
        request,
        "annotations/project_list.html",
        {
            "memberships": [m for m in memberships if m.project.archived_at is None],
            "archived": [m for m in memberships if m.project.archived_at is not None],
            "form": form,
        },
        status=400 if form is not None and form.errors else 200,
    )


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and a worker answer; 503 naming what does not."""
    health = check_health()
    body = {**health.parts, "status": "ok" if health.healthy else "unhealthy"}
    return JsonResponse(body, status=200 if health.healthy else 503)
