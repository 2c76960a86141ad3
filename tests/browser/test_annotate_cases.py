"""The annotation page's harder cases: blindness, hostile text, conflicts, undo, overlaps."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import AssignmentStatus, Layer, Relation, Span
from annotations.services import layers as layer_service
from tests.access import layer_access
from tests.browser.conftest import (
    click_text,
    drag_select,
    fail_once,
    login,
    open_document,
    put_caret,
    slow_down,
    slow_frames,
    wait_for_text_selection,
    watch_hidden,
)

pytestmark = pytest.mark.browser


def spans_of(layer):
    return list(Span.objects.filter(layer=layer).order_by("start"))


def write(layer, user, label, text, needle, **attrs):
    start = layer.document.text.index(needle)
    return layer_service.create_span(
        access=layer_access(user, layer),
        label=label,
        start=start,
        end=start + len(needle),
        attrs=attrs,
    )


def alices_claim_linked_to_its_source(cast, seed):
    """Alice's layer of seed 000 and, in it, a claim attributed to its source (Saleh)."""
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    claim = write(layer, cast.alice, "claim", seed.text, "he is still in Panjshir valley")
    source = write(layer, cast.alice, "source", seed.text, "Amrullah Saleh")
    layer_service.create_relation(
        access=layer_access(cast.alice, layer), type="attributed_to", head=claim.pk, tail=source.pk
    )
    return layer, claim, source


def test_another_annotator_sees_none_of_it(page, live_server, cast, documents, celery_eager):
    seed = documents["seed"]
    alice_layer, _, _ = alices_claim_linked_to_its_source(cast, seed)
    login(page, live_server, "bob")
    open_document(page, live_server, cast.project, seed)

    assert page.locator("#doc-text .seg").count() == 0
    expect(page.locator("#links-count")).to_have_text("0")
    expect(page.locator("[data-count=claim]")).to_have_text("0")
    response = page.request.get(f"{live_server.url}/api/layers/{alice_layer.pk}/")
    assert response.status == 404


def test_markup_in_a_document_is_shown_as_text_and_never_runs(
    page, live_server, cast, documents, celery_eager
):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    hostile = documents["hostile"]
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, hostile)

    assert page.locator("#doc-text").text_content() == hostile.text
    assert page.locator("#doc-text script, #doc-text img, #doc-text b").count() == 0
    assert page.evaluate("window.__xss") is None
    tag = "<script>"
    start = hostile.text.index(tag)
    assert drag_select(page, hostile.text, start, start + len(tag)) == tag
    with page.expect_response(lambda r: r.url.endswith("/spans/")) as info:
        page.keyboard.press("c")
    assert info.value.status == 201
    assert info.value.json()["span"]["quote"] == tag
    page.reload()
    page.wait_for_selector("body[data-annotator=ready]")
    expect(page.locator(".seg").first).to_have_text(tag)
    assert page.evaluate("window.__xss") is None
    assert dialogs == []


def test_stale_version_shows_the_conflict_and_keeps_the_selection(
    page, live_server, cast, documents, celery_eager, screenshot_dir
):
    seed = documents["seed"]
    # The worst order of events, every time: frames late (a busy machine) and a slow reload,
    # so that the page handles a selection change while the layer is being reloaded.
    slow_frames(page, delay_ms=100)
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    slow_down(page, f"**/api/layers/{layer.pk}/", method="GET", seconds=0.4)
    # The same annotator, in another tab, adds a span: the page's version is stale now.
    write(layer, cast.alice, "source", seed.text, "TOLOnews")
    needle = "Saleh rejected claims"
    start = seed.text.index(needle)
    drag_select(page, seed.text, start, start + len(needle))
    panel = page.locator("#selection-panel")
    expect(panel).to_be_visible()

    with page.expect_response(lambda r: r.url.endswith("/spans/")) as info:
        page.keyboard.press("c")

    assert info.value.status == 409
    notice = page.locator("#notice")
    expect(notice).to_contain_text(
        "This layer was changed in another tab or by someone else (version 2)"
    )
    expect(notice).to_contain_text("your view was refreshed")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "conflict")
    expect(page.locator(".seg[data-l~=source]").first).to_have_text("TOLOnews")
    expect(panel.locator("blockquote")).to_have_text(needle)
    expect(panel).to_be_visible()
    wait_for_text_selection(page, needle)
    # And it stays: nothing hides the panel or drops the selection a moment later.
    hides = watch_hidden(panel)
    page.wait_for_timeout(1000)
    assert hides() == []
    expect(panel).to_be_visible()
    assert page.evaluate("getSelection().toString()") == needle
    page.screenshot(path=screenshot_dir / "annotate-conflict.png")
    # What the user was doing goes through on the next key press.
    with page.expect_response(lambda r: r.url.endswith("/spans/")) as info:
        page.keyboard.press("c")
    assert info.value.status == 201
    assert [s.quote for s in spans_of(layer)] == [needle, "TOLOnews"]


