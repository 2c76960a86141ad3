"""The review list and the review page: who may see them, which layers, which candidates."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations.models import AgreementRun, Document, JobStatus, Layer, Role
from annotations.services import layers as layer_service
from annotations.services.imports import import_file
from annotations.services.projects import add_member
from tests.access import layer_access, project_access
from tests.factories import DocumentFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

TEXT = "Saleh said he is in Panjshir. TASS said he left for Tajikistan."
SALEH, CLAIM, TASS, LEFT = (0, 5), (11, 28), (30, 34), (40, 62)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The review list caches its counts; no test sees another's."""
    cache.clear()
    yield
    cache.clear()


def span(bounds, label, **attrs):
    return {"start": bounds[0], "end": bounds[1], "label": label, "attrs": attrs}


def import_records(project, *records):
    data = "".join(json.dumps(record) + "\n" for record in records).encode()
    import_file(project=project, filename="review.jsonl", data=data)


@pytest.fixture
def disputed(cast):
    """Document d1: alice and bob submitted and disagree; carol's layer is still open.
    Document d2: alice and bob agree. Document d3: nobody submitted."""
    import_records(
        cast.project,
        {
            "id": "d1",
            "text": TEXT,
            "annotations": {
                "alice": [
                    span(CLAIM, "claim"),
                    span(SALEH, "source", kind="person"),
                    span(TASS, "source", kind="media"),
                ],
                "bob": [
                    span(CLAIM, "claim"),
                    span(SALEH, "source", kind="organisation"),
                    span(TASS, "claim"),
                    span(LEFT, "claim"),
                ],
            },
            "relations": {"alice": [{"type": "attributed_to", "head": 0, "tail": 1}]},
        },
        {
            "id": "d2",
            "text": TEXT,
            "annotations": {"alice": [span(CLAIM, "claim")], "bob": [span(CLAIM, "claim")]},
        },
    )
    DocumentFactory(project=cast.project, external_id="d3", text=TEXT)
    document = Document.objects.get(project=cast.project, external_id="d1")
    carol = UserFactory(username="carol")
    add_member(project=cast.project, user=carol, role=Role.ANNOTATOR)
    layer = Layer.objects.create(document=document, annotator=carol)
    layer_service.create_span(
        access=layer_access(carol, layer), label="sentiment", start=40, end=44, attrs={}
    )
    return document


def review_url(project, document):
    return reverse("review", kwargs={"slug": project.slug, "doc_id": document.pk})


def list_url(project):
    return reverse("review-list", kwargs={"slug": project.slug})


def json_script(page: str, element_id: str):
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', page)
    return json.loads(match[1])


@pytest.mark.parametrize("who", ["outsider", "alice"])
@pytest.mark.parametrize("page", ["list", "document"])
def test_outsiders_and_annotators_get_404_for_the_review_pages(client, cast, disputed, who, page):
    client.force_login(getattr(cast, who))
    url = list_url(cast.project) if page == "list" else review_url(cast.project, disputed)

    response = client.get(url)

    assert response.status_code == 404


def test_anonymous_visitor_is_sent_to_login(client, cast, disputed):
    response = client.get(review_url(cast.project, disputed))

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_document_of_another_project_is_404_on_the_review_page(client, cast, disputed):
    elsewhere = DocumentFactory(project=ProjectFactory(), external_id="x")
    client.force_login(cast.reviewer)

    response = client.get(
        reverse("review", kwargs={"slug": cast.project.slug, "doc_id": elsewhere.pk})
    )

    assert response.status_code == 404


def test_reviewer_sees_submitted_layers_only(client, cast, disputed):
    client.force_login(cast.reviewer)

    response = client.get(review_url(cast.project, disputed))

    assert response.status_code == 200
    assert [layer.annotator.username for layer in response.context["layers"]] == ["alice", "bob"]
    review = response.context["review"]
    assert review.annotators == ["alice", "bob"]
    assert all("carol" not in candidate.marks for candidate in review.candidates)
    assert "carol" not in response.content.decode()
    assert "Reopen for alice" in response.content.decode()


