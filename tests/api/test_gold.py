from __future__ import annotations

import pytest

from annotations.models import Layer

pytestmark = pytest.mark.django_db


def gold_url(world):
    return f"/api/projects/panjshir/documents/{world.document.pk}/layers/gold/"


def test_reading_gold_makes_nothing_and_a_post_starts_adjudication(world, api):
    assert api(world.cast.reviewer).get(gold_url(world)).status_code == 404
    assert not Layer.objects.filter(document=world.document, is_gold=True).exists()

    response = api(world.cast.reviewer).post(gold_url(world))

    assert response.status_code == 201
    body = response.json()
    assert (body["is_gold"], body["annotator"], body["spans"], body["version"]) == (
        True,
        None,
        [],
        1,
    )
    assert response["ETag"] == '"1"'
    again = api(world.cast.manager).post(gold_url(world))
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    assert api(world.cast.manager).get(gold_url(world)).json()["id"] == body["id"]
    assert Layer.objects.filter(document=world.document, is_gold=True).count() == 1


def test_reviewer_writes_the_gold_layer(world, api):
    gold = api(world.cast.reviewer).post(gold_url(world)).json()

    response = api(world.cast.reviewer).post(
        f"/api/layers/{gold['id']}/spans/",
        {"label": "claim", "start": 0, "end": 5, "version": gold["version"]},
        format="json",
    )

    assert response.status_code == 201


def test_annotators_never_see_the_gold_layer(world, api):
    gold = api(world.cast.reviewer).post(gold_url(world)).json()
    alice = api(world.cast.alice)

    assert alice.get(gold_url(world)).status_code == 404
    assert alice.post(gold_url(world)).status_code == 404
    assert alice.get(f"/api/layers/{gold['id']}/").status_code == 404
    write = alice.post(
        f"/api/layers/{gold['id']}/spans/", {"label": "claim", "start": 0, "end": 5}, format="json"
    )
    assert write.status_code == 404


def test_document_layers_list_shows_each_role_what_it_may_see(world, api):
    api(world.cast.alice).post(f"/api/layers/{world.alice_layer.pk}/submit/", {}, format="json")
    api(world.cast.reviewer).post(gold_url(world))
    url = f"/api/projects/panjshir/documents/{world.document.pk}/layers/"

    def seen(user):
        response = api(user).get(url)
        assert response.status_code == 200
        return [(layer["annotator"], layer["is_gold"]) for layer in response.json()]

    assert seen(world.cast.alice) == [("alice", False)]
    assert seen(world.cast.bob) == [("bob", False)]
    # bob's layer is still open: only managers see open annotator layers.
    assert seen(world.cast.reviewer) == [("alice", False), (None, True)]
    assert seen(world.cast.manager) == [("alice", False), ("bob", False), (None, True)]


def test_reading_my_layer_never_makes_one(world, api):
    url = f"/api/projects/panjshir/documents/{world.document.pk}/layers/mine/"
    assert api(world.cast.bob).get(url).json()["id"] == world.bob_layer.pk
    Layer.objects.filter(pk=world.bob_layer.pk).delete()

    response = api(world.cast.bob).get(url)

    assert response.status_code == 404  # the assignment makes the layer, a GET does not
    assert not Layer.objects.filter(document=world.document, annotator=world.cast.bob).exists()


def test_managers_have_no_layer_of_their_own(world, api):
    response = api(world.cast.manager).get(
        f"/api/projects/panjshir/documents/{world.document.pk}/layers/mine/"
    )

    assert response.status_code == 404
