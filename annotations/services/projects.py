"""Projects, their label schema and their members."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotations.access import ARCHIVED_MESSAGE, Access
from annotations.models import LabelKind, LabelType, Membership, Project, Role, SubmitCheck
from annotations.services import assignments
from annotations.services.audit import record_event

MANAGERS_ONLY_MESSAGE = "Only the project's managers manage its members."
SETTINGS_MANAGERS_ONLY_MESSAGE = "Only the project's managers change its settings."
CREATE_PROJECTS_MESSAGE = (
    'You may not create projects: ask a manager who may to grant you "can create projects".'
)
# Django's own permission on the Project model, shown as "can create projects".
CREATE_PROJECTS_PERMISSION = "annotations.add_project"
# Fields a manager changes on the settings page (and PATCH /api/projects/<slug>/).
SETTINGS_FIELDS = ("name", "description", "overlap", "blind", "guidelines", "submit_checks")
MAX_OVERLAP = 100

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


# What a new project's schema starts from: the preset above, or nothing (the manager
# builds it on the schema page).
PRESET_SCHEMA = "news_claims"
SCHEMA_STARTS = {PRESET_SCHEMA: "the news claims preset", "empty": "an empty schema"}


@transaction.atomic
def create_project(
    *,
    name: str,
    slug: str,
    created_by: User | None = None,
    guidelines: str = "",
    description: str = "",
    overlap: int = 2,
    blind: bool = True,
    schema: str = PRESET_SCHEMA,
) -> Project:
    """Make a project, its schema the news claims preset (or empty: ``schema="empty"``);
    its creator becomes its manager."""
    if schema not in SCHEMA_STARTS:
        raise ValidationError({"schema": [f"must be one of: {', '.join(SCHEMA_STARTS)}"]})
    if Project.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [f"a project named {slug!r} exists already"]})
    if overlap < 1:
        raise ValidationError({"overlap": ["must be at least 1"]})
    project = Project.objects.create(
        name=name,
        slug=slug,
        description=description,
        guidelines=guidelines,
        overlap=overlap,
        blind=blind,
        created_by=created_by,
    )
    by_name: dict[str, LabelType] = {}
    for position, preset in enumerate(NEWS_CLAIMS_PRESET if schema == PRESET_SCHEMA else []):
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
        actor=created_by,
        project=project,
        action="create",
        obj=project,
        after={"slug": slug, "schema": schema},
    )
    return project


def may_create_projects(user: User) -> bool:
    """Django staff, and people granted "can create projects", start new projects."""
    return user.is_active and (user.is_staff or user.has_perm(CREATE_PROJECTS_PERMISSION))


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["give the project a name"]})
    if len(name) > 200:
        raise ValidationError({"name": ["must be at most 200 characters"]})
    return name


def _clean_overlap(overlap: Any) -> int:
    if isinstance(overlap, bool) or not isinstance(overlap, int):
        raise ValidationError({"overlap": ["must be a whole number"]})
    if not 1 <= overlap <= MAX_OVERLAP:
        raise ValidationError({"overlap": [f"must be between 1 and {MAX_OVERLAP}"]})
    return overlap


def start_project(
    *,
    user: User,
    name: str,
    slug: str,
    description: str = "",
    overlap: int = 2,
    blind: bool = True,
    schema: str = PRESET_SCHEMA,
    guidelines: str = "",
) -> Project:
    """A signed-in user who may create projects starts one (``create_project``): they
    become its manager, and its schema starts from the news claims preset or empty."""
    if not may_create_projects(user):
        raise PermissionDenied(CREATE_PROJECTS_MESSAGE)
    slug = slug.strip()
    if not slug:
        raise ValidationError({"slug": ["give the project a short name for its address"]})
    if len(slug) > 100:
        raise ValidationError({"slug": ["must be at most 100 characters"]})
    try:
        validate_slug(slug)
    except ValidationError:
        raise ValidationError(
            {"slug": ["use only letters, digits, hyphens and underscores"]}
        ) from None
    return create_project(
        name=_clean_name(name),
        slug=slug,
        created_by=user,
        description=description.strip(),
        guidelines=guidelines,
        overlap=_clean_overlap(overlap),
        blind=blind,
        schema=schema,
    )


def _clean_submit_checks(value: Any) -> list[str]:
    """The checks asked for, in SubmitCheck's order; unknown names are refused."""
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValidationError({"submit_checks": ["must be a list of check names"]})
    unknown = sorted(set(value) - set(SubmitCheck.values))
    if unknown:
        known = ", ".join(SubmitCheck.values)
        raise ValidationError(
            {"submit_checks": [f"unknown check {', '.join(unknown)}: the checks are {known}"]}
        )
    return [check for check in SubmitCheck.values if check in value]


