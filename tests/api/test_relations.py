from __future__ import annotations

import pytest

from annotations.models import Relation

pytestmark = pytest.mark.django_db


@pytest.fixture
def spans(world, api):
    """A claim and a source in alice's layer; returns (client, claim id, source id, version)."""
    client = api(world.cast.alice)
    url = f"/api/layers/{world.alice_layer.pk}/spans/"
    claim = client.post(url, {"label": "claim", "start": 0, "end": 60}, format="json").json()
    source = client.post(
        url,
        {"label": "source", "start": 61, "end": 70, "attrs": {"kind": "person"}},
        format="json",
    ).json()
    return client, claim["span"]["id"], source["span"]["id"], source["version"]


def relations_url(world):
    return f"/api/layers/{world.alice_layer.pk}/relations/"


def test_annotator_links_a_claim_to_its_source(world, spans):
    client, claim, source, version = spans

    response = client.post(
        relations_url(world),
        {"type": "attributed_to", "head": claim, "tail": source, "version": version},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["version"] == version + 1
    assert body["relation"] == {
        "id": body["relation"]["id"],
        "type": "attributed_to",
        "head": claim,
        "tail": source,
    }
    layer = client.get(f"/api/layers/{world.alice_layer.pk}/").json()
    assert layer["relations"] == [body["relation"]]


LINK = "attributed_to"

# type    head  tail     field   reason (part); c: the claim's id, s: the source's id
CASES = [
    ("cites", "c", "s",    "type", "unknown relation 'cites'"),
    ("claim", "c", "s",    "type", "unknown relation"),
    (LINK,    "s", "c",    "head", "takes a claim as its head, not a source"),
    (LINK,    "c", "c",    "tail", "cannot link a span to itself"),
    (LINK,    "c", 10**12, "tail", "no span"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "head", "tail", "field", "reason"), CASES)
def test_bad_link_is_refused(world, spans, kind, head, tail, field, reason):
    client, claim, source, _ = spans
    ids = {"c": claim, "s": source}
    body = {"type": kind, "head": ids.get(head, head), "tail": ids.get(tail, tail)}

    response = client.post(relations_url(world), body, format="json")

    assert response.status_code == 400
    assert any(reason in message for message in response.json()[field]), response.json()
    assert not Relation.objects.exists()


def test_a_span_of_another_layer_cannot_be_linked(world, spans, api):
    client, claim, _, _ = spans
    bob_span = (
        api(world.cast.bob)
        .post(
            f"/api/layers/{world.bob_layer.pk}/spans/",
            {"label": "source", "start": 61, "end": 70},
            format="json",
        )
        .json()["span"]
    )

    response = client.post(
        relations_url(world),
        {"type": "attributed_to", "head": claim, "tail": bob_span["id"]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"tail": [f"no span {bob_span['id']} in this layer"]}


def test_the_same_link_twice_is_refused(world, spans):
    client, claim, source, _ = spans
    body = {"type": "attributed_to", "head": claim, "tail": source}
    client.post(relations_url(world), body, format="json")

    response = client.post(relations_url(world), body, format="json")

    assert response.status_code == 400
    assert Relation.objects.count() == 1


def test_deleting_a_span_takes_its_links_with_it(world, spans):
    client, claim, source, _ = spans
    client.post(
        relations_url(world),
        {"type": "attributed_to", "head": claim, "tail": source},
        format="json",
    )

    response = client.delete(f"/api/layers/{world.alice_layer.pk}/spans/{source}/")

    assert response.status_code == 200
    assert not Relation.objects.exists()


def test_relabelling_a_linked_span_so_the_link_breaks_is_refused(world, spans):
    client, claim, source, _ = spans
    client.post(
        relations_url(world),
        {"type": "attributed_to", "head": claim, "tail": source},
        format="json",
    )

    response = client.patch(
        f"/api/layers/{world.alice_layer.pk}/spans/{claim}/",
        {"label": "sentiment"},
        format="json",
    )

    assert response.status_code == 400
    assert "takes a claim as its head" in response.json()["label"][0]


def test_annotator_removes_a_link(world, spans):
    client, claim, source, version = spans
    relation = client.post(
        relations_url(world),
        {"type": "attributed_to", "head": claim, "tail": source, "version": version},
        format="json",
    ).json()

    response = client.delete(
        f"{relations_url(world)}{relation['relation']['id']}/",
        HTTP_IF_MATCH=f'"{relation["version"]}"',
    )

    assert response.status_code == 200
    assert response.json() == {"version": relation["version"] + 1}
    assert not Relation.objects.exists()
