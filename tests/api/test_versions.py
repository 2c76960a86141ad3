"""Optimistic concurrency: a write carrying a stale layer version is refused with 409 and
the current version, and nothing is overwritten."""

from __future__ import annotations

import pytest

from annotations.models import Layer, Span

pytestmark = pytest.mark.django_db


def spans_url(world):
    return f"/api/layers/{world.alice_layer.pk}/spans/"


def test_layer_body_carries_its_version_as_etag(world, api):
    response = api(world.cast.alice).get(f"/api/layers/{world.alice_layer.pk}/")

    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert response.json() == {
        "id": world.alice_layer.pk,
        "document": world.document.pk,
        "annotator": "alice",
        "is_gold": False,
        "status": "open",
        "version": 1,
        "spans": [],
        "relations": [],
        "document_labels": {},
    }


def test_second_tab_writing_from_a_stale_version_gets_409_and_the_current_version(world, api):
    first_tab, second_tab = api(world.cast.alice), api(world.cast.alice)
    first_tab.post(
        spans_url(world), {"label": "claim", "start": 0, "end": 5, "version": 1}, format="json"
    )

    response = second_tab.post(
        spans_url(world), {"label": "claim", "start": 6, "end": 9, "version": 1}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The layer changed since you loaded it.",
        "current_version": 2,
    }
    assert response["ETag"] == '"2"'
    assert [(s.start, s.end) for s in Span.objects.all()] == [(0, 5)]


@pytest.mark.parametrize("if_match", ['"1"', "1", 'W/"1"'])
def test_if_match_header_is_a_version_too(world, api, if_match):
    client = api(world.cast.alice)
    client.post(spans_url(world), {"label": "claim", "start": 0, "end": 5}, format="json")

    response = client.post(
        spans_url(world),
        {"label": "claim", "start": 6, "end": 9},
        format="json",
        HTTP_IF_MATCH=if_match,
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == 2


def test_version_in_the_body_wins_over_if_match(world, api):
    response = api(world.cast.alice).post(
        spans_url(world),
        {"label": "claim", "start": 0, "end": 5, "version": 1},
        format="json",
        HTTP_IF_MATCH='"7"',
    )

    assert response.status_code == 201


@pytest.mark.parametrize("if_match", ['"abc"', '"0"', "²", '"99999999999"'])
def test_if_match_that_is_not_a_version_is_a_400(world, api, if_match):
    response = api(world.cast.alice).post(
        spans_url(world),
        {"label": "claim", "start": 0, "end": 5},
        format="json",
        HTTP_IF_MATCH=if_match,
    )

    assert response.status_code == 400
    assert list(response.json()) == ["If-Match"]


def test_a_version_in_the_query_that_is_not_a_number_is_a_400(world, api):
    client = api(world.cast.alice)
    span = client.post(
        spans_url(world), {"label": "claim", "start": 0, "end": 5}, format="json"
    ).json()["span"]

    response = client.delete(f"{spans_url(world)}{span['id']}/?version=two")

    assert response.status_code == 400
    assert list(response.json()) == ["version"]
    assert Span.objects.filter(pk=span["id"]).exists()


def test_stale_delete_leaves_the_span_in_place(world, api):
    client = api(world.cast.alice)
    span = client.post(
        spans_url(world), {"label": "claim", "start": 0, "end": 5}, format="json"
    ).json()["span"]
    client.post(spans_url(world), {"label": "claim", "start": 6, "end": 9}, format="json")

    response = client.delete(f"{spans_url(world)}{span['id']}/?version=2")

    assert response.status_code == 409
    assert response.json()["current_version"] == 3
    assert Span.objects.filter(pk=span["id"]).exists()


def test_stale_change_leaves_the_span_as_it_was(world, api):
    client = api(world.cast.alice)
    span = client.post(
        spans_url(world), {"label": "claim", "start": 0, "end": 5}, format="json"
    ).json()["span"]

    response = client.patch(
        f"{spans_url(world)}{span['id']}/", {"end": 11, "version": 1}, format="json"
    )

    assert response.status_code == 409
    assert Span.objects.get(pk=span["id"]).end == 5


def test_stale_bulk_replace_and_submit_are_refused(world, api):
    client = api(world.cast.alice)
    client.post(spans_url(world), {"label": "claim", "start": 0, "end": 5}, format="json")

    replace = client.put(
        f"/api/layers/{world.alice_layer.pk}/content/",
        {"spans": [], "version": 1},
        format="json",
    )
    submit = client.post(
        f"/api/layers/{world.alice_layer.pk}/submit/", {"version": 1}, format="json"
    )

    assert (replace.status_code, submit.status_code) == (409, 409)
    layer = Layer.objects.get(pk=world.alice_layer.pk)
    assert (layer.status, layer.version, layer.spans.count()) == ("open", 2, 1)


def test_writes_without_a_version_are_unconditional_and_each_bumps_by_one(world, api):
    client = api(world.cast.alice)
    versions = []
    for start in range(0, 50, 10):
        response = client.post(
            spans_url(world),
            {"label": "claim", "start": start, "end": start + 5},
            format="json",
        )
        versions.append(response.json()["version"])

    assert versions == [2, 3, 4, 5, 6]
    assert Span.objects.count() == 5


def test_every_kind_of_write_bumps_the_version_by_exactly_one(world, api):
    client = api(world.cast.alice)
    layer_url = f"/api/layers/{world.alice_layer.pk}/"
    claim = client.post(spans_url(world), {"label": "claim", "start": 0, "end": 60}, format="json")
    source = client.post(
        spans_url(world), {"label": "source", "start": 61, "end": 70}, format="json"
    )
    claim_id, source_id = claim.json()["span"]["id"], source.json()["span"]["id"]
    patched = client.patch(f"{spans_url(world)}{claim_id}/", {"end": 59}, format="json")
    link = client.post(
        f"{layer_url}relations/",
        {"type": "attributed_to", "head": claim_id, "tail": source_id},
        format="json",
    )
    unlinked = client.delete(f"{layer_url}relations/{link.json()['relation']['id']}/")
    deleted = client.delete(f"{spans_url(world)}{source_id}/")
    replaced = client.put(f"{layer_url}content/", {"spans": []}, format="json")
    submitted = client.post(f"{layer_url}submit/", {}, format="json")

    versions = [
        r.json()["version"]
        for r in (claim, source, patched, link, unlinked, deleted, replaced, submitted)
    ]
    assert versions == list(range(2, 10))
