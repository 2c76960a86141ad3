"""Projects, their label schema and their members."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotations.access import Access
from annotations.models import LabelKind, LabelType, Membership, Project, Role
from annotations.services import assignments
from annotations.services.audit import record_event

MANAGERS_ONLY_MESSAGE = "Only the project's managers manage its members."

# The news claims preset every new project starts from (docs/data-model.md).
NEWS_CLAIMS_PRESET: list[dict[str, Any]] = [
    {
        "name": "claim",
        "kind": LabelKind.SPAN,
        "colour": "#e6a100",
        "hotkey": "c",
        "description": 'A statement asserted as fact, e.g. "Saleh has left Panjshir".',
        "attribute_schema": {},
    },
    {
        "name": "source",
        "kind": LabelKind.SPAN,
        "colour": "#2f7ed8",
        "hotkey": "s",
        "description": "Who a claim is attributed to: a person, an outlet, an anonymous source.",
        "attribute_schema": {"kind": ["person", "organisation", "media", "anonymous"]},
    },
    {
        "name": "sentiment",
        "kind": LabelKind.SPAN,
        "colour": "#c2417a",
        "hotkey": "e",
        "description": "A span carrying an evaluative tone, with its polarity.",
        "attribute_schema": {"polarity": ["positive", "negative", "neutral"]},
    },
    {
        "name": "attributed_to",
        "kind": LabelKind.RELATION,
        "colour": "#555555",
        "hotkey": "",
        "description": "Links a claim (head) to the source it is attributed to (tail).",
        "attribute_schema": {},
        "head": "claim",
        "tail": "source",
    },
]


@transaction.atomic
def create_project(
    *,
    name: str,
    slug: str,
    created_by: User | None = None,
    guidelines: str = "",
    overlap: int = 2,
    blind: bool = True,
) -> Project:
    """Make a project with the news claims schema; its creator becomes its manager."""
    if Project.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [f"a project named {slug!r} exists already"]})
    if overlap < 1:
        raise ValidationError({"overlap": ["must be at least 1"]})
    project = Project.objects.create(
        name=name,
        slug=slug,
        guidelines=guidelines,
        overlap=overlap,
        blind=blind,
        created_by=created_by,
    )
    by_name: dict[str, LabelType] = {}
    for position, preset in enumerate(NEWS_CLAIMS_PRESET):
        by_name[preset["name"]] = LabelType.objects.create(
            project=project,
            name=preset["name"],
            kind=preset["kind"],
            colour=preset["colour"],
            hotkey=preset["hotkey"],
            description=preset["description"],
            attribute_schema=preset["attribute_schema"],
            head_label=by_name.get(preset.get("head", "")),
            tail_label=by_name.get(preset.get("tail", "")),
            position=position,
        )
    if created_by is not None:
        Membership.objects.create(project=project, user=created_by, role=Role.MANAGER)
    record_event(
        actor=created_by, project=project, action="create", obj=project, after={"slug": slug}
    )
    return project


@transaction.atomic
def add_member(*, project: Project, user: User, role: str, actor: User | None = None) -> Membership:
    """Give ``user`` a role in the project, replacing any role they had."""
    if role not in Role.values:
        raise ValidationError({"role": [f"must be one of: {', '.join(Role.values)}"]})
    membership, created = Membership.objects.get_or_create(
        project=project, user=user, defaults={"role": role}
    )
    before = None if created else {"role": membership.role}
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    if created or before != {"role": role}:
        record_event(
            actor=actor,
            project=project,
            action="create" if created else "update",
            obj=membership,
            before=before,
            after={"user": user.get_username(), "role": role},
        )
    return membership


def span_label_schema(project: Project) -> dict[str, dict[str, list[Any]]]:
    """Span label name -> its attribute schema, as the interchange checks expect."""
    return {
        label.name: label.attribute_schema
        for label in project.label_types.filter(kind=LabelKind.SPAN)
    }


def _lock_for_change(membership: Membership, new_role: str | None) -> Membership:
    """Reload ``membership`` and refuse to leave the project without a manager.

    The project's manager rows are locked first, in one order, so that two managers
    stepping down at the same moment cannot both succeed.
    """
    managers = list(
        Membership.objects.select_for_update()
        .filter(project_id=membership.project_id, role=Role.MANAGER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    membership = Membership.objects.select_for_update().select_related("user").get(pk=membership.pk)
    if membership.role == Role.MANAGER and new_role != Role.MANAGER and len(managers) == 1:
        raise ValidationError({"role": ["the project needs at least one manager"]})
    return membership


def _require_manager(access: Access, membership: Membership | None = None) -> None:
    access.require((Role.MANAGER,), MANAGERS_ONLY_MESSAGE)
    if membership is not None and membership.project_id != access.project.pk:
        raise Membership.DoesNotExist("No such member.")


@transaction.atomic
def invite_member(*, access: Access, user: User, role: str) -> Membership:
    """A manager adds ``user`` to the project; someone who is a member already keeps
    their role (changing it is ``change_member_role``)."""
    _require_manager(access)
    existing = Membership.objects.filter(project=access.project, user=user).first()
    if existing is not None:
        raise ValidationError(
            {"username": [f"is a member already ({existing.role}): PATCH to change the role"]}
        )
    return add_member(project=access.project, user=user, role=role, actor=access.user)


@transaction.atomic
def change_member_role(*, access: Access, membership: Membership, role: str) -> Membership:
    """A manager gives a member another role; the last manager keeps theirs. Someone who
    stops being an annotator hands back their unstarted documents (their started work
    stays); the next run of the assignment plan gives those to the other annotators."""
    _require_manager(access, membership)
    membership = _lock_for_change(membership, role)
    changed = add_member(
        project=membership.project, user=membership.user, role=role, actor=access.user
    )
    if role != Role.ANNOTATOR:
        assignments.release_assignments(
            project=membership.project, user=membership.user, actor=access.user
        )
    return changed


@transaction.atomic
def remove_member(*, access: Access, membership: Membership) -> None:
    """A manager takes a member out of the project. Their started and submitted layers
    stay: they are the project's data. Their unstarted documents go back to the pool,
    which the next run of the assignment plan hands out."""
    _require_manager(access, membership)
    membership = _lock_for_change(membership, None)
    record_event(
        actor=access.user,
        project=membership.project,
        action="delete",
        obj=membership,
        before={"user": membership.user.get_username(), "role": membership.role},
    )
    membership.delete()
    assignments.release_assignments(
        project=membership.project, user=membership.user, actor=access.user
    )
