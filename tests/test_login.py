"""Signing in: failed attempts are counted per account and per address, then refused."""

from __future__ import annotations

import pytest
from django.test import Client

from annotations.views.accounts import client_address
from tests.factories import UserFactory

PASSWORD = "correct horse battery"
LIMIT = 10


def sign_in(client: Client, username: str, password: str, address: str = "192.0.2.1"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


def test_the_right_password_signs_in(client, alice):
    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_after_the_limit_even_the_right_password_is_refused_for_a_while(client, alice):
    for _ in range(LIMIT - 1):
        assert sign_in(client, "alice", "guess").status_code == 200  # the form again
    assert sign_in(client, "alice", "guess").status_code == 429  # the last one allowed

    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert "Too many failed sign-ins" in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()


def test_an_account_under_attack_from_many_addresses_is_locked(client, alice):
    for number in range(LIMIT):
        sign_in(client, "alice", "guess", address=f"198.51.100.{number}")

    assert sign_in(client, "alice", PASSWORD, address="203.0.113.9").status_code == 429


def test_an_address_trying_many_accounts_is_locked_and_others_are_not(client, alice):
    UserFactory(username="bob")
    for number in range(LIMIT):
        sign_in(client, f"nobody{number}", "guess", address="198.51.100.7")

    assert sign_in(client, "bob", PASSWORD, address="198.51.100.7").status_code == 429
    assert sign_in(Client(), "bob", PASSWORD, address="203.0.113.9").status_code == 302


def test_behind_proxies_the_address_is_the_one_the_outermost_proxy_saw(rf, settings):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="10.0.0.1, 203.0.113.5, 172.16.0.2")
    request.META["REMOTE_ADDR"] = "127.0.0.1"

    settings.PROXY_COUNT = 0
    assert client_address(request) == "127.0.0.1"
    settings.PROXY_COUNT = 2
    assert client_address(request) == "203.0.113.5"
