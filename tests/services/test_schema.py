"""The label schema's rules (annotations.services.schema) and the overlap rule of the
span write path, against the cast's project (news claims preset)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from annotations.models import (
    AuditEvent,
    DocumentLabel,
    LabelKind,
    LabelType,
    Layer,
    Relation,
    Span,
)
from annotations.services import layers, schema
from tests.access import layer_access, project_access
from tests.factories import DocumentFactory, LayerFactory, ProjectFactory

pytestmark = pytest.mark.django_db

TEXT = "Saleh said he is still in Panjshir. TASS reported that he left."


@pytest.fixture
def manager(cast):
    return project_access(cast.manager, cast.project)


def label(project, name):
    return LabelType.objects.get(project=project, name=name)


@pytest.fixture
def annotated(cast):
    """Two documents: alice's layers hold sentiment and claim spans, doc one has gold."""
    one = DocumentFactory(project=cast.project, text=TEXT)
    two = DocumentFactory(project=cast.project, text=TEXT)
    sentiment = label(cast.project, "sentiment")
    claim = label(cast.project, "claim")
    alice_one = LayerFactory(document=one, annotator=cast.alice)
    alice_two = LayerFactory(document=two, annotator=cast.alice)
    gold = Layer.objects.create(document=one, is_gold=True)
    for layer in (alice_one, alice_two, gold):
        Span.objects.create(
            layer=layer,
            label=sentiment,
            start=0,
            end=5,
            quote="Saleh",
            attributes={"polarity": "neutral"},
        )
    Span.objects.create(layer=alice_one, label=claim, start=0, end=34, quote=TEXT[:34])
    return {"alice_one": alice_one, "alice_two": alice_two, "gold": gold}


def errors(excinfo) -> dict:
    return excinfo.value.message_dict


# --- renames --------------------------------------------------------------------------


def test_renaming_a_label_keeps_every_span(cast, manager, annotated):
    sentiment = label(cast.project, "sentiment")
    ids = set(Span.objects.filter(label=sentiment).values_list("pk", flat=True))

    schema.update_label(access=manager, label=sentiment, changes={"name": "tone"})

    tone = label(cast.project, "tone")
    assert tone.pk == sentiment.pk
    assert set(Span.objects.filter(label=tone).values_list("pk", flat=True)) == ids
    event = AuditEvent.objects.filter(object_type="labeltype", action="update").first()
    assert (event.before["name"], event.after["name"]) == ("sentiment", "tone")


def test_renaming_a_value_rewrites_the_spans_of_every_layer_gold_included(cast, manager, annotated):
    sentiment = label(cast.project, "sentiment")
    versions = dict(Layer.objects.values_list("pk", "version"))

    schema.update_label(
        access=manager,
        label=sentiment,
        changes={},
        renamed_values={"polarity": {"neutral": "mixed"}},
    )

    stored = list(Span.objects.filter(label=sentiment).values_list("attributes", flat=True))
    assert stored == [{"polarity": "mixed"}] * 3
    assert label(cast.project, "sentiment").attribute_schema == {
        "polarity": ["positive", "negative", "mixed"]
    }
    for layer in annotated.values():
        layer.refresh_from_db()
        assert layer.version == versions[layer.pk] + 1
    event = AuditEvent.objects.filter(object_type="labeltype", action="update").first()
    assert event.after["rewritten_spans"] == {"polarity: neutral -> mixed": 3}


def test_renaming_an_attribute_rewrites_the_spans(cast, manager, annotated):
    sentiment = label(cast.project, "sentiment")

    schema.update_label(
        access=manager, label=sentiment, changes={}, renamed_attributes={"polarity": "tone"}
    )

    assert (
        list(Span.objects.filter(label=sentiment).values_list("attributes", flat=True))
        == [{"tone": "neutral"}] * 3
    )
    assert label(cast.project, "sentiment").attribute_schema == {
        "tone": ["positive", "negative", "neutral"]
    }


