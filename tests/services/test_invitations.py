"""Invitation links: made by managers, used once, expiring, never showing a password."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from annotations.models import AuditEvent, Invitation, Membership, Role
from annotations.services import invitations as service
from tests.access import project_access
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase"


def invite(cast, role=Role.ANNOTATOR, email=""):
    return service.create_invitation(
        access=project_access(cast.manager, cast.project), role=role, email=email
    )


def test_only_the_digest_of_the_key_is_stored_and_it_expires_after_the_configured_days(
    cast, settings
):
    settings.INVITATION_DAYS = 3

    invitation, key = invite(cast)

    assert key not in invitation.digest
    assert len(invitation.digest) == 64
    assert invitation.expires_at - timezone.now() == pytest.approx(
        timedelta(days=3), abs=timedelta(seconds=10)
    )
    assert AuditEvent.objects.get(action="invite").after["role"] == "annotator"


def test_accepting_makes_the_account_with_the_chosen_password_and_the_role(cast, client):
    _, key = invite(cast, role=Role.REVIEWER)

    user = service.accept_as_new_user(key=key, username="dana", password=PASSWORD)

    assert Membership.objects.get(project=cast.project, user=user).role == Role.REVIEWER
    assert User.objects.get(username="dana").check_password(PASSWORD)
    signed_in = client.post("/accounts/login/", {"username": "dana", "password": PASSWORD})
    assert signed_in.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.used_by == user
    assert invitation.used_at is not None
    assert AuditEvent.objects.filter(action="accept", actor=user).exists()


def test_an_invitation_works_once(cast):
    _, key = invite(cast)
    service.accept_as_new_user(key=key, username="dana", password=PASSWORD)

    with pytest.raises(service.InvitationUnusable) as refused:
        service.accept_as_new_user(key=key, username="erin", password=PASSWORD)

    assert refused.value.status == 410
    assert "used already" in refused.value.message
    assert not User.objects.filter(username="erin").exists()


def test_an_expired_invitation_is_refused(cast):
    invitation, key = invite(cast)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())

    with pytest.raises(service.InvitationUnusable) as refused:
        service.accept_as_new_user(key=key, username="dana", password=PASSWORD)

    assert (refused.value.status, "expired" in refused.value.message) == (410, True)


def test_an_unknown_key_is_refused():
    with pytest.raises(service.InvitationUnusable) as refused:
        service.find_invitation("not-a-key")

    assert refused.value.status == 404


@pytest.mark.parametrize(
    ("username", "password", "field", "reason"),
    [
        ("alice", PASSWORD, "username", "taken"),
        ("bad name!", PASSWORD, "username", "valid username"),
        ("dana", "short", "password", "too short"),
        ("dana", "password123", "password", "too common"),
    ],
)
def test_bad_usernames_and_weak_passwords_are_refused_and_leave_the_link_usable(
    cast, username, password, field, reason
):
    _, key = invite(cast)

    with pytest.raises(ValidationError) as refused:
        service.accept_as_new_user(key=key, username=username, password=password)

    assert reason in " ".join(refused.value.message_dict[field])
    assert service.find_invitation(key).used_at is None


def test_a_signed_in_person_joins_with_the_role(cast):
    _, key = invite(cast, role=Role.REVIEWER)
    person = UserFactory(username="frank")

    membership = service.accept_as_member(key=key, user=person)

    assert (membership.project, membership.role) == (cast.project, Role.REVIEWER)


def test_a_member_already_cannot_use_an_invitation_to_change_their_role(cast):
    _, key = invite(cast, role=Role.MANAGER)

    with pytest.raises(ValidationError, match="member of this project already"):
        service.accept_as_member(key=key, user=cast.alice)

    assert Membership.objects.get(project=cast.project, user=cast.alice).role == Role.ANNOTATOR


def test_the_link_is_mailed_when_an_address_is_given(cast):
    invitation, key = invite(cast, email="dana@example.org")

    service.send_invitation(invitation, f"http://testserver/invite/{key}/")

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["dana@example.org"]
    assert f"/invite/{key}/" in mail.outbox[0].body


def test_revoked_invitations_stop_working(cast):
    invitation, key = invite(cast)

    service.revoke_invitation(
        access=project_access(cast.manager, cast.project), invitation_id=invitation.pk
    )

    with pytest.raises(service.InvitationUnusable):
        service.find_invitation(key)
    assert AuditEvent.objects.filter(action="revoke").exists()


@pytest.mark.parametrize("who", ["reviewer", "alice"])
def test_only_managers_invite(cast, who):
    with pytest.raises(PermissionDenied):
        service.create_invitation(
            access=project_access(getattr(cast, who), cast.project), role=Role.ANNOTATOR
        )


def test_open_invitations_leave_out_used_and_expired_ones(cast):
    _used, used_key = invite(cast)
    service.accept_as_new_user(key=used_key, username="dana", password=PASSWORD)
    expired, _ = invite(cast)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    still_open, _ = invite(cast)

    listed = service.open_invitations(project_access(cast.manager, cast.project))

    assert listed == [still_open]
