"""PUT /api/layers/<id>/content/: replace a whole layer at once, or change nothing."""

from __future__ import annotations

import pytest

from annotations.models import Layer, Relation, Span

pytestmark = pytest.mark.django_db


def content_url(layer):
    return f"/api/layers/{layer.pk}/content/"


def test_bulk_replace_writes_spans_and_links_by_index(world, api):
    client = api(world.cast.alice)
    client.post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "claim", "start": 0, "end": 5},
        format="json",
    )
    text = world.document.text
    body = {
        "spans": [
            {"label": "claim", "start": 0, "end": 60, "quote": text[0:60]},
            {"label": "source", "start": 61, "end": 70, "attrs": {"kind": "person"}},
        ],
        "relations": [{"type": "attributed_to", "head": 0, "tail": 1}],
        "version": 2,
    }

    response = client.put(content_url(world.alice_layer), body, format="json")

    assert response.status_code == 200, response.json()
    layer = response.json()
    assert layer["version"] == 3
    assert response["ETag"] == '"3"'
    assert [(s["label"], s["start"], s["end"]) for s in layer["spans"]] == [
        ("claim", 0, 60),
        ("source", 61, 70),
    ]
    claim, source = (s["id"] for s in layer["spans"])
    assert [(r["type"], r["head"], r["tail"]) for r in layer["relations"]] == [
        ("attributed_to", claim, source)
    ]
    assert Span.objects.filter(layer=world.alice_layer).count() == 2


def test_one_bad_item_rejects_the_whole_replacement(world, api):
    client = api(world.cast.alice)
    client.put(
        content_url(world.alice_layer),
        {"spans": [{"label": "claim", "start": 0, "end": 5}]},
        format="json",
    )
    body = {
        "spans": [
            {"label": "claim", "start": 0, "end": 60},
            {"label": "source", "start": 61, "end": 99999},
            {"label": "sentiment", "start": 0, "end": 4, "attrs": {"polarity": "meh"}},
        ],
        "relations": [
            {"type": "attributed_to", "head": 0, "tail": 7},
            {"type": "attributed_to", "head": 2, "tail": 0},
        ],
    }

    response = client.put(content_url(world.alice_layer), body, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {
        "spans[1].end",
        "spans[2].attrs.polarity",
        "relations[0].tail",
        "relations[1].head",
        "relations[1].tail",
    }
    assert [(s.start, s.end) for s in Span.objects.filter(layer=world.alice_layer)] == [(0, 5)]
    assert Layer.objects.get(pk=world.alice_layer.pk).version == 2


def test_shape_errors_in_items_name_the_item(world, api):
    response = api(world.cast.alice).put(
        content_url(world.alice_layer),
        {"spans": [{"label": "claim", "start": 0, "end": 5}, {"label": "claim", "start": "a"}]},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"spans[1].start", "spans[1].end"}


def test_replacing_with_nothing_empties_the_layer(world, api):
    client = api(world.cast.alice)
    client.put(
        content_url(world.alice_layer),
        {
            "spans": [
                {"label": "claim", "start": 0, "end": 60},
                {"label": "source", "start": 61, "end": 70},
            ],
            "relations": [{"type": "attributed_to", "head": 0, "tail": 1}],
        },
        format="json",
    )

    response = client.put(content_url(world.alice_layer), {"spans": []}, format="json")

    assert response.status_code == 200
    assert response.json()["spans"] == []
    assert not Span.objects.exists()
    assert not Relation.objects.exists()
