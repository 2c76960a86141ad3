"""The audit trail: each service records its own writes, in its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import models

from annotations import sql
from annotations.access import Access
from annotations.models import AuditEvent, Project


def record_event(
    *,
    actor: User | None,
    project: Project | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Store who did ``action`` to what; ``obj`` names the object unless type is given."""
    event = _unsaved(actor, project, action, obj, before, after, object_type)
    sql.insert(event)  # Every write records one: the hand-composed INSERT is cheaper.
    return event


def _unsaved(
    actor: User | None,
    project: Project | None,
    action: str,
    obj: models.Model | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    object_type: str = "",
) -> AuditEvent:
    return AuditEvent(
        project=project,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=object_type or (obj._meta.model_name or "" if obj is not None else ""),
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        before=before,
        after=after,
    )


# One change: (action, object, before, after).
Change = tuple[str, models.Model, dict[str, Any] | None, dict[str, Any] | None]


def record_changes(access: Access, changes: Sequence[Change]) -> None:
    """``record_change`` for many changes at once (a batch write): one INSERT."""
    sql.insert_many([_unsaved(access.user, access.project, *change) for change in changes])


def record_change(
    access: Access,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEvent:
    """``record_event`` for a change the caller of ``access`` made in its project."""
    return record_event(
        actor=access.user,
        project=access.project,
        action=action,
        obj=obj,
        before=before,
        after=after,
    )
