"""API tokens: made, rotated and revoked by their owner; only their digests are stored."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from annotations.models import ApiToken
from annotations.services.audit import record_event

# Tokens one person may hold at once: enough for every script, few enough to review.
MAX_TOKENS_PER_USER = 20


def _snapshot(token: ApiToken) -> dict[str, str]:
    return {"name": token.name, "prefix": token.prefix}


def _make(user: User, name: str) -> tuple[ApiToken, str]:
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, digest=ApiToken.digest_of(key), prefix=key[:8]
    )
    return token, key


@transaction.atomic
def create_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user`` and its key, the only time the key is known."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["give the token a name, e.g. the script that uses it"]})
    if len(name) > 100:
        raise ValidationError({"name": ["must be at most 100 characters"]})
    # Lock the user's row: two requests at once cannot both pass the count below.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        raise ValidationError(
            {"name": [f"you hold {MAX_TOKENS_PER_USER} tokens already: revoke one first"]}
        )
    token, key = _make(user, name)
    record_event(actor=user, project=None, action="token_create", obj=token, after=_snapshot(token))
    return token, key


@transaction.atomic
def rotate_token(*, user: User, token_id: int) -> tuple[ApiToken, str]:
    """Replace one of ``user``'s tokens by a new one of the same name: the old key stops
    working at once."""
    old = ApiToken.objects.select_for_update().get(pk=token_id, user=user)
    token, key = _make(user, old.name)
    record_event(
        actor=user,
        project=None,
        action="token_rotate",
        obj=token,
        before=_snapshot(old),
        after=_snapshot(token),
    )
    old.delete()
    return token, key


@transaction.atomic
def revoke_token(*, user: User, token_id: int) -> None:
    token = ApiToken.objects.select_for_update().get(pk=token_id, user=user)
    record_event(
        actor=user, project=None, action="token_revoke", obj=token, before=_snapshot(token)
    )
    token.delete()
