"""The claim matrix in Chromium: cells, the contradiction mark, a cell's mentions."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from annotations.services.assignments import assign_documents
from tests.browser.conftest import login
from tests.claims import document, layer, link_schema, mention, proposition, source_entity

pytestmark = pytest.mark.browser


@pytest.fixture
def linked(cast):
    schema = link_schema(cast.project)
    fled = proposition(cast.project, "saleh-fled", "Saleh fled to Tajikistan")
    stays = proposition(cast.project, "saleh-stays", "Saleh is still in Panjshir")
    proposition(cast.project, "taliban-took-panjshir", "The Taliban captured Panjshir")
    tass = source_entity(cast.project, "tass", "TASS", source_kind="agency")
    kabul = source_entity(cast.project, "kabul", "A source in Kabul", source_kind="anonymous")
    saleh = source_entity(cast.project, "saleh", "Amrullah Saleh")
    tass_story = document(cast.project, "002", "2021-09-03")
    denial = document(cast.project, "001", "2021-09-04")
    later = document(cast.project, "004", "2021-09-23")
    assign_documents(project=cast.project)
    gold = layer(tass_story)
    mention(schema, gold, fled, "asserts", tass, kabul)
    for annotator in (cast.alice, cast.bob):
        own = layer(denial, annotator)
        mention(schema, own, fled, "denies", saleh)
        mention(schema, own, stays, "asserts", saleh)
    mention(schema, layer(later), fled, "reports")
    return fled, saleh, denial


def test_a_reviewer_reads_the_matrix_and_opens_a_contradicted_cell(
    page, live_server, cast, linked, screenshot_dir
):
    fled, saleh, denial = linked
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/")
    page.get_by_role("link", name="Claims").click()

    matrix = page.locator("#claim-matrix")
    expect(matrix.locator("thead th")).to_have_text(
        [
            "Proposition",
            re.compile("Amrullah Saleh"),
            re.compile("A source in Kabul"),
            re.compile("TASS"),
            "no linked source",
            "All",
        ]
    )
    fled_row = matrix.locator(f'tr[data-proposition="{fled.pk}"]')
    expect(fled_row.locator(".contradiction-badge")).to_have_text(re.compile("contradicted"))
    expect(fled_row.locator("td.contradiction")).to_have_count(3)
    expect(page.locator("#matrix-legend")).to_contain_text("one source asserts")
    stays_row = matrix.locator("tr", has_text="Saleh is still in Panjshir")
    expect(stays_row.locator(".contradiction-badge")).to_have_count(0)
    expect(stays_row.locator(f'td[data-source="{saleh.pk}"]')).to_have_text(
        re.compile(r"asserts\s+2")
    )
    expect(page.locator("#timeline svg title").first).to_have_text(
        "Mentions of each proposition by document date"
    )
    page.screenshot(path=screenshot_dir / "claim-matrix.png", full_page=True)

    fled_row.locator(f'td[data-source="{saleh.pk}"] a').click()

    mentions = page.locator("#mentions")
    expect(mentions.locator("h2")).to_have_text(
        "“Saleh fled to Tajikistan” by Amrullah Saleh: 2 mentions"
    )
    expect(mentions.locator("tbody tr")).to_have_count(2)
    expect(mentions.locator("tbody tr").first).to_contain_text("2021-09-04")
    expect(mentions.locator("tbody tr").first).to_contain_text("denies")
    expect(fled_row.locator("td.opened")).to_have_count(1)
    page.screenshot(path=screenshot_dir / "claim-matrix-mentions.png", full_page=True)

    mentions.get_by_role("link", name="Review").first.click()
    expect(page).to_have_url(
        f"{live_server.url}/projects/{cast.project.slug}/documents/{denial.pk}/review/"
    )


def test_an_annotator_sees_only_her_own_mentions(page, live_server, cast, linked):
    fled, saleh, _ = linked
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/claims/")

    fled_row = page.locator(f'#claim-matrix tr[data-proposition="{fled.pk}"]')
    expect(fled_row.locator(f'td[data-source="{saleh.pk}"]')).to_have_text(
        re.compile(r"denies\s+1")
    )
    # Gold is the reviewers': TASS's claim, in gold only, is no column of hers.
    expect(page.locator("#claim-matrix thead th", has_text="TASS")).to_have_count(0)
    expect(fled_row.locator(".contradiction-badge")).to_have_count(0)
