"""The admin: staff may look at layers, spans and relations, never write them there."""

from __future__ import annotations

import pytest

from annotations.models import LabelType, Layer, Relation, Span
from tests.factories import DocumentFactory, LayerFactory, ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked_span(admin_user) -> Span:
    """A claim and its source in one layer, linked."""
    project = ProjectFactory(created_by=admin_user)
    layer = LayerFactory(document=DocumentFactory(project=project))
    text = layer.document.text
    labels = {label.name: label for label in LabelType.objects.filter(project=project)}
    claim = Span.objects.create(layer=layer, label=labels["claim"], start=0, end=5, quote=text[:5])
    source = Span.objects.create(
        layer=layer, label=labels["source"], start=36, end=40, quote=text[36:40]
    )
    Relation.objects.create(layer=layer, label=labels["attributed_to"], head=claim, tail=source)
    return claim


def test_staff_cannot_change_a_span_in_the_admin(admin_client, linked_span):
    url = f"/admin/annotations/span/{linked_span.pk}/change/"

    response = admin_client.post(
        url,
        {
            "layer": linked_span.layer_id,
            "label": linked_span.label_id,
            "start": 1,
            "end": 3,
            "quote": "al",
            "attributes": "{}",
        },
    )

    assert response.status_code == 403
    linked_span.refresh_from_db()
    assert (linked_span.start, linked_span.end, linked_span.quote) == (0, 5, "Saleh")
    assert Layer.objects.get(pk=linked_span.layer_id).version == 1


def test_the_span_page_shows_the_span_without_a_save_button(admin_client, linked_span):
    response = admin_client.get(f"/admin/annotations/span/{linked_span.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Saleh" in page
    assert 'name="_save"' not in page


@pytest.mark.parametrize("model", ["span", "layer", "relation"])
def test_staff_cannot_add_or_delete_annotations_in_the_admin(admin_client, linked_span, model):
    pk = {"span": linked_span.pk, "layer": linked_span.layer_id}.get(
        model, Relation.objects.get().pk
    )

    added = admin_client.post(f"/admin/annotations/{model}/add/", {})
    deleted = admin_client.post(f"/admin/annotations/{model}/{pk}/delete/", {"post": "yes"})

    assert (added.status_code, deleted.status_code) == (403, 403)
    assert (Layer.objects.count(), Span.objects.count(), Relation.objects.count()) == (1, 2, 1)


def test_the_layer_page_lists_its_spans_and_links_read_only(admin_client, linked_span):
    response = admin_client.get(f"/admin/annotations/layer/{linked_span.layer_id}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Spans" in page
    assert "Relations" in page
    assert 'name="_save"' not in page
    assert 'name="spans-0-start"' not in page


def test_relations_can_be_found_by_the_quotes_they_join(admin_client, linked_span):
    response = admin_client.get("/admin/annotations/relation/", {"q": "Saleh"})

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
