"""Membership-scoped lookups. Outsiders get 404 for a project's objects, never 403,
so that nobody learns what exists in a project they do not belong to."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404

from annotations.models import Membership, Project, Role

STAFF_ROLES = (Role.MANAGER, Role.REVIEWER)
ALL_ROLES = (Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR)


def projects_for(user: User | AnonymousUser) -> QuerySet[Project]:
    """The projects in which ``user`` holds any role."""
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user).distinct()


def role_in(user: User | AnonymousUser, project: Project) -> str | None:
    """The user's role in the project, or None for outsiders."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    )


def get_project_for(
    user: User | AnonymousUser, slug: str, roles: Iterable[str] = ALL_ROLES
) -> Project:
    """The project named ``slug`` if ``user`` holds one of ``roles`` in it, else Http404."""
    project = (
        Project.objects.filter(slug=slug, memberships__user=user, memberships__role__in=list(roles))
        .distinct()
        .first()
        if user.is_authenticated
        else None
    )
    if project is None:
        raise Http404("No such project.")
    return project
