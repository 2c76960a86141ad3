"""/api/projects/<slug>/documents/<doc_id>/decisions/ (and undo/), and marking gold final."""

from __future__ import annotations

import json

import pytest

from annotations.models import AuditEvent, Document, Layer, Role
from annotations.services import layers as layer_service
from annotations.services.imports import import_file
from annotations.services.projects import add_member
from tests.access import project_access
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEXT = "Saleh said he is in Panjshir. TASS said he left."
CLAIM, SOURCE, LEFT = "11:28:claim", "0:5:source", "40:47:claim"
LINK = f"link:attributed_to|{CLAIM}|{SOURCE}"


@pytest.fixture
def document(cast):
    spans = [
        {"start": 11, "end": 28, "label": "claim", "attrs": {}},
        {"start": 0, "end": 5, "label": "source", "attrs": {}},
    ]
    record = {
        "id": "d1",
        "text": TEXT,
        "annotations": {
            "alice": spans,
            "bob": [*spans, {"start": 40, "end": 47, "label": "claim", "attrs": {}}],
        },
        "relations": {"alice": [{"type": "attributed_to", "head": 0, "tail": 1}]},
    }
    import_file(project=cast.project, filename="d.jsonl", data=(json.dumps(record) + "\n").encode())
    return Document.objects.get(external_id="d1")


def url(document, tail=""):
    return f"/api/projects/{document.project.slug}/documents/{document.pk}/decisions/{tail}"


def test_a_rejection_is_seen_by_another_reviewer_and_undone(api, cast, document):
    rita = UserFactory(username="rita")
    add_member(project=cast.project, user=rita, role=Role.REVIEWER)

    response = api(cast.reviewer).post(
        url(document), {"key": LEFT, "decision": "reject", "version": 1}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.headers["ETag"] == '"2"'
    seen = api(rita).get(url(document)).json()
    assert seen["version"] == 2
    assert [(d["key"], d["decision"], d["decided_by"]) for d in seen["decisions"]] == [
        (LEFT, "reject", "reviewer")
    ]

    undone = api(rita).post(url(document, "undo/"), {"key": LEFT, "version": 2}, format="json")

    assert undone.status_code == 200, undone.content
    assert undone.json() == {"version": 3, "decisions": []}


def test_a_stale_version_is_409_with_the_current_one(api, cast, document):
    api(cast.reviewer).post(url(document), {"key": LEFT, "decision": "reject"}, format="json")

    response = api(cast.manager).post(
        url(document), {"key": CLAIM, "decision": "reject", "version": 1}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == 2


def test_bad_input_is_400_naming_the_field(api, cast, document):
    client = api(cast.reviewer)

    wrong_decision = client.post(url(document), {"key": LEFT, "decision": "maybe"}, format="json")
    unknown = client.post(url(document), {"key": "1:2:claim", "decision": "reject"}, format="json")
    nothing_to_undo = client.post(url(document, "undo/"), {"key": LEFT}, format="json")

    assert wrong_decision.status_code == 400
    assert "decision" in wrong_decision.json()
    assert unknown.status_code == 400
    assert "no candidate" in unknown.json()["key"][0]
    assert nothing_to_undo.status_code == 400
    assert "no decision" in nothing_to_undo.json()["key"][0]


def test_a_link_accept_names_its_missing_end_unless_with_ends(api, cast, document):
    client = api(cast.reviewer)
    client.post(url(document), {"key": SOURCE, "decision": "reject"}, format="json")

    refused = client.post(url(document), {"key": LINK, "decision": "accept"}, format="json")
    accepted = client.post(
        url(document), {"key": LINK, "decision": "accept", "with_ends": True}, format="json"
    )

    assert refused.status_code == 400
    assert "source “Saleh” (0:5:source) is rejected" in refused.json()["with_ends"][0]
    assert accepted.status_code == 200, accepted.content
    assert {d["key"]: d["decision"] for d in accepted.json()["decisions"]} == {
        CLAIM: "accept",
        SOURCE: "accept",
        LINK: "accept",
    }


def test_marking_gold_final_needs_a_reason_while_candidates_are_open(api, cast, document):
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, cast.project), document=document
    )
    client = api(cast.reviewer)

    refused = client.post(f"/api/layers/{gold.pk}/submit/", {}, format="json")
    final = client.post(
        f"/api/layers/{gold.pk}/submit/", {"reason": "bob's extra claim is noise"}, format="json"
    )

    assert refused.status_code == 400
    assert refused.json()["reason"][0].startswith("4 candidates not settled")
    assert final.status_code == 200, final.content
    gold = Layer.objects.get(pk=gold.pk)
    assert (gold.status, gold.final_reason) == ("submitted", "bob's extra claim is noise")
    assert AuditEvent.objects.get(action="submit", object_id=str(gold.pk)).after["reason"] == (
        "bob's extra claim is noise"
    )