def test_undo_and_redo_reach_the_server(page, live_server, cast, documents, celery_eager):
    seed = documents["seed"]
    layer, _, source = alices_claim_linked_to_its_source(cast, seed)
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    saved = page.locator("#save-state[data-state=saved]")

    # Delete the source (its link goes with it), then undo: both come back.
    click_text(page, seed.text, source.start, source.end)
    expect(page.locator("#span-panel .chip").first).to_have_text("source")
    page.keyboard.press("Delete")
    expect(saved).to_be_visible()
    assert [s.quote for s in spans_of(layer)] == ["he is still in Panjshir valley"]
    assert not Relation.objects.filter(layer=layer).exists()
    page.keyboard.press("Control+z")
    expect(page.locator("#links-count")).to_have_text("1")
    expect(saved).to_be_visible()
    expect(page.locator("#redo-button")).to_be_enabled()
    assert sorted(s.quote for s in spans_of(layer)) == [
        "Amrullah Saleh",
        "he is still in Panjshir valley",
    ]
    relation = Relation.objects.get(layer=layer)
    assert relation.tail.quote == "Amrullah Saleh"

    # Redo deletes it again; a second undo brings it back again.
    page.keyboard.press("Control+Shift+z")
    expect(page.locator("#links-count")).to_have_text("0")
    expect(saved).to_be_visible()
    assert len(spans_of(layer)) == 1
    page.keyboard.press("Control+z")
    expect(page.locator("#links-count")).to_have_text("1")
    expect(saved).to_be_visible()
    assert len(spans_of(layer)) == 2
    assert Relation.objects.filter(layer=layer).count() == 1


def test_overlapping_and_nested_spans_stay_visible_and_each_can_be_picked(
    page, live_server, cast, documents, celery_eager, screenshot_dir
):
    seed = documents["seed"]
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    outer = "President Amrullah Saleh has confirmed that he is still in Panjshir"
    write(layer, cast.alice, "claim", seed.text, outer)
    write(layer, cast.alice, "source", seed.text, "Amrullah Saleh")
    write(layer, cast.alice, "sentiment", seed.text, "Saleh has confirmed", polarity="neutral")
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)

    saleh = seed.text.index("Saleh has confirmed")
    labels_on_saleh = page.evaluate(
        """(n) => [...document.querySelectorAll('#doc-text .seg')]
             .find((e) => e.textContent === n).dataset.l""",
        "Saleh",
    )
    assert set(labels_on_saleh.split()) == {"claim", "source", "sentiment"}
    # Innermost first; each click on the same spot picks the next span around it.
    for label in ("source", "sentiment", "claim"):
        click_text(page, seed.text, saleh, saleh + 5)
        expect(page.locator("#span-panel h2 .chip")).to_have_text(label)
    page.screenshot(path=screenshot_dir / "annotate-overlaps.png", clip=_top(page))


def _top(page):
    box = page.locator(".workspace").bounding_box()
    return {"x": box["x"], "y": box["y"], "width": box["width"], "height": 360}


