"""Claims across the corpus, start to finish, in Chromium: two annotators link the claims
and sources of seeds 000 and 001 to the catalogue (one proposes a new proposition), a
reviewer approves the proposal and merges it into the proposition it duplicates, takes
the links into gold, and reads the claim matrix (with its contradiction); the graph export
loads in networkx with those edges."""

from __future__ import annotations

import io
import re

import networkx
import pytest
from playwright.sync_api import expect

from annotations.models import CatalogueEntry, Layer, Relation, Span
from annotations.services import layers
from annotations.services.assignments import assign_documents
from tests.access import layer_access
from tests.browser.conftest import click_span, link_saved, login, open_document
from tests.browser.test_curation import row
from tests.browser.test_gold_study import export
from tests.browser.test_review import open_review, saved
from tests.claims import link_schema, proposition, source_entity
from tests.conftest import SEEDS
from tests.factories import DocumentFactory

pytestmark = pytest.mark.browser

FLED = "he has fled to Tajikistan"  # 000: the reports Saleh answers
REPORTS = "reports"
STILL = "he is still in Panjshir valley"  # 000: Saleh's own word
SALEH = "Amrullah Saleh"
LEFT = "he has fled the country"  # 001: the reports Saleh refuted


def premark(layer: Layer, text: str, claim: str, source: str, after: int = 0) -> None:
    """A claim and its source, linked, in ``layer``: the annotator links them to the
    catalogue in the browser."""
    access = layer_access(layer.annotator, layer)
    head = layers.create_span(
        access=access, label="claim", start=text.index(claim), end=text.index(claim) + len(claim)
    )
    at = text.index(source, after)
    tail = layers.create_span(access=access, label="source", start=at, end=at + len(source))
    layers.create_relation(access=access, type="attributed_to", head=head.pk, tail=tail.pk)


@pytest.fixture
def corpus(cast, seed_text, celery_eager):
    link_schema(cast.project)
    fled = proposition(cast.project, "saleh-fled", "Amrullah Saleh fled to Tajikistan")
    stays = proposition(cast.project, "saleh-stays", "Amrullah Saleh is still in Panjshir")
    saleh = source_entity(cast.project, "saleh", "Amrullah Saleh")
    reports = source_entity(cast.project, "reports", "Unnamed reports", source_kind="anonymous")
    second = next(SEEDS.glob("001_*.txt")).read_text(encoding="utf-8")
    docs = {
        "000": DocumentFactory(
            project=cast.project,
            external_id="000",
            text=seed_text,
            meta={"published": "2021-09-03"},
        ),
        "001": DocumentFactory(
            project=cast.project, external_id="001", text=second, meta={"published": "2021-09-04"}
        ),
    }
    assign_documents(project=cast.project)
    alice = Layer.objects.get(document=docs["000"], annotator=cast.alice)
    premark(alice, seed_text, FLED, REPORTS, after=seed_text.index("after reports"))
    premark(alice, seed_text, STILL, SALEH)
    bob = Layer.objects.get(document=docs["001"], annotator=cast.bob)
    premark(bob, second, LEFT, SALEH, after=second.index("Hyderabad"))
    return docs, {"fled": fled, "stays": stays, "saleh": saleh, "reports": reports}


def patched(page, action) -> None:
    """Do ``action`` and wait for the span write it makes, and for the page to have taken
    its answer in (the network sees the answer before the page has redrawn with it)."""
    with page.expect_response(lambda r: "/spans/" in r.url and r.request.method == "PATCH") as info:
        action()
    assert info.value.status == 200, info.value.text()
    saved(page)


def link(page, quote: str, *, find: str, stance: str | None = None):
    """Select the span over ``quote`` and link it to the entry the search ``find`` ranks
    first (Enter), then choose ``stance``."""
    click_span(page, quote)
    picker = page.locator(".catalogue-picker")
    expect(picker).to_have_attribute("data-loaded", "true")
    search = picker.locator("input")
    search.fill(find)
    patched(page, lambda: search.press("Enter"))
    if stance:
        patched(page, lambda: page.locator(f".catalogue-picker [data-stance={stance}]").click())


def submit(page, document) -> None:
    saved(page)
    page.click("#submit-button")
    page.wait_for_url(lambda url: f"/documents/{document.pk}/" not in url)


