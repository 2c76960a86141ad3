"""An annotator's day in Chromium: label by mouse and hotkey, link, reload, submit."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import AssignmentStatus, Layer, Relation, Span
from tests.browser.conftest import click_text, drag_select, link_saved, login, open_document

pytestmark = pytest.mark.browser


def saved(page):
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")


def label_selection(page, key):
    """Press a label key; return the span the server stored."""
    with page.expect_response(
        lambda r: r.url.endswith("/spans/") and r.request.method == "POST"
    ) as info:
        page.keyboard.press(key)
    response = info.value
    assert response.status == 201, response.text()
    return response.json()["span"]


def test_annotator_labels_links_reloads_and_submits(
    page, live_server, cast, documents, celery_eager, screenshot_dir
):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    seed = documents["seed"]
    text = seed.text
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)

    # A claim, dragged with the mouse after the curly apostrophe of "Afghanistan’s".
    claim_text = "he is still in Panjshir valley"
    start = text.index(claim_text)
    selected = drag_select(page, text, start, start + len(claim_text))
    assert selected == claim_text
    claim = label_selection(page, "c")

    # Its source, labelled by hotkey, its kind set by the digit key (1 = person).
    source_start = text.index("Amrullah Saleh")
    selected = drag_select(page, text, source_start, source_start + len("Amrullah Saleh"))
    assert selected == "Amrullah Saleh"
    source = label_selection(page, "s")
    with page.expect_response(lambda r: r.request.method == "PATCH"):
        page.keyboard.press("1")

    # Inside the Persian sentence, dragged right to left; polarity set in the panel.
    persian = "مقاومت"
    persian_start = text.index(persian)
    selected = drag_select(page, text, persian_start, persian_start + len(persian), rtl=True)
    assert selected == persian
    sentiment = label_selection(page, "e")
    with page.expect_response(lambda r: r.request.method == "PATCH"):
        page.locator("#span-panel [data-attribute=polarity] [data-value=positive]").click()

    # Link the claim to its source: pick the claim, press l, click the source.
    click_text(page, text, claim["start"], claim["end"])
    page.keyboard.press("l")
    with page.expect_response(link_saved) as info:
        click_text(page, text, source["start"], source["end"])
    assert info.value.ok
    saved(page)
    page.screenshot(path=screenshot_dir / "annotate-seed-000.png", full_page=True)

    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    stored = {span.label.name: span for span in Span.objects.filter(layer=layer)}
    assert text[stored["claim"].start : stored["claim"].end] == claim_text
    assert text[stored["source"].start : stored["source"].end] == "Amrullah Saleh"
    assert text[stored["sentiment"].start : stored["sentiment"].end] == persian
    assert stored["source"].attributes == {"kind": "person"}
    assert stored["sentiment"].attributes == {"polarity": "positive"}
    relation = Relation.objects.get(layer=layer)
    assert (relation.head_id, relation.tail_id) == (claim["id"], source["id"])
    assert (stored["claim"].start, stored["claim"].end) == (claim["start"], claim["end"])
    assert sentiment["quote"] == persian

    # After a reload everything is still there.
    page.reload()
    page.wait_for_selector("body[data-annotator=ready]")
    painted = page.evaluate(
        "[...document.querySelectorAll('#doc-text .seg')].map((e) => e.dataset.l)"
    )
    assert {"claim", "source", "sentiment"} <= set(" ".join(painted).split())
    expect(page.locator("#links-list li")).to_have_count(1)
    page.locator(".seg[data-l~=sentiment]").first.click()
    expect(
        page.locator("#span-panel [data-attribute=polarity] [data-value=positive]")
    ).to_have_attribute("aria-pressed", "true")
    assert page.locator("#doc-text").text_content() == text
    assert errors == []

    # Submit and land on the next document, the one with emoji.
    page.click("#submit-button")
    page.wait_for_url(f"**/documents/{documents['emoji'].pk}/annotate/")
    page.wait_for_selector("body[data-annotator=ready]")
    assert Layer.objects.get(pk=layer.pk).status == "submitted"
    assert cast.alice.assignments.get(document=seed).status == AssignmentStatus.SUBMITTED

    # In the emoji document: a word after the emoji and the flag, by mouse and hotkey.
    emoji_text = documents["emoji"].text
    word_start = emoji_text.index("ministry")
    assert drag_select(page, emoji_text, word_start, word_start + 8) == "ministry"
    span = label_selection(page, "s")
    assert (span["start"], span["end"]) == (word_start, word_start + 8)
    cafe = emoji_text.index("cafe\u0301")
    selected = drag_select(page, emoji_text, cafe, cafe + len("cafe\u0301 owner"))
    assert selected == "cafe\u0301 owner"
    span = label_selection(page, "c")
    assert emoji_text[span["start"] : span["end"]] == "cafe\u0301 owner"
    saved(page)
    page.screenshot(path=screenshot_dir / "annotate-emoji.png", full_page=True)
    emoji_layer = Layer.objects.get(document=documents["emoji"], annotator=cast.alice)
    assert sorted(emoji_text[s.start : s.end] for s in Span.objects.filter(layer=emoji_layer)) == [
        "cafe\u0301 owner",
        "ministry",
    ]
    assert errors == []
