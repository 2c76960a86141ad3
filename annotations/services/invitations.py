"""Invitations: single-use, expiring links through which people join a project.

A manager makes one with a role (and, if they like, an e-mail address it is sent to); its
key is known once, when it is made, and only its SHA-256 is stored, as for API tokens.
Whoever opens the link either makes an account (choosing a username and their own
password) or, signed in already, joins with the role. Managers never see a password.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from annotations.access import Access
from annotations.models import ApiToken, Invitation, Membership, Role
from annotations.services.audit import record_event
from annotations.services.projects import MANAGERS_ONLY_MESSAGE, add_member


class InvitationUnusable(Exception):
    """The key names no invitation (404), or one that was used or has expired (410)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


UNKNOWN_MESSAGE = "This invitation link is not valid: check that it was copied whole."
USED_MESSAGE = "This invitation has been used already: each link works once."
EXPIRED_MESSAGE = "This invitation has expired: ask the project's manager for a new one."


def _snapshot(invitation: Invitation) -> dict[str, str]:
    return {
        "role": invitation.role,
        "email": invitation.email,
        "expires_at": invitation.expires_at.isoformat(),
    }


def _audit(access: Access, action: str, invitation: Invitation, **change: Any) -> None:
    record_event(actor=access.user, project=access.project, action=action, obj=invitation, **change)


@transaction.atomic
def create_invitation(*, access: Access, role: str, email: str = "") -> tuple[Invitation, str]:
    """A manager invites someone with ``role``; returns the invitation and its key, the
    only time the key is known. It expires after ``settings.INVITATION_DAYS``."""
    access.require((Role.MANAGER,), MANAGERS_ONLY_MESSAGE)
    if role not in Role.values:
        raise ValidationError({"role": [f"must be one of: {', '.join(Role.values)}"]})
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError({"email": ["is not an e-mail address"]}) from None
    key = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        project=access.project,
        role=role,
        email=email,
        digest=ApiToken.digest_of(key),
        created_by=access.user,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_DAYS),
    )
    _audit(access, "invite", invitation, after=_snapshot(invitation))
    return invitation, key


def send_invitation(invitation: Invitation, link: str) -> None:
    """Mail the link to the address the invitation names (nothing without one)."""
    if not invitation.email:
        return
    project = invitation.project
    send_mail(
        subject=f"You are invited to {project.name}",
        message=(
            f"You are invited to join the annotation project {project.name!r} "
            f"as {invitation.role}.\n\nOpen this link to choose a username and a password:\n"
            f"{link}\n\nThe link works once and expires on "
            f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )


def open_invitations(access: Access) -> list[Invitation]:
    """The project's invitations that can still be used, newest first (managers)."""
    access.require((Role.MANAGER,), MANAGERS_ONLY_MESSAGE)
    return list(
        Invitation.objects.filter(
            project=access.project, used_at__isnull=True, expires_at__gt=timezone.now()
        ).select_related("created_by")
    )


@transaction.atomic
def revoke_invitation(*, access: Access, invitation_id: int) -> None:
    """A manager withdraws an invitation of their project: its link stops working."""
    access.require((Role.MANAGER,), MANAGERS_ONLY_MESSAGE)
    invitation = (
        Invitation.objects.select_for_update()
        .filter(pk=invitation_id, project=access.project)
        .first()
    )
    if invitation is None:
        raise Invitation.DoesNotExist("No such invitation.")
    _audit(access, "revoke", invitation, before=_snapshot(invitation))
    invitation.delete()


def find_invitation(key: str, *, for_update: bool = False) -> Invitation:
    """The usable invitation whose key is ``key``, or InvitationUnusable saying why not."""
    invitations = Invitation.objects.select_related("project")
    if for_update:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(digest=ApiToken.digest_of(key)).first()
    if invitation is None:
        raise InvitationUnusable(UNKNOWN_MESSAGE, 404)
    if invitation.used_at is not None:
        raise InvitationUnusable(USED_MESSAGE, 410)
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusable(EXPIRED_MESSAGE, 410)
    return invitation


def _use(invitation: Invitation, user: User) -> Membership:
    invitation.used_at = timezone.now()
    invitation.used_by = user
    invitation.save(update_fields=["used_at", "used_by"])
    membership = add_member(project=invitation.project, user=user, role=invitation.role, actor=user)
    record_event(
        actor=user,
        project=invitation.project,
        action="accept",
        obj=invitation,
        after={"user": user.get_username(), "role": invitation.role},
    )
    return membership


@transaction.atomic
def accept_as_new_user(*, key: str, username: str, password: str) -> User:
    """Make an account with the username and password its owner chose, in the project
    with the invitation's role. The invitation is used up."""
    invitation = find_invitation(key, for_update=True)
    username = username.strip()
    user = User(username=username, email=invitation.email)
    errors: dict[str, list[str]] = {}
    try:
        user.clean_fields(exclude=["password", "email"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if username and User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["this username is taken: choose another"]
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    _use(invitation, user)
    return user


@transaction.atomic
def accept_as_member(*, key: str, user: User) -> Membership:
    """A signed-in person joins the project with the invitation's role."""
    invitation = find_invitation(key, for_update=True)
    existing = Membership.objects.filter(project=invitation.project, user=user).first()
    if existing is not None:
        raise ValidationError(
            {"invitation": [f"you are a member of this project already ({existing.role})"]}
        )
    return _use(invitation, user)
