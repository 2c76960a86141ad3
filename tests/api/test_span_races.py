"""Span edits racing each other: the layer's lock orders them, and each edit reads the
span only once it holds the lock, so nothing it did not send is written back stale."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from annotations.models import Span
from annotations.services import layers
from tests.access import layer_access

pytestmark = pytest.mark.django_db(transaction=True)

# How long to wait for the second edit to queue behind the first one's lock.
WAIT_SECONDS = 10


def wait_for_a_blocked_query():
    """Return once some connection waits for a row lock (the second edit)."""
    deadline = time.monotonic() + WAIT_SECONDS
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second edit never waited for the first one's lock")


def in_thread(work):
    """Start ``work()`` in a thread with its own connection; join() gives its outcome."""
    outcome = {}

    def target():
        try:
            outcome["value"] = work()
        except Exception as exc:  # The outcome under test, whatever it is.
            outcome["value"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()

    def join():
        thread.join(WAIT_SECONDS)
        assert not thread.is_alive()
        return outcome["value"]

    return join


def make_span(world):
    return layers.create_span(
        access=layer_access(world.cast.alice, world.alice_layer), label="claim", start=0, end=11
    )


def test_two_versionless_edits_of_different_fields_both_survive(world, api):
    span = make_span(world)
    client = api(world.cast.alice)
    url = f"/api/layers/{world.alice_layer.pk}/spans/{span.pk}/"

    # The first edit holds the layer's lock while the second one starts and queues.
    with transaction.atomic():
        layers.update_span(
            access=layer_access(world.cast.alice, world.alice_layer), span_id=span.pk, end=12
        )
        second = in_thread(lambda: client.patch(url, {"label": "source"}, format="json"))
        wait_for_a_blocked_query()

    response = second()
    assert response.status_code == 200, response.json()
    stored = Span.objects.get(pk=span.pk)
    assert (stored.label.name, stored.start, stored.end) == ("source", 0, 12)
    assert stored.quote == world.document.text[0:12]


def test_an_edit_of_a_span_deleted_meanwhile_is_404(world, api):
    span = make_span(world)
    client = api(world.cast.alice)
    url = f"/api/layers/{world.alice_layer.pk}/spans/{span.pk}/"

    with transaction.atomic():
        layers.delete_span(
            access=layer_access(world.cast.alice, world.alice_layer), span_id=span.pk
        )
        edit = in_thread(lambda: client.patch(url, {"end": 12}, format="json"))
        wait_for_a_blocked_query()

    response = edit()
    assert response.status_code == 404
    assert response.json() == {"detail": "No such span."}
    assert not Span.objects.filter(pk=span.pk).exists()
