"""Scripts sign in with a token, the page with its session and a CSRF token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_anonymous_callers_are_refused(world):
    response = APIClient().get(f"/api/layers/{world.alice_layer.pk}/")

    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_a_script_trades_its_password_for_a_token_and_uses_it(world):
    client = APIClient()
    token = client.post(
        "/api/auth/token/",
        {"username": "alice", "password": "correct horse battery"},
        format="json",
    )
    assert token.status_code == 200

    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert client.get(f"/api/layers/{world.alice_layer.pk}/").status_code == 200


def test_a_wrong_password_gets_no_token(world):
    response = APIClient().post(
        "/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json"
    )

    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_a_bad_token_is_refused(world):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")

    assert client.get("/api/projects/").status_code == 403


def test_session_writes_need_the_csrf_token(world):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.cast.alice)
    url = f"/api/layers/{world.alice_layer.pk}/spans/"
    body = {"label": "claim", "start": 0, "end": 5}

    refused = client.post(url, body, format="json")
    client.cookies["csrftoken"] = "k" * 32
    accepted = client.post(url, body, format="json", HTTP_X_CSRFTOKEN="k" * 32)

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert accepted.status_code == 201
    assert client.get(f"/api/layers/{world.alice_layer.pk}/").status_code == 200
