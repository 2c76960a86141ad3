"""Document-level labels (an article's stance, its topics) saved on a layer like spans:
with the layer's version, checked against the label's choices, audited."""

from __future__ import annotations

import pytest

from annotations.models import AuditEvent, DocumentLabel, LabelType, Layer, LayerStatus
from tests.factories import DocumentLabelTypeFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stance(world) -> LabelType:
    return DocumentLabelTypeFactory(project=world.project)


@pytest.fixture
def topics(world) -> LabelType:
    return DocumentLabelTypeFactory(
        project=world.project,
        name="topics",
        choices=["security", "politics", "economy"],
        multiple=True,
    )


def url(layer: Layer, label: str) -> str:
    return f"/api/layers/{layer.pk}/document-labels/{label}/"


def saved(layer: Layer) -> list[tuple[str, str]]:
    return list(
        DocumentLabel.objects.filter(layer=layer)
        .order_by("label__name", "value")
        .values_list("label__name", "value")
    )


def test_an_annotator_sets_a_single_choice_label_and_the_layer_shows_it(world, api, stance):
    client = api(world.cast.alice)

    response = client.put(
        url(world.alice_layer, "stance"), {"values": ["refutes"], "version": 1}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"label": "stance", "values": ["refutes"], "version": 2}
    assert response["ETag"] == '"2"'
    assert saved(world.alice_layer) == [("stance", "refutes")]
    body = client.get(f"/api/layers/{world.alice_layer.pk}/").json()
    assert body["document_labels"] == {"stance": ["refutes"]}
    assert body["version"] == 2


def test_a_new_value_replaces_the_old_one_and_an_empty_list_clears_it(world, api, stance):
    client = api(world.cast.alice)
    client.put(url(world.alice_layer, "stance"), {"values": ["refutes"]}, format="json")

    client.put(url(world.alice_layer, "stance"), {"values": ["neutral"]}, format="json")
    assert saved(world.alice_layer) == [("stance", "neutral")]

    response = client.put(url(world.alice_layer, "stance"), {"values": []}, format="json")
    assert response.json()["version"] == 4
    assert saved(world.alice_layer) == []


def test_a_single_choice_label_takes_one_value_a_multiple_choice_label_several(
    world, api, stance, topics
):
    client = api(world.cast.alice)

    refused = client.put(
        url(world.alice_layer, "stance"), {"values": ["refutes", "neutral"]}, format="json"
    )
    accepted = client.put(
        url(world.alice_layer, "topics"), {"values": ["security", "politics"]}, format="json"
    )

    assert refused.status_code == 400
    assert refused.json() == {"values": ["takes a single value"]}
    assert accepted.status_code == 200
    assert accepted.json()["values"] == ["politics", "security"]
    assert saved(world.alice_layer) == [("topics", "politics"), ("topics", "security")]


def test_a_value_outside_the_choices_is_refused_naming_values(world, api, stance):
    response = api(world.cast.alice).put(
        url(world.alice_layer, "stance"), {"values": ["maybe"]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"values": ["'maybe' is not one of: supports, refutes, neutral"]}
    assert saved(world.alice_layer) == []
    assert Layer.objects.get(pk=world.alice_layer.pk).version == 1


def test_the_same_value_twice_is_refused(world, api, topics):
    response = api(world.cast.alice).put(
        url(world.alice_layer, "topics"), {"values": ["economy", "economy"]}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"values": ["the same value appears twice"]}


def test_a_stale_version_is_a_conflict_and_changes_nothing(world, api, stance):
    client = api(world.cast.alice)
    client.put(url(world.alice_layer, "stance"), {"values": ["refutes"]}, format="json")

    response = client.put(
        url(world.alice_layer, "stance"),
        {"values": ["supports"]},
        format="json",
        HTTP_IF_MATCH='"1"',
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == 2
    assert saved(world.alice_layer) == [("stance", "refutes")]


def test_a_submitted_layer_is_read_only(world, api, stance):
    Layer.objects.filter(pk=world.alice_layer.pk).update(status=LayerStatus.SUBMITTED)

    response = api(world.cast.alice).put(
        url(world.alice_layer, "stance"), {"values": ["refutes"]}, format="json"
    )

    assert response.status_code == 403
    assert "submitted" in response.json()["detail"]
    assert saved(world.alice_layer) == []


def test_a_label_of_another_project_or_a_span_label_is_not_found(world, api, stance):
    other = ProjectFactory()
    DocumentLabelTypeFactory(project=other, name="verdict", choices=["true", "false"])
    client = api(world.cast.alice)

    for name in ("verdict", "claim", "nothing"):
        response = client.put(url(world.alice_layer, name), {"values": ["true"]}, format="json")
        assert response.status_code == 404, name
    assert saved(world.alice_layer) == []


def test_an_annotator_cannot_write_another_annotators_layer(world, api, stance):
    response = api(world.cast.bob).put(
        url(world.alice_layer, "stance"), {"values": ["refutes"]}, format="json"
    )

    assert response.status_code == 404
    assert saved(world.alice_layer) == []


def test_the_write_is_audited_with_before_and_after(world, api, stance):
    client = api(world.cast.alice)
    client.put(url(world.alice_layer, "stance"), {"values": ["refutes"]}, format="json")
    client.put(url(world.alice_layer, "stance"), {"values": ["neutral"]}, format="json")

    event = AuditEvent.objects.filter(action="document_label").latest("id")

    assert event.actor == world.cast.alice
    assert event.before == {"label": "stance", "values": ["refutes"]}
    assert event.after == {
        "layer": world.alice_layer.pk,
        "version": 3,
        "label": "stance",
        "values": ["neutral"],
    }


def test_a_reviewer_sets_gold_document_labels_the_same_way(world, api, stance):
    reviewer = api(world.cast.reviewer)
    gold = reviewer.post(
        f"/api/projects/panjshir/documents/{world.document.pk}/layers/gold/"
    ).json()

    response = reviewer.put(
        f"/api/layers/{gold['id']}/document-labels/stance/",
        {"values": ["supports"], "version": gold["version"]},
        format="json",
    )

    assert response.status_code == 200
    assert saved(Layer.objects.get(pk=gold["id"])) == [("stance", "supports")]


def test_a_reviewer_cannot_set_an_annotators_document_labels(world, api, stance):
    response = api(world.cast.reviewer).put(
        url(world.alice_layer, "stance"), {"values": ["refutes"]}, format="json"
    )

    assert response.status_code in (403, 404)
    assert saved(world.alice_layer) == []


def test_replacing_the_content_can_set_every_document_label(world, api, stance, topics):
    client = api(world.cast.alice)

    response = client.put(
        f"/api/layers/{world.alice_layer.pk}/content/",
        {"spans": [], "document_labels": {"stance": ["neutral"], "topics": ["economy"]}},
        format="json",
    )
    refused = client.put(
        f"/api/layers/{world.alice_layer.pk}/content/",
        {"spans": [], "document_labels": {"stance": ["later"]}},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["document_labels"] == {"stance": ["neutral"], "topics": ["economy"]}
    assert refused.status_code == 400
    assert list(refused.json()) == ["document_labels.stance"]
    assert saved(world.alice_layer) == [("stance", "neutral"), ("topics", "economy")]
