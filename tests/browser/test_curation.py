"""The curation view in Chromium: three annotators' rows under seed 000's paragraphs,
coloured by agreement, and their spans and links taken into gold with a click or Enter."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from annotations.models import Document, Layer, Relation, Span
from annotations.services.imports import import_file
from tests.browser.conftest import link_saved, login
from tests.browser.test_review import CLAIM, PERSIAN, SOURCE, bounds, open_review, saved

pytestmark = pytest.mark.browser


def key(span: tuple[int, int], label: str) -> str:
    return f"{span[0]}:{span[1]}:{label}"


@pytest.fixture
def three_layers(cast, seed_text, celery_eager):
    """Seed 000, submitted by alice, bob and carol: all three mark the claim; alice and
    bob the source "Amrullah Saleh" (alice links the claim to it); carol marks only
    "Saleh" inside it; bob alone a Persian sentiment."""
    text = seed_text
    claim, source = bounds(text, CLAIM), bounds(text, SOURCE)
    saleh = (source[0] + len("Amrullah "), source[1])

    def span(where, label, **attrs):
        return {"start": where[0], "end": where[1], "label": label, "attrs": attrs}

    record = {
        "id": "000",
        "text": text,
        "annotations": {
            "alice": [span(claim, "claim"), span(source, "source", kind="person")],
            "bob": [
                span(claim, "claim"),
                span(source, "source", kind="person"),
                span(bounds(text, PERSIAN), "sentiment", polarity="positive"),
            ],
            "carol": [span(claim, "claim"), span(saleh, "source", kind="media")],
        },
        "relations": {"alice": [{"type": "attributed_to", "head": 0, "tail": 1}]},
    }
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode()
    import_file(project=cast.project, filename="three.jsonl", data=data)
    return Document.objects.get(project=cast.project, external_id="000")


def row(page, annotator: str):
    return page.locator(f'#curation-rows .curation-row[data-annotator="{annotator}"]')


def mark(page, annotator: str, label: str, quote: str):
    """The mark after an annotator's span, found by its accessible name."""
    name = re.compile(f"^{annotator}: {label} “{re.escape(quote)}”")
    return row(page, annotator).get_by_role("button", name=name)


def gold_spans(document):
    gold = Layer.objects.get(document=document, is_gold=True)
    return sorted(
        (s.start, s.end, s.label.name, s.attributes)
        for s in Span.objects.filter(layer=gold).select_related("label")
    )


