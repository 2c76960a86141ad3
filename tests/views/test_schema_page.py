"""The label schema page: managers edit the schema in place; errors stay next to the form."""

from __future__ import annotations

import pytest
from django.test import Client

from annotations.models import LabelType, Span

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sentiment_spans(cast, corpus):
    sentiment = LabelType.objects.get(project=cast.project, name="sentiment")
    layers = [document.layers.get(annotator=cast.alice) for document in corpus[1:]]
    for layer in layers:
        Span.objects.create(
            layer=layer,
            label=sentiment,
            start=0,
            end=5,
            quote=layer.document.text[:5],
            attributes={"polarity": "neutral"},
        )
    return sentiment


def page_url(cast) -> str:
    return f"/projects/{cast.project.slug}/schema/"


def test_managers_see_every_label_by_kind_with_its_use(cast, sentiment_spans):
    response = client_for(cast.manager).get(page_url(cast))

    html = response.content.decode()
    assert response.status_code == 200
    for title in ("Span labels", "Relation types", "Document labels"):
        assert f"<h2>{title}</h2>" in html
    assert "used by 2 spans in 2 documents" in html
    assert 'aria-current="page">Schema</a>' in html


def test_other_members_have_no_schema_page_nor_link(cast, corpus):
    for user in (cast.reviewer, cast.alice):
        assert client_for(user).get(page_url(cast)).status_code == 404
    queue = client_for(cast.alice).get(f"/projects/{cast.project.slug}/queue/")
    assert "/schema/" not in queue.content.decode()


def test_a_bad_colour_is_shown_next_to_the_field(cast):
    response = client_for(cast.manager).post(
        page_url(cast),
        {"op": "create", "kind": "span", "new-span-name": "event", "new-span-colour": "red"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    field = html.index('name="new-span-colour"')
    assert html.index("must be a colour written #rrggbb", field) < html.index("</div>", field)
    assert not LabelType.objects.filter(name="event").exists()


def test_renaming_a_value_rewrites_the_spans(cast, sentiment_spans):
    response = client_for(cast.manager).post(
        page_url(cast),
        {
            "op": "rename-value",
            "label": sentiment_spans.pk,
            "attribute": "polarity",
            "value": "neutral",
            "new_name": "mixed",
        },
    )

    assert response.status_code == 302
    stored = Span.objects.filter(label=sentiment_spans).values_list("attributes", flat=True)
    assert list(stored) == [{"polarity": "mixed"}] * 2


def test_removing_a_label_in_use_asks_to_delete_its_spans_too(cast, sentiment_spans):
    manager = client_for(cast.manager)
    remove = {"op": "delete", "label": sentiment_spans.pk}

    refused = manager.post(page_url(cast), remove)
    assert refused.status_code == 400
    assert "&#x27;sentiment&#x27; is used by 2 spans in 2 documents" in refused.content.decode()
    assert "also delete the 2 spans" in refused.content.decode()

    done = manager.post(page_url(cast), {**remove, "delete_annotations": "on"})
    assert done.status_code == 302
    assert not LabelType.objects.filter(pk=sentiment_spans.pk).exists()
    assert not Span.objects.filter(label_id=sentiment_spans.pk).exists()


def test_the_help_dialog_shows_each_label_key_and_description(cast, corpus):
    client_for(cast.manager).post(
        page_url(cast),
        {
            "op": "create",
            "kind": "span",
            "new-span-name": "event",
            "new-span-colour": "#00aa00",
            "new-span-hotkey": "v",
            "new-span-description": "Something that happened.",
        },
    )

    page = client_for(cast.alice).get(
        f"/projects/{cast.project.slug}/documents/{corpus[0].pk}/annotate/"
    )

    html = page.content.decode()
    row = html.index('<tr class="help-label" data-label="event">')
    assert html.index("<kbd>v</kbd>", row) < html.index("Something that happened.", row)


def test_a_document_label_is_added_then_made_multiple_choice(cast):
    manager = client_for(cast.manager)
    manager.post(
        page_url(cast),
        {
            "op": "create",
            "kind": "document",
            "new-document-name": "stance",
            "new-document-choices": "for, against, neutral",
            "new-document-multiple": "false",
        },
    )
    stance = LabelType.objects.get(project=cast.project, name="stance")
    assert (stance.choices, stance.multiple) == (["for", "against", "neutral"], False)

    response = manager.post(
        page_url(cast),
        {
            "op": "update",
            "label": stance.pk,
            f"label-{stance.pk}-name": "stance",
            f"label-{stance.pk}-multiple": "true",
        },
    )

    assert response.status_code == 302
    stance.refresh_from_db()
    assert stance.multiple


def test_a_span_label_links_to_propositions_and_its_stances_are_edited_like_values(cast):
    claim = LabelType.objects.get(project=cast.project, name="claim")
    client = client_for(cast.manager)
    saved = client.post(
        page_url(cast),
        {
            "op": "update",
            "label": claim.pk,
            f"label-{claim.pk}-name": "claim",
            f"label-{claim.pk}-colour": claim.colour,
            f"label-{claim.pk}-hotkey": "c",
            f"label-{claim.pk}-allow_overlap": "on",
            f"label-{claim.pk}-catalogue": "proposition",
            f"label-{claim.pk}-link_required": "on",
        },
    )
    assert saved.status_code == 302
    claim.refresh_from_db()
    assert (claim.catalogue, claim.link_required) == ("proposition", True)
    page = client.get(page_url(cast)).content.decode()
    assert "Stances toward the proposition" in page
    assert 'data-value="questions"' in page
    client.post(
        page_url(cast),
        {"op": "rename-stance", "label": claim.pk, "value": "questions", "new_name": "doubts"},
    )
    client.post(page_url(cast), {"op": "add-stance", "label": claim.pk, "new_name": "predicts"})
    client.post(page_url(cast), {"op": "remove-stance", "label": claim.pk, "value": "reports"})
    claim.refresh_from_db()
    assert claim.stance_values == ["asserts", "denies", "doubts", "predicts"]
