"""Starting projects (who may), changing their settings (audited), archiving them, and
adding members by username or e-mail."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from annotations.access import resolve_access
from annotations.models import AuditEvent, LabelType, Membership, Project, Role
from annotations.services.projects import (
    add_person,
    change_member_role,
    grant_project_creation,
    start_project,
    update_project_settings,
)
from tests.access import project_access
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def grant_create(user) -> User:
    user.user_permissions.add(Permission.objects.get(codename="add_project"))
    return User.objects.get(pk=user.pk)  # a fresh object: permissions are cached per object


def test_staff_start_a_project_and_become_its_manager_with_the_preset_schema():
    staff = UserFactory(username="lead", is_staff=True)

    project = start_project(
        user=staff, name="Kabul claims", slug="kabul", description="Who said what", overlap=3
    )

    assert (project.description, project.overlap, project.blind) == ("Who said what", 3, True)
    assert Membership.objects.get(project=project, user=staff).role == Role.MANAGER
    assert set(LabelType.objects.filter(project=project).values_list("name", flat=True)) == {
        "claim",
        "source",
        "sentiment",
        "attributed_to",
    }


def test_the_can_create_projects_permission_lets_a_non_staff_user_start_one():
    person = grant_create(UserFactory(username="researcher"))

    project = start_project(user=person, name="Mine", slug="mine")

    assert project.memberships.get().user == person


def test_anyone_else_may_not_start_a_project():
    with pytest.raises(PermissionDenied, match="can create projects"):
        start_project(user=UserFactory(), name="Nope", slug="nope")
    assert not Project.objects.filter(slug="nope").exists()


@pytest.mark.parametrize(
    ("slug", "field", "reason"),
    [
        ("has space", "slug", "letters, digits, hyphens"),
        ("", "slug", "short name"),
        ("panjshir", "slug", "exists already"),
    ],
)
def test_bad_or_taken_slugs_are_refused_naming_the_field(cast, slug, field, reason):
    staff = UserFactory(is_staff=True)

    with pytest.raises(ValidationError) as refused:
        start_project(user=staff, name="Another", slug=slug)

    assert reason in " ".join(refused.value.message_dict[field])


def test_settings_changes_are_audited_with_before_and_after(cast):
    access = project_access(cast.manager, cast.project)

    update_project_settings(
        access=access, name="Panjshir 2021", overlap=3, blind=False, guidelines="# Mark claims"
    )

    project = Project.objects.get(pk=cast.project.pk)
    assert (project.name, project.overlap, project.blind) == ("Panjshir 2021", 3, False)
    event = AuditEvent.objects.get(action="settings")
    assert event.actor == cast.manager
    assert event.before == {"name": "Panjshir", "overlap": 2, "blind": True, "guidelines": ""}
    assert event.after == {
        "name": "Panjshir 2021",
        "overlap": 3,
        "blind": False,
        "guidelines": "# Mark claims",
    }


def test_saving_unchanged_settings_records_nothing(cast):
    update_project_settings(
        access=project_access(cast.manager, cast.project), name="Panjshir", overlap=2
    )

    assert not AuditEvent.objects.filter(action="settings").exists()


@pytest.mark.parametrize(("overlap", "reason"), [(0, "between 1 and 100"), (101, "between")])
def test_k_out_of_range_is_refused(cast, overlap, reason):
    with pytest.raises(ValidationError, match=reason):
        update_project_settings(access=project_access(cast.manager, cast.project), overlap=overlap)


@pytest.mark.parametrize("who", ["reviewer", "alice"])
def test_only_managers_change_settings(cast, who):
    with pytest.raises(PermissionDenied, match="managers"):
        update_project_settings(
            access=project_access(getattr(cast, who), cast.project), name="Mine now"
        )


def test_archive_refuses_writes_and_unarchive_allows_them_again(cast):
    update_project_settings(access=project_access(cast.manager, cast.project), archived=True)

    # Reading an archived project still works; changing anything in it does not.
    assert resolve_access(cast.alice, slug="panjshir").project.archived_at is not None
    with pytest.raises(PermissionDenied, match="archived"):
        resolve_access(cast.alice, slug="panjshir", writing=True)
    with pytest.raises(PermissionDenied, match="archived"):
        resolve_access(cast.manager, slug="panjshir", writing=True)

    update_project_settings(access=project_access(cast.manager, cast.project), archived=False)

    assert resolve_access(cast.manager, slug="panjshir", writing=True).role == Role.MANAGER
    assert [e.after for e in AuditEvent.objects.filter(action="settings").order_by("pk")] == [
        {"archived": True},
        {"archived": False},
    ]


def test_an_archived_projects_settings_stay_as_they_are_until_it_is_unarchived(cast):
    access = project_access(cast.manager, cast.project)
    update_project_settings(access=access, archived=True)

    with pytest.raises(PermissionDenied, match="archived"):
        update_project_settings(access=project_access(cast.manager, cast.project), overlap=3)
    project = update_project_settings(
        access=project_access(cast.manager, cast.project), archived=False, overlap=3
    )

    assert (project.overlap, project.archived_at) == (3, None)


def test_an_outsider_writing_to_an_archived_project_still_gets_404(cast):
    update_project_settings(access=project_access(cast.manager, cast.project), archived=True)

    with pytest.raises(Http404):
        resolve_access(cast.outsider, slug="panjshir", writing=True)


def test_a_manager_who_may_create_projects_grants_it_to_a_member(cast):
    staff_manager = UserFactory(username="lead", is_staff=True)
    Membership.objects.create(project=cast.project, user=staff_manager, role=Role.MANAGER)
    alice = Membership.objects.get(project=cast.project, user=cast.alice)

    grant_project_creation(access=project_access(staff_manager, cast.project), membership=alice)

    assert User.objects.get(pk=cast.alice.pk).has_perm("annotations.add_project")
    event = AuditEvent.objects.get(action="grant")
    assert event.after == {"user": "alice", "permission": "annotations.add_project"}


def test_a_manager_who_may_not_create_projects_cannot_grant_it(cast):
    alice = Membership.objects.get(project=cast.project, user=cast.alice)

    with pytest.raises(PermissionDenied):
        grant_project_creation(access=project_access(cast.manager, cast.project), membership=alice)


def test_a_manager_adds_a_person_by_e_mail_whatever_its_case(cast):
    dana = UserFactory(username="dana", email="Dana@Example.org")

    membership = add_person(
        access=project_access(cast.manager, cast.project),
        name_or_email="dana@example.org",
        role=Role.REVIEWER,
    )

    assert (membership.user, membership.role) == (dana, Role.REVIEWER)
    assert AuditEvent.objects.filter(object_type="membership", action="create").exists()


@pytest.mark.parametrize(
    ("person", "reason"),
    [("nobody", "invite them"), ("alice", "member already"), ("shared@example.org", "several")],
)
def test_adding_an_unknown_ambiguous_or_present_person_is_refused(cast, person, reason):
    UserFactory(username="x1", email="shared@example.org")
    UserFactory(username="x2", email="shared@example.org")

    with pytest.raises(ValidationError) as refused:
        add_person(
            access=project_access(cast.manager, cast.project),
            name_or_email=person,
            role=Role.ANNOTATOR,
        )

    assert reason in " ".join(refused.value.message_dict["person"])


def test_the_last_manager_cannot_step_down(cast):
    manager = Membership.objects.get(project=cast.project, user=cast.manager)

    with pytest.raises(ValidationError, match="at least one manager"):
        change_member_role(
            access=project_access(cast.manager, cast.project),
            membership=manager,
            role=Role.ANNOTATOR,
        )


def test_submit_checks_are_set_in_a_fixed_order_and_unknown_ones_refused(cast):
    access = project_access(cast.manager, cast.project)
    assert cast.project.submit_checks == ["empty", "unlinked"]

    # The same checks in another order change nothing, and nothing is audited.
    project = update_project_settings(access=access, submit_checks=["unlinked", "empty"])
    assert project.submit_checks == ["empty", "unlinked"]
    assert not AuditEvent.objects.filter(action="settings").exists()
    project = update_project_settings(access=access, submit_checks=[])
    assert Project.objects.get(pk=project.pk).submit_checks == []

    with pytest.raises(ValidationError) as refused:
        update_project_settings(access=access, submit_checks=["empty", "spelling"])
    assert "unknown check spelling" in str(refused.value.message_dict["submit_checks"])
    with pytest.raises(ValidationError):
        update_project_settings(access=access, submit_checks="empty")
    assert AuditEvent.objects.filter(action="settings").count() == 1
