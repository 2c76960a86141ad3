from __future__ import annotations

import pytest
from django.db import connection


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_a_missing_worker_plainly(client):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["workers"] == "no worker answering: jobs will wait in the queue"


@pytest.mark.worker
def test_healthz_names_the_worker_that_answers(client, live_worker):
    body = client.get("/healthz").json()

    assert body["workers"].startswith("1 answering: ")


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client, settings):
    # Nothing listens on port 1; the check must fail fast rather than hang.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"].startswith("down:")
    assert response.json()["status"] == "unhealthy"


@pytest.mark.django_db
def test_the_test_suite_runs_on_postgresql_through_psycopg_3():
    assert connection.vendor == "postgresql"
    assert connection.Database.__name__ == "psycopg"