def _settings_of(project: Project) -> dict[str, Any]:
    snapshot: dict[str, Any] = {name: getattr(project, name) for name in SETTINGS_FIELDS}
    snapshot["archived"] = project.archived_at is not None
    return snapshot


@transaction.atomic
def update_project_settings(*, access: Access, **fields: Any) -> Project:
    """A manager changes the project's settings: any of ``SETTINGS_FIELDS`` and
    ``archived`` (True archives the project, False brings it back; an archived project's
    other settings change only once it is unarchived). Changing k (overlap)
    does not touch assignments: the assignment page applies the plan. Audited with the
    values before and after; a call that changes nothing records nothing."""
    access.require((Role.MANAGER,), SETTINGS_MANAGERS_ONLY_MESSAGE)
    unknown = set(fields) - {*SETTINGS_FIELDS, "archived"}
    if unknown:
        raise ValidationError({name: ["is not a project setting"] for name in sorted(unknown)})
    project = Project.objects.select_for_update().get(pk=access.project.pk)
    before = _settings_of(project)
    if "name" in fields:
        project.name = _clean_name(fields["name"])
    if "description" in fields:
        project.description = str(fields["description"]).strip()
    if "guidelines" in fields:
        # Browsers send a textarea's line breaks as CRLF: keep the Markdown's plain LF.
        project.guidelines = str(fields["guidelines"]).replace("\r\n", "\n")
    if "overlap" in fields:
        project.overlap = _clean_overlap(fields["overlap"])
    if "blind" in fields:
        project.blind = bool(fields["blind"])
    if "submit_checks" in fields:
        project.submit_checks = _clean_submit_checks(fields["submit_checks"])
    if "archived" in fields and bool(fields["archived"]) != before["archived"]:
        project.archived_at = timezone.now() if fields["archived"] else None
    after = _settings_of(project)
    changed = [name for name in after if after[name] != before[name]]
    if after["archived"] and any(name != "archived" for name in changed):
        raise PermissionDenied(ARCHIVED_MESSAGE)
    if changed:
        project.save()
        record_event(
            actor=access.user,
            project=project,
            action="settings",
            obj=project,
            before={name: before[name] for name in changed},
            after={name: after[name] for name in changed},
        )
    return project


@transaction.atomic
def grant_project_creation(*, access: Access, membership: Membership) -> None:
    """A manager who may create projects lets a member of their project do so too."""
    _require_manager(access, membership)
    if not may_create_projects(access.user):
        raise PermissionDenied("Only someone who may create projects can grant it.")
    user = membership.user
    if may_create_projects(user):
        return
    permission = Permission.objects.get(
        content_type__app_label="annotations", codename="add_project"
    )
    user.user_permissions.add(permission)
    record_event(
        actor=access.user,
        project=access.project,
        action="grant",
        obj=membership,
        after={"user": user.get_username(), "permission": CREATE_PROJECTS_PERMISSION},
    )


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


def add_person(*, access: Access, name_or_email: str, role: str) -> Membership:
    """A manager adds the one person whose username or e-mail address is given."""
    _require_manager(access)
    value = name_or_email.strip()
    found = list(User.objects.filter(Q(username=value) | Q(email__iexact=value))[:2])
    if not found:
        raise ValidationError(
            {"person": ["nobody has this username or e-mail: invite them with a link"]}
        )
    if len(found) > 1:
        raise ValidationError({"person": ["several people have this e-mail: give the username"]})
    existing = Membership.objects.filter(project=access.project, user=found[0]).first()
    if existing is not None:
        raise ValidationError(
            {"person": [f"is a member already ({existing.role}): change the role in the list"]}
        )
    return invite_member(access=access, user=found[0], role=role)


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