def test_text_selected_and_resized_with_the_keyboard(
    page, live_server, cast, documents, celery_eager
):
    seed = documents["seed"]
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    start = seed.text.index("Panjshir resistance forces")

    # A caret before "Panjshir", then Ctrl+Shift+→ twice: two words, labelled by key.
    put_caret(page, seed.text, start)
    page.keyboard.press("Control+Shift+ArrowRight")
    page.keyboard.press("Control+Shift+ArrowRight")
    selected = page.evaluate("getSelection().getRangeAt(0).toString()")
    assert selected.startswith("Panjshir resistance")
    with page.expect_response(lambda r: r.url.endswith("/spans/")) as info:
        page.keyboard.press("s")
    span = info.value.json()["span"]
    assert seed.text[span["start"] : span["end"]] == selected

    # The new span is selected: Shift+→ moves its end, Alt+Shift+→ its start.
    with page.expect_response(lambda r: r.request.method == "PATCH") as info:
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("Alt+Shift+ArrowRight")
    assert info.value.status == 200
    stored = Span.objects.get(layer=layer)
    assert (stored.start, stored.end) == (span["start"] + 1, span["end"] + 1)
    assert stored.quote == seed.text[stored.start : stored.end]


def test_a_failed_save_says_so_and_is_retried(page, live_server, cast, documents, celery_eager):
    seed = documents["seed"]
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    fail_once(page, "**/spans/")
    start = seed.text.index("Panjshir valley")
    drag_select(page, seed.text, start, start + len("Panjshir valley"))
    page.keyboard.press("c")

    state = page.locator("#save-state")
    expect(state).to_have_attribute("data-state", "retrying")
    expect(state).to_contain_text("Service unavailable.")
    expect(state).to_have_attribute("data-state", "saved", timeout=10_000)
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    assert [s.quote for s in spans_of(layer)] == ["Panjshir valley"]


def test_skip_with_a_reason_goes_to_the_next_document(
    page, live_server, cast, documents, celery_eager
):
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, documents["seed"])

    page.click("#skip-button")
    page.click("#skip-confirm")  # No reason: the form refuses.
    expect(page.locator("#skip-dialog")).to_be_visible()
    page.fill("#skip-reason", "Mostly a tweet, nothing to mark")
    page.click("#skip-confirm")

    page.wait_for_url(f"**/documents/{documents['emoji'].pk}/annotate/")
    assignment = cast.alice.assignments.get(document=documents["seed"])
    assert assignment.status == AssignmentStatus.SKIPPED
    assert assignment.skip_reason == "Mostly a tweet, nothing to mark"


def test_question_mark_shows_the_shortcuts(page, live_server, cast, documents, celery_eager):
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, documents["seed"])

    page.keyboard.press("?")

    help_dialog = page.locator("#help-dialog")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Label the selected text as claim")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()


def test_relabelling_a_linked_span_into_a_wrong_end_is_refused_with_a_reason(
    page, live_server, cast, documents, celery_eager
):
    seed = documents["seed"]
    _, claim, source = alices_claim_linked_to_its_source(cast, seed)
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    writes = []
    page.on("request", lambda r: writes.append(r.url) if r.method != "GET" else None)

    click_text(page, seed.text, claim.start, claim.end)
    page.keyboard.press("e")

    expect(page.locator("#notice")).to_contain_text("Remove the link first")
    expect(page.locator("#span-panel h2 .chip")).to_have_text("claim")
    assert writes == []
    # Relabelling an unlinked span goes through.
    page.keyboard.press("Escape")
    click_text(page, seed.text, source.start, source.end)
    page.keyboard.press("Delete")
    click_text(page, seed.text, claim.start, claim.end)
    with page.expect_response(lambda r: r.request.method == "PATCH") as info:
        page.keyboard.press("e")
    assert info.value.status == 200
    assert Span.objects.get(pk=claim.pk).label.name == "sentiment"
