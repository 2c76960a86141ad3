"""Edits made while a save is in flight go to the server together, as one batch."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Layer, Relation, Span
from annotations.services import layers as layer_service
from tests.access import layer_access
from tests.browser.conftest import drag_select, fail_once, login, open_document

pytestmark = pytest.mark.browser

CLAIM = "he is still in Panjshir valley"
SOURCE = "Amrullah Saleh"


def queue_two_spans_behind_a_held_save(page, seed):
    """Label the claim (its POST held back), then the source and its attribute behind it;
    returns the held request."""
    held = []

    def hold_the_first(route):
        if route.request.method == "POST" and not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/spans/", hold_the_first)
    start = seed.text.index(CLAIM)
    drag_select(page, seed.text, start, start + len(CLAIM))
    with page.expect_request(lambda r: r.url.endswith("/spans/")):
        page.keyboard.press("c")
    start = seed.text.index(SOURCE)
    drag_select(page, seed.text, start, start + len(SOURCE))
    page.keyboard.press("s")
    page.keyboard.press("1")
    return held[0]


def test_edits_queued_behind_a_slow_save_go_as_one_batch_and_undo_still_works(
    page, live_server, cast, documents, celery_eager
):
    seed = documents["seed"]
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    writes = []
    page.on(
        "request",
        lambda r: (
            writes.append((r.method, r.url.split(f"/api/layers/{layer.pk}/")[1], r.post_data_json))
            if r.method != "GET"
            and f"/api/layers/{layer.pk}/" in r.url
            and not r.url.endswith("/activity/")
            else None
        ),
    )
    saved = page.locator("#save-state[data-state=saved]")

    # The claim's POST goes at once and hangs; a source, its attribute and a link from it
    # to the claim (neither saved yet) queue behind it.
    held = queue_two_spans_behind_a_held_save(page, seed)
    page.keyboard.press("l")
    page.keyboard.press("Alt+ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#links-count")).to_have_text("1")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saving")
    assert [(method, path) for method, path, _ in writes] == [("POST", "spans/")]

    with page.expect_response(lambda r: r.url.endswith("/operations/")) as batch:
        held.continue_()
    expect(saved).to_be_visible()

    assert batch.value.status == 200
    assert [(method, path) for method, path, _ in writes] == [
        ("POST", "spans/"),
        ("POST", "operations/"),
    ]
    sent = writes[1][2]["operations"]
    claim = Span.objects.get(layer=layer, label__name="claim")
    source = Span.objects.get(layer=layer, label__name="source")
    # The claim was saved by then: named by its id; the source by the ref of its create.
    assert [op["op"] for op in sent] == ["create_span", "update_span", "create_link"]
    assert sent[1]["id"] == sent[0]["ref"] == sent[2]["tail"]
    assert sent[2]["head"] == claim.pk
    assert (source.quote, source.attributes) == (SOURCE, {"kind": "person"})
    link = Relation.objects.get(layer=layer)
    assert (link.head_id, link.tail_id) == (claim.pk, source.pk)

    # Undo takes the link out again, by the id the batch gave it.
    page.keyboard.press("Control+z")
    expect(page.locator("#links-count")).to_have_text("0")
    expect(saved).to_be_visible()
    assert writes[-1][:2] == ("DELETE", f"relations/{link.pk}/?version=3")
    assert not Relation.objects.filter(layer=layer).exists()

    page.reload()
    page.wait_for_selector("body[data-annotator=ready]")
    expect(page.locator(".seg[data-l~=claim]").first).to_have_text(CLAIM)
    expect(page.locator(".seg[data-l~=source]").first).to_have_text(SOURCE)
    expect(page.locator("#links-count")).to_have_text("0")
    assert Layer.objects.get(pk=layer.pk).version == 4


def test_a_batch_that_fails_for_a_moment_is_sent_again(
    page, live_server, cast, documents, celery_eager
):
    seed = documents["seed"]
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    failures = fail_once(page, "**/operations/")
    queue_two_spans_behind_a_held_save(page, seed).continue_()

    state = page.locator("#save-state")
    expect(state).to_have_attribute("data-state", "retrying")
    expect(state).to_contain_text("Service unavailable.")
    expect(state).to_have_attribute("data-state", "saved", timeout=10_000)
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    assert [op["op"] for op in failures[0].post_data_json["operations"]] == [
        "create_span",
        "update_span",
    ]
    source = Span.objects.get(layer=layer, label__name="source")
    assert source.attributes == {"kind": "person"}
    assert Layer.objects.get(pk=layer.pk).version == 3


def test_a_stale_batch_reloads_the_layer_and_says_why(
    page, live_server, cast, documents, celery_eager
):
    seed = documents["seed"]
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    held_batch = []
    page.route("**/operations/", lambda route: held_batch.append(route))
    with page.expect_request(lambda r: r.url.endswith("/operations/")):
        queue_two_spans_behind_a_held_save(page, seed).continue_()
    while not held_batch:  # the route's handler runs as Playwright hands over its events
        page.wait_for_timeout(20)
    # Before the batch reaches the server, another tab takes the claim out again.
    claim = Span.objects.get(layer=layer)
    layer_service.delete_span(access=layer_access(cast.alice, layer), span_id=claim.pk)

    with page.expect_response(lambda r: r.url.endswith("/operations/")) as batch:
        held_batch[0].continue_()

    assert batch.value.status == 409
    expect(page.locator("#save-state")).to_have_attribute("data-state", "conflict")
    expect(page.locator("#notice")).to_contain_text("(version 3)")
    expect(page.locator(".seg[data-l~=claim]")).to_have_count(0)
    expect(page.locator(".seg[data-l~=source]")).to_have_count(0)
    assert not Span.objects.filter(layer=layer).exists()
