"""The schema's side of catalogues: a span label's catalogue, required link and stances,
changed with the same rules as attribute values."""

from __future__ import annotations

import pytest

from annotations.models import CatalogueEntry, LabelType, Span
from annotations.services import layers
from tests.access import layer_access

pytestmark = pytest.mark.django_db


def claim_url(world):
    claim = LabelType.objects.get(project=world.project, name="claim")
    return f"/api/projects/{world.project.slug}/labels/{claim.pk}/"


def linked_span(world, stance="asserts"):
    entry = CatalogueEntry.objects.create(
        project=world.project, kind="proposition", key="saleh-fled", name="Saleh fled"
    )
    return layers.create_span(
        access=layer_access(world.cast.alice, world.alice_layer),
        label="claim",
        start=0,
        end=10,
        entry=entry.key,
        stance=stance,
    )


def test_linking_a_label_to_propositions_gives_it_the_default_stances(world, api):
    response = api(world.cast.manager).patch(
        claim_url(world), {"catalogue": "proposition", "link_required": True}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["catalogue"], body["link_required"]) == ("proposition", True)
    assert body["stance_values"] == ["asserts", "denies", "reports", "questions"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"catalogue": "people"}, "catalogue"),
        ({"link_required": True}, "link_required"),
        ({"stance_values": ["asserts"]}, "stance_values"),
        ({"catalogue": "proposition", "stance_values": ["asserts", "Asserts"]}, "stance_values"),
    ],
)
def test_bad_link_settings_are_400_naming_the_field(world, api, body, field):
    response = api(world.cast.manager).patch(claim_url(world), body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_renaming_a_stance_rewrites_the_spans_and_removing_one_in_use_is_refused(world, api):
    manager = api(world.cast.manager)
    manager.patch(claim_url(world), {"catalogue": "proposition"}, format="json")
    span = linked_span(world)
    renamed = manager.patch(
        claim_url(world), {"renames": {"stances": {"asserts": "claims"}}}, format="json"
    )
    assert "claims" in renamed.json()["stance_values"]
    assert Span.objects.get(pk=span.pk).stance == "claims"
    refused = manager.patch(claim_url(world), {"stance_values": ["denies"]}, format="json")
    assert refused.status_code == 400
    assert "the stance 'claims' is used by 1 span" in refused.json()["stance_values"][0]
    unlinking = manager.patch(claim_url(world), {"catalogue": ""}, format="json")
    assert unlinking.status_code == 400
    assert "catalogue" in unlinking.json()
    done = manager.patch(
        f"{claim_url(world)}?delete_annotations=true", {"catalogue": ""}, format="json"
    )
    assert done.json()["catalogue"] == ""
    assert done.json()["stance_values"] == []
    assert (Span.objects.get(pk=span.pk).entry_id, Span.objects.get(pk=span.pk).stance) == (
        None,
        "",
    )
