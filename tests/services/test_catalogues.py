"""Catalogues: proposals and their blindness, approve, rename, merge, split, delete, and the
links spans make to entries (with their stance)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from annotations.models import AuditEvent, CatalogueEntry, LabelType, Layer, Span
from annotations.services import catalogues, layers
from annotations.services.assignments import assign_documents
from tests.access import layer_access, project_access
from tests.factories import DocumentFactory

TEXT = "Saleh said he is still in Panjshir. TASS reported that he left for Tajikistan."


@pytest.fixture
def linked_schema(cast):
    """claim -> propositions (default stances, link required), source -> source entities."""
    LabelType.objects.filter(project=cast.project, name="claim").update(
        catalogue="proposition",
        link_required=True,
        stance_values=list(catalogues.DEFAULT_STANCES),
    )
    LabelType.objects.filter(project=cast.project, name="source").update(catalogue="source")
    return cast


@pytest.fixture
def layers_of(linked_schema):
    cast = linked_schema
    document = DocumentFactory(project=cast.project, text=TEXT)
    assign_documents(project=cast.project)
    return {
        user.username: Layer.objects.get(document=document, annotator=user)
        for user in (cast.alice, cast.bob)
    }


def propose(user, project, name, kind="proposition", **fields):
    return catalogues.propose_entry(
        access=project_access(user, project), kind=kind, name=name, **fields
    )


def visible_keys(user, project):
    return set(
        catalogues.visible_entries(project_access(user, project)).values_list("key", flat=True)
    )


def test_an_annotators_proposal_is_seen_by_them_and_the_reviewers_only(cast):
    entry = propose(cast.alice, cast.project, "Saleh fled to Tajikistan")
    assert entry.status == "proposed" and entry.key == "saleh-fled-to-tajikistan"
    assert entry.key in visible_keys(cast.alice, cast.project)
    assert entry.key in visible_keys(cast.reviewer, cast.project)
    assert entry.key in visible_keys(cast.manager, cast.project)
    assert entry.key not in visible_keys(cast.bob, cast.project)
    with pytest.raises(CatalogueEntry.DoesNotExist):
        catalogues.entry_for(project_access(cast.bob, cast.project), entry.key)

    catalogues.approve_entry(access=project_access(cast.reviewer, cast.project), entry=entry)
    assert entry.key in visible_keys(cast.bob, cast.project)


def test_a_reviewers_entry_is_approved_at_once_and_keys_stay_unique(cast):
    first = propose(cast.reviewer, cast.project, "Saleh is still in Panjshir")
    second = propose(cast.manager, cast.project, "Saleh is still in Panjshir!")
    assert first.status == second.status == "approved"
    assert (first.key, second.key) == ("saleh-is-still-in-panjshir", "saleh-is-still-in-panjshir-2")


def test_annotators_cannot_approve_and_bad_input_names_the_field(cast):
    entry = propose(cast.alice, cast.project, "Saleh fled")
    with pytest.raises(PermissionDenied):
        catalogues.approve_entry(access=project_access(cast.alice, cast.project), entry=entry)
    with pytest.raises(ValidationError) as error:
        propose(cast.alice, cast.project, "   ")
    assert "name" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        propose(cast.alice, cast.project, "TASS", kind="source", source_kind="newspaper")
    assert "source_kind" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        propose(cast.alice, cast.project, "Saleh", source_kind="person")
    assert "source_kind" in error.value.message_dict


def test_a_rename_keeps_the_key_and_is_audited(cast):
    entry = propose(cast.reviewer, cast.project, "Saleh fled")
    renamed = catalogues.update_entry(
        access=project_access(cast.reviewer, cast.project),
        entry=entry,
        name="Amrullah Saleh fled to Tajikistan",
    )
    assert renamed.key == "saleh-fled" and renamed.name == "Amrullah Saleh fled to Tajikistan"
    event = AuditEvent.objects.filter(object_type="catalogueentry", action="update").get()
    assert event.before["name"] == "Saleh fled"
    # An annotator changes only their own proposal, before approval.
    with pytest.raises(PermissionDenied):
        catalogues.update_entry(
            access=project_access(cast.alice, cast.project), entry=entry, name="x"
        )


def test_a_span_links_to_an_entry_with_a_stance(cast, layers_of):
    entry = propose(cast.reviewer, cast.project, "Saleh fled to Tajikistan")
    span = layers.create_span(
        access=layer_access(cast.alice, layers_of["alice"]),
        label="claim",
        start=36,
        end=77,
        entry=entry.key,
        stance="reports",
    )
    assert (span.entry_id, span.stance) == (entry.pk, "reports")
    assert layers.span_snapshot(span)["entry"] == entry.key


@pytest.mark.parametrize(
    ("label", "entry", "stance", "field", "reason"),
    [
        ("claim", "no-such-entry", "", "entry", "no proposition named 'no-such-entry'"),
        ("claim", "tass", "", "entry", "no proposition named 'tass'"),
        ("sentiment", "saleh-fled", "", "entry", "sentiment spans link to no catalogue"),
        ("claim", "saleh-fled", "believes", "stance", "'believes' is not one of"),
        ("claim", "", "asserts", "stance", "a stance needs an entry"),
        ("source", "tass", "asserts", "stance", "source spans take no stance"),
    ],
)
def test_a_link_outside_the_schema_is_refused_naming_the_field(
    cast, layers_of, label, entry, stance, field, reason
):
    propose(cast.reviewer, cast.project, "Saleh fled")
    propose(cast.reviewer, cast.project, "TASS", kind="source", source_kind="agency")
    with pytest.raises(ValidationError) as error:
        layers.create_span(
            access=layer_access(cast.alice, layers_of["alice"]),
            label=label,
            start=0,
            end=5,
            entry=entry or None,
            stance=stance,
        )
    assert any(reason in message for message in error.value.message_dict[field])
    assert not Span.objects.exists()


def test_an_annotator_cannot_link_to_another_annotators_proposal(cast, layers_of):
    hidden = propose(cast.bob, cast.project, "Saleh fled")
    with pytest.raises(ValidationError) as error:
        layers.create_span(
            access=layer_access(cast.alice, layers_of["alice"]),
            label="claim",
            start=0,
            end=5,
            entry=hidden.key,
        )
    assert "entry" in error.value.message_dict


def test_an_annotator_never_sees_another_annotators_links_in_a_blind_project(cast, layers_of):
    entry = propose(cast.reviewer, cast.project, "Saleh fled")
    layers.create_span(
        access=layer_access(cast.bob, layers_of["bob"]),
        label="claim",
        start=0,
        end=5,
        entry=entry.key,
        stance="asserts",
    )
    from django.http import Http404

    with pytest.raises(Http404):
        layer_access(cast.alice, layers_of["bob"])


def test_update_sets_and_removes_a_link(cast, layers_of):
    entry = propose(cast.reviewer, cast.project, "Saleh fled")
    access = layer_access(cast.alice, layers_of["alice"])
    span = layers.create_span(access=access, label="claim", start=0, end=5)
    span = layers.update_span(access=access, span_id=span.pk, entry=entry.key, stance="denies")
    assert (span.entry_id, span.stance) == (entry.pk, "denies")
    span = layers.update_span(access=access, span_id=span.pk, unlink=True)
    assert (span.entry_id, span.stance) == (None, "")


def test_submitting_is_refused_while_a_required_link_is_missing(cast, layers_of):
    entry = propose(cast.reviewer, cast.project, "Saleh fled")
    access = layer_access(cast.alice, layers_of["alice"])
    span = layers.create_span(access=access, label="claim", start=0, end=5)
    layers.create_span(access=access, label="source", start=36, end=40)  # optional link
    with pytest.raises(ValidationError) as error:
        layers.submit_layer(access=layer_access(cast.alice, layers_of["alice"]))
    assert "1 claim span unlinked" in error.value.message_dict["entry"][0]
    layers.update_span(access=access, span_id=span.pk, entry=entry.key)
    submitted = layers.submit_layer(access=layer_access(cast.alice, layers_of["alice"]))
    assert submitted.status == "submitted"


def _link(user, layer, entry, start, end):
    return layers.create_span(
        access=layer_access(user, layer), label="claim", start=start, end=end, entry=entry.key
    )


def test_merging_moves_every_mention_and_bumps_their_layers(cast, layers_of):
    keep = propose(cast.reviewer, cast.project, "Saleh fled to Tajikistan")
    merged = propose(cast.alice, cast.project, "Saleh left for Tajikistan")
    first = _link(cast.alice, layers_of["alice"], merged, 36, 77)
    second = _link(cast.bob, layers_of["bob"], keep, 36, 77)
    bob_version = Layer.objects.get(pk=layers_of["bob"].pk).version
    alice_version = Layer.objects.get(pk=layers_of["alice"].pk).version

    catalogues.merge_entries(
        access=project_access(cast.reviewer, cast.project), keep=keep, merge=merged
    )
    assert not CatalogueEntry.objects.filter(pk=merged.pk).exists()
    assert set(Span.objects.filter(entry=keep).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert Layer.objects.get(pk=layers_of["alice"].pk).version == alice_version + 1
    assert Layer.objects.get(pk=layers_of["bob"].pk).version == bob_version  # not touched
    event = AuditEvent.objects.get(object_type="catalogueentry", action="merge")
    assert event.after["mentions_moved"] == 1 and event.after["merged"] == merged.key


def test_merging_refuses_different_kinds_and_annotators(cast):
    claim = propose(cast.reviewer, cast.project, "Saleh fled")
    source = propose(cast.reviewer, cast.project, "TASS", kind="source")
    with pytest.raises(ValidationError):
        catalogues.merge_entries(
            access=project_access(cast.reviewer, cast.project), keep=claim, merge=source
        )
    other = propose(cast.reviewer, cast.project, "Saleh has fled")
    with pytest.raises(PermissionDenied):
        catalogues.merge_entries(
            access=project_access(cast.alice, cast.project), keep=claim, merge=other
        )


def test_splitting_moves_the_chosen_mentions_to_a_new_entry(cast, layers_of):
    entry = propose(cast.reviewer, cast.project, "Saleh fled")
    stays = _link(cast.alice, layers_of["alice"], entry, 0, 5)
    moves = _link(cast.bob, layers_of["bob"], entry, 36, 77)
    access = project_access(cast.reviewer, cast.project)
    new = catalogues.split_entry(
        access=access, entry=entry, name="Saleh fled to Tajikistan", span_ids=[moves.pk]
    )
    assert Span.objects.get(pk=moves.pk).entry_id == new.pk
    assert Span.objects.get(pk=stays.pk).entry_id == entry.pk
    with pytest.raises(ValidationError) as error:
        catalogues.split_entry(access=access, entry=entry, name="x", span_ids=[moves.pk])
    assert "spans" in error.value.message_dict


def test_deleting_an_entry_in_use_is_refused_with_the_count(cast, layers_of):
    entry = propose(cast.reviewer, cast.project, "Saleh fled")
    _link(cast.alice, layers_of["alice"], entry, 0, 5)
    access = project_access(cast.reviewer, cast.project)
    with pytest.raises(ValidationError) as error:
        catalogues.delete_entry(access=access, entry=entry)
    assert "mentioned by 1 span in 1 document" in error.value.message_dict["entry"][0]
    unused = propose(cast.reviewer, cast.project, "Saleh stayed")
    catalogues.delete_entry(access=access, entry=unused)
    assert not CatalogueEntry.objects.filter(pk=unused.pk).exists()


def test_entries_rank_by_similarity_to_a_claims_text(cast):
    for name in ("The resistance leaders fled Afghanistan", "Saleh fled to Tajikistan", "TASS"):
        propose(cast.reviewer, cast.project, name)
    ranked = catalogues.ranked_entries(
        project_access(cast.alice, cast.project), near="Saleh has fled to Tajikistan"
    )
    assert ranked[0].entry.name == "Saleh fled to Tajikistan"
    assert ranked[0].score > ranked[-1].score
    found = catalogues.ranked_entries(project_access(cast.alice, cast.project), search="resist")
    assert [item.entry.name for item in found] == ["The resistance leaders fled Afghanistan"]
