"""How every API view inside a project gets the caller's ``Access``.

A view mixes in ``ProjectAccessMixin`` (routes under ``projects/<slug>/``) or
``LayerAccessMixin`` (routes under ``layers/<layer_id>/``). Once DRF has authenticated
the caller and checked ``IsAuthenticated`` (anonymous callers get 403 before anything is
looked up), ``initial`` resolves ``self.access`` with ``annotations.access.resolve_access``,
the same function the pages use: 404 for outsiders and for roles the view hides from.
A request that changes something (any method but GET, HEAD and OPTIONS) is refused with
403 in an archived project, unless the view says ``writes_when_archived`` (exports and
agreement runs only read the project's data).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.views import APIView

from annotations.access import ALL_ROLES, Access, resolve_access
from annotations.models import Layer, Role


def signed_in(request: Request) -> User:
    """The caller; every view here requires a signed-in user (IsAuthenticated)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user


class _ArchiveAware(APIView):
    # True for the routes that stay open in an archived project (they only read its data).
    writes_when_archived = False

    def is_writing(self, request: Request) -> bool:
        return request.method not in SAFE_METHODS and not self.writes_when_archived


class ProjectAccessMixin(_ArchiveAware):
    """``self.access``: the caller's access to the project named by the URL's ``slug``."""

    # Members in other roles get 404, as outsiders do: the route does not exist for them.
    visible_to: Iterable[str] = ALL_ROLES
    access: Access

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.access = resolve_access(
            signed_in(request),
            slug=kwargs["slug"],
            visible_to=self.visible_to,
            writing=self.is_writing(request),
        )


class LayerAccessMixin(_ArchiveAware):
    """``self.access``: the caller's access to the layer named by the URL's ``layer_id``,
    with its document and project; 404 unless the blind rules let them see it."""

    access: Access

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.access = resolve_access(
            signed_in(request), layer_id=int(kwargs["layer_id"]), writing=self.is_writing(request)
        )

    @property
    def layer(self) -> Layer:
        assert self.access.layer is not None  # resolved with a layer id
        return self.access.layer


class ManagersOnlyMixin(ProjectAccessMixin):
    """Routes for the project's managers: 404 for outsiders, 403 with ``managers_only``
    for its other members, checked before anything else is looked up."""

    managers_only = "Only the project's managers may do this."

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.access.require((Role.MANAGER,), self.managers_only)
