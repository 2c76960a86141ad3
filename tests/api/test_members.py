from __future__ import annotations

import pytest

from annotations.models import AuditEvent, Membership, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MEMBERS = "/api/projects/panjshir/members/"


def test_manager_lists_members_and_filters_by_role(cast, api):
    manager = api(cast.manager)

    everyone = manager.get(MEMBERS).json()["results"]
    annotators = manager.get(MEMBERS, {"role": "annotator"}).json()["results"]

    assert [(m["username"], m["role"]) for m in everyone] == [
        ("alice", "annotator"),
        ("bob", "annotator"),
        ("manager", "manager"),
        ("reviewer", "reviewer"),
    ]
    assert [m["username"] for m in annotators] == ["alice", "bob"]


def test_manager_adds_a_member(cast, api):
    UserFactory(username="carol")

    response = api(cast.manager).post(
        MEMBERS, {"username": "carol", "role": "reviewer"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["role"] == "reviewer"
    assert Membership.objects.get(project=cast.project, user__username="carol").role == "reviewer"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "nobody", "role": "annotator"}, "username"),
        ({"username": "alice", "role": "annotator"}, "username"),
        ({"username": "outsider", "role": "owner"}, "role"),
    ],
)
def test_bad_new_member_is_refused(cast, api, body, field):
    response = api(cast.manager).post(MEMBERS, body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_manager_changes_a_role_and_the_change_is_audited(cast, api):
    response = api(cast.manager).patch(f"{MEMBERS}alice/", {"role": "reviewer"}, format="json")

    assert response.status_code == 200
    assert response.json()["role"] == "reviewer"
    event = AuditEvent.objects.filter(object_type="membership", action="update").get()
    assert (event.before, event.after["role"]) == ({"role": "annotator"}, "reviewer")


def test_manager_removes_a_member(cast, api):
    response = api(cast.manager).delete(f"{MEMBERS}bob/")

    assert response.status_code == 204
    assert not Membership.objects.filter(project=cast.project, user=cast.bob).exists()
    assert api(cast.bob).get("/api/projects/panjshir/").status_code == 404


def test_the_last_manager_can_neither_leave_nor_step_down(cast, api):
    manager = api(cast.manager)

    demote = manager.patch(f"{MEMBERS}manager/", {"role": "annotator"}, format="json")
    leave = manager.delete(f"{MEMBERS}manager/")

    assert (demote.status_code, leave.status_code) == (400, 400)
    assert demote.json() == {"role": ["the project needs at least one manager"]}
    assert Membership.objects.get(project=cast.project, user=cast.manager).role == Role.MANAGER


def test_with_two_managers_one_may_step_down(cast, api):
    api(cast.manager).patch(f"{MEMBERS}reviewer/", {"role": "manager"}, format="json")

    response = api(cast.manager).patch(f"{MEMBERS}manager/", {"role": "reviewer"}, format="json")

    assert response.status_code == 200


def test_members_other_than_managers_may_not_manage_members(cast, api):
    for user in (cast.reviewer, cast.alice):
        response = api(user).get(MEMBERS)
        assert response.status_code == 403
        assert response.json() == {"detail": "Only the project's managers manage its members."}


def test_unknown_member_is_not_found(cast, api):
    assert api(cast.manager).delete(f"{MEMBERS}outsider/").status_code == 404
