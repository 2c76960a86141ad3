"""API tokens: a key is shown once, only its digest is kept, rotate and revoke take
effect at once, and nobody touches another person's tokens."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from annotations.access import token_with_user
from annotations.models import ApiToken, AuditEvent
from annotations.services.tokens import (
    MAX_TOKENS_PER_USER,
    create_token,
    revoke_token,
    rotate_token,
)

pytestmark = pytest.mark.django_db


def test_a_new_token_signs_in_its_owner_and_the_database_keeps_no_key(cast):
    token, key = create_token(user=cast.alice, name="nightly export")

    assert token_with_user(key).user == cast.alice
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in (stored.digest, stored.prefix, stored.name)
    assert stored.digest == ApiToken.digest_of(key)
    assert stored.prefix == key[:8]
    assert len(key) >= 40  # 256 random bits


def test_rotating_replaces_the_key_and_the_old_one_stops_working(cast):
    old, old_key = create_token(user=cast.alice, name="nightly export")

    new, new_key = rotate_token(user=cast.alice, token_id=old.pk)

    assert token_with_user(old_key) is None
    assert token_with_user(new_key).user == cast.alice
    assert new.name == "nightly export"
    assert list(ApiToken.objects.filter(user=cast.alice)) == [new]
    event = AuditEvent.objects.get(action="token_rotate")
    assert event.actor == cast.alice
    assert event.before == {"name": "nightly export", "prefix": old_key[:8]}


def test_a_revoked_key_stops_working_and_the_revocation_is_audited(cast):
    token, key = create_token(user=cast.alice, name="a script")

    revoke_token(user=cast.alice, token_id=token.pk)

    assert token_with_user(key) is None
    assert AuditEvent.objects.filter(action="token_revoke", actor=cast.alice).count() == 1


def test_nobody_rotates_or_revokes_another_persons_token(cast):
    token, key = create_token(user=cast.alice, name="a script")

    with pytest.raises(ApiToken.DoesNotExist):
        revoke_token(user=cast.bob, token_id=token.pk)
    with pytest.raises(ApiToken.DoesNotExist):
        rotate_token(user=cast.bob, token_id=token.pk)
    assert token_with_user(key).user == cast.alice


@pytest.mark.parametrize(
    ("name", "reason"), [("  ", "give the token a name"), ("x" * 101, "at most 100")]
)
def test_a_token_needs_a_name(cast, name, reason):
    with pytest.raises(ValidationError) as refused:
        create_token(user=cast.alice, name=name)

    assert reason in refused.value.message_dict["name"][0]
    assert not ApiToken.objects.exists()


def test_one_person_holds_a_bounded_number_of_tokens(cast):
    for number in range(MAX_TOKENS_PER_USER):
        create_token(user=cast.alice, name=f"script {number}")

    with pytest.raises(ValidationError) as refused:
        create_token(user=cast.alice, name="one more")

    assert "revoke one first" in refused.value.message_dict["name"][0]
    create_token(user=cast.bob, name="bob's own")
