"""The account page: people make, rotate and revoke their own API tokens there."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from annotations.models import ApiToken
from annotations.services.tokens import create_token

pytestmark = pytest.mark.django_db


def new_key(response) -> str:
    found = re.search(r'<code id="new-key-value">([^<]+)</code>', response.content.decode())
    assert found, response.content.decode()
    return found.group(1)


def works(key: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/projects/").status_code == 200


def test_a_new_token_is_shown_once_then_listed_by_its_first_characters(client, cast):
    client.force_login(cast.alice)

    made = client.post("/account/", {"action": "create", "name": "nightly export"})

    assert made.status_code == 200
    key = new_key(made)
    assert works(key)
    listed = client.get("/account/").content.decode()
    assert key not in listed
    assert f"<code>{key[:8]}…</code>" in listed
    assert "nightly export" in listed


def test_rotating_shows_the_new_key_and_the_old_one_stops_working(client, cast):
    token, old_key = create_token(user=cast.alice, name="a script")
    client.force_login(cast.alice)

    rotated = client.post("/account/", {"action": "rotate", "token": token.pk})

    assert not works(old_key)
    assert works(new_key(rotated))


def test_revoking_takes_effect_at_once(client, cast):
    token, key = create_token(user=cast.alice, name="a script")
    client.force_login(cast.alice)

    revoked = client.post("/account/", {"action": "revoke", "token": token.pk}, follow=True)

    assert "no longer works" in revoked.content.decode()
    assert not works(key)
    assert not ApiToken.objects.exists()


def test_nobody_sees_or_touches_another_persons_tokens(client, cast):
    token, key = create_token(user=cast.alice, name="alice's script")
    client.force_login(cast.bob)

    assert "alice's script" not in client.get("/account/").content.decode()
    assert client.post("/account/", {"action": "revoke", "token": token.pk}).status_code == 404
    assert client.post("/account/", {"action": "rotate", "token": token.pk}).status_code == 404
    assert works(key)


def test_a_token_without_a_name_is_refused_with_the_reason(client, cast):
    client.force_login(cast.alice)

    refused = client.post("/account/", {"action": "create", "name": " "})

    assert refused.status_code == 400
    assert "give the token a name" in refused.content.decode()
    assert not ApiToken.objects.exists()


def test_signing_in_comes_first(client):
    response = client.get("/account/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
