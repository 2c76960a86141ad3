"""How every API view inside a project gets the caller's ``Access``.

A view mixes in ``ProjectAccessMixin`` (routes under ``projects/<slug>/``) or
``LayerAccessMixin`` (routes under ``layers/<layer_id>/``). Once DRF has authenticated
the caller and checked ``IsAuthenticated`` (anonymous callers get 403 before anything is
looked up), ``initial`` resolves ``self.access`` with ``annotations.access.resolve_access``,
the same function the pages use: 404 for outsiders and for roles the view hides from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from rest_framework.exceptions import NotAuthenticated
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


class ProjectAccessMixin(APIView):
    """``self.access``: the caller's access to the project named by the URL's ``slug``."""

    # Members in other roles get 404, as outsiders do: the route does not exist for them.
    visible_to: Iterable[str] = ALL_ROLES
    access: Access

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.access = resolve_access(
            signed_in(request), slug=kwargs["slug"], visible_to=self.visible_to
        )


class LayerAccessMixin(APIView):
    """``self.access``: the caller's access to the layer named by the URL's ``layer_id``,
    with its document and project; 404 unless the blind rules let them see it."""

    access: Access

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.access = resolve_access(signed_in(request), layer_id=int(kwargs["layer_id"]))

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
