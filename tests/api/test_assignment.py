"""The assignment plan and the hand move over the API (managers only)."""

from __future__ import annotations

import pytest

from annotations.models import Assignment, AuditEvent, Layer, Role
from annotations.services.projects import add_member
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(project, tail=""):
    return f"/api/projects/{project.slug}/assignment/{tail}"


@pytest.fixture
def carol(world):
    carol = UserFactory(username="carol")
    add_member(project=world.project, user=carol, role=Role.ANNOTATOR)
    return carol


def test_preview_shows_what_each_annotator_would_get_and_writes_nothing(world, api, carol):
    DocumentFactory.create_batch(3, project=world.project)
    before = Assignment.objects.count()

    response = api(world.cast.manager).get(url(world.project), {"k": 3})

    assert response.status_code == 200
    body = response.json()
    assert body["overlap"] == 3
    assert body["unassigned"] == 3
    assert body["added"] == 3 * 3 + 2  # the new documents, and carol on the two old ones
    rows = {row["username"]: row for row in body["annotators"]}
    assert rows["carol"] == {
        "username": "carol",
        "is_annotator": True,
        "open_before": 0,
        "added": 5,
        "removed": 0,
        "open_after": 5,
    }
    assert Assignment.objects.count() == before
    world.project.refresh_from_db()
    assert world.project.overlap == 2


def test_apply_fills_the_plan_and_a_second_apply_adds_nothing(world, api, carol):
    DocumentFactory.create_batch(3, project=world.project)
    manager = api(world.cast.manager)

    first = manager.post(url(world.project), {}, format="json")
    second = manager.post(url(world.project), {}, format="json")

    assert first.status_code == 200
    assert first.json()["added"] == 6
    assert second.json()["added"] == 0
    assert Assignment.objects.filter(document__project=world.project).count() == 10


def test_apply_with_k_sets_k_first(world, api, carol):
    response = api(world.cast.manager).post(url(world.project), {"k": 3}, format="json")

    assert response.status_code == 200
    world.project.refresh_from_db()
    assert world.project.overlap == 3
    assert Assignment.objects.filter(annotator=carol).count() == 2


@pytest.mark.parametrize("k", [0, 51, "two"])
def test_a_bad_k_is_a_400_naming_k(world, api, k):
    manager = api(world.cast.manager)

    assert manager.get(url(world.project), {"k": k}).json().keys() == {"k"}
    response = manager.post(url(world.project), {"k": k}, format="json")
    assert response.status_code == 400
    assert "k" in response.json()


@pytest.mark.parametrize("who", ["alice", "reviewer"])
def test_members_who_are_not_managers_get_403(world, api, who):
    client = api(getattr(world.cast, who))

    assert client.get(url(world.project)).status_code == 403
    assert client.post(url(world.project), {}, format="json").status_code == 403
    assert not AuditEvent.objects.filter(action="assign").exclude(actor=world.cast.manager)


def test_outsiders_get_404(world, api):
    assert api(world.cast.outsider).get(url(world.project)).status_code == 404


def test_reassign_moves_an_unstarted_document(world, api, carol):
    response = api(world.cast.manager).post(
        url(world.project, "reassign/"),
        {"document": "emoji", "from_user": "bob", "to_user": "carol"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {"document": "emoji", "annotator": "carol", "status": "assigned"}
    assert Assignment.objects.filter(document=world.emoji, annotator=carol).exists()
    assert not Layer.objects.filter(document=world.emoji, annotator=world.cast.bob).exists()


def test_reassign_of_started_work_is_a_400_unless_asked(world, api, carol):
    Layer.objects.filter(pk=world.bob_layer.pk).update(version=2)
    manager = api(world.cast.manager)
    body = {"document": "000", "from_user": "bob", "to_user": "carol"}

    refused = manager.post(url(world.project, "reassign/"), body, format="json")
    moved = manager.post(
        url(world.project, "reassign/"), {**body, "keep_started": True}, format="json"
    )

    assert refused.status_code == 400
    assert "keep_started" in refused.json()
    assert moved.status_code == 200
    assert Layer.objects.filter(pk=world.bob_layer.pk).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"document": "nope", "from_user": "bob", "to_user": "carol"}, "document"),
        ({"document": "000", "from_user": "bob", "to_user": "alice"}, "to_user"),
        ({"document": "000", "from_user": "bob", "to_user": "reviewer"}, "to_user"),
        ({"document": "000", "from_user": "carol", "to_user": "bob"}, "from_user"),
        ({"document": "000", "to_user": "carol"}, "from_user"),
    ],
)
def test_reassign_errors_name_the_field(world, api, carol, body, field):
    response = api(world.cast.manager).post(url(world.project, "reassign/"), body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def test_the_schema_documents_the_routes(api, world):
    schema = api(None).get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()

    assert "/api/projects/{slug}/assignment/" in schema
    assert "/api/projects/{slug}/assignment/reassign/" in schema
    assert "/api/layers/{layer_id}/activity/" in schema
