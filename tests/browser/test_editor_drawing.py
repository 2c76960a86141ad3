"""What the editor draws, checked in Chromium: arcs between the right spans, label tags,
stacked bars for nested spans, the toolbar in view at the end of a long document, and
"snap to words"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import LabelType, Layer, Relation, Span
from tests.browser.conftest import click_text, drag_select, link_saved, login, open_document

pytestmark = pytest.mark.browser

# For every arc: its two end points and the boxes of its head and tail spans' segments,
# all in page coordinates.
_ARC_ENDS = """() => {
  const svg = document.querySelector(".arcs");
  const origin = svg.getBoundingClientRect();
  const segments = (key) => [...document.querySelectorAll("#doc-text .seg")]
    .filter((seg) => seg.dataset.k.split(" ").includes(key));
  const boxes = (key) => segments(key)
    .flatMap((seg) => [...seg.getClientRects()])
    .map((r) => ({left: r.left, right: r.right, top: r.top, bottom: r.bottom}));
  const textOf = (key) => segments(key).map((seg) => seg.textContent).join("");
  return [...svg.querySelectorAll("path.arc")].map((path) => {
    const total = path.getTotalLength();
    const at = (length) => {
      const point = path.getPointAtLength(length);
      return {x: point.x + origin.left, y: point.y + origin.top};
    };
    return {
      head: boxes(path.dataset.head), tail: boxes(path.dataset.tail),
      start: at(0), end: at(total), type: path.dataset.type,
      head_text: textOf(path.dataset.head), tail_text: textOf(path.dataset.tail),
    };
  });
}"""


def inside(point: dict, boxes: list[dict]) -> bool:
    return any(
        box["left"] <= point["x"] <= box["right"] and box["top"] <= point["y"] <= box["bottom"]
        for box in boxes
    )


def make_span(layer: Layer, label: str, text: str, quote: str, *, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = text.index(quote, start + 1)
    return Span.objects.create(
        layer=layer,
        label=LabelType.objects.get(project=layer.document.project, name=label),
        start=start,
        end=start + len(quote),
        quote=quote,
    )


@pytest.fixture
def drawn_layer(cast, documents):
    """Alice's layer of seed 000: two claims linked to one source (two arcs on one span),
    a claim linked across paragraphs, and a source nested inside a claim."""
    seed = documents["seed"]
    text = seed.text
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    attributed = LabelType.objects.get(project=cast.project, name="attributed_to")
    saleh = make_span(layer, "source", text, "Amrullah Saleh")
    still = make_span(layer, "claim", text, "he is still in Panjshir valley")
    rejected = make_span(layer, "claim", text, "Saleh rejected claims")
    inner = make_span(layer, "source", text, "Saleh", nth=1)
    later = make_span(layer, "claim", text, "He said that he was still in Panjshir valley")
    for head in (still, rejected, later):
        Relation.objects.create(layer=layer, label=attributed, head=head, tail=saleh)
    return {"seed": seed, "layer": layer, "spans": (saleh, still, rejected, inner, later)}


def test_arcs_join_the_right_spans_and_tags_name_them(
    page, live_server, cast, drawn_layer, screenshot_dir
):
    seed = drawn_layer["seed"]
    saleh, still, rejected, _, later = drawn_layer["spans"]
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    page.screenshot(path=screenshot_dir / "editor-arcs.png", full_page=True)
    page.screenshot(
        path=screenshot_dir / "editor-arcs-close.png",
        clip={"x": 60, "y": 160, "width": 840, "height": 320},
    )

    arcs = page.evaluate(_ARC_ENDS)
    assert sorted(arc["head_text"] for arc in arcs) == sorted(
        [still.quote, rejected.quote, later.quote]
    )
    assert {arc["tail_text"] for arc in arcs} == {saleh.quote}
    for arc in arcs:
        assert arc["type"] == "attributed_to"
        assert arc["head"]
        assert arc["tail"]
        assert inside(arc["start"], arc["head"]), arc
        assert inside(arc["end"], arc["tail"]), arc
    # The three arcs end on the source at three different points of its top edge.
    assert len({round(arc["end"]["x"]) for arc in arcs}) == 3

    # Each span's label is written above its first segment.
    tags = page.evaluate(
        """() => [...document.querySelectorAll("#doc-text .seg[data-tag]")].map((seg) => {
          const style = getComputedStyle(seg, "::before");
          return {text: seg.textContent, tag: style.content, shown: style.display !== "none"};
        })"""
    )
    assert {(tag["text"][:14], tag["tag"]) for tag in tags} >= {
        ("Amrullah Saleh", '"source"'),
        ("he is still in", '"claim"'),
    }
    assert all(tag["shown"] for tag in tags)

    # A source inside a claim: two bars under the nested text, one per span.
    nested = page.locator("#doc-text .seg[data-k*=' ']", has_text="Saleh").first
    expect(nested).to_have_text("Saleh")
    images = nested.evaluate("(seg) => getComputedStyle(seg).backgroundImage")
    assert images.count("linear-gradient") == 2


def test_adding_a_link_draws_its_arc(page, live_server, cast, drawn_layer):
    seed = drawn_layer["seed"]
    text = seed.text
    _, still, _, inner, _ = drawn_layer["spans"]
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    expect(page.locator(".arcs path.arc")).to_have_count(3)
    # Link the first claim to the nested "Saleh" as well.
    click_text(page, text, still.start, still.end)
    page.keyboard.press("l")
    # While linking, the spans the link may end on (sources) are outlined, the others not.
    outline = "(seg) => getComputedStyle(seg).outlineStyle"
    expect(page.locator("#doc-text .seg[data-l~=source]").first).to_have_text("Amrullah Saleh")
    assert page.locator("#doc-text .seg[data-l~=source]").first.evaluate(outline) == "dotted"
    assert page.locator("#doc-text .seg[data-l=claim]").last.evaluate(outline) == "none"
    with page.expect_response(link_saved):
        click_text(page, text, inner.start, inner.end)
    expect(page.locator(".arcs path.arc")).to_have_count(4)
    arcs = page.evaluate(_ARC_ENDS)
    for arc in arcs:
        assert inside(arc["start"], arc["head"]), arc
        assert inside(arc["end"], arc["tail"]), arc
    assert sorted((arc["head_text"], arc["tail_text"]) for arc in arcs) == sorted(
        [
            ("he is still in Panjshir valley", "Amrullah Saleh"),
            ("Saleh rejected claims", "Amrullah Saleh"),
            ("He said that he was still in Panjshir valley", "Amrullah Saleh"),
            ("he is still in Panjshir valley", "Saleh"),
        ]
    )


def test_toolbar_stays_in_view_at_the_end_of_the_longest_seed(
    page, live_server, cast, drawn_layer, screenshot_dir
):
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, drawn_layer["seed"])
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("window.scrollY > 0")
    page.screenshot(path=screenshot_dir / "editor-scrolled.png")
    for selector in ("#save-state", "#undo-button", "#submit-button", ".label-bar"):
        expect(page.locator(selector)).to_be_in_viewport()
    # Not only inside the viewport: on top, where a click reaches it.
    on_top = page.evaluate(
        """() => {
          const button = document.getElementById("submit-button");
          const r = button.getBoundingClientRect();
          const [x, y] = [(r.left + r.right) / 2, (r.top + r.bottom) / 2];
          return document.elementFromPoint(x, y) === button;
        }"""
    )
    assert on_top


def test_snap_to_words_widens_the_selection_to_whole_words(page, live_server, cast, documents):
    seed = documents["seed"]
    text = seed.text
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, seed)
    page.check("#snap-words")
    # "ill in Panjsh" from "he is still in Panjshir valley": snapped to "still in Panjshir".
    start = text.index("still in Panjshir") + 2
    drag_select(page, text, start, start + len("ill in Panjsh"))
    expect(page.locator("#selection-panel blockquote")).to_have_text("still in Panjshir")
    with page.expect_response(lambda r: r.url.endswith("/spans/")) as info:
        page.keyboard.press("c")
    span = info.value.json()["span"]
    assert text[span["start"] : span["end"]] == "still in Panjshir"
    # The choice is remembered; off again, a selection is taken exactly.
    page.reload()
    page.wait_for_selector("body[data-annotator=ready]")
    expect(page.locator("#snap-words")).to_be_checked()
    page.uncheck("#snap-words")
    start = text.index("Tajikistan") + 1
    drag_select(page, text, start, start + 4)
    with page.expect_response(lambda r: r.url.endswith("/spans/")) as info:
        page.keyboard.press("c")
    span = info.value.json()["span"]
    assert text[span["start"] : span["end"]] == "ajik"
