"""The audit trail: each service records its own writes, in its own transaction."""

from __future__ import annotations

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
    event = unsaved_event(
        actor=actor,
        project=project,
        action=action,
        obj=obj,
        object_type=object_type,
        before=before,
        after=after,
    )
    sql.insert(event)  # Every write records one: the hand-composed INSERT is cheaper.
    return event


def unsaved_event(
    *,
    actor: User | None,
    project: Project | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """The event ``record_event`` stores, not saved yet (for writes that save many at once)."""
    return AuditEvent(
        project=project,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=object_type or (obj._meta.model_name or "" if obj is not None else ""),
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        before=before,
        after=after,
    )


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
