"""Submitting asks first when the layer looks unfinished, and can be undone until review
of the document starts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Layer, LayerStatus
from annotations.services.layers import ensure_gold_layer
from tests.access import project_access
from tests.browser.conftest import drag_select, login, open_document
from tests.browser.test_annotate_flow import label_selection, saved

pytestmark = pytest.mark.browser


def mark_a_claim(page, seed) -> None:
    """Label a claim of seed 000 and wait until it is saved; it has no source link."""
    start = seed.text.index("he is still in Panjshir valley")
    drag_select(page, seed.text, start, start + 30)
    label_selection(page, "c")
    saved(page)


def test_an_unlinked_claim_is_confirmed_then_the_submission_undone(
    page, live_server, cast, documents, celery_eager, screenshot_dir
):
    seed = documents["seed"]
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    mark_a_claim(page, seed)
    layer = Layer.objects.get(document=seed, annotator=cast.alice)

    # Asked first; "Keep annotating" leaves the layer open.
    page.click("#submit-button")
    dialog = page.locator("#submit-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#submit-warnings li")).to_have_text(
        ["1 claim span has no attributed_to link."]
    )
    page.screenshot(path=screenshot_dir / "submit-confirm.png")
    page.click("#submit-cancel")
    expect(dialog).to_be_hidden()
    assert Layer.objects.get(pk=layer.pk).status == LayerStatus.OPEN

    # A stray Ctrl+Enter asks too; "Submit anyway" hands it in.
    page.keyboard.press("Control+Enter")
    expect(dialog).to_be_visible()
    page.click("#submit-confirm")
    page.wait_for_url(f"**/documents/{documents['emoji'].pk}/annotate/")
    assert Layer.objects.get(pk=layer.pk).status == LayerStatus.SUBMITTED

    # The next document is empty: submitting it asks as well.
    page.wait_for_selector("body[data-annotator=ready]")
    page.click("#submit-button")
    expect(page.locator("#submit-warnings li")).to_have_text(
        ["The layer is empty: you marked nothing in this document."]
    )
    page.click("#submit-cancel")

    # Back on the submitted one: Undo submit makes it editable again.
    open_document(page, live_server, cast.project, seed)
    page.click("#unsubmit-button")
    page.wait_for_selector("body[data-annotator=ready]")
    expect(page.locator("#unsubmit-button")).to_have_count(0)
    expect(page.locator("#submit-button")).to_be_visible()
    assert Layer.objects.get(pk=layer.pk).status == LayerStatus.OPEN


def test_once_review_started_the_submitted_page_offers_no_undo(
    page, live_server, cast, documents, celery_eager
):
    seed = documents["seed"]
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    Layer.objects.filter(pk=layer.pk).update(status=LayerStatus.SUBMITTED)
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    expect(page.locator("#unsubmit-button")).to_be_visible()

    ensure_gold_layer(access=project_access(cast.reviewer, cast.project), document=seed)
    page.reload()
    page.wait_for_selector("body[data-annotator=ready]")

    expect(page.locator("#unsubmit-button")).to_have_count(0)
    expect(page.locator(".banner")).to_contain_text("A reviewer can reopen it for you.")


def test_asking_again_right_after_keep_annotating_waits_for_the_new_answer(
    page, live_server, cast, documents
):
    """Closing the dialog queues its "close" event: a second ask made before that event
    arrives (a busy machine, a quick Ctrl+Enter) must not take it for its own answer."""
    seed = documents["seed"]
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    page.click("#submit-button")
    expect(page.locator("#submit-dialog")).to_be_visible()

    # "Keep annotating", then Ctrl+Enter in the same task, before the close event runs.
    page.evaluate(
        """() => {
          document.getElementById("submit-cancel").click();
          document.dispatchEvent(new KeyboardEvent("keydown",
            {key: "Enter", ctrlKey: true, bubbles: true}));
        }"""
    )
    expect(page.locator("#submit-dialog")).to_be_visible()
    page.click("#submit-confirm")

    page.wait_for_url(f"**/documents/{documents['emoji'].pk}/annotate/")
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    assert layer.status == LayerStatus.SUBMITTED


def test_a_check_the_manager_turns_off_is_not_asked(
    page, live_server, cast, documents, celery_eager
):
    seed = documents["seed"]
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/settings/")
    page.get_by_label("a span that starts a link type (a claim) has no such link").uncheck()
    page.click("#settings-form button[type=submit]")
    expect(page.locator("#id_submit_checks_1")).not_to_be_checked()
    cast.project.refresh_from_db()
    assert cast.project.submit_checks == ["empty"]

    page.context.clear_cookies()
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    mark_a_claim(page, seed)
    # An unlinked claim, no longer asked about: submitted at once.
    page.click("#submit-button")
    page.wait_for_url(f"**/documents/{documents['emoji'].pk}/annotate/")
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    assert layer.status == LayerStatus.SUBMITTED
