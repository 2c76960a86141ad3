"""The labels endpoint's writes: create, change, rename, remove (managers only)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import AuditEvent, LabelType, Span
from annotations.services import layers
from tests.access import layer_access
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def url(world, label=None):
    base = f"/api/projects/{world.project.slug}/labels/"
    return base if label is None else f"{base}{label.pk}/"


def sentiment(world):
    return LabelType.objects.get(project=world.project, name="sentiment")


def test_a_manager_adds_a_document_label_and_everyone_reads_it(world, api):
    body = {"kind": "document", "name": "stance", "choices": ["for", "against"], "multiple": True}

    response = api(world.cast.manager).post(url(world), body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["choices"] == ["for", "against"]
    assert response.json()["multiple"] is True
    listed = api(world.cast.alice).get(url(world)).json()
    assert [label["name"] for label in listed][-1] == "stance"


def test_a_relation_type_names_its_ends_by_label_name(world, api):
    body = {"kind": "relation", "name": "contradicts", "head_label": "claim", "tail_label": "claim"}

    response = api(world.cast.manager).post(url(world), body, format="json")

    assert response.status_code == 201
    assert (response.json()["head_label"], response.json()["tail_label"]) == ("claim", "claim")


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"kind": "span", "name": "Claim"}, "name", "has a label named 'Claim' already"),
        ({"kind": "span", "name": "event", "hotkey": "s"}, "hotkey", "already the key of 'source'"),
        ({"kind": "span", "name": "event", "hotkey": "?"}, "hotkey", "reserved"),
        ({"kind": "span", "name": "event", "colour": "blue"}, "colour", "#rrggbb"),
        ({"kind": "relation", "name": "x", "head_label": "nope"}, "head_label", "no span label"),
        ({"kind": "document", "name": "stance", "choices": []}, "choices", "at least one"),
        ({"name": "event"}, "kind", "required"),
    ],
)
def test_bad_input_is_400_naming_the_field(world, api, body, field, reason):
    response = api(world.cast.manager).post(url(world), body, format="json")

    assert response.status_code == 400
    assert reason in " ".join(response.json()[field])


def test_renaming_a_value_that_spans_use_rewrites_them(world, api):
    alice = layer_access(world.cast.alice, world.alice_layer)
    span = layers.create_span(
        access=alice, label="sentiment", start=0, end=5, attrs={"polarity": "neutral"}
    )
    version = world.alice_layer.version

    response = api(world.cast.manager).patch(
        url(world, sentiment(world)),
        {"renames": {"values": {"polarity": {"neutral": "mixed"}}}},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["attribute_schema"]["polarity"] == ["positive", "negative", "mixed"]
    span.refresh_from_db()
    assert span.attributes == {"polarity": "mixed"}
    # The page that loaded the old version must reload: its next write is 409.
    stale = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "claim", "start": 0, "end": 5, "version": version},
        format="json",
    )
    assert stale.status_code == 409


def test_removing_a_label_in_use_needs_delete_annotations(world, api):
    alice = layer_access(world.cast.alice, world.alice_layer)
    layers.create_span(access=alice, label="sentiment", start=0, end=5)
    manager = api(world.cast.manager)

    refused = manager.delete(url(world, sentiment(world)))
    assert refused.status_code == 400
    assert refused.json() == {
        "delete_annotations": [
            "'sentiment' is used by 1 span in 1 document: delete those annotations too "
            "(delete_annotations) or keep it"
        ]
    }

    deleted = manager.delete(url(world, sentiment(world)) + "?delete_annotations=true")
    assert deleted.status_code == 204
    assert not Span.objects.filter(layer=world.alice_layer).exists()
    event = AuditEvent.objects.filter(object_type="labeltype", action="delete").get()
    assert event.after["deleted_spans"] == 1


def test_forbidding_overlap_makes_the_span_api_refuse_overlaps(world, api):
    claim = LabelType.objects.get(project=world.project, name="claim")
    patched = api(world.cast.manager).patch(
        url(world, claim), {"allow_overlap": False}, format="json"
    )
    assert patched.status_code == 200
    spans = f"/api/layers/{world.alice_layer.pk}/spans/"
    alice = api(world.cast.alice)
    first = alice.post(spans, {"label": "claim", "start": 0, "end": 10}, format="json")
    assert first.status_code == 201

    response = alice.post(spans, {"label": "claim", "start": 5, "end": 15}, format="json")

    assert response.status_code == 400
    assert "claim spans may not overlap" in response.json()["start"][0]
    assert "end" in response.json()


def test_a_label_of_another_project_is_404(world, api):
    other = ProjectFactory()
    label = other.label_types.get(name="claim")

    response = api(world.cast.manager).patch(
        f"/api/projects/{world.project.slug}/labels/{label.pk}/", {"name": "x"}, format="json"
    )

    assert response.status_code == 404


def test_only_labels_that_forbid_overlap_cost_the_span_write_a_query(world, api):
    source = LabelType.objects.get(project=world.project, name="source")
    source.allow_overlap = False
    source.save()
    spans = f"/api/layers/{world.alice_layer.pk}/spans/"
    alice = api(world.cast.alice)
    alice.post(spans, {"label": "claim", "start": 40, "end": 45}, format="json")  # warm up

    counts = {}
    for label, start in (("claim", 0), ("source", 10)):
        with CaptureQueriesContext(connection) as queries:
            response = alice.post(
                spans, {"label": label, "start": start, "end": start + 5}, format="json"
            )
        assert response.status_code == 201
        counts[label] = len(queries)

    assert counts["source"] == counts["claim"] + 1