def test_manager_sees_every_layer_and_open_ones_do_not_count(client, cast, disputed):
    client.force_login(cast.manager)

    response = client.get(review_url(cast.project, disputed))

    layers = {layer.annotator.username: layer.status for layer in response.context["layers"]}
    assert layers == {"alice": "submitted", "bob": "submitted", "carol": "open"}
    review = response.context["review"]
    assert review.annotators == ["alice", "bob", "carol"]
    assert review.counted == ["alice", "bob"]
    sentiment = next(c for c in review.candidates if c.label == "sentiment")
    assert (sentiment.votes, sentiment.marks) == (0, {"carol": {}})
    page = response.content.decode()
    assert "still open: listed, not counted" in page
    assert "Reopen for carol" not in page


def test_candidates_group_spans_with_who_marked_them_and_how_they_disagree(client, cast, disputed):
    client.force_login(cast.reviewer)

    response = client.get(review_url(cast.project, disputed))

    rows = {
        (row["candidate"].start, row["candidate"].end, row["candidate"].label): row
        for row in response.context["rows"]
    }
    assert set(rows) == {
        (*SALEH, "source"),
        (*CLAIM, "claim"),
        (*TASS, "source"),
        (*TASS, "claim"),
        (*LEFT, "claim"),
    }
    assert rows[(*CLAIM, "claim")]["badges"] == []
    assert [b["kind"] for b in rows[(*SALEH, "source")]["badges"]] == ["attributes"]
    assert [c["attrs"] for c in rows[(*SALEH, "source")]["cells"]] == ["person", "organisation"]
    assert [b["text"] for b in rows[(*TASS, "claim")]["badges"]] == ["1 of 2", "also source"]
    assert [c["marked"] for c in rows[(*LEFT, "claim")]["cells"]] == [False, True]
    (link,) = response.context["link_rows"]
    assert link["link"].annotators == ("alice",)
    data = json_script(response.content.decode(), "review-data")
    assert data["candidates"][0] == {
        "key": f"{SALEH[0]}:{SALEH[1]}:source",
        "start": SALEH[0],
        "end": SALEH[1],
        "label": "source",
        "quote": "Saleh",
        "variants": [
            {"attrs": {"kind": "organisation"}, "entry": None, "stance": ""},
            {"attrs": {"kind": "person"}, "entry": None, "stance": ""},
        ],
    }
    claim = f"{CLAIM[0]}:{CLAIM[1]}:claim"
    assert data["links"] == [
        {
            "key": f"link:attributed_to|{claim}|0:5:source",
            "type": "attributed_to",
            "head": claim,
            "tail": "0:5:source",
        }
    ]


def test_curation_view_gets_each_submitted_layer_with_how_far_the_others_agree(
    client, cast, disputed
):
    client.force_login(cast.reviewer)

    response = client.get(review_url(cast.project, disputed))

    data = json_script(response.content.decode(), "curation-data")
    assert data["voters"] == 2
    assert [annotator["name"] for annotator in data["annotators"]] == ["alice", "bob"]
    alice, bob = data["annotators"]
    claim = f"{CLAIM[0]}:{CLAIM[1]}:claim"
    saleh = f"{SALEH[0]}:{SALEH[1]}:source"
    assert alice["spans"] == [
        {
            "key": saleh,
            "start": SALEH[0],
            "end": SALEH[1],
            "label": "source",
            "attrs": {"kind": "person"},
            "entry": None,
            "stance": "",
            "votes": 2,
            "agreement": "all",
        },
        {
            "key": claim,
            "start": CLAIM[0],
            "end": CLAIM[1],
            "label": "claim",
            "attrs": {},
            "entry": None,
            "stance": "",
            "votes": 2,
            "agreement": "all",
        },
        {
            "key": f"{TASS[0]}:{TASS[1]}:source",
            "start": TASS[0],
            "end": TASS[1],
            "label": "source",
            "attrs": {"kind": "media"},
            "entry": None,
            "stance": "",
            "votes": 1,
            "agreement": "one",
        },
    ]
    # Each annotator's own attributes, not the most common ones.
    assert [(s["key"], s["attrs"], s["agreement"]) for s in bob["spans"]] == [
        (saleh, {"kind": "organisation"}, "all"),
        (claim, {}, "all"),
        (f"{TASS[0]}:{TASS[1]}:claim", {}, "one"),
        (f"{LEFT[0]}:{LEFT[1]}:claim", {}, "one"),
    ]
    assert alice["links"] == [
        {
            "key": f"link:attributed_to|{claim}|{saleh}",
            "type": "attributed_to",
            "head": claim,
            "tail": saleh,
            "votes": 1,
            "agreement": "one",
        }
    ]
    assert bob["links"] == []
    page = response.content.decode()
    assert 'id="curation-rows"' in page
    assert 'data-show-annotator="alice"' in page


