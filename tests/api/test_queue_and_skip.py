from __future__ import annotations

import pytest

from annotations.models import Assignment, AssignmentStatus
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db

NEXT = "/api/projects/panjshir/queue/next/"


def skip_url(document):
    return f"/api/projects/panjshir/documents/{document.pk}/skip/"


def test_next_document_is_the_first_assigned_one(world, api):
    response = api(world.cast.alice).get(NEXT)

    assert response.status_code == 200
    document = response.json()["document"]
    assert (document["id"], document["external_id"], document["status"]) == (
        world.document.pk,
        "000",
        "assigned",
    )
    assert document["length"] == 3528


def test_a_document_in_progress_comes_back_before_a_new_one(world, api):
    alice = api(world.cast.alice)
    emoji_layer = world.emoji.layers.get(annotator=world.cast.alice)
    alice.post(
        f"/api/layers/{emoji_layer.pk}/spans/",
        {"label": "claim", "start": 0, "end": 5},
        format="json",
    )

    assert alice.get(NEXT).json()["document"]["id"] == world.emoji.pk


def test_submitted_and_skipped_documents_leave_the_queue(world, api):
    alice = api(world.cast.alice)
    alice.post(f"/api/layers/{world.alice_layer.pk}/submit/", {}, format="json")
    assert alice.get(NEXT).json()["document"]["id"] == world.emoji.pk

    alice.post(skip_url(world.emoji), {"reason": "not about Panjshir"}, format="json")

    assert alice.get(NEXT).json() == {"document": None}


def test_skip_records_the_reason(world, api):
    response = api(world.cast.bob).post(
        skip_url(world.document), {"reason": "  paywalled copy  "}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"status": "skipped"}
    assignment = Assignment.objects.get(document=world.document, annotator=world.cast.bob)
    assert (assignment.status, assignment.skip_reason) == (
        AssignmentStatus.SKIPPED,
        "paywalled copy",
    )


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_skip_without_a_reason_is_refused(world, api, body):
    response = api(world.cast.alice).post(skip_url(world.document), body, format="json")

    assert response.status_code == 400
    assert "reason" in response.json()
    assignment = Assignment.objects.get(document=world.document, annotator=world.cast.alice)
    assert assignment.status == AssignmentStatus.ASSIGNED


def test_a_submitted_document_cannot_be_skipped(world, api):
    alice = api(world.cast.alice)
    alice.post(f"/api/layers/{world.alice_layer.pk}/submit/", {}, format="json")

    response = alice.post(skip_url(world.document), {"reason": "changed my mind"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"status": ["the document is submitted already"]}


def test_only_assigned_annotators_skip(world, api):
    unassigned = DocumentFactory(project=world.project, external_id="late")

    reviewer = api(world.cast.reviewer).post(
        skip_url(world.document), {"reason": "x"}, format="json"
    )
    annotator = api(world.cast.alice).post(skip_url(unassigned), {"reason": "x"}, format="json")

    assert reviewer.status_code == 403
    assert annotator.status_code == 404  # not assigned: the document does not exist for her


def test_nothing_is_next_for_a_manager(world, api):
    assert api(world.cast.manager).get(NEXT).json() == {"document": None}
