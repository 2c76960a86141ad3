"""The members page (managers only) and the pages an invitation link opens."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from annotations.models import AuditEvent, Invitation, Membership, Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MEMBERS = "/projects/panjshir/members/"
PASSWORD = "a long enough passphrase"


def membership(cast, user) -> Membership:
    return Membership.objects.get(project=cast.project, user=user)


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [("outsider", 404, 404), ("alice", 404, 404), ("reviewer", 404, 404), ("manager", 200, 302)],
)
def test_only_managers_reach_the_members_page(client, cast, who, read, write):
    client.force_login(getattr(cast, who))

    added = client.post(MEMBERS, {"action": "add", "person": "outsider", "role": "annotator"})

    assert client.get(MEMBERS).status_code == read
    assert added.status_code == write


def test_the_page_lists_members_with_their_role(client, cast):
    client.force_login(cast.manager)

    page = client.get(MEMBERS).content.decode()

    for name in ("alice", "bob", "reviewer", "manager"):
        assert f'data-member="{name}"' in page


def test_a_manager_adds_an_existing_person_by_e_mail(client, cast):
    UserFactory(username="dana", email="Dana@Example.org")
    client.force_login(cast.manager)

    response = client.post(
        MEMBERS, {"action": "add", "person": "dana@example.org", "role": "reviewer"}
    )

    assert response.status_code == 302
    assert Membership.objects.get(project=cast.project, user__username="dana").role == "reviewer"


def test_an_unknown_person_is_refused_next_to_the_field(client, cast):
    client.force_login(cast.manager)

    response = client.post(MEMBERS, {"action": "add", "person": "nobody", "role": "annotator"})

    assert response.status_code == 400
    assert 'id="id_person-error"' in response.content.decode()
    assert "invite them" in response.content.decode()


def test_a_manager_changes_a_role_and_removes_a_member(client, cast):
    client.force_login(cast.manager)

    client.post(
        MEMBERS, {"action": "role", "member": membership(cast, cast.alice).pk, "role": "reviewer"}
    )
    client.post(MEMBERS, {"action": "remove", "member": membership(cast, cast.bob).pk})

    assert membership(cast, cast.alice).role == Role.REVIEWER
    assert not Membership.objects.filter(project=cast.project, user=cast.bob).exists()
    assert AuditEvent.objects.filter(object_type="membership", action="delete").exists()


def test_the_last_manager_cannot_step_down_and_is_told_why(client, cast):
    client.force_login(cast.manager)

    response = client.post(
        MEMBERS,
        {"action": "role", "member": membership(cast, cast.manager).pk, "role": "annotator"},
    )

    assert response.status_code == 400
    assert "at least one manager" in response.content.decode()
    assert membership(cast, cast.manager).role == Role.MANAGER


def test_a_staff_manager_grants_can_create_projects(client, cast):
    User.objects.filter(pk=cast.manager.pk).update(is_staff=True)
    client.force_login(cast.manager)

    page = client.get(MEMBERS).content.decode()
    client.post(MEMBERS, {"action": "grant", "member": membership(cast, cast.alice).pk})

    assert "Let create projects" in page
    assert User.objects.get(pk=cast.alice.pk).has_perm("annotations.add_project")


def test_a_manager_who_may_not_create_projects_is_not_offered_the_grant(client, cast):
    client.force_login(cast.manager)

    assert "Let create projects" not in client.get(MEMBERS).content.decode()


def make_link(client, cast, role="annotator", email="") -> str:
    client.force_login(cast.manager)
    response = client.post(MEMBERS, {"action": "invite", "role": role, "email": email})
    found = re.search(r'<code id="invitation-link">([^<]+)</code>', response.content.decode())
    assert found, response.content.decode()
    client.logout()
    return found.group(1).removeprefix("http://testserver")


def test_an_invitation_link_is_shown_once_and_mailed_when_an_address_is_given(client, cast):
    link = make_link(client, cast, email="dana@example.org")
    client.force_login(cast.manager)

    page = client.get(MEMBERS).content.decode()

    assert link not in page
    assert 'id="open-invitations"' in page
    assert link in mail.outbox[0].body


def test_a_newcomer_sets_a_password_and_lands_in_the_project(client, cast):
    link = make_link(client, cast, role="reviewer")

    form = client.get(link)
    joined = client.post(
        link, {"username": "dana", "password": PASSWORD, "password_again": PASSWORD}
    )

    assert form.status_code == 200
    assert joined.status_code == 302
    assert joined["Location"] == "/projects/panjshir/"
    assert client.get("/projects/panjshir/dashboard/").status_code == 200  # signed in, reviewer
    dana = User.objects.get(username="dana")
    assert dana.check_password(PASSWORD)
    assert membership(cast, dana).role == Role.REVIEWER


def test_a_weak_password_is_shown_next_to_its_field(client, cast):
    link = make_link(client, cast)

    response = client.post(link, {"username": "dana", "password": "1234", "password_again": "1234"})

    assert response.status_code == 400
    assert 'id="id_password-error"' in response.content.decode()
    assert not User.objects.filter(username="dana").exists()


def test_a_signed_in_person_joins_with_one_click(client, cast):
    link = make_link(client, cast)
    frank = UserFactory(username="frank")
    client.force_login(frank)

    response = client.post(link)

    assert response.status_code == 302
    assert membership(cast, frank).role == Role.ANNOTATOR


def test_used_expired_and_unknown_links_get_a_clear_page(client, cast):
    used = make_link(client, cast)
    client.post(used, {"username": "dana", "password": PASSWORD, "password_again": PASSWORD})
    client.logout()
    expired = make_link(client, cast)
    Invitation.objects.filter(used_at__isnull=True).update(expires_at=timezone.now() - timedelta(1))

    answers = [client.get(link) for link in (used, expired, "/invite/not-a-key/")]

    assert [a.status_code for a in answers] == [410, 410, 404]
    assert "used already" in answers[0].content.decode()
    assert "expired" in answers[1].content.decode()
    assert "not valid" in answers[2].content.decode()


def test_a_withdrawn_invitation_stops_working(client, cast):
    link = make_link(client, cast)
    client.force_login(cast.manager)

    client.post(MEMBERS, {"action": "revoke", "invitation": Invitation.objects.get().pk})

    client.logout()
    assert client.get(link).status_code == 404
