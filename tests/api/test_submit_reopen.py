from __future__ import annotations

import pytest

from annotations.models import Assignment, AssignmentStatus, AuditEvent, Layer, ReviewDecision
from annotations.services.layers import ensure_gold_layer
from tests.access import project_access

pytestmark = pytest.mark.django_db


def url(layer, suffix=""):
    return f"/api/layers/{layer.pk}/{suffix}"


def submit(client, layer):
    return client.post(url(layer, "submit/"), {}, format="json")


def test_annotator_submits_and_the_assignment_is_submitted(world, api):
    response = submit(api(world.cast.alice), world.alice_layer)

    assert response.status_code == 200
    assert response.json()["status"] == "submitted"
    assert response.json()["version"] == 2
    assignment = Assignment.objects.get(document=world.document, annotator=world.cast.alice)
    assert assignment.status == AssignmentStatus.SUBMITTED
    assert assignment.finished_at is not None


def test_submitted_layer_is_read_only_for_its_annotator_but_still_readable(world, api):
    client = api(world.cast.alice)
    submit(client, world.alice_layer)

    write = client.post(
        url(world.alice_layer, "spans/"), {"label": "claim", "start": 0, "end": 5}, format="json"
    )
    again = submit(client, world.alice_layer)
    read = client.get(url(world.alice_layer))

    assert write.status_code == 403
    assert write.json() == {"detail": "This layer is submitted: ask a reviewer to reopen it."}
    assert again.status_code == 403
    assert read.status_code == 200


def test_reviewer_reads_a_submitted_layer_but_may_not_write_it(world, api):
    submit(api(world.cast.alice), world.alice_layer)
    reviewer = api(world.cast.reviewer)

    assert reviewer.get(url(world.alice_layer)).status_code == 200
    response = reviewer.put(url(world.alice_layer, "content/"), {"spans": []}, format="json")
    assert response.status_code == 403


def test_reviewer_reopens_a_layer_and_the_annotator_can_write_again(world, api):
    alice = api(world.cast.alice)
    submit(alice, world.alice_layer)

    response = api(world.cast.reviewer).post(url(world.alice_layer, "reopen/"), {}, format="json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["version"]) == ("open", 3)
    assignment = Assignment.objects.get(document=world.document, annotator=world.cast.alice)
    assert assignment.status == AssignmentStatus.IN_PROGRESS
    write = alice.post(
        url(world.alice_layer, "spans/"), {"label": "claim", "start": 0, "end": 5}, format="json"
    )
    assert write.status_code == 201
    # Open again, the layer is the annotator's alone: the reviewer no longer sees it.
    assert api(world.cast.reviewer).get(url(world.alice_layer)).status_code == 404


def test_annotator_cannot_reopen_their_own_layer(world, api):
    alice = api(world.cast.alice)
    submit(alice, world.alice_layer)

    response = alice.post(url(world.alice_layer, "reopen/"), {}, format="json")

    assert response.status_code == 403
    assert Layer.objects.get(pk=world.alice_layer.pk).status == "submitted"


def test_reopening_an_open_layer_says_so(world, api):
    response = api(world.cast.manager).post(url(world.alice_layer, "reopen/"), {}, format="json")

    assert response.status_code == 400
    assert response.json() == {"status": ["the layer is already open"]}


def test_reopen_with_a_stale_version_is_a_conflict(world, api):
    submit(api(world.cast.alice), world.alice_layer)

    response = api(world.cast.manager).post(
        url(world.alice_layer, "reopen/"), {"version": 1}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == 2


def test_annotator_undoes_a_submission_before_review_and_writes_again(world, api):
    alice = api(world.cast.alice)
    submit(alice, world.alice_layer)

    response = alice.post(url(world.alice_layer, "unsubmit/"), {"version": 2}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "open"
    assert response.json()["version"] == 3
    assignment = Assignment.objects.get(document=world.document, annotator=world.cast.alice)
    assert assignment.status == AssignmentStatus.IN_PROGRESS
    assert assignment.finished_at is None
    write = alice.post(
        url(world.alice_layer, "spans/"), {"label": "claim", "start": 0, "end": 5}, format="json"
    )
    assert write.status_code == 201
    event = AuditEvent.objects.filter(action="unsubmit").get()
    assert event.actor == world.cast.alice
    assert (event.before["status"], event.after["status"]) == ("submitted", "open")


def test_once_gold_exists_for_the_document_undo_is_refused_and_a_reviewer_reopens(world, api):
    alice = api(world.cast.alice)
    submit(alice, world.alice_layer)
    ensure_gold_layer(
        access=project_access(world.cast.reviewer, world.project), document=world.document
    )

    response = alice.post(url(world.alice_layer, "unsubmit/"), {}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Review of this document has started: ask a reviewer to reopen your layer."
    }
    assert Layer.objects.get(pk=world.alice_layer.pk).status == "submitted"


def test_once_a_reviewer_decided_on_a_candidate_undo_is_refused(world, api):
    alice = api(world.cast.alice)
    submit(alice, world.alice_layer)
    ReviewDecision.objects.create(
        document=world.document, key="0:5:claim", decision="reject", decided_by=world.cast.reviewer
    )

    response = alice.post(url(world.alice_layer, "unsubmit/"), {}, format="json")

    assert response.status_code == 403
    assert Layer.objects.get(pk=world.alice_layer.pk).status == "submitted"


def test_undo_submit_is_the_annotators_own_and_needs_a_submitted_current_layer(world, api):
    alice = api(world.cast.alice)
    open_layer = alice.post(url(world.alice_layer, "unsubmit/"), {}, format="json")
    submit(alice, world.alice_layer)
    by_reviewer = api(world.cast.reviewer).post(
        url(world.alice_layer, "unsubmit/"), {}, format="json"
    )
    stale = alice.post(url(world.alice_layer, "unsubmit/"), {"version": 1}, format="json")

    assert open_layer.status_code == 400
    assert open_layer.json() == {"status": ["the layer is already open"]}
    assert by_reviewer.status_code == 403
    assert "Only the annotator who submitted a layer can undo it" in by_reviewer.json()["detail"]
    assert stale.status_code == 409
