"""Linking a claim to a proposition on the annotation page: ranked entries, keyboard
search, stance, undo, and a new proposal that another annotator does not see."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import CatalogueEntry, LabelType, Layer, Span
from annotations.services import catalogues, layers
from tests.access import layer_access, project_access
from tests.browser.conftest import click_text, login, open_document

pytestmark = pytest.mark.browser

CLAIM = "he is still in Panjshir valley"


@pytest.fixture
def claim(cast, documents):
    LabelType.objects.filter(project=cast.project, name="claim").update(
        catalogue="proposition", stance_values=list(catalogues.DEFAULT_STANCES)
    )
    reviewer = project_access(cast.reviewer, cast.project)
    for name in (
        "The resistance leaders fled Afghanistan",
        "Amrullah Saleh fled to Tajikistan",
        "Amrullah Saleh is still in Panjshir",
    ):
        catalogues.propose_entry(access=reviewer, kind="proposition", name=name)
    document = documents["seed"]
    start = document.text.index(CLAIM)
    layer = Layer.objects.get(document=document, annotator=cast.alice)
    layers.create_span(
        access=layer_access(cast.alice, layer), label="claim", start=start, end=start + len(CLAIM)
    )
    return document, start


def saved(page, action) -> None:
    with page.expect_response(lambda r: "/spans/" in r.url and r.request.method == "PATCH") as info:
        action()
    assert info.value.status == 200, info.value.text()


def test_an_annotator_links_a_claim_by_keyboard_sets_its_stance_and_undoes_it(
    page, live_server, cast, claim, screenshot_dir
):
    document, start = claim
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, document)
    click_text(page, document.text, start + 3, start + 8)
    picker = page.locator(".catalogue-picker")
    expect(picker).to_have_attribute("data-loaded", "true")
    # Ranked by similarity to the claim's words: the Panjshir proposition first.
    options = picker.locator(".picker-entries li")
    expect(options.first).to_have_text("Amrullah Saleh is still in Panjshir")

    search = picker.get_by_label("Find a proposition")
    search.fill("saleh fled")
    expect(options).to_have_count(1)
    saved(page, lambda: search.press("Enter"))
    span = Span.objects.get(layer__annotator=cast.alice)
    assert span.entry.key == "amrullah-saleh-fled-to-tajikistan"

    picker = page.locator(".catalogue-picker")
    saved(page, lambda: picker.locator("[data-stance=denies]").click())
    expect(picker.locator("[data-stance=denies]")).to_have_attribute("aria-pressed", "true")
    span.refresh_from_db()
    assert span.stance == "denies"
    page.screenshot(path=screenshot_dir / "catalogue-picker.png")

    saved(page, lambda: page.keyboard.press("Control+z"))
    span.refresh_from_db()
    assert (span.entry.key, span.stance) == ("amrullah-saleh-fled-to-tajikistan", "")


def test_a_proposed_entry_links_at_once_and_stays_hidden_from_other_annotators(
    page, live_server, cast, claim
):
    document, start = claim
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, document)
    click_text(page, document.text, start + 3, start + 8)
    picker = page.locator(".catalogue-picker")
    expect(picker).to_have_attribute("data-loaded", "true")
    picker.get_by_label("Find a proposition").fill("Saleh is in the Panjshir valley")
    saved(page, lambda: picker.get_by_role("button", name="Propose new proposition").click())
    expect(page.locator(".catalogue-picker .picker-chosen")).to_contain_text("(proposed)")

    entry = CatalogueEntry.objects.get(name="Saleh is in the Panjshir valley")
    assert (entry.status, entry.proposed_by) == ("proposed", cast.alice)
    assert Span.objects.get(layer__annotator=cast.alice).entry == entry
    hidden = catalogues.visible_entries(project_access(cast.bob, cast.project))
    assert not hidden.filter(pk=entry.pk).exists()