def test_curation_view_leaves_out_the_layers_still_open_even_for_a_manager(client, cast, disputed):
    client.force_login(cast.manager)

    response = client.get(review_url(cast.project, disputed))

    page = response.content.decode()
    data = json_script(page, "curation-data")
    assert [annotator["name"] for annotator in data["annotators"]] == ["alice", "bob"]
    assert data["voters"] == 2
    assert "carol" not in json.dumps(data)
    assert 'data-show-annotator="carol"' not in page


def test_curation_view_is_left_out_when_nobody_submitted(client, cast, disputed):
    untouched = Document.objects.get(project=cast.project, external_id="d3")
    client.force_login(cast.reviewer)

    page = client.get(review_url(cast.project, untouched)).content.decode()

    assert json_script(page, "curation-data") == {"voters": 0, "annotators": []}
    assert 'id="curation-rows"' not in page
    assert 'id="curation-bar"' not in page
    assert 'id="doc-text"' in page


def test_review_page_hands_the_gold_layer_to_the_editor(client, cast, disputed):
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, disputed.project), document=disputed
    )
    layer_service.create_span(
        access=layer_access(cast.reviewer, gold), label="claim", start=11, end=28
    )
    client.force_login(cast.reviewer)

    response = client.get(review_url(cast.project, disputed))

    page = response.content.decode()
    body = json_script(page, "layer-data")
    assert (body["id"], body["is_gold"], body["version"]) == (gold.pk, True, 2)
    assert [(s["start"], s["end"], s["label"]) for s in body["spans"]] == [(11, 28, "claim")]
    config = json_script(page, "annotate-config")
    assert config["api"]["merge"] == (
        f"/api/projects/{cast.project.slug}/documents/{disputed.pk}/layers/gold/merge/"
    )
    assert config["api"]["layer"].endswith(f"/documents/{disputed.pk}/layers/gold/")
    in_gold = [row["candidate"].in_gold for row in response.context["rows"]]
    assert in_gold.count(True) == 1
    assert html.escape(disputed.text) in page


def test_review_list_puts_the_most_disputed_documents_first(client, cast, disputed):
    client.force_login(cast.reviewer)

    response = client.get(list_url(cast.project))

    rows = response.context["rows"]
    assert [row["summary"].external_id for row in rows] == ["d1", "d2", "d3"]
    first = rows[0]
    assert first["submitted"] == 2
    # Source at SALEH (attributes), TASS as source and as claim (label), LEFT (1 of 2),
    # the link only alice drew.
    assert first["summary"].disagreements == 5
    assert first["summary"].candidates == 6
    assert rows[1]["summary"].disagreements == 0
    assert rows[2]["submitted"] == 0
    page = response.content.decode()
    assert review_url(cast.project, disputed) in page


