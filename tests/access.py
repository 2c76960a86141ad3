"""Accesses for tests that call services directly, made the one way there is: by
``resolve_access``, as a request would."""

from __future__ import annotations

from annotations.access import Access, resolve_access


def layer_access(user, layer) -> Access:
    """``user``'s access to ``layer`` (Http404 when they may not see it)."""
    return resolve_access(user, layer_id=layer.pk)


def project_access(user, project) -> Access:
    """``user``'s access to ``project`` (Http404 for outsiders)."""
    return resolve_access(user, slug=project.slug)