def test_reviewer_curates_from_the_annotators_rows(
    page, live_server, cast, three_layers, screenshot_dir
):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    document = three_layers
    text = document.text
    claim, source = bounds(text, CLAIM), bounds(text, SOURCE)
    saleh = (source[0] + len("Amrullah "), source[1])
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, live_server, "reviewer")
    open_review(page, live_server, cast.project, document)

    # Under the first paragraph: one row per annotator, each named, the gold text above.
    first = page.locator("#curation-rows .curation-group").first
    expect(first.locator(".curation-row .who")).to_have_text(["alice", "bob", "carol"])
    expect(page.locator("#curation-rows .curation-group")).to_have_count(2)  # + the Persian
    assert page.locator("#doc-text").text_content() == text
    paragraph = page.locator("#doc-text > .para").first.bounding_box()
    group = first.bounding_box()
    assert paragraph["y"] + paragraph["height"] <= group["y"] + 1

    # Coloured by agreement, and said in words: all three, two of three, only one.
    expect(mark(page, "alice", "claim", CLAIM)).to_have_class(re.compile(r"\bagree-all\b"))
    expect(mark(page, "alice", "claim", CLAIM)).to_contain_text("3/3")
    expect(mark(page, "bob", "source", SOURCE)).to_have_class(re.compile(r"\bagree-some\b"))
    expect(mark(page, "bob", "source", SOURCE)).to_have_accessible_name(
        re.compile("2 of 3 agree; open")
    )
    expect(mark(page, "carol", "source", "Saleh")).to_have_class(re.compile(r"\bagree-one\b"))
    expect(row(page, "carol").locator(".seg.agree-one").first).to_have_text("Saleh")
    expect(row(page, "alice").locator(".seg.agree-all").first).to_have_text(CLAIM)
    expect(page.locator(".agreement-legend")).to_contain_text("only one marked it")
    page.screenshot(path=screenshot_dir / "curation-seed-000.png")

    # A click on carol's lone "Saleh" takes it into gold with carol's attributes: the
    # decision is stored, gold starts, the span is written.
    with (
        page.expect_response(lambda r: r.url.endswith("/decisions/")) as decided,
        page.expect_response(
            lambda r: r.url.endswith("/spans/") and r.request.method == "POST"
        ) as created,
    ):
        row(page, "carol").locator(".seg.agree-one").first.click()
    assert (decided.value.status, created.value.status) == (200, 201)
    expect(page.locator("#doc-text .seg[data-l~=source]")).to_have_text("Saleh")
    expect(mark(page, "carol", "source", "Saleh")).to_have_class(re.compile(r"\bin-gold\b"))
    expect(page.locator(f'#candidate-table tr[data-key="{key(saleh, "source")}"]')).to_have_class(
        re.compile(r"\bin-gold\b")
    )
    saved(page)
    assert gold_spans(document) == [(*saleh, "source", {"kind": "media"})]

    # The keyboard: Tab reaches the marks, Enter on bob's sentiment takes it.
    sentiment = mark(page, "bob", "sentiment", PERSIAN)
    sentiment.focus()
    with page.expect_response(lambda r: r.url.endswith("/spans/")):
        page.keyboard.press("Enter")
    expect(sentiment).to_have_class(re.compile(r"\bin-gold\b"))
    saved(page)

    # A rejection in the list view shows in the rows.
    long_source = page.locator(f'#candidate-table tr[data-key="{key(source, "source")}"]')
    with page.expect_response(lambda r: r.url.endswith("/decisions/")):
        long_source.locator("button.reject").click()
    expect(mark(page, "alice", "source", SOURCE)).to_have_class(re.compile(r"\brejected\b"))
    expect(mark(page, "bob", "source", SOURCE)).to_have_accessible_name(re.compile("; rejected"))

    # alice's link: its claim is not in gold and its source is rejected, so the page asks.
    link = row(page, "alice").locator(".cur-link")
    expect(link).to_contain_text("attributed_to")
    link.click()
    expect(page.locator("#ends-dialog")).to_be_visible()
    expect(page.locator("#ends-text")).to_contain_text(f"claim “{CLAIM}” is not in gold")
    expect(page.locator("#ends-text")).to_contain_text(f"source “{SOURCE}” is rejected")
    page.click("#ends-cancel")
    expect(link).not_to_have_class(re.compile(r"\bin-gold\b"))
    link.click()
    with page.expect_response(link_saved) as linked:
        page.click("#ends-confirm")
    assert linked.value.ok
    expect(link).to_have_class(re.compile(r"\bin-gold\b"))
    expect(mark(page, "alice", "claim", CLAIM)).to_have_class(re.compile(r"\bin-gold\b"))
    saved(page)
    assert gold_spans(document) == sorted(
        [
            (*claim, "claim", {}),
            (*source, "source", {"kind": "person"}),
            (*saleh, "source", {"kind": "media"}),
            (*bounds(text, PERSIAN), "sentiment", {"polarity": "positive"}),
        ]
    )
    relation = Relation.objects.select_related("head", "tail").get(
        layer__document=document, layer__is_gold=True
    )
    assert (relation.head.start, relation.tail.start) == (claim[0], source[0])

    page.locator("#curation").screenshot(path=screenshot_dir / "curation-settled.png")

    # The link candidates are one tab away in the list view, no nested scroll box.
    page.get_by_role("tab", name=re.compile("Links")).click()
    expect(page.locator("#link-table tr[data-link]")).to_have_class(re.compile(r"\bin-gold\b"))
    expect(page.locator("#candidate-table")).to_be_hidden()

    # Rows can be hidden per annotator, or all of them.
    page.get_by_role("button", name="carol", exact=True).click()
    expect(row(page, "carol").first).to_be_hidden()
    expect(row(page, "alice").first).to_be_visible()
    page.click("#curation-switch")
    expect(page.locator("#curation-rows")).to_be_hidden()
    page.click("#curation-switch")
    expect(row(page, "alice").first).to_be_visible()
    expect(row(page, "carol").first).to_be_hidden()
    assert errors == []
