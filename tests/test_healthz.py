from __future__ import annotations

import socket
import time

import pytest
from django.db import connection, connections


@pytest.fixture
def silent_server():
    """A TCP port that takes connections and never answers: a frozen server (SIGSTOP)."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield server.getsockname()[1]


def timed_get(client, path):
    began = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - began


@pytest.mark.worker
def test_healthz_is_200_and_names_the_worker_when_every_part_answers(client, live_worker):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["workers"].startswith("1 answering: ")
    assert body["status"] == "ok"


@pytest.mark.django_db
def test_healthz_is_503_when_no_worker_answers(client):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 503
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["workers"] == "down: no worker answering: jobs wait in the queue until one starts"


@pytest.mark.django_db
def test_healthz_is_503_at_once_when_the_broker_is_down(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response, seconds = timed_get(client, "/healthz")

    assert response.status_code == 503
    assert response.json()["broker"].startswith("down:")
    assert response.json()["status"] == "unhealthy"
    assert seconds < 2


@pytest.mark.django_db
def test_healthz_answers_within_two_seconds_when_the_broker_is_frozen(
    client, settings, silent_server
):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent_server}/0"

    response, seconds = timed_get(client, "/healthz")

    assert seconds < 2
    assert response.status_code == 503
    assert response.json()["broker"] == "down: no answer within 1.5 s"
    assert response.json()["database"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_within_two_seconds_when_the_database_is_frozen(
    client, silent_server, monkeypatch
):
    # New connections (the probe opens its own) go to a server that never answers.
    monkeypatch.setitem(connections.settings["default"], "PORT", str(silent_server))

    response, seconds = timed_get(client, "/healthz")

    assert seconds < 2
    assert response.status_code == 503
    assert response.json()["database"] == "down: no answer within 1.5 s"


@pytest.mark.django_db
def test_the_test_suite_runs_on_postgresql_through_psycopg_3():
    assert connection.vendor == "postgresql"
    assert connection.Database.__name__ == "psycopg"
