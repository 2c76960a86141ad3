"""A manager builds onto the schema in the browser; the annotation page follows at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import LabelType, Layer, Span
from annotations.services import layers as layer_service
from tests.access import layer_access
from tests.browser.conftest import login, open_document

pytestmark = pytest.mark.browser


@pytest.fixture
def neutral_span(cast, documents):
    layer = Layer.objects.get(document=documents["seed"], annotator=cast.alice)
    return layer_service.create_span(
        access=layer_access(cast.alice, layer),
        label="sentiment",
        start=0,
        end=5,
        attrs={"polarity": "neutral"},
    )


def test_manager_edits_the_schema_and_the_annotation_page_shows_it(
    page, live_server, cast, documents, neutral_span, screenshot_dir
):
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/")
    page.get_by_role("link", name="Schema").click()

    new_span = page.locator("#new-span")
    new_span.get_by_label("Name").fill("event")
    new_span.get_by_label("Hotkey").fill("v")
    new_span.get_by_label("Description").fill("Something that happened, with a date.")
    new_span.get_by_role("button", name="Add").click()
    event = page.locator("article[data-label=event]")
    expect(event).to_be_visible()
    event.get_by_label("New attribute of event", exact=True).fill("certainty")
    event.get_by_label("Values of the new attribute of event").fill("sure, unsure")
    event.get_by_role("button", name="Add attribute").click()
    expect(event.locator("[data-attribute=certainty] li[data-value]")).to_have_count(2)

    new_document = page.locator("#new-document")
    new_document.get_by_label("Name").fill("stance")
    new_document.get_by_label("Choices").fill("for, against, neutral")
    new_document.get_by_role("button", name="Add").click()
    expect(page.locator("article[data-label=stance] li[data-value]")).to_have_count(3)

    new_relation = page.locator("#new-relation")
    new_relation.get_by_label("Name").fill("contradicts")
    new_relation.get_by_label("Head label").select_option(label="claim")
    new_relation.get_by_label("Tail label").select_option(label="event")
    new_relation.get_by_role("button", name="Add").click()
    expect(page.locator("article[data-label=contradicts]")).to_be_visible()

    neutral = page.locator("article[data-label=sentiment] li[data-value=neutral]")
    expect(neutral).to_contain_text("used by 1 span in 1 document")
    neutral.get_by_label("Value neutral of polarity").fill("mixed")
    neutral.get_by_role("button", name="Rename").click()
    mixed = page.locator("article[data-label=sentiment] li[data-value=mixed]")
    expect(mixed).to_contain_text("used by 1 span in 1 document")
    page.screenshot(path=screenshot_dir / "schema.png", full_page=True)

    neutral_span.refresh_from_db()
    assert neutral_span.attributes == {"polarity": "mixed"}
    contradicts = LabelType.objects.get(project=cast.project, name="contradicts")
    assert (contradicts.head_label.name, contradicts.tail_label.name) == ("claim", "event")
    assert LabelType.objects.get(project=cast.project, name="stance").choices == [
        "for",
        "against",
        "neutral",
    ]
    assert Span.objects.filter(label__name="sentiment").count() == 1

    page.context.clear_cookies()
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, documents["seed"])
    expect(page.locator(".label-bar .label-button[data-label=event] kbd")).to_have_text("v")
    page.keyboard.press("?")
    help_row = page.locator("#help-dialog tr[data-label=event]")
    expect(help_row).to_be_visible()
    expect(help_row.locator("kbd")).to_have_text("v")
    expect(help_row).to_contain_text("Something that happened, with a date.")
