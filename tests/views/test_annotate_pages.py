from __future__ import annotations

import html
import json
import re

import pytest
from django.urls import reverse

from annotations.models import AssignmentStatus, LabelType, Layer, Relation, Span

pytestmark = pytest.mark.django_db


def page_url(project, document):
    return reverse("annotate", kwargs={"slug": project.slug, "doc_id": document.pk})


def add_span(layer, label_name, start, end, **attrs):
    label = LabelType.objects.get(project=layer.document.project, name=label_name)
    return Span.objects.create(
        layer=layer,
        label=label,
        start=start,
        end=end,
        attributes=attrs,
        quote=layer.document.text[start:end],
    )


def json_script(page: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page)
    return json.loads(match[1])


def test_project_home_sends_annotators_to_their_queue(client, cast):
    client.force_login(cast.alice)

    response = client.get(f"/projects/{cast.project.slug}/")

    assert response.status_code == 302
    assert response.url == f"/projects/{cast.project.slug}/queue/"


@pytest.mark.parametrize("who", ["manager", "reviewer"])
def test_project_home_sends_managers_and_reviewers_to_the_dashboard(client, cast, who):
    client.force_login(getattr(cast, who))

    response = client.get(f"/projects/{cast.project.slug}/")

    assert response.url == f"/projects/{cast.project.slug}/dashboard/"


@pytest.mark.parametrize(
    "path", ["", "queue/", "next/", "guidelines/", "dashboard/", "documents/1/annotate/"]
)
def test_outsider_gets_404_for_every_project_page(client, cast, corpus, path):
    client.force_login(cast.outsider)

    response = client.get(f"/projects/{cast.project.slug}/{path}")

    assert response.status_code == 404