def test_review_list_shows_gold_status_and_puts_final_gold_last(client, cast, disputed):
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, disputed.project), document=disputed
    )
    layer_service.create_span(
        access=layer_access(cast.reviewer, gold), label="claim", start=11, end=28
    )
    layer_service.submit_layer(
        access=layer_access(cast.reviewer, gold), reason="the rest is out of scope"
    )
    client.force_login(cast.manager)

    response = client.get(list_url(cast.project))

    rows = response.context["rows"]
    assert [row["summary"].external_id for row in rows] == ["d2", "d3", "d1"]
    assert (rows[2]["summary"].gold_status, rows[2]["summary"].gold_spans) == ("final", 1)
    assert rows[0]["summary"].gold_status == "not_started"
    assert response.context["totals"] == {"documents": 3, "ready": 2, "disputed": 0, "final": 1}


def test_review_list_names_the_gold_states_and_filters_by_them(client, cast, disputed):
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, disputed.project), document=disputed
    )
    layer_service.submit_layer(access=layer_access(cast.reviewer, gold), reason="enough")
    client.force_login(cast.reviewer)

    everything = client.get(list_url(cast.project))
    final = client.get(list_url(cast.project), {"gold": "final"})
    not_started = client.get(list_url(cast.project), {"gold": "not_started"})

    assert {row["gold_state"] for row in everything.context["rows"]} == {"final", "not started"}
    assert [row["summary"].external_id for row in final.context["rows"]] == ["d1"]
    assert [row["summary"].external_id for row in not_started.context["rows"]] == ["d2", "d3"]
    assert "in progress (0)" in not_started.content.decode()


def test_review_page_shows_why_gold_is_final_with_candidates_open(client, cast, disputed):
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, disputed.project), document=disputed
    )
    layer_service.submit_layer(access=layer_access(cast.reviewer, gold), reason="TASS is noise")
    client.force_login(cast.reviewer)

    page = client.get(review_url(cast.project, disputed)).content.decode()

    assert "Final with candidates open: TASS is noise" in page


def test_review_list_shows_per_document_agreement_from_the_latest_run(client, cast, disputed):
    AgreementRun.objects.create(
        project=cast.project,
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
        result={"per_document": [{"id": "d2", "span_f1_exact_mean": 0.25}]},
    )
    client.force_login(cast.reviewer)

    response = client.get(list_url(cast.project))

    scores = {row["summary"].external_id: row["f1"] for row in response.context["rows"]}
    assert scores == {"d1": None, "d2": 0.25, "d3": None}
    assert "Span F1" in response.content.decode()
    d2 = Document.objects.get(project=cast.project, external_id="d2")
    assert "exact span F1 0.25" in client.get(review_url(cast.project, d2)).content.decode()


def test_review_list_without_agreement_runs_has_no_score_column(client, cast, disputed):
    client.force_login(cast.reviewer)

    response = client.get(list_url(cast.project))

    assert response.context["run_id"] is None
    assert "Span F1" not in response.content.decode()


@pytest.mark.parametrize("who", ["manager", "reviewer"])
def test_dashboard_and_project_nav_link_to_the_review_list(client, cast, disputed, who):
    client.force_login(getattr(cast, who))

    page = client.get(reverse("dashboard", kwargs={"slug": cast.project.slug})).content.decode()

    assert f'href="{list_url(cast.project)}"' in page
    assert page.count(list_url(cast.project)) == 2  # the nav and the dashboard's card
    assert review_url(cast.project, disputed) in page


def test_annotators_have_no_review_link(client, cast, disputed):
    client.force_login(cast.alice)

    page = client.get(reverse("project-queue", kwargs={"slug": cast.project.slug}))

    assert list_url(cast.project) not in page.content.decode()


def test_review_page_of_a_document_nobody_submitted_offers_no_merge(client, cast, disputed):
    untouched = Document.objects.get(project=cast.project, external_id="d3")
    client.force_login(cast.reviewer)

    response = client.get(review_url(cast.project, untouched))

    assert response.status_code == 200
    page = response.content.decode()
    assert "No annotator has submitted this document yet." in page
    assert "Merge by vote needs at least one submitted layer." in page
    assert 'id="merge-button"' not in page
    assert response.context["rows"] == []


