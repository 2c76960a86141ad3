"""Active time reported by the annotation page: the caller's own open assignment only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Assignment
from annotations.services.assignments import MAX_ACTIVITY_REPORT

pytestmark = pytest.mark.django_db


@pytest.fixture
def assigned_an_hour_ago(world):
    Assignment.objects.filter(document__project=world.project).update(
        assigned_at=timezone.now() - timedelta(hours=1)
    )
    return world


def active(world, user):
    return Assignment.objects.get(document=world.document, annotator=user).active_seconds


def report(api, user, layer, seconds):
    return api(user).post(f"/api/layers/{layer.pk}/activity/", {"seconds": seconds}, format="json")


def test_reports_add_up_on_the_callers_assignment(assigned_an_hour_ago, api):
    world = assigned_an_hour_ago
    alice = world.cast.alice

    report(api, alice, world.alice_layer, 30)
    response = report(api, alice, world.alice_layer, 12.5)

    assert response.status_code == 200
    assert response.json() == {"active_seconds": 42.5}
    assert active(world, alice) == 42.5
    assert active(world, world.cast.bob) == 0


def test_an_implausible_report_is_capped(assigned_an_hour_ago, api):
    world = assigned_an_hour_ago

    response = report(api, world.cast.alice, world.alice_layer, 3000)

    assert response.json() == {"active_seconds": MAX_ACTIVITY_REPORT}


@pytest.mark.parametrize("seconds", [0, -5, 3601, "a minute"])
def test_a_bad_number_of_seconds_is_a_400(world, api, seconds):
    response = report(api, world.cast.alice, world.alice_layer, seconds)

    assert response.status_code == 400
    assert "seconds" in response.json()


def test_nobody_reports_time_on_someone_elses_layer(assigned_an_hour_ago, api):
    world = assigned_an_hour_ago

    assert report(api, world.cast.bob, world.alice_layer, 30).status_code == 404
    assert report(api, world.cast.manager, world.alice_layer, 30).status_code == 403
    assert active(world, world.cast.alice) == 0