def test_renaming_a_choice_rewrites_the_document_labels(cast, manager, annotated):
    stance = schema.create_label(
        access=manager, kind=LabelKind.DOCUMENT, name="stance", choices=["for", "against"]
    )
    DocumentLabel.objects.create(layer=annotated["alice_one"], label=stance, value="for")

    schema.update_label(access=manager, label=stance, changes={}, renamed_choices={"for": "pro"})

    assert list(DocumentLabel.objects.values_list("value", flat=True)) == ["pro"]
    assert label(cast.project, "stance").choices == ["pro", "against"]


# --- removals -------------------------------------------------------------------------


def test_removing_a_label_in_use_is_refused_with_the_count(cast, manager, annotated):
    with pytest.raises(ValidationError) as excinfo:
        schema.delete_label(access=manager, label=label(cast.project, "sentiment"))

    assert "used by 3 spans in 2 documents" in errors(excinfo)["delete_annotations"][0]
    assert Span.objects.filter(label__name="sentiment").count() == 3


def test_removing_a_label_with_its_annotations_deletes_audits_and_bumps(cast, manager, annotated):
    versions = dict(Layer.objects.values_list("pk", "version"))

    schema.delete_label(
        access=manager, label=label(cast.project, "sentiment"), delete_annotations=True
    )

    assert not LabelType.objects.filter(project=cast.project, name="sentiment").exists()
    assert Span.objects.count() == 1  # alice's claim
    event = AuditEvent.objects.filter(object_type="labeltype", action="delete").first()
    assert event.before["name"] == "sentiment"
    assert event.after["deleted_spans"] == 3
    for layer in annotated.values():
        layer.refresh_from_db()
        assert layer.version == versions[layer.pk] + 1


def test_removing_a_label_that_is_a_relation_end_is_refused(cast, manager):
    with pytest.raises(ValidationError) as excinfo:
        schema.delete_label(access=manager, label=label(cast.project, "claim"))

    assert "head of the relation type 'attributed_to'" in errors(excinfo)["label"][0]


def test_removing_a_relation_type_in_use_is_refused_then_deletes(cast, manager, annotated):
    layer = annotated["alice_one"]
    source = Span.objects.create(
        layer=layer, label=label(cast.project, "source"), start=35, end=39, quote=TEXT[35:39]
    )
    claim = Span.objects.get(layer=layer, label__name="claim")
    relation_type = label(cast.project, "attributed_to")
    Relation.objects.create(layer=layer, label=relation_type, head=claim, tail=source)

    with pytest.raises(ValidationError) as excinfo:
        schema.delete_label(access=manager, label=relation_type)
    assert "used by 1 relation in 1 document" in errors(excinfo)["delete_annotations"][0]

    schema.delete_label(access=manager, label=relation_type, delete_annotations=True)
    assert Relation.objects.count() == 0


def test_removing_a_value_in_use_is_refused_then_strips_it(cast, manager, annotated):
    sentiment = label(cast.project, "sentiment")
    smaller = {"polarity": ["positive", "negative"]}

    with pytest.raises(ValidationError) as excinfo:
        schema.update_label(access=manager, label=sentiment, changes={"attribute_schema": smaller})
    assert (
        "'neutral' is used by 3 spans in 2 documents"
        in errors(excinfo)["attribute_schema.polarity"][0]
    )

    schema.update_label(
        access=manager,
        label=sentiment,
        changes={"attribute_schema": smaller},
        delete_annotations=True,
    )
    assert (
        list(Span.objects.filter(label=sentiment).values_list("attributes", flat=True)) == [{}] * 3
    )
    event = AuditEvent.objects.filter(object_type="labeltype", action="update").first()
    assert event.after["deleted_annotations"] == {"polarity: neutral": 3}


def test_removing_an_attribute_in_use_is_refused(cast, manager, annotated):
    with pytest.raises(ValidationError) as excinfo:
        schema.update_label(
            access=manager, label=label(cast.project, "sentiment"), changes={"attribute_schema": {}}
        )

    assert "'polarity' is used by 3 spans in 2 documents" in errors(excinfo)["attribute_schema"][0]