def test_review_list_counts_again_when_a_layer_is_reopened_or_submitted(client, cast, disputed):
    client.force_login(cast.reviewer)

    def d1():
        rows = client.get(list_url(cast.project)).context["rows"]
        return next(row for row in rows if row["summary"].external_id == "d1")

    assert (d1()["submitted"], d1()["summary"].disagreements) == (2, 5)
    bob = Layer.objects.get(document=disputed, annotator=cast.bob)
    layer_service.reopen_layer(access=layer_access(cast.reviewer, bob))
    # Alone, alice agrees with herself.
    assert (d1()["submitted"], d1()["summary"].disagreements) == (1, 0)
    layer_service.submit_layer(access=layer_access(cast.bob, bob))
    assert (d1()["submitted"], d1()["summary"].disagreements) == (2, 5)


def test_review_list_reads_no_span_again_while_nothing_new_is_submitted(client, cast, disputed):
    client.force_login(cast.reviewer)
    client.get(list_url(cast.project))
    gold = layer_service.ensure_gold_layer(
        access=project_access(cast.reviewer, disputed.project), document=disputed
    )
    layer_service.create_span(
        access=layer_access(cast.reviewer, gold), label="claim", start=11, end=28
    )

    with CaptureQueriesContext(connection) as queries:
        response = client.get(list_url(cast.project))

    assert not any('FROM "annotations_span"' in q["sql"] for q in queries.captured_queries)
    d1 = next(row for row in response.context["rows"] if row["summary"].external_id == "d1")
    assert (d1["summary"].disagreements, d1["summary"].gold_status) == (5, "in_progress")


def test_quoted_persian_is_isolated_inside_quote_marks_of_the_tables_direction(client, cast):
    persian = "اینجا اسم مستعار همه ی ما مقاومت است"
    text = f"Saleh tweeted: {persian}."
    start = text.index(persian)
    quoted = span((start, start + len(persian)), "claim")
    import_records(
        cast.project,
        {
            "id": "fa",
            "text": text,
            "annotations": {"alice": [quoted, span(SALEH, "source")], "bob": [quoted]},
            "relations": {"alice": [{"type": "attributed_to", "head": 0, "tail": 1}]},
        },
    )
    client.force_login(cast.reviewer)

    page = client.get(review_url(cast.project, Document.objects.get(external_id="fa")))

    html_text = page.content.decode()
    # The <q>'s marks follow the page (left to right); <bdi> keeps the Persian run inside
    # them. With dir="auto" on the <q> itself the marks swapped ends.
    assert html_text.count(f"<q><bdi>{persian}</bdi></q>") == 2  # the candidate, the link head
    assert '<q dir="auto">' not in html_text


def test_candidates_show_each_annotators_entry_by_name_and_stance(client, cast, disputed):
    from annotations.models import CatalogueEntry, Span

    entry = CatalogueEntry.objects.create(
        project=cast.project, kind="proposition", key="stays", name="Saleh is in Panjshir"
    )
    Span.objects.filter(
        layer__document=disputed, layer__annotator=cast.alice, start=CLAIM[0], end=CLAIM[1]
    ).update(entry=entry, stance="asserts")
    client.force_login(cast.reviewer)

    response = client.get(review_url(cast.project, disputed))

    row = next(r for r in response.context["rows"] if r["candidate"].key == (*CLAIM, "claim"))
    assert [b["kind"] for b in row["badges"]] == ["link"]
    assert [c["attrs"] for c in row["cells"]] == ["Saleh is in Panjshir · asserts", ""]
    assert [v["text"] for v in row["variants"]] == ["", "Saleh is in Panjshir · asserts"]
    data = json_script(response.content.decode(), "review-data")
    assert data["entries"] == {"stays": "Saleh is in Panjshir"}
    claim = next(c for c in data["candidates"] if c["label"] == "claim" and c["start"] == CLAIM[0])
    assert {"attrs": {}, "entry": "stays", "stance": "asserts"} in claim["variants"]
