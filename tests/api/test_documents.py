from __future__ import annotations

import pytest

from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/projects/panjshir/documents/"


def ids(response):
    return [document["external_id"] for document in response.json()["results"]]


def test_annotator_lists_only_assigned_documents_with_their_own_status(world, api):
    DocumentFactory(project=world.project, external_id="unassigned")
    api(world.cast.alice).post(f"/api/layers/{world.alice_layer.pk}/submit/", {}, format="json")

    response = api(world.cast.alice).get(DOCUMENTS)

    assert response.status_code == 200
    assert [(d["external_id"], d["status"]) for d in response.json()["results"]] == [
        ("000", "submitted"),
        ("emoji", "assigned"),
    ]
    assert "text" not in response.json()["results"][0]


def test_reviewers_and_managers_list_every_document(world, api):
    DocumentFactory(project=world.project, external_id="unassigned")

    for user in (world.cast.reviewer, world.cast.manager):
        response = api(user).get(DOCUMENTS)
        assert ids(response) == ["000", "emoji", "unassigned"]
        assert {d["status"] for d in response.json()["results"]} == {None}


def test_documents_filter_by_status_and_external_id(world, api):
    alice = api(world.cast.alice)
    alice.post(f"/api/layers/{world.alice_layer.pk}/submit/", {}, format="json")

    assert ids(alice.get(DOCUMENTS, {"status": "assigned"})) == ["emoji"]
    assert ids(alice.get(DOCUMENTS, {"external_id": "000"})) == ["000"]
    assert ids(alice.get(DOCUMENTS, {"external_id__contains": "MOJ"})) == ["emoji"]


def test_document_list_is_paginated(world, api):
    for number in range(60):
        DocumentFactory(project=world.project, external_id=f"bulk-{number:02d}")

    first = api(world.cast.manager).get(DOCUMENTS).json()
    second = api(world.cast.manager).get(first["next"]).json()

    assert first["count"] == 62
    assert len(first["results"]) == 50
    assert len(second["results"]) == 12
    assert second["next"] is None


def test_document_detail_has_the_text_and_its_length_in_code_points(world, api):
    response = api(world.cast.alice).get(f"{DOCUMENTS}{world.emoji.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["text"] == world.emoji.text
    assert body["length"] == len(world.emoji.text)
    assert body["length"] < len(world.emoji.text.encode("utf-16-le")) // 2


def test_an_unassigned_document_is_not_found_for_an_annotator(world, api):
    unassigned = DocumentFactory(project=world.project, external_id="unassigned")

    assert api(world.cast.alice).get(f"{DOCUMENTS}{unassigned.pk}/").status_code == 404
    assert api(world.cast.reviewer).get(f"{DOCUMENTS}{unassigned.pk}/").status_code == 200


def test_projects_list_shows_only_the_callers_projects_with_their_role(world, api):
    response = api(world.cast.alice).get("/api/projects/")

    assert response.status_code == 200
    assert [(p["slug"], p["role"]) for p in response.json()["results"]] == [
        ("panjshir", "annotator")
    ]
    assert api(world.cast.outsider).get("/api/projects/").json()["results"] == []


def test_label_schema_lists_labels_with_their_relation_ends(world, api):
    response = api(world.cast.alice).get("/api/projects/panjshir/labels/")

    assert response.status_code == 200
    labels = {label["name"]: label for label in response.json()}
    assert set(labels) == {"claim", "source", "sentiment", "attributed_to"}
    assert labels["sentiment"]["attribute_schema"] == {
        "polarity": ["positive", "negative", "neutral"]
    }
    assert (
        labels["attributed_to"]["kind"],
        labels["attributed_to"]["head_label"],
        labels["attributed_to"]["tail_label"],
    ) == ("relation", "claim", "source")
    assert labels["claim"]["head_label"] is None