def test_anonymous_visitor_is_sent_to_login_from_the_queue(client, cast):
    response = client.get(f"/projects/{cast.project.slug}/queue/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_queue_lists_the_annotators_documents_with_status_and_span_counts(client, cast, corpus):
    layer = Layer.objects.get(document=corpus[0], annotator=cast.alice)
    add_span(layer, "claim", 0, 5)
    add_span(layer, "source", 6, 13)
    client.force_login(cast.alice)

    response = client.get(f"/projects/{cast.project.slug}/queue/")

    rows = response.context["rows"]
    assert [row["assignment"].document.external_id for row in rows] == ["001", "002", "003"]
    assert [row["spans"] for row in rows] == [2, 0, 0]
    assert response.context["open"] == 3
    assert 'id="next-link"' in response.content.decode()


def test_queue_shows_the_headline_or_else_the_first_line_of_an_untitled_document(
    client, cast, corpus
):
    corpus[0].text = "\n  First line of the story \nSecond line."
    corpus[0].save()
    corpus[1].meta = {"headline": "Given headline"}
    corpus[1].save()
    client.force_login(cast.alice)

    page = client.get(f"/projects/{cast.project.slug}/queue/").content.decode()

    assert '<span class="muted headline" dir="auto">First line of the story</span>' in page
    assert '<span class="muted headline" dir="auto">Given headline</span>' in page
    assert "Second line" not in page


def test_annotation_page_shows_the_text_exactly_one_block_per_line_right_to_left_aware(
    client, cast, corpus
):
    client.force_login(cast.alice)

    response = client.get(page_url(cast.project, corpus[0]))

    page = response.content.decode()
    container = re.search(r'<div id="doc-text"[^>]*>(.*?)</div>', page, re.S)[1]
    blocks = re.findall(r'<p class="para" dir="auto">(.*?)</p>', container, re.S)
    assert "".join(html.unescape(block) for block in blocks) == corpus[0].text
    assert len(blocks) == 2
    assert json_script(page, "doc-text-data") == corpus[0].text


def test_markup_in_a_document_is_escaped(client, cast, corpus):
    client.force_login(cast.alice)

    page = client.get(page_url(cast.project, corpus[2])).content.decode()

    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_annotation_page_carries_only_the_callers_own_layer(client, cast, corpus):
    mine = Layer.objects.get(document=corpus[0], annotator=cast.alice)
    theirs = Layer.objects.get(document=corpus[0], annotator=cast.bob)
    add_span(mine, "claim", 0, 5)
    add_span(theirs, "source", 15, 20)
    client.force_login(cast.alice)

    page = client.get(page_url(cast.project, corpus[0])).content.decode()

    layer = json_script(page, "layer-data")
    assert layer["id"] == mine.pk
    assert layer["annotator"] == "alice"
    assert [(s["label"], s["start"], s["end"]) for s in layer["spans"]] == [("claim", 0, 5)]
    assert "bob" not in page


def test_annotation_page_gives_the_label_schema_with_hotkeys(client, cast, corpus):
    client.force_login(cast.alice)

    page = client.get(page_url(cast.project, corpus[1])).content.decode()

    labels = {label["name"]: label for label in json_script(page, "labels-data")}
    assert labels["claim"]["hotkey"] == "c"
    assert labels["sentiment"]["attribute_schema"] == {
        "polarity": ["positive", "negative", "neutral"]
    }
    assert labels["attributed_to"]["head_label"] == "claim"
    assert labels["attributed_to"]["tail_label"] == "source"


def test_document_not_assigned_to_the_annotator_is_404(client, cast, corpus):
    client.force_login(cast.manager)

    response = client.get(page_url(cast.project, corpus[0]))

    assert response.status_code == 404


def test_next_goes_to_the_document_in_progress_first(client, cast, corpus):
    cast.alice.assignments.filter(document=corpus[2]).update(status=AssignmentStatus.IN_PROGRESS)
    client.force_login(cast.alice)

    response = client.get(f"/projects/{cast.project.slug}/next/")

    assert response.url == page_url(cast.project, corpus[2])


def test_next_skips_submitted_and_skipped_documents(client, cast, corpus):
    cast.alice.assignments.filter(document=corpus[0]).update(status=AssignmentStatus.SUBMITTED)
    cast.alice.assignments.filter(document=corpus[1]).update(status=AssignmentStatus.SKIPPED)
    client.force_login(cast.alice)

    response = client.get(f"/projects/{cast.project.slug}/next/")

    assert response.url == page_url(cast.project, corpus[2])


def test_next_with_nothing_left_returns_to_the_queue_saying_so(client, cast, corpus):
    cast.alice.assignments.update(status=AssignmentStatus.SUBMITTED)
    client.force_login(cast.alice)

    response = client.get(f"/projects/{cast.project.slug}/next/", follow=True)

    assert response.redirect_chain[-1][0] == f"/projects/{cast.project.slug}/queue/"
    assert "your queue is done" in response.content.decode()


def test_submitted_document_is_shown_read_only(client, cast, corpus):
    Layer.objects.filter(document=corpus[0], annotator=cast.alice).update(status="submitted")
    client.force_login(cast.alice)

    page = client.get(page_url(cast.project, corpus[0])).content.decode()

    assert "it is read-only now" in page
    assert json_script(page, "layer-data")["status"] == "submitted"


def test_guidelines_render_markdown_and_drop_scripts(client, cast):
    cast.project.guidelines = (
        "# Claims\n\nMark **claims**.\n\n<script>alert(1)</script>"
        '<a href="javascript:alert(2)">x</a><img src=x onerror="alert(3)">'
    )
    cast.project.save()
    client.force_login(cast.alice)

    page = client.get(f"/projects/{cast.project.slug}/guidelines/").content.decode()

    assert "<h1>Claims</h1>" in page
    assert "<strong>claims</strong>" in page
    assert "<script>alert" not in page
    assert "javascript:" not in page
    assert "onerror" not in page


def test_guidelines_list_the_labels_with_their_hotkeys(client, cast):
    client.force_login(cast.alice)

    page = client.get(f"/projects/{cast.project.slug}/guidelines/").content.decode()

    assert "<kbd>e</kbd>" in page
    assert "positive, negative, neutral" in page


def test_the_layer_in_the_page_is_the_one_the_api_returns(client, cast, corpus):
    layer = Layer.objects.get(document=corpus[0], annotator=cast.alice)
    source = add_span(layer, "source", 6, 13)
    claim = add_span(layer, "claim", 0, 5)
    add_span(layer, "sentiment", 0, 13, polarity="negative")
    Relation.objects.create(
        layer=layer,
        label=LabelType.objects.get(project=cast.project, name="attributed_to"),
        head=claim,
        tail=source,
    )
    client.force_login(cast.alice)

    page = client.get(page_url(cast.project, corpus[0])).content.decode()

    assert json_script(page, "layer-data") == client.get(f"/api/layers/{layer.pk}/").json()
