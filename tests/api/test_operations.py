"""POST /api/layers/<id>/operations/: span and link writes in one batch, all or none, one
version, each checked as its single write is and audited as it would be."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import (
    Assignment,
    AssignmentStatus,
    AuditEvent,
    CatalogueEntry,
    LabelType,
    Layer,
    Relation,
    Span,
)
from annotations.services import layers
from tests.access import layer_access

pytestmark = pytest.mark.django_db


def url(layer):
    return f"/api/layers/{layer.pk}/operations/"


def send(client, layer, operations, version=None):
    version = version if version is not None else Layer.objects.get(pk=layer.pk).version
    return client.post(url(layer), {"version": version, "operations": operations}, format="json")


def contents(layer):
    """The layer as stored: spans (label, start, end, attrs, entry, stance) and links."""
    spans = sorted(
        (s.label.name, s.start, s.end, s.attributes, s.entry_id, s.stance)
        for s in Span.objects.filter(layer=layer).select_related("label")
    )
    links = sorted(
        (r.label.name, r.head.start, r.tail.start)
        for r in Relation.objects.filter(layer=layer).select_related("label", "head", "tail")
    )
    return spans, links


def claim_and_source(world):
    alice = layer_access(world.cast.alice, world.alice_layer)
    claim = layers.create_span(access=alice, label="claim", start=0, end=60)
    source = layers.create_span(access=alice, label="source", start=61, end=70)
    link = layers.create_relation(access=alice, type="attributed_to", head=claim.pk, tail=source.pk)
    return claim, source, link


def test_spans_and_a_link_to_a_span_of_the_same_batch_in_one_version(world, api):
    text = world.document.text
    response = send(
        api(world.cast.alice),
        world.alice_layer,
        [
            {"op": "create_span", "ref": "c1", "label": "claim", "start": 0, "end": 17},
            {
                "op": "create_span",
                "ref": "s1",
                "label": "source",
                "start": 20,
                "end": 30,
                "attrs": {"kind": "person"},
                "quote": text[20:30],
            },
            {"op": "create_link", "ref": "l1", "type": "attributed_to", "head": "c1", "tail": "s1"},
            {"op": "update_span", "id": "c1", "end": 18},
        ],
        version=1,
    )

    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["version"] == 2
    assert response["ETag"] == '"2"'
    claim, source = (
        Span.objects.get(pk=data["spans"]["c1"]["id"]),
        Span.objects.get(pk=data["spans"]["s1"]["id"]),
    )
    assert data["spans"]["c1"] == {
        "id": claim.pk,
        "label": "claim",
        "start": 0,
        "end": 18,
        "attrs": {},
        "quote": text[0:18],
        "entry": None,
        "stance": "",
    }
    assert data["spans"]["s1"]["attrs"] == {"kind": "person"}
    assert data["links"]["l1"] == {
        "id": Relation.objects.get().pk,
        "type": "attributed_to",
        "head": claim.pk,
        "tail": source.pk,
    }
    assert (claim.end, claim.quote) == (18, text[0:18])
    assignment = Assignment.objects.get(document=world.document, annotator=world.cast.alice)
    assert assignment.status == AssignmentStatus.IN_PROGRESS


def test_each_operation_is_audited_as_its_single_write_is(world, api):
    claim, source, link = claim_and_source(world)
    response = send(
        api(world.cast.alice),
        world.alice_layer,
        [
            {"op": "update_span", "id": source.pk, "attrs": {"kind": "media"}},
            {"op": "delete_link", "id": link.pk},
            {"op": "create_span", "ref": "c2", "label": "claim", "start": 100, "end": 120},
            {"op": "create_link", "type": "attributed_to", "head": "c2", "tail": source.pk},
            {"op": "delete_span", "id": claim.pk},
        ],
    )

    assert response.status_code == 200, response.json()
    version = response.json()["version"]
    assert version == 5  # three single writes, then one batch
    new_claim = response.json()["spans"]["c2"]["id"]
    new_link = Relation.objects.get()
    events = list(
        AuditEvent.objects.filter(after__version=version)
        .order_by("id")
        .values_list("action", "object_type", "object_id", "before", "after")
    )
    where = {"layer": world.alice_layer.pk, "version": version}
    assert [event[:3] for event in events] == [
        ("update", "span", str(source.pk)),
        ("delete", "relation", str(link.pk)),
        ("create", "span", str(new_claim)),
        ("create", "relation", str(new_link.pk)),
        ("delete", "span", str(claim.pk)),
    ]
    assert events[0][3]["attrs"] == {}
    assert events[0][4]["attrs"] == {"kind": "media"}
    assert events[1][3] == {
        "id": link.pk,
        "type": "attributed_to",
        "head": claim.pk,
        "tail": source.pk,
    }
    assert events[1][4] == where
    assert events[2][4]["id"] == new_claim
    assert events[3][4] == {
        **where,
        "id": new_link.pk,
        "type": "attributed_to",
        "head": new_claim,
        "tail": source.pk,
    }
    assert events[4][3]["relations"] == []  # its link was deleted by the operation before
    assert contents(world.alice_layer)[1] == [("attributed_to", 100, 61)]


def test_a_bad_operation_in_the_middle_writes_nothing_and_names_its_index(world, api):
    claim, _, _ = claim_and_source(world)
    before = contents(world.alice_layer)
    client = api(world.cast.alice)
    events = AuditEvent.objects.count()

    response = send(
        client,
        world.alice_layer,
        [
            {"op": "create_span", "label": "claim", "start": 200, "end": 220},
            {"op": "delete_span", "id": claim.pk},
            {"op": "create_span", "label": "claim", "start": 5, "end": 10**7},
            {"op": "create_span", "label": "claim", "start": 300, "end": 320},
        ],
        version=4,
    )

    assert response.status_code == 400
    assert list(response.json()) == ["operations[2].end"]
    assert "text's length" in response.json()["operations[2].end"][0]
    assert contents(world.alice_layer) == before
    assert Layer.objects.get(pk=world.alice_layer.pk).version == 4
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("operation", "field", "reason"),
    [
        ({"op": "paint_span"}, "op", "must be one of"),
        ({"op": "create_span", "label": "claim", "start": "1", "end": 5}, "start", "whole"),
        ({"op": "create_span", "label": "event", "start": 1, "end": 5}, "label", "unknown"),
        ({"op": "create_span", "label": "claim", "start": 1, "end": 5, "quote": "x"}, "quote", ""),
        ({"op": "update_span", "id": 10**6, "end": 5}, "id", "no span"),
        ({"op": "update_span", "id": "nobody"}, "op", "nothing to change"),
        ({"op": "delete_span", "id": "nobody"}, "id", "no span"),
        ({"op": "delete_span", "id": 1.5}, "id", "ref"),
        ({"op": "delete_link", "id": 10**6}, "id", "no relation"),
        ({"op": "create_link", "type": "cites", "head": 1, "tail": 2}, "type", "unknown"),
    ],
)
def test_each_bad_operation_is_400_naming_index_field_and_reason(
    world, api, operation, field, reason
):
    response = send(
        api(world.cast.alice),
        world.alice_layer,
        [{"op": "create_span", "label": "claim", "start": 0, "end": 5}, operation],
    )

    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [f"operations[1].{field}"], errors
    assert reason in " ".join(errors[f"operations[1].{field}"])
    assert not Span.objects.filter(layer=world.alice_layer).exists()


def test_links_follow_the_single_writes_rules(world, api):
    claim, source, _ = claim_and_source(world)
    client = api(world.cast.alice)

    duplicate = send(
        client,
        world.alice_layer,
        [{"op": "create_link", "type": "attributed_to", "head": claim.pk, "tail": source.pk}],
    )
    wrong_end = send(
        client,
        world.alice_layer,
        [
            {"op": "create_span", "ref": "c", "label": "claim", "start": 100, "end": 110},
            {"op": "create_link", "type": "attributed_to", "head": source.pk, "tail": "c"},
        ],
    )
    relabel = send(
        client, world.alice_layer, [{"op": "update_span", "id": claim.pk, "label": "source"}]
    )
    twice = send(
        client,
        world.alice_layer,
        [
            {"op": "create_span", "ref": "c", "label": "claim", "start": 1, "end": 2},
            {"op": "create_span", "ref": "c", "label": "claim", "start": 3, "end": 4},
        ],
    )

    assert "already linked" in duplicate.json()["operations[0].tail"][0]
    assert set(wrong_end.json()) == {"operations[1].head", "operations[1].tail"}
    assert "the span is the head of a link" in relabel.json()["operations[0].label"][0]
    assert "another object of this batch" in twice.json()["operations[1].ref"][0]


def test_made_deleted_and_made_again_in_one_batch(world, api):
    claim, source, link = claim_and_source(world)
    response = send(
        api(world.cast.alice),
        world.alice_layer,
        [
            {"op": "delete_link", "id": link.pk},
            {
                "op": "create_link",
                "ref": "a",
                "type": "attributed_to",
                "head": claim.pk,
                "tail": source.pk,
            },
            {"op": "delete_link", "id": "a"},
            {
                "op": "create_link",
                "ref": "b",
                "type": "attributed_to",
                "head": claim.pk,
                "tail": source.pk,
            },
            {"op": "create_span", "ref": "gone", "label": "claim", "start": 100, "end": 110},
            {"op": "delete_span", "id": "gone"},
        ],
    )

    assert response.status_code == 200, response.json()
    data = response.json()
    assert list(data["links"]) == ["b"]
    assert data["spans"] == {}
    assert contents(world.alice_layer)[1] == [("attributed_to", 0, 61)]
    assert Span.objects.filter(layer=world.alice_layer).count() == 2
    made_and_gone = AuditEvent.objects.filter(object_type="span", after__version=data["version"])
    assert [e.action for e in made_and_gone.order_by("id")] == ["create", "delete"]
    assert len({e.object_id for e in made_and_gone}) == 1


def test_overlap_rule_counts_spans_of_the_batch_and_of_the_layer(world, api):
    LabelType.objects.filter(project=world.project, name="claim").update(allow_overlap=False)
    claim, _, _ = claim_and_source(world)
    client = api(world.cast.alice)

    on_stored = send(
        client, world.alice_layer, [{"op": "create_span", "label": "claim", "start": 50, "end": 80}]
    )
    within = send(
        client,
        world.alice_layer,
        [
            {"op": "create_span", "ref": "a", "label": "claim", "start": 100, "end": 120},
            {"op": "create_span", "label": "claim", "start": 110, "end": 130},
        ],
    )
    moved_away = send(
        client,
        world.alice_layer,
        [
            {"op": "update_span", "id": claim.pk, "start": 0, "end": 10},
            {"op": "create_span", "label": "claim", "start": 20, "end": 40},
        ],
    )

    assert on_stored.json()["operations[0].start"][0].startswith(
        f"overlaps the claim span {claim.pk}"
    )
    assert "overlaps the claim span 'a'" in within.json()["operations[1].end"][0]
    assert moved_away.status_code == 200, moved_away.json()


def test_catalogue_entry_and_stance_as_the_single_writes(world, api):
    LabelType.objects.filter(project=world.project, name="claim").update(
        catalogue="proposition", stance_values=["asserts", "denies"]
    )
    CatalogueEntry.objects.create(
        project=world.project, kind="proposition", key="saleh-fled", name="Saleh fled"
    )
    CatalogueEntry.objects.create(
        project=world.project,
        kind="proposition",
        key="bobs-idea",
        name="Bob's idea",
        status="proposed",
        proposed_by=world.cast.bob,
    )
    client = api(world.cast.alice)
    linked = send(
        client,
        world.alice_layer,
        [
            {
                "op": "create_span",
                "ref": "c",
                "label": "claim",
                "start": 0,
                "end": 10,
                "entry": "saleh-fled",
                "stance": "asserts",
            },
            {"op": "update_span", "id": "c", "stance": "denies"},
        ],
    )
    span_id = linked.json()["spans"]["c"]["id"]
    hidden = send(
        client, world.alice_layer, [{"op": "update_span", "id": span_id, "entry": "bobs-idea"}]
    )
    bad_stance = send(
        client, world.alice_layer, [{"op": "update_span", "id": span_id, "stance": "believes"}]
    )
    unlinked = send(
        client, world.alice_layer, [{"op": "update_span", "id": span_id, "entry": None}]
    )

    assert (linked.json()["spans"]["c"]["entry"], linked.json()["spans"]["c"]["stance"]) == (
        "saleh-fled",
        "denies",
    )
    assert "no proposition named 'bobs-idea'" in hidden.json()["operations[0].entry"][0]
    assert "operations[0].stance" in bad_stance.json()
    assert unlinked.status_code == 200
    assert Span.objects.get(pk=span_id).entry_id is None
    assert Span.objects.get(pk=span_id).stance == ""


def test_a_stale_version_is_409_with_the_current_one(world, api):
    claim_and_source(world)
    response = send(
        api(world.cast.alice),
        world.alice_layer,
        [{"op": "create_span", "label": "claim", "start": 0, "end": 5}],
        version=2,
    )

    assert response.status_code == 409
    assert response.json()["current_version"] == 4
    assert Span.objects.filter(layer=world.alice_layer).count() == 2


def test_read_only_layers_refuse_the_batch(world, api):
    alice = layer_access(world.cast.alice, world.alice_layer)
    layers.submit_layer(access=alice)
    create = [{"op": "create_span", "label": "claim", "start": 0, "end": 5}]

    submitted = send(api(world.cast.alice), world.alice_layer, create)
    as_manager = send(api(world.cast.manager), world.alice_layer, create)

    assert submitted.status_code == 403
    assert "submitted" in submitted.json()["detail"]
    assert as_manager.status_code == 403
    assert not Span.objects.filter(layer=world.alice_layer).exists()


def test_the_batch_size_is_capped(world, api, settings):
    settings.LAYER_OPERATIONS_MAX = 3
    create = {"op": "create_span", "label": "claim", "start": 0, "end": 5}

    too_many = send(api(world.cast.alice), world.alice_layer, [create] * 4)
    empty = send(api(world.cast.alice), world.alice_layer, [])
    enough = send(api(world.cast.alice), world.alice_layer, [create] * 3)

    assert too_many.status_code == 400
    assert too_many.json() == {"operations": ["Ensure this field has no more than 3 elements."]}
    assert list(empty.json()) == ["operations"]
    assert enough.status_code == 200
    assert Span.objects.filter(layer=world.alice_layer).count() == 3


def test_the_queries_a_batch_makes_do_not_grow_with_its_size(world, api):
    claim, source, _ = claim_and_source(world)
    LabelType.objects.filter(project=world.project, name="claim").update(
        catalogue="proposition", stance_values=["asserts"]
    )
    CatalogueEntry.objects.create(
        project=world.project, kind="proposition", key="saleh-fled", name="Saleh fled"
    )
    client = api(world.cast.alice)

    def queries(size):
        operations = []
        for n in range(size):
            operations += [
                {"op": "create_span", "ref": f"c{n}", "label": "claim", "start": n, "end": n + 9},
                {"op": "update_span", "id": f"c{n}", "end": n + 10},
                {"op": "update_span", "id": f"c{n}", "entry": "saleh-fled", "stance": "asserts"},
                {"op": "create_link", "type": "attributed_to", "head": f"c{n}", "tail": source.pk},
            ]
        operations.append({"op": "update_span", "id": claim.pk, "attrs": {}})
        with CaptureQueriesContext(connection) as captured:
            assert send(client, world.alice_layer, operations).status_code == 200
        return len(captured)

    assert queries(2) == queries(40)
