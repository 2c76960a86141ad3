"""The one rendering of a layer and of the label schema, as pages and the API give them."""

from __future__ import annotations

import pytest

from annotations.api.serializers import LabelSerializer, LayerSerializer
from annotations.models import LabelType, Layer, Relation, Span
from annotations.selectors import labels_with_ends, layer_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked_layer(cast, corpus) -> Layer:
    """alice's layer of the Persian document: a claim, its source, and the link."""
    layer = Layer.objects.get(document=corpus[0], annotator=cast.alice)
    text = layer.document.text
    labels = {label.name: label for label in LabelType.objects.filter(project=cast.project)}
    claim = Span.objects.create(
        layer=layer, label=labels["claim"], start=15, end=56, quote=text[15:56]
    )
    source = Span.objects.create(
        layer=layer,
        label=labels["source"],
        start=58,
        end=62,
        quote=text[58:62],
        attributes={"kind": "media"},
    )
    Relation.objects.create(layer=layer, label=labels["attributed_to"], head=claim, tail=source)
    return layer


def test_layer_body_is_what_the_documented_serializer_describes(linked_layer):
    body = layer_body(linked_layer.pk)

    assert body == LayerSerializer(linked_layer).data
    assert [span["label"] for span in body["spans"]] == ["claim", "source"]
    assert body["relations"][0]["type"] == "attributed_to"
    assert body["annotator"] == "alice"


def test_layer_body_costs_four_queries_whatever_its_size(linked_layer, django_assert_num_queries):
    with django_assert_num_queries(4):
        layer_body(linked_layer.pk)


def test_label_schema_names_the_labels_a_relation_joins(cast):
    schema = {
        label["name"]: label
        for label in LabelSerializer(labels_with_ends(cast.project), many=True).data
    }

    assert (schema["attributed_to"]["head_label"], schema["attributed_to"]["tail_label"]) == (
        "claim",
        "source",
    )
    assert schema["claim"]["head_label"] is None
