"""Who is calling and what they may reach: one ``Access`` per request.

Every page and API route inside a project starts with ``resolve_access``: the signed-in
user, the project, their role in it and, on layer routes, the layer (with its document
and project) and the state of its annotator's assignment. It is the only function that
makes an ``Access``, so a service that takes one knows the role came from the database,
not from its caller.

Outsiders get 404 for everything in a project, never 403, so that nobody learns what
exists in a project they do not belong to; so do members for what their role hides
(another annotator's layer, gold for annotators, routes a role never sees). A member who
may see something but not do what they ask gets 403 with the reason.

The layer, token and label reads run on every API span write: they are composed by hand
once per process, from the models' fields, and their rows go through the ORM's own
converters (``annotations.sql``; ``tests/api/test_hot_path.py`` checks them against the
ORM).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from annotations import sql
from annotations.models import (
    MAX_ID,
    ApiToken,
    Assignment,
    Document,
    LabelType,
    Layer,
    LayerStatus,
    Membership,
    Project,
    Role,
)

STAFF_ROLES = (Role.MANAGER, Role.REVIEWER)
ALL_ROLES = (Role.MANAGER, Role.REVIEWER, Role.ANNOTATOR)

NO_PROJECT = "No such project."
NO_LAYER = "No such layer."
ARCHIVED_MESSAGE = (
    "This project is archived: it is read-only. A manager can unarchive it on its settings page."
)

# Only resolve_access holds this: an Access made anywhere else fails in __post_init__.
_RESOLVED = object()


@dataclass(frozen=True)
class Access:
    """What one request may reach. Made only by ``resolve_access``."""

    user: User
    project: Project
    role: str
    # On layer routes: the layer (its document and project loaded) and the status of its
    # annotator's assignment (None for gold or an unassigned layer).
    layer: Layer | None = None
    assignment_status: str | None = None
    _resolved: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._resolved is not _RESOLVED:
            raise TypeError("An Access comes from annotations.access.resolve_access only.")

    @property
    def is_project_staff(self) -> bool:
        """A reviewer or a manager of the project (not Django's staff flag)."""
        return self.role in STAFF_ROLES

    def require(self, roles: Iterable[str], reason: str) -> None:
        """403 with ``reason`` unless the caller holds one of ``roles``."""
        if self.role not in roles:
            raise PermissionDenied(reason)

    def can_see(self, layer: Layer) -> bool:
        """Blind annotation: annotators see their own layer only, reviewers the submitted
        layers and the gold layer, managers everything in the project. In a project that
        is not blind, annotators also see (read-only) the other annotators' layers of the
        documents assigned to them; never the gold layer."""
        if layer.annotator_id is not None and layer.annotator_id == self.user.pk:
            return True
        if self.role == Role.MANAGER:
            return True
        if self.role == Role.REVIEWER:
            return layer.is_gold or layer.status == LayerStatus.SUBMITTED
        if self.project.blind or layer.is_gold or layer.annotator_id is None:
            return False
        return Assignment.objects.filter(
            document_id=layer.document_id, annotator_id=self.user.pk
        ).exists()

    def require_writable(self) -> None:
        """403 when the project is archived: everything in it is read-only."""
        if self.project.archived_at is not None:
            raise PermissionDenied(ARCHIVED_MESSAGE)

    def to_layer(self, layer: Layer) -> Access:
        """The same caller on one of the project's layers (the gold layer a merge writes);
        404 when the layer is elsewhere or hidden from them."""
        if layer.document.project_id != self.project.pk or not self.can_see(layer):
            raise Http404(NO_LAYER)
        status = None
        if layer.annotator_id is not None:
            status = (
                Assignment.objects.filter(
                    document_id=layer.document_id, annotator_id=layer.annotator_id
                )
                .values_list("status", flat=True)
                .first()
            )
        return Access(
            user=self.user,
            project=self.project,
            role=self.role,
            layer=layer,
            assignment_status=status,
            _resolved=_RESOLVED,
        )

    def labels(self) -> list[LabelType]:
        """Every label of the project, span and relation kinds alike (one composed query)."""
        return [
            sql.model_from_row(LabelType, row)
            for row in sql.fetch_all(_labels_sql(), [self.project.pk])
        ]


def resolve_access(
    user: User | AnonymousUser | AbstractBaseUser,
    *,
    slug: str | None = None,
    layer_id: int | None = None,
    visible_to: Iterable[str] = ALL_ROLES,
    writing: bool = False,
) -> Access:
    """The caller's access to the project named ``slug``, or to the layer ``layer_id``.

    Http404 for anyone not signed in, outside the project, in a role not in
    ``visible_to``, or (on a layer) whom the blind rules keep from seeing it. With
    ``writing`` (a request that changes something), 403 when the project is archived:
    this is the one place that keeps archived projects read-only.
    """
    access = _resolve(user, slug=slug, layer_id=layer_id, visible_to=visible_to)
    if writing:
        access.require_writable()
    return access


def _resolve(
    user: User | AnonymousUser | AbstractBaseUser,
    *,
    slug: str | None,
    layer_id: int | None,
    visible_to: Iterable[str],
) -> Access:
    if (slug is None) == (layer_id is None):
        raise TypeError("resolve_access takes a project slug or a layer id, not both")
    if not isinstance(user, User) or not user.is_authenticated:
        raise Http404(NO_PROJECT if slug is not None else NO_LAYER)
    roles = list(visible_to)
    if slug is not None:
        membership = (
            Membership.objects.filter(project__slug=slug, user=user, role__in=roles)
            .select_related("project")
            .order_by()  # one row at most: no need for the model's ordering and its join
            .first()
        )
        if membership is None:
            raise Http404(NO_PROJECT)
        return Access(
            user=user, project=membership.project, role=membership.role, _resolved=_RESOLVED
        )
    assert layer_id is not None
    access = _layer_access(user, layer_id)
    if access is None or access.role not in roles:
        raise Http404(NO_LAYER)
    return access


def projects_for(user: User) -> QuerySet[Project]:
    """The projects in which ``user`` holds any role."""
    return Project.objects.filter(memberships__user=user).distinct()


@cache
def _layer_sql() -> str:
    col = sql.column_of
    return (
        f"SELECT {sql.columns(Layer, 'l')}, {sql.columns(Document, 'd')}, "
        f"{sql.columns(Project, 'p')}, "
        f"(SELECT m.{col(Membership, 'role')} FROM {sql.table(Membership)} m "
        f"WHERE m.{col(Membership, 'project')} = p.{col(Project, 'id')} "
        f"AND m.{col(Membership, 'user')} = %s), "
        f"a.{col(Assignment, 'status')} "
        f"FROM {sql.table(Layer)} l "
        f"JOIN {sql.table(Document)} d ON d.{col(Document, 'id')} = l.{col(Layer, 'document')} "
        f"JOIN {sql.table(Project)} p ON p.{col(Project, 'id')} = d.{col(Document, 'project')} "
        f"LEFT JOIN {sql.table(Assignment)} a "
        f"ON a.{col(Assignment, 'document')} = l.{col(Layer, 'document')} "
        f"AND a.{col(Assignment, 'annotator')} = l.{col(Layer, 'annotator')} "
        f"WHERE l.{col(Layer, 'id')} = %s"
    )


def _layer_access(user: User, layer_id: int) -> Access | None:
    # One query: the layer, its document and project, the caller's role, the assignment;
    # None when the caller is an outsider or the blind rules hide the layer from them.
    if not 0 < layer_id <= MAX_ID:
        return None
    row = sql.fetch_one(_layer_sql(), [user.pk, layer_id])
    if row is None:
        return None
    document_at = sql.width(Layer)
    project_at = document_at + sql.width(Document)
    role_at = project_at + sql.width(Project)
    role = row[role_at]
    if role is None:
        return None
    layer = sql.model_from_row(Layer, row[:document_at])
    document = sql.model_from_row(Document, row[document_at:project_at])
    document.project = sql.model_from_row(Project, row[project_at:role_at])
    layer.document = document
    access = Access(
        user=user,
        project=document.project,
        role=role,
        layer=layer,
        assignment_status=row[role_at + 1],
        _resolved=_RESOLVED,
    )
    return access if access.can_see(layer) else None


@cache
def _labels_sql() -> str:
    return (
        f"SELECT {sql.columns(LabelType, 'x')} FROM {sql.table(LabelType)} x "
        f"WHERE x.{sql.column_of(LabelType, 'project')} = %s"
    )


@cache
def _token_sql() -> str:
    user_model = get_user_model()
    return (
        f"SELECT {sql.columns(ApiToken, 't')}, {sql.columns(user_model, 'u')} "
        f"FROM {sql.table(ApiToken)} t JOIN {sql.table(user_model)} u "
        f"ON u.{sql.column_of(user_model, 'id')} = t.{sql.column_of(ApiToken, 'user')} "
        f"WHERE t.{sql.column_of(ApiToken, 'digest')} = %s"
    )


def token_with_user(key: str) -> ApiToken | None:
    """The API token whose key is ``key``, its user loaded, in one composed query; None
    if no token has that key."""
    row = sql.fetch_one(_token_sql(), [ApiToken.digest_of(key)])
    if row is None:
        return None
    token = sql.model_from_row(ApiToken, row[: sql.width(ApiToken)])
    token.user = sql.model_from_row(get_user_model(), row[sql.width(ApiToken) :])
    return token
