"""POST /api/projects/<slug>/documents/<doc_id>/layers/gold/merge/: gold by vote."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from annotations.models import AuditEvent, Document, Layer, Role
from annotations.services import layers as layer_service
from annotations.services.imports import import_file
from annotations.services.projects import add_member
from tests.access import layer_access, project_access
from tests.factories import DocumentFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

TEXT = "Saleh said he is in Panjshir. TASS said he left."
SALEH, CLAIM, TASS, LEFT = (0, 5), (11, 28), (30, 34), (40, 47)


def span(bounds, label, **attrs):
    return {"start": bounds[0], "end": bounds[1], "label": label, "attrs": attrs}


@pytest.fixture
def voted(cast):
    """Three submitted layers: all mark the claim, two its source (and the link), one
    a second claim."""
    add_member(project=cast.project, user=UserFactory(username="carol"), role=Role.ANNOTATOR)
    link = {"type": "attributed_to", "head": 0, "tail": 1}
    record = {
        "id": "d1",
        "text": TEXT,
        "annotations": {
            "alice": [span(CLAIM, "claim"), span(SALEH, "source", kind="person")],
            "bob": [span(CLAIM, "claim"), span(SALEH, "source", kind="person")],
            "carol": [span(CLAIM, "claim"), span(LEFT, "claim")],
        },
        "relations": {"alice": [link], "bob": [link]},
    }
    import_file(
        project=cast.project, filename="votes.jsonl", data=(json.dumps(record) + "\n").encode()
    )
    return Document.objects.get(project=cast.project, external_id="d1")


def merge_url(project, document):
    return f"/api/projects/{project.slug}/documents/{document.pk}/layers/gold/merge/"


def merge(api, user, document, body=None, **extra):
    return api(user).post(merge_url(document.project, document), body or {}, format="json", **extra)


def offsets(body):
    return sorted((s["start"], s["end"], s["label"]) for s in body["spans"])


@pytest.mark.parametrize("who", ["reviewer", "manager"])
def test_merge_by_majority_answers_the_gold_layer_and_what_the_vote_took(api, cast, voted, who):
    response = merge(api, getattr(cast, who), voted)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["merge"] == {"annotators": 3, "min_votes": 2}
    assert offsets(body) == [(*SALEH, "source"), (*CLAIM, "claim")]
    saleh = next(s for s in body["spans"] if s["label"] == "source")
    assert saleh["attrs"] == {"kind": "person"}
    assert saleh["quote"] == "Saleh"
    (link,) = body["relations"]
    claim = next(s for s in body["spans"] if s["label"] == "claim")
    assert (link["type"], link["head"], link["tail"]) == ("attributed_to", claim["id"], saleh["id"])
    assert response["ETag"] == f'"{body["version"]}"'
    gold = Layer.objects.get(document=voted, is_gold=True)
    assert (body["id"], body["is_gold"], body["version"]) == (gold.pk, True, gold.version)


def test_merge_answer_is_the_layer_body_the_layer_endpoint_gives(api, cast, voted):
    body = merge(api, cast.reviewer, voted).json()

    fetched = api(cast.reviewer).get(f"/api/layers/{body['id']}/").json()

    assert {key: value for key, value in body.items() if key != "merge"} == fetched


def test_one_vote_takes_every_span_anyone_marked(api, cast, voted):
    response = merge(api, cast.reviewer, voted, {"min_votes": 1})

    assert response.json()["merge"] == {"annotators": 3, "min_votes": 1}
    assert offsets(response.json()) == [(*SALEH, "source"), (*CLAIM, "claim"), (*LEFT, "claim")]


def test_merge_keeps_what_gold_holds_and_is_audited(api, cast, voted):
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, voted.project), document=voted
    )
    layer_service.create_span(
        access=layer_access(cast.reviewer, gold), label="source", start=30, end=34
    )

    response = merge(api, cast.reviewer, voted, {"min_votes": 3})

    assert offsets(response.json()) == [(*CLAIM, "claim"), (*TASS, "source")]
    event = AuditEvent.objects.filter(action="replace").get()
    assert event.actor == cast.reviewer


def test_merge_with_the_loaded_version_succeeds_and_bumps_it_once(api, cast, voted):
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, voted.project), document=voted
    )

    response = merge(api, cast.reviewer, voted, {"version": gold.version})

    assert response.status_code == 200
    assert response.json()["version"] == gold.version + 1


def test_stale_version_is_409_with_the_current_version_and_nothing_written(api, cast, voted):
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, voted.project), document=voted
    )
    loaded = gold.version
    layer_service.create_span(
        access=layer_access(cast.manager, gold), label="claim", start=40, end=47
    )

    response = merge(api, cast.reviewer, voted, {"version": loaded})

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The layer changed since you loaded it.",
        "current_version": loaded + 1,
    }
    assert response["ETag"] == f'"{loaded + 1}"'
    assert list(gold.spans.values_list("start", "end")) == [LEFT]


def test_stale_if_match_header_is_409_too(api, cast, voted):
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, voted.project), document=voted
    )

    response = merge(api, cast.reviewer, voted, HTTP_IF_MATCH=f'"{gold.version + 5}"')

    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"min_votes": 0}, "min_votes"),
        ({"min_votes": "two"}, "min_votes"),
        ({"min_votes": 4}, "min_votes"),
        ({"version": 0}, "version"),
        ({"version": True}, "version"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, cast, voted, body, field):
    response = merge(api, cast.reviewer, voted, body)

    assert response.status_code == 400
    assert set(response.json()) == {field}
    assert not Layer.objects.filter(document=voted, is_gold=True).exists()


def test_too_many_votes_says_how_many_annotators_submitted(api, cast, voted):
    response = merge(api, cast.reviewer, voted, {"min_votes": 4})

    assert response.json() == {
        "min_votes": ["must be at most 3, the number of annotators who submitted this document"]
    }


def test_body_that_is_not_an_object_is_400(api, cast, voted):
    response = api(cast.reviewer).post(
        merge_url(cast.project, voted), "[1, 2]", content_type="application/json"
    )

    assert response.status_code == 400


def test_nothing_submitted_is_400(api, cast):
    document = DocumentFactory(project=cast.project, external_id="empty", text=TEXT)

    response = merge(api, cast.reviewer, document)

    assert response.status_code == 400
    assert response.json() == {"document": ["no annotator has submitted this document yet"]}


def test_submitted_gold_is_403_until_reopened(api, cast, voted):
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, voted.project), document=voted
    )
    layer_service.submit_layer(access=layer_access(cast.reviewer, gold), reason="checked")

    response = merge(api, cast.reviewer, voted)

    assert response.status_code == 403
    assert response.json() == {"detail": "The gold layer is submitted: reopen it to change it."}


@pytest.mark.parametrize("who", ["alice", "outsider"])
def test_annotators_and_outsiders_get_404(api, cast, voted, who):
    response = merge(api, getattr(cast, who), voted)

    assert response.status_code == 404
    assert not Layer.objects.filter(document=voted, is_gold=True).exists()


def test_document_of_another_project_is_404(api, cast, voted):
    elsewhere = DocumentFactory(project=ProjectFactory(), external_id="x", text=TEXT)

    response = api(cast.reviewer).post(
        f"/api/projects/{cast.project.slug}/documents/{elsewhere.pk}/layers/gold/merge/",
        {},
        format="json",
    )

    assert response.status_code == 404


def test_anonymous_caller_is_refused(cast, voted):
    response = APIClient().post(merge_url(cast.project, voted), {}, format="json")

    assert response.status_code == 403


def test_schema_documents_the_merge(api, cast):
    paths = APIClient().get("/api/schema/?format=json").json()["paths"]

    operation = paths["/api/projects/{slug}/documents/{doc_id}/layers/gold/merge/"]["post"]
    assert {"200", "400", "403", "404", "409"} <= set(operation["responses"])
    assert "ETag" in operation["responses"]["200"]["headers"]
    assert any(p["name"] == "If-Match" for p in operation["parameters"])
