"""Scripts sign in with a token, the page with its session and a CSRF token."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotations.models import ApiToken

pytestmark = pytest.mark.django_db


def test_anonymous_callers_are_refused(world):
    response = APIClient().get(f"/api/layers/{world.alice_layer.pk}/")

    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def ask_for_token(password: str, address: str = "192.0.2.1", username: str = "alice"):
    return APIClient().post(
        "/api/auth/token/",
        {"username": username, "password": password, "name": "nightly export"},
        format="json",
        REMOTE_ADDR=address,
    )


def test_a_script_trades_its_password_for_a_new_token_and_uses_it(world):
    made = ask_for_token("correct horse battery")
    assert made.status_code == 201
    assert made.json()["name"] == "nightly export"

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {made.json()['token']}")
    assert client.get(f"/api/layers/{world.alice_layer.pk}/").status_code == 200
    # Each call makes a token: the database never held the first key to give it back.
    assert ask_for_token("correct horse battery").json()["token"] != made.json()["token"]
    assert ApiToken.objects.filter(user=world.cast.alice).count() == 2


def test_a_wrong_password_gets_no_token(world):
    response = ask_for_token("wrong")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}
    assert not ApiToken.objects.exists()


def test_an_address_asking_too_often_is_told_when_to_come_back(world):
    for _ in range(10):
        assert ask_for_token("correct horse battery", address="198.51.100.7").status_code == 201

    throttled = ask_for_token("correct horse battery", address="198.51.100.7")

    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert ask_for_token("correct horse battery", address="203.0.113.9").status_code == 201


def test_an_account_locked_after_failed_sign_ins_gets_no_token_even_with_its_password(world):
    for number in range(10):  # from many addresses: the address throttle never trips
        ask_for_token("wrong", address=f"198.51.100.{number}")

    locked = ask_for_token("correct horse battery", address="203.0.113.9")

    assert locked.status_code == 429
    assert locked["Retry-After"] == str(15 * 60)
    assert "Too many failed sign-ins" in locked.json()["detail"]
    assert not ApiToken.objects.exists()


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