def test_removing_a_choice_in_use_is_refused_then_deletes_the_rows(cast, manager, annotated):
    stance = schema.create_label(
        access=manager, kind=LabelKind.DOCUMENT, name="stance", choices=["for", "against"]
    )
    DocumentLabel.objects.create(layer=annotated["alice_one"], label=stance, value="for")

    with pytest.raises(ValidationError) as excinfo:
        schema.update_label(access=manager, label=stance, changes={"choices": ["against"]})
    assert "used by 1 document label in 1 document" in errors(excinfo)["choices"][0]

    schema.update_label(
        access=manager, label=stance, changes={"choices": ["against"]}, delete_annotations=True
    )
    assert not DocumentLabel.objects.exists()


# --- names, keys, colours, ends, choices ----------------------------------------------


@pytest.mark.parametrize("key", ["C", "c", "l", "L", "?", "3"])
def test_hotkeys_that_clash_with_a_label_or_the_page_are_refused(cast, manager, key):
    with pytest.raises(ValidationError) as excinfo:
        schema.create_label(access=manager, kind=LabelKind.SPAN, name="event", hotkey=key)

    reason = errors(excinfo)["hotkey"][0]
    assert "already the key of 'claim'" in reason or "reserved" in reason


@pytest.mark.parametrize("name", ["Claim", " claim ", ""])
def test_names_are_unique_without_case_and_not_blank(cast, manager, name):
    with pytest.raises(ValidationError) as excinfo:
        schema.create_label(access=manager, kind=LabelKind.SPAN, name=name)

    assert "name" in errors(excinfo)


@pytest.mark.parametrize("colour", ["red", "#12345", "#gggggg", ""])
def test_bad_colours_are_refused(cast, manager, colour):
    with pytest.raises(ValidationError) as excinfo:
        schema.create_label(access=manager, kind=LabelKind.SPAN, name="event", colour=colour)

    assert "#rrggbb" in errors(excinfo)["colour"][0]


def test_relation_ends_must_be_span_labels_of_the_same_project(cast, manager):
    elsewhere = label(ProjectFactory(), "claim")

    with pytest.raises(ValidationError) as excinfo:
        schema.create_label(
            access=manager,
            kind=LabelKind.RELATION,
            name="contradicts",
            head_label=elsewhere,
            tail_label=label(cast.project, "attributed_to"),
        )

    assert "no span label named 'claim' in this project" in errors(excinfo)["head_label"][0]
    assert "not a span label" in errors(excinfo)["tail_label"][0]


@pytest.mark.parametrize("choices", [[], ["for", "For"], None])
def test_document_labels_need_distinct_choices(cast, manager, choices):
    with pytest.raises(ValidationError) as excinfo:
        schema.create_label(access=manager, kind=LabelKind.DOCUMENT, name="stance", choices=choices)

    assert "choices" in errors(excinfo)


def test_a_new_label_is_audited(cast, manager):
    made = schema.create_label(
        access=manager,
        kind=LabelKind.SPAN,
        name="event",
        colour="#00AA00",
        hotkey="v",
        attribute_schema={"certainty": ["sure", "unsure"]},
    )

    assert made.colour == "#00aa00"
    event = AuditEvent.objects.get(object_type="labeltype", action="create")
    assert event.after["attribute_schema"] == {"certainty": ["sure", "unsure"]}


def test_the_kind_of_a_used_label_cannot_change(cast, manager, annotated):
    with pytest.raises(ValidationError) as excinfo:
        schema.update_label(
            access=manager,
            label=label(cast.project, "claim"),
            changes={"kind": LabelKind.DOCUMENT, "choices": ["x"]},
        )

    assert "its kind cannot change" in errors(excinfo)["kind"][0]


def test_only_managers_edit_the_schema(cast):
    for user in (cast.reviewer, cast.alice):
        with pytest.raises(PermissionDenied):
            schema.create_label(
                access=project_access(user, cast.project), kind=LabelKind.SPAN, name="event"
            )


# --- overlap --------------------------------------------------------------------------