def test_claims_linked_across_articles_meet_in_the_matrix_and_the_graph(
    page, live_server, cast, corpus, screenshot_dir
):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    docs, entries = corpus
    first, second = docs["000"], docs["001"]
    page.set_viewport_size({"width": 1440, "height": 900})

    # alice links 000's claims to propositions, with stances, and their sources.
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, first)
    link(page, FLED, find="fled", stance="asserts")
    link(page, REPORTS, find="Unnamed")
    link(page, STILL, find="still in Panjshir", stance="asserts")
    link(page, SALEH, find="Amrullah Saleh")
    submit(page, first)

    # bob finds no proposition for 001's claim that reads as his, and proposes one.
    page.context.clear_cookies()
    login(page, live_server, "bob")
    open_document(page, live_server, cast.project, second)
    click_span(page, LEFT)
    picker = page.locator(".catalogue-picker")
    expect(picker).to_have_attribute("data-loaded", "true")
    picker.locator("input").fill("Saleh left Afghanistan")
    patched(page, lambda: picker.get_by_role("button", name="Propose new proposition").click())
    patched(page, lambda: page.locator(".catalogue-picker [data-stance=denies]").click())
    link(page, SALEH, find="Amrullah Saleh")
    submit(page, second)
    proposal = CatalogueEntry.objects.get(name="Saleh left Afghanistan")
    assert proposal.status == "proposed"

    # The reviewer approves it, then sees it is the same proposition and merges it.
    page.context.clear_cookies()
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/catalogue/")
    proposed = page.locator(f'#catalogue-proposition tr[data-key="{proposal.key}"]')
    proposed.get_by_role("button", name="Approve").click()
    expect(proposed).not_to_contain_text("proposed")
    proposed.locator("select[name=into]").select_option(entries["fled"].key)
    proposed.get_by_role("button", name="Merge into").click()
    expect(page.locator(f'tr[data-key="{proposal.key}"]')).to_have_count(0)
    assert Span.objects.get(layer__document=second, label__name="claim").entry == entries["fled"]

    # Gold takes the annotators' links, with their ends and those ends' catalogue links.
    for document, annotator in ((first, "alice"), (second, "bob")):
        open_review(page, live_server, cast.project, document)
        links = row(page, annotator).locator(".cur-link")
        for index in range(links.count()):
            links.nth(index).click()
            with page.expect_response(link_saved):
                page.click("#ends-confirm")
        saved(page)
        gold = Layer.objects.get(document=document, is_gold=True)
        assert Relation.objects.filter(layer=gold).count() == links.count()
    gold_links = sorted(
        Span.objects.filter(layer__is_gold=True).values_list("entry__key", "stance")
    )
    assert gold_links == sorted(
        [
            ("saleh-fled", "asserts"),
            ("reports", ""),
            ("saleh-stays", "asserts"),
            ("saleh", ""),
            ("saleh-fled", "denies"),
            ("saleh", ""),
        ]
    )

    # The claim matrix, from gold: the reports assert what Saleh denies.
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/claims/")
    matrix = page.locator("#claim-matrix")
    fled_row = matrix.locator(f'tr[data-proposition="{entries["fled"].pk}"]')
    expect(fled_row.locator(".contradiction-badge")).to_have_text(re.compile("contradicted"))
    expect(fled_row.locator(f'td[data-source="{entries["reports"].pk}"]')).to_have_text(
        re.compile(r"asserts\s+1")
    )
    expect(fled_row.locator(f'td[data-source="{entries["saleh"].pk}"]')).to_have_text(
        re.compile(r"denies\s+1")
    )
    stays_row = matrix.locator(f'tr[data-proposition="{entries["stays"].pk}"]')
    expect(stays_row.locator(f'td[data-source="{entries["saleh"].pk}"]')).to_have_text(
        re.compile(r"asserts\s+1")
    )
    expect(stays_row.locator(".contradiction-badge")).to_have_count(0)
    page.screenshot(path=screenshot_dir / "claims-study-matrix.png", full_page=True)

    # The graph export: who asserted or denied what, in gold.
    page.context.clear_cookies()
    login(page, live_server, "manager")
    archive = export(page, live_server, cast.project, "graph")
    graph = networkx.read_graphml(io.BytesIO(archive.read("graph/graph.graphml")))
    gold_edges = sorted(
        (source, target, data["stance"])
        for source, target, data in graph.edges(data=True)
        if data["layer"] == "gold"
    )
    assert gold_edges == [
        ("reports", "saleh-fled", "asserts"),
        ("saleh", "saleh-fled", "denies"),
        ("saleh", "saleh-stays", "asserts"),
    ]
    assert errors == []
