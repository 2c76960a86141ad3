"""How every page inside a project gets the caller's ``Access``: the same
``resolve_access`` the API uses, so pages and API answer alike (404 for outsiders and
for roles a page does not exist for, 403 for a POST into an archived project)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import SAFE_METHODS

from annotations.access import ALL_ROLES, Access, resolve_access

PageView = Callable[..., HttpResponse]


def project_page(
    visible_to: Iterable[str] = ALL_ROLES, *, writes_when_archived: bool = False
) -> Callable[[PageView], PageView]:
    """Sign-in required (else the login page); then the view is called with the caller's
    ``Access`` to the project named by the URL's ``slug`` in place of the slug. A POST
    into an archived project is refused unless ``writes_when_archived`` (the settings
    page, where it is unarchived)."""
    roles = tuple(visible_to)

    def decorate(view: Callable[..., HttpResponse]) -> PageView:
        @wraps(view)
        def page(request: HttpRequest, slug: str, **kwargs: Any) -> HttpResponse:
            writing = request.method not in SAFE_METHODS and not writes_when_archived
            access: Access = resolve_access(
                request.user, slug=slug, visible_to=roles, writing=writing
            )
            return view(request, access, **kwargs)

        return login_required(page)

    return decorate