@pytest.fixture
def no_overlap(cast, manager):
    claim = label(cast.project, "claim")
    schema.update_label(access=manager, label=claim, changes={"allow_overlap": False})
    document = DocumentFactory(project=cast.project, text=TEXT)
    return layer_access(cast.alice, LayerFactory(document=document, annotator=cast.alice))


def test_a_span_overlapping_another_of_a_no_overlap_label_is_refused(no_overlap):
    first = layers.create_span(access=no_overlap, label="claim", start=0, end=10)

    with pytest.raises(ValidationError) as excinfo:
        layers.create_span(access=no_overlap, label="claim", start=9, end=20)
    assert f"overlaps the claim span {first.pk} at [0, 10)" in errors(excinfo)["start"][0]
    assert "end" in errors(excinfo)

    layers.create_span(access=no_overlap, label="claim", start=10, end=20)  # touching is fine
    layers.create_span(access=no_overlap, label="source", start=5, end=15)  # other labels too


def test_moving_a_span_onto_another_of_a_no_overlap_label_is_refused(no_overlap):
    layers.create_span(access=no_overlap, label="claim", start=0, end=10)
    second = layers.create_span(access=no_overlap, label="claim", start=20, end=30)

    with pytest.raises(ValidationError) as excinfo:
        layers.update_span(access=no_overlap, span_id=second.pk, start=5)
    assert "start" in errors(excinfo)

    layers.update_span(access=no_overlap, span_id=second.pk, end=25)  # itself is no clash


def test_replacing_a_layer_with_overlapping_no_overlap_spans_is_refused(no_overlap):
    spans = [layers.SpanInput("claim", 0, 10), layers.SpanInput("claim", 5, 12)]

    with pytest.raises(ValidationError) as excinfo:
        layers.replace_layer(access=no_overlap, spans=spans)

    assert "overlaps spans[0]" in errors(excinfo)["spans[1].start"][0]


def test_forbidding_overlap_is_refused_while_spans_overlap(cast, manager, annotated):
    layer = annotated["alice_two"]
    claim = label(cast.project, "claim")
    Span.objects.create(layer=layer, label=claim, start=0, end=10, quote=TEXT[:10])
    Span.objects.create(layer=layer, label=claim, start=5, end=15, quote=TEXT[5:15])

    with pytest.raises(ValidationError) as excinfo:
        schema.update_label(access=manager, label=claim, changes={"allow_overlap": False})

    assert "1 span of 'claim' overlap another in 1 document" in errors(excinfo)["allow_overlap"][0]
    assert label(cast.project, "claim").allow_overlap


def test_the_dataset_card_lists_the_schema_as_edited(cast, manager):
    from annotations.exporters.dataset_card import schema_section
    from annotations.services.export_jobs import card_data

    schema.create_label(
        access=manager, kind=LabelKind.DOCUMENT, name="stance", choices=["for", "against"]
    )
    schema.update_label(
        access=manager,
        label=label(cast.project, "sentiment"),
        changes={},
        renamed_values={"polarity": {"neutral": "mixed"}},
    )

    text = "\n".join(schema_section(card_data(cast.project).labels))

    assert "polarity: positive, negative, mixed" in text
    assert "attributed to (tail). | claim | source |" in text
    assert "| stance |   | for, against | single |" in text


def test_a_relation_end_cannot_narrow_past_the_links_that_exist(cast, manager, annotated):
    layer = annotated["alice_one"]
    claim = Span.objects.get(layer=layer, label__name="claim")
    source = Span.objects.create(
        layer=layer, label=label(cast.project, "source"), start=35, end=39, quote=TEXT[35:39]
    )
    relation_type = label(cast.project, "attributed_to")
    Relation.objects.create(layer=layer, label=relation_type, head=claim, tail=source)

    with pytest.raises(ValidationError) as excinfo:
        schema.update_label(
            access=manager,
            label=relation_type,
            changes={"tail_label": label(cast.project, "sentiment")},
        )

    reason = errors(excinfo)["tail_label"][0]
    assert (
        reason == "used by 1 relation in 1 document whose tail is not a sentiment: fix them first"
    )
    schema.update_label(access=manager, label=relation_type, changes={"head_label": None})
