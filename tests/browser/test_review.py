"""A reviewer settles a disagreement into gold in Chromium: accept, merge, edit, reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Layer, LayerStatus, Relation, Role, Span
from annotations.services import layers as layer_service
from annotations.services.projects import add_member
from tests.access import layer_access
from tests.browser.conftest import click_text, login, wait_for_text_selection
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

CLAIM = "he is still in Panjshir valley"
SOURCE = "Amrullah Saleh"
PERSIAN = "مقاومت"


def bounds(text: str, quote: str, after: int = 0) -> tuple[int, int]:
    start = text.index(quote, after)
    return start, start + len(quote)


@pytest.fixture
def disagreement(cast, documents, celery_eager):
    """Seed 000: alice and bob agree on a claim; alice's source is "Amrullah Saleh" (linked
    to the claim), bob's just "Saleh"; bob marks a Persian sentiment. Both submitted
    (a submission may schedule an agreement re-run: tasks run in-process)."""
    seed = documents["seed"]
    text = seed.text
    claim, source = bounds(text, CLAIM), bounds(text, SOURCE)
    alice = Layer.objects.get(document=seed, annotator=cast.alice)
    made = {
        label: layer_service.create_span(
            access=layer_access(cast.alice, alice), label=label, start=start, end=end, attrs=attrs
        )
        for label, (start, end), attrs in (
            ("claim", claim, {}),
            ("source", source, {"kind": "person"}),
        )
    }
    layer_service.create_relation(
        access=layer_access(cast.alice, alice),
        type="attributed_to",
        head=made["claim"].pk,
        tail=made["source"].pk,
    )
    bob = Layer.objects.get(document=seed, annotator=cast.bob)
    for label, (start, end), attrs in (
        ("claim", claim, {}),
        ("source", (source[0] + len("Amrullah "), source[1]), {"kind": "person"}),
        ("sentiment", bounds(text, PERSIAN), {"polarity": "positive"}),
    ):
        layer_service.create_span(
            access=layer_access(cast.bob, bob), label=label, start=start, end=end, attrs=attrs
        )
    for layer, who in ((alice, cast.alice), (bob, cast.bob)):
        layer_service.submit_layer(access=layer_access(who, layer))
    return seed


def key(text: str, quote: str, label: str, after: int = 0) -> str:
    start, end = bounds(text, quote, after)
    return f"{start}:{end}:{label}"


def row(page, row_key: str):
    return page.locator(f'#candidate-table tr[data-key="{row_key}"]')


def open_review(page, live_server, project, document) -> None:
    page.goto(f"{live_server.url}/projects/{project.slug}/documents/{document.pk}/review/")
    page.wait_for_selector("body[data-review=ready]")


def saved(page):
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")


def test_reviewer_accepts_merges_edits_and_finds_gold_after_a_reload(
    page, live_server, cast, disagreement, screenshot_dir
):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    seed = disagreement
    text = seed.text
    source_start = text.index(SOURCE)
    long_source = key(text, SOURCE, "source")
    short_source = f"{source_start + len('Amrullah ')}:{source_start + len(SOURCE)}:source"
    claim = key(text, CLAIM, "claim")
    page.set_viewport_size({"width": 1440, "height": 900})  # a reviewer's screen
    login(page, live_server, "reviewer")

    # The review list puts the disputed document first and leads to its page.
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/review/")
    first = page.locator("#review-documents tbody tr").first
    expect(first).to_contain_text("000")
    expect(first.locator(".issue-count")).to_have_text("4")
    page.screenshot(path=screenshot_dir / "review-list.png", full_page=True)
    first.get_by_role("link", name="Review →").click()
    page.wait_for_selector("body[data-review=ready]")

    # The disagreement: alice's and bob's sources differ in their boundaries.
    expect(row(page, long_source)).to_have_class("disputed")
    expect(row(page, long_source).locator(".issue-boundary")).to_have_text("boundaries differ")
    expect(row(page, long_source).locator("td.mark")).to_have_text(["✓person", "–"])
    expect(row(page, short_source).locator("td.mark")).to_have_text(["–", "✓person"])
    expect(row(page, claim)).to_have_class("agreed")
    expect(page.locator("#link-table tr[data-link]")).to_have_count(1)

    # "Next open" shows the first candidate nobody settled: its text is selected in gold.
    page.click("#next-open")
    expect(row(page, long_source)).to_have_class("disputed current")
    wait_for_text_selection(page, SOURCE)

    # Opening the page started no adjudication: no gold layer until the first edit.
    assert not Layer.objects.filter(document__external_id="000", is_gold=True).exists()

    # Accept alice's source: adjudication starts (a POST makes the gold layer), then the
    # span is written into gold through the span API.
    with (
        page.expect_response(
            lambda r: r.url.endswith("/layers/gold/") and r.request.method == "POST"
        ) as started,
        page.expect_response(
            lambda r: r.url.endswith("/spans/") and r.request.method == "POST"
        ) as created,
    ):
        row(page, long_source).locator("button.accept").click()
    assert (started.value.status, created.value.status) == (201, 201)
    expect(row(page, long_source)).to_have_class("disputed current in-gold")
    saved(page)

    # Merge by vote, two of two: the claim both marked comes in, the rest stays out.
    page.select_option("#min-votes", "2")
    with page.expect_response(lambda r: r.url.endswith("/layers/gold/merge/")) as merged:
        page.click("#merge-button")
    assert merged.value.status == 200
    assert merged.value.json()["merge"] == {"annotators": 2, "min_votes": 2}
    expect(page.locator("#notice")).to_contain_text("1 span and 0 links added")
    expect(row(page, claim)).to_have_class("agreed in-gold")
    expect(row(page, short_source)).not_to_have_class("in-gold")

    # Reject bob's shorter source, accept alice's link (both ends are in gold now).
    row(page, short_source).locator("button.reject").click()
    expect(row(page, short_source)).to_have_class("disputed rejected")
    page.get_by_role("tab", name="Links (1)").click()  # the list view's link candidates
    with page.expect_response(lambda r: r.url.endswith("/relations/")) as linked:
        page.locator("#link-table tr[data-link] button.accept").click()
    assert linked.value.status == 201

    # Edit a gold span in the editor: the source's kind becomes organisation (key 2).
    source = bounds(text, SOURCE)
    click_text(page, text, *source)
    expect(page.locator("#span-panel")).to_be_visible()
    with page.expect_response(lambda r: r.request.method == "PATCH") as patched:
        page.keyboard.press("2")
    assert patched.value.status == 200
    saved(page)
    expect(row(page, long_source).locator("td.gold-state")).to_have_text("✓organisation")
    expect(row(page, long_source).locator("button.accept")).to_have_text("Use person")
    expect(page.locator("#settled-count")).to_contain_text("3 of 4 settled")
    page.screenshot(path=screenshot_dir / "review-seed-000.png", full_page=True)
    page.locator(".side").screenshot(path=screenshot_dir / "review-side.png")

    # After a reload, gold is as the reviewer left it, and so are the rejections.
    page.reload()
    page.wait_for_selector("body[data-review=ready]")
    expect(row(page, long_source)).to_have_class("disputed in-gold")
    expect(row(page, claim)).to_have_class("agreed in-gold")
    expect(row(page, short_source)).to_have_class("disputed rejected")
    page.click("#next-open")  # the one candidate left open: bob's Persian sentiment
    wait_for_text_selection(page, PERSIAN)
    expect(page.locator("#link-table tr[data-link]")).to_have_class("disputed in-gold")
    expect(page.locator("#links-list li")).to_have_count(1)
    expect(page.locator("#gold-status")).to_have_text("in progress")
    painted = page.evaluate(
        "[...document.querySelectorAll('#doc-text .seg')].map((e) => e.dataset.l)"
    )
    assert {"claim", "source"} == set(" ".join(painted).split())
    assert page.locator("#doc-text").text_content() == text

    # The database holds exactly that gold layer.
    gold = Layer.objects.get(document=seed, is_gold=True)
    stored = sorted(
        (s.start, s.end, s.label.name, s.attributes)
        for s in Span.objects.filter(layer=gold).select_related("label")
    )
    assert stored == sorted(
        [
            (*bounds(text, CLAIM), "claim", {}),
            (*source, "source", {"kind": "organisation"}),
        ]
    )
    relation = Relation.objects.select_related("head", "tail").get(layer=gold)
    assert (relation.head.label.name, relation.tail.label.name) == ("claim", "source")
    assert errors == []


def test_merge_is_undone_by_ctrl_z_and_a_stale_gold_reloads_after_a_conflict(
    page, live_server, cast, disagreement
):
    seed = disagreement
    text = seed.text
    login(page, live_server, "reviewer")
    open_review(page, live_server, cast.project, seed)

    page.select_option("#min-votes", "1")
    with page.expect_response(lambda r: r.url.endswith("/layers/gold/merge/")):
        page.click("#merge-button")
    expect(page.locator("#candidate-table tr.in-gold")).to_have_count(4)
    gold = Layer.objects.get(document=seed, is_gold=True)
    assert gold.spans.count() == 4
    assert gold.relations.count() == 1

    page.keyboard.press("Control+z")
    expect(page.locator("#candidate-table tr.in-gold")).to_have_count(0)
    saved(page)
    assert gold.spans.count() == 0

    # Someone else writes gold behind the page's back; the next merge is refused (409)
    # and the page reloads gold with their span.
    start, end = bounds(text, "Tajikistan")
    layer_service.create_span(
        access=layer_access(cast.manager, Layer.objects.get(pk=gold.pk)),
        label="claim",
        start=start,
        end=end,
    )
    with page.expect_response(lambda r: r.url.endswith("/layers/gold/merge/")) as refused:
        page.click("#merge-button")
    assert refused.value.status == 409
    expect(page.locator("#save-state")).to_have_attribute("data-state", "conflict")
    expect(page.locator("#notice")).to_contain_text("changed in another tab or by someone else")
    expect(page.locator("#doc-text .seg[data-l~=claim]")).to_have_count(1)
    assert gold.spans.count() == 1


def test_reviewer_reopens_a_layer_for_its_annotator(page, live_server, cast, disagreement):
    login(page, live_server, "reviewer")
    open_review(page, live_server, cast.project, disagreement)

    with page.expect_response(lambda r: r.url.endswith("/reopen/")) as reopened:
        page.get_by_role("button", name="Reopen for bob").click()
    assert reopened.value.status == 200
    expect(page.locator(".lane[data-annotator=bob]")).to_contain_text("Reopened: bob can edit")
    layer = Layer.objects.get(document=disagreement, annotator=cast.bob)
    assert layer.status == LayerStatus.OPEN


def test_annotator_gets_404_on_the_review_pages(page, live_server, cast, disagreement):
    login(page, live_server, "alice")

    for path in (f"documents/{disagreement.pk}/review/", "review/"):
        response = page.goto(f"{live_server.url}/projects/{cast.project.slug}/{path}")
        assert response.status == 404


def test_manager_sees_a_reopened_layer_listed_but_not_counted(
    page, live_server, cast, disagreement, screenshot_dir
):
    bob = Layer.objects.get(document=disagreement, annotator=cast.bob)
    layer_service.reopen_layer(access=layer_access(cast.reviewer, bob))
    login(page, live_server, "manager")
    open_review(page, live_server, cast.project, disagreement)

    expect(page.locator(".lane[data-annotator=bob]")).to_contain_text("listed, not counted")
    sentiment = key(disagreement.text, PERSIAN, "sentiment")
    # Only bob marked it, and bob's layer does not count while open: no disagreement.
    expect(row(page, sentiment).locator("td.mark.marked.pending")).to_have_count(1)
    expect(row(page, sentiment)).to_have_class("agreed")
    short_source = key(disagreement.text, "Saleh", "source", disagreement.text.index(SOURCE))
    expect(row(page, short_source)).to_have_class("agreed")
    expect(page.locator("#min-votes option")).to_have_count(1)
    page.screenshot(path=screenshot_dir / "review-manager.png", full_page=True)


def test_reviewer_marks_gold_final_with_a_reason_and_reopens_it(
    page, live_server, cast, disagreement
):
    login(page, live_server, "reviewer")
    open_review(page, live_server, cast.project, disagreement)
    with page.expect_response(lambda r: r.url.endswith("/layers/gold/merge/")):
        page.click("#merge-button")
    saved(page)

    # Only the claim both marked is in gold: the server refuses "final", the page asks why.
    with page.expect_response(lambda r: r.url.endswith("/submit/")) as refused:
        page.click("#submit-button")
    assert refused.value.status == 400
    expect(page.locator("#final-dialog")).to_be_visible()
    expect(page.locator("#final-text")).to_contain_text("4 candidates not settled")
    page.fill("#final-reason", "The sources are checked in the next round.")
    page.click("#final-confirm")
    page.wait_for_url(f"**/projects/{cast.project.slug}/review/")
    expect(page.locator("#review-documents tr", has_text="000")).to_contain_text("final")
    gold = Layer.objects.get(document=disagreement, is_gold=True)
    assert (gold.status, gold.final_reason) == (
        LayerStatus.SUBMITTED,
        "The sources are checked in the next round.",
    )

    open_review(page, live_server, cast.project, disagreement)
    expect(page.locator("#gold-reason")).to_contain_text("checked in the next round")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "readonly")
    expect(page.locator("#candidate-table button.accept").first).to_be_hidden()
    with page.expect_response(lambda r: r.url.endswith("/reopen/")) as reopened:
        page.click("#reopen-gold")
    assert reopened.value.status == 200
    expect(page.locator("#gold-status")).to_have_text("in progress")
    expect(page.locator("#merge-button")).to_be_visible()
    gold.refresh_from_db()
    assert gold.status == LayerStatus.OPEN


def test_a_rejection_reaches_a_second_reviewer_and_a_link_asks_for_its_rejected_end(
    page, live_server, cast, disagreement
):
    rita = UserFactory(username="rita")
    add_member(project=cast.project, user=rita, role=Role.REVIEWER)
    text = disagreement.text
    long_source = key(text, SOURCE, "source")
    login(page, live_server, "reviewer")
    open_review(page, live_server, cast.project, disagreement)

    with page.expect_response(lambda r: r.url.endswith("/decisions/")) as decided:
        row(page, long_source).locator("button.reject").click()
    assert decided.value.status == 200
    expect(row(page, long_source)).to_have_class("disputed rejected")

    # Another reviewer, another browser: the rejection is there.
    other = page.context.browser.new_context()
    try:
        second = other.new_page()
        login(second, live_server, "rita")
        open_review(second, live_server, cast.project, disagreement)
        expect(row(second, long_source)).to_have_class("disputed rejected")
        expect(row(second, long_source).locator("td.gold-state")).to_contain_text("rejected")
    finally:
        other.close()

    # Accepting alice's link, whose source is rejected, asks first; "no" changes nothing.
    page.get_by_role("tab", name="Links (1)").click()
    link = page.locator("#link-table tr[data-link]")
    link.locator("button.accept").click()
    expect(page.locator("#ends-dialog")).to_be_visible()
    expect(page.locator("#ends-text")).to_contain_text(f"source “{SOURCE}” is rejected")
    page.click("#ends-cancel")
    expect(page.locator("#ends-dialog")).to_be_hidden()
    expect(link).not_to_have_class("in-gold")

    # "Yes" takes the link and both its ends into gold.
    link.locator("button.accept").click()
    with page.expect_response(lambda r: r.url.endswith("/decisions/")) as accepted:
        page.click("#ends-confirm")
    assert accepted.value.status == 200
    expect(link).to_have_class("disputed in-gold")
    expect(row(page, long_source)).to_have_class("disputed in-gold")
    saved(page)
    gold = Layer.objects.get(document=disagreement, is_gold=True)
    assert gold.relations.count() == 1
    assert gold.spans.count() == 2
