"""Projects through the API: who may create one, managers change settings with PATCH,
archived projects refuse writes, and a project that is not blind shows annotators each
other's layers read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations.models import AuditEvent, Membership, Project, Role, Span
from annotations.services import layers
from tests.access import layer_access
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PROJECT = "/api/projects/panjshir/"
NEW = {"name": "Kabul claims", "slug": "kabul", "description": "Who said what", "overlap": 3}


def test_staff_create_a_project_with_description_k_and_blind(api):
    staff = UserFactory(username="lead", is_staff=True)

    response = api(staff).post("/api/projects/", {**NEW, "blind": False}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["slug"], body["description"], body["overlap"], body["blind"], body["role"]) == (
        "kabul",
        "Who said what",
        3,
        False,
        "manager",
    )


def test_a_project_created_with_an_empty_schema_has_no_labels(api):
    staff = UserFactory(username="lead", is_staff=True)

    response = api(staff).post("/api/projects/", {**NEW, "schema": "empty"}, format="json")
    bad = api(staff).post("/api/projects/", {**NEW, "slug": "k2", "schema": "ner"}, format="json")

    assert response.status_code == 201, response.content
    assert not Project.objects.get(slug="kabul").label_types.exists()
    assert bad.status_code == 400
    assert "schema" in bad.json()


def test_people_granted_can_create_projects_create_them_too(api):
    person = UserFactory(username="researcher")
    person.user_permissions.add(Permission.objects.get(codename="add_project"))

    response = api(person).post("/api/projects/", NEW, format="json")

    assert response.status_code == 201
    assert Membership.objects.get(project__slug="kabul").user == person


def test_others_may_not_create_projects(api, cast):
    response = api(cast.manager).post("/api/projects/", NEW, format="json")

    assert response.status_code == 403
    assert "can create projects" in response.json()["detail"]


def test_a_taken_slug_is_a_400_naming_the_field(api, cast):
    staff = UserFactory(is_staff=True)

    response = api(staff).post("/api/projects/", {**NEW, "slug": "panjshir"}, format="json")

    assert response.status_code == 400
    assert "exists already" in str(response.json()["slug"])


def test_managers_patch_the_settings(api, cast):
    response = api(cast.manager).patch(
        PROJECT, {"overlap": 3, "blind": False, "guidelines": "Mark *claims*."}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["overlap"], response.json()["blind"]) == (3, False)
    event = AuditEvent.objects.get(action="settings")
    assert event.before == {"overlap": 2, "blind": True, "guidelines": ""}


@pytest.mark.parametrize(
    ("body", "field"),
    [({"overlap": 0}, "overlap"), ({"name": ""}, "name"), ({"blind": "x"}, "blind")],
)
def test_bad_settings_are_a_400_naming_the_field(api, cast, body, field):
    response = api(cast.manager).patch(PROJECT, body, format="json")

    assert response.status_code == 400
    assert field in response.json()


def archive(api, cast):
    assert api(cast.manager).patch(PROJECT, {"archived": True}, format="json").json()["archived"]


def test_an_archived_project_refuses_span_writes_with_a_clear_message(api, world):
    archive(api, world.cast)

    response = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "claim", "start": 0, "end": 5},
        format="json",
    )

    assert response.status_code == 403
    assert "archived" in response.json()["detail"]
    assert not Span.objects.exists()
    # Reading still works.
    assert api(world.cast.alice).get(f"/api/layers/{world.alice_layer.pk}/").status_code == 200


def test_an_archived_project_refuses_imports_but_still_exports(api, world, celery_eager):
    archive(api, world.cast)
    manager = api(world.cast.manager)

    upload = SimpleUploadedFile("new.txt", b"Saleh stays in Panjshir.")
    imported = manager.post(f"{PROJECT}imports/", {"file": upload}, format="multipart")
    exported = manager.post(f"{PROJECT}exports/", {"format": "jsonl"}, format="json")

    assert imported.status_code == 403
    assert "archived" in imported.json()["detail"]
    assert exported.status_code == 201


def test_unarchiving_lets_writes_through_again(api, world):
    archive(api, world.cast)

    response = api(world.cast.manager).patch(PROJECT, {"archived": False}, format="json")
    written = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "claim", "start": 0, "end": 5},
        format="json",
    )

    assert response.json()["archived"] is False
    assert written.status_code == 201


# --- blind off ------------------------------------------------------------------------


def alice_marks_a_claim(world) -> Span:
    return layers.create_span(
        access=layer_access(world.cast.alice, world.alice_layer), label="claim", start=0, end=20
    )


def layers_seen_by(api, world, user) -> list[str | None]:
    url = f"{PROJECT}documents/{world.document.pk}/layers/"
    return [layer["annotator"] for layer in api(user).get(url).json()]


def test_blind_on_annotators_see_only_their_own_layer(api, world):
    alice_marks_a_claim(world)

    assert layers_seen_by(api, world, world.cast.bob) == ["bob"]
    assert api(world.cast.bob).get(f"/api/layers/{world.alice_layer.pk}/").status_code == 404


def test_blind_off_annotators_read_each_others_layers_but_cannot_write_them(api, world):
    Project.objects.filter(pk=world.project.pk).update(blind=False)
    claim = alice_marks_a_claim(world)
    bob = api(world.cast.bob)

    seen = bob.get(f"/api/layers/{world.alice_layer.pk}/")
    written = bob.post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "claim", "start": 30, "end": 40},
        format="json",
    )
    deleted = bob.delete(f"/api/layers/{world.alice_layer.pk}/spans/{claim.pk}/")
    submitted = bob.post(f"/api/layers/{world.alice_layer.pk}/submit/")

    assert layers_seen_by(api, world, world.cast.bob) == ["alice", "bob"]
    assert seen.status_code == 200
    assert [(s["label"], s["start"], s["end"]) for s in seen.json()["spans"]] == [("claim", 0, 20)]
    assert (written.status_code, deleted.status_code, submitted.status_code) == (403, 403, 403)
    assert "read-only" in written.json()["detail"]
    assert list(Span.objects.values_list("layer__annotator__username", flat=True)) == ["alice"]


def test_blind_off_never_shows_annotators_the_gold_layer_or_unassigned_documents(api, world):
    Project.objects.filter(pk=world.project.pk).update(blind=False)
    carol = UserFactory(username="carol")
    Membership.objects.create(project=world.project, user=carol, role=Role.ANNOTATOR)
    gold = api(world.cast.reviewer).post(f"{PROJECT}documents/{world.document.pk}/layers/gold/")

    assert "gold" not in str(layers_seen_by(api, world, world.cast.bob))
    assert api(world.cast.bob).get(f"/api/layers/{gold.json()['id']}/").status_code == 404
    # carol is an annotator of the project, not of this document.
    assert api(carol).get(f"/api/layers/{world.alice_layer.pk}/").status_code == 404
