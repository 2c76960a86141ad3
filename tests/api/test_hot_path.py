"""The span-write path's hand-composed queries answer what the ORM would."""

from __future__ import annotations

import pytest
from django.forms.models import model_to_dict
from django.http import Http404

from annotations import sql
from annotations.access import resolve_access, token_with_user
from annotations.models import (
    MAX_ID,
    Assignment,
    AssignmentStatus,
    AuditEvent,
    Layer,
    LayerStatus,
    Span,
)
from annotations.services.tokens import create_token
from tests.access import project_access

pytestmark = pytest.mark.django_db


def spans_url(layer_id):
    return f"/api/layers/{layer_id}/spans/"


def as_stored(instance):
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


@pytest.mark.parametrize(("who", "role"), [("manager", "manager"), ("alice", "annotator")])
def test_the_layer_query_loads_what_the_orm_loads_with_the_callers_role(world, who, role):
    world.document.meta = {"source": "seed", "tags": ["رأی", "😀"]}
    world.document.save()
    expected = Layer.objects.select_related("document__project").get(pk=world.alice_layer.pk)

    access = resolve_access(getattr(world.cast, who), layer_id=world.alice_layer.pk)

    layer = access.layer
    assert (access.user, access.role) == (getattr(world.cast, who), role)
    assert access.project is layer.document.project
    assert access.assignment_status == AssignmentStatus.ASSIGNED  # alice's, whoever asks
    assert as_stored(layer) == as_stored(expected)
    assert as_stored(layer.document) == as_stored(expected.document)
    assert layer.document.meta == {"source": "seed", "tags": ["رأی", "😀"]}
    assert as_stored(layer.document.project) == as_stored(expected.document.project)


@pytest.mark.parametrize("layer_id", [0, MAX_ID, MAX_ID + 1, 10**30])
def test_ids_that_name_no_layer_are_404_not_an_error(world, api, layer_id):
    response = api(world.cast.manager).post(
        spans_url(layer_id), {"label": "claim", "start": 0, "end": 5}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "No such layer."}


@pytest.mark.parametrize("who", ["reviewer", "bob", "outsider"])
def test_the_layer_query_finds_nothing_for_whom_the_layer_is_hidden(world, who):
    with pytest.raises(Http404):
        resolve_access(getattr(world.cast, who), layer_id=world.alice_layer.pk)


def test_the_label_query_loads_what_the_orm_loads(world):
    expected = {label.pk: model_to_dict(label) for label in world.project.label_types.all()}
    access = project_access(world.cast.manager, world.project)

    loaded = {label.pk: model_to_dict(label) for label in access.labels()}

    assert loaded == expected
    assert any(label["attribute_schema"] for label in loaded.values())


def test_the_token_query_loads_what_the_orm_loads(world):
    expected, key = create_token(user=world.cast.alice, name="a script")

    token = token_with_user(key)

    assert as_stored(token) == as_stored(expected)
    assert as_stored(token.user) == as_stored(world.cast.alice)
    assert token_with_user("0" * 40) is None


def test_a_token_of_a_deactivated_user_is_refused(world, api):
    client = api(world.cast.alice)
    world.cast.alice.is_active = False
    world.cast.alice.save()

    response = client.get(f"/api/layers/{world.alice_layer.pk}/")

    assert response.status_code == 403
    assert response.json() == {"detail": "User inactive or deleted."}


def test_an_unknown_token_is_refused_with_the_reason(world, api):
    client = api(None)
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    response = client.get(f"/api/layers/{world.alice_layer.pk}/")

    assert response.json() == {"detail": "Invalid token."}


def test_writes_without_a_version_still_count_versions_one_by_one(world, api):
    client = api(world.cast.alice)

    versions = [
        client.post(
            spans_url(world.alice_layer.pk),
            {"label": "claim", "start": i, "end": i + 3},
            format="json",
        ).json()["version"]
        for i in range(7)  # past psycopg's prepare threshold: the prepared UPDATE too
    ]

    assert versions == [2, 3, 4, 5, 6, 7, 8]
    assert Layer.objects.get(pk=world.alice_layer.pk).version == 8


def test_the_gold_layer_comes_without_an_assignment(world):
    gold = Layer.objects.create(document=world.document, is_gold=True)

    access = resolve_access(world.cast.reviewer, layer_id=gold.pk)

    assert (access.role, access.assignment_status) == ("reviewer", None)


def test_the_assignment_keeps_the_time_its_first_write_started_it(world, api):
    client = api(world.cast.alice)
    client.post(
        spans_url(world.alice_layer.pk), {"label": "claim", "start": 0, "end": 5}, format="json"
    )
    started = Assignment.objects.get(document=world.document, annotator=world.cast.alice)

    client.post(
        spans_url(world.alice_layer.pk), {"label": "claim", "start": 6, "end": 9}, format="json"
    )

    again = Assignment.objects.get(pk=started.pk)
    assert again.status == AssignmentStatus.IN_PROGRESS
    assert again.started_at == started.started_at


def test_a_write_to_a_submitted_layer_changes_nothing(world, api):
    Layer.objects.filter(pk=world.alice_layer.pk).update(status=LayerStatus.SUBMITTED)

    response = api(world.cast.alice).post(
        spans_url(world.alice_layer.pk), {"label": "claim", "start": 0, "end": 5}, format="json"
    )

    assert response.status_code == 403
    assert Layer.objects.get(pk=world.alice_layer.pk).version == 1


def test_the_hand_made_insert_stores_what_create_would(world):
    sentiment = world.project.label_types.get(name="sentiment")
    span = Span(
        layer=world.alice_layer,
        label=sentiment,
        start=0,
        end=4,
        attributes={"polarity": "negative", "note": "رأی 😀"},
        quote=world.document.text[0:4],
    )
    event = AuditEvent(project=world.project, actor=world.cast.alice, action="create", after={})

    sql.insert(span)
    sql.insert(event)

    assert as_stored(Span.objects.get(pk=span.pk)) == as_stored(span)
    assert event.at is not None  # auto_now_add, as create() would set it
    assert as_stored(AuditEvent.objects.get(pk=event.pk)) == as_stored(event)
    # None is SQL NULL, not JSON null, as the ORM stores it.
    assert AuditEvent.objects.filter(pk=event.pk, before__isnull=True).exists()
