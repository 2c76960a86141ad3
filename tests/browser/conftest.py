"""Browser fixtures: documents for the cast, logging in, selecting text with the mouse."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from annotations.services.assignments import assign_documents
from tests.factories import DocumentFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
PASSWORD = "correct horse battery"
# An emoji (2 UTF-16 units), a flag (2 code points, 4 units), a combining accent.
EMOJI_TEXT = (
    "Kabul 😀 reported calm on Friday. The flag 🇦🇫 flew over the ministry.\n"
    "A cafe\u0301 owner said the Taliban 👍🏽 checkpoints had moved north."
)
HOSTILE_TEXT = (
    'Before <script>window.__xss = "script"</script> between '
    '<img src="x" onerror="window.__xss = \'img\'"> after & "quoted" <b>bold</b>.'
)


def utf16(text: str, cp: int) -> int:
    """UTF-16 offset of code point offset ``cp``: worked out here, not by the page."""
    return len(text[:cp].encode("utf-16-le")) // 2


@pytest.fixture(autouse=True)
def _no_content_security_policy_violation(page):
    """Every page of every browser test runs under the workbench's CSP: a refused script,
    style or request is a bug (it would break the page in production), so it fails."""
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield
    assert refused == []


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def documents(cast, seed_text):
    """Seed 000, an emoji document and a hostile one, each assigned to alice and bob."""
    made = {
        "seed": DocumentFactory(
            project=cast.project, external_id="000", text=seed_text, meta={"outlet": "WION"}
        ),
        "emoji": DocumentFactory(project=cast.project, external_id="001", text=EMOJI_TEXT),
        "hostile": DocumentFactory(project=cast.project, external_id="002", text=HOSTILE_TEXT),
    }
    assign_documents(project=cast.project)
    return made


def login(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def open_document(page, live_server, project, document) -> None:
    page.goto(f"{live_server.url}/projects/{project.slug}/documents/{document.pk}/annotate/")
    page.wait_for_selector("body[data-annotator=ready]")


# Client rectangles of the text between two UTF-16 offsets of #doc-text.
_RECTS = """([start, end]) => {
  const root = document.getElementById("doc-text");
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let seen = 0;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const next = seen + node.data.length;
    if (seen <= start && start < next) range.setStart(node, start - seen);
    if (seen < end && end <= next) { range.setEnd(node, end - seen); break; }
    seen = next;
  }
  range.startContainer.parentElement.scrollIntoView({block: "center"});
  return [...range.getClientRects()].map((r) => ({left: r.left, right: r.right,
    top: r.top, bottom: r.bottom}));
}"""


def drag_select(page, text: str, start: int, end: int, *, rtl: bool = False) -> str:
    """Select text[start:end] (code points) with the mouse; return what the browser says
    is selected. Right-to-left text must sit on one line."""
    rects = page.evaluate(_RECTS, [utf16(text, start), utf16(text, end)])
    first, last = rects[0], rects[-1]
    y_begin = (first["top"] + first["bottom"]) / 2
    y_finish = (last["top"] + last["bottom"]) / 2
    if rtl:  # Right to left: the first character is the rightmost one.
        begin, finish = max(r["right"] for r in rects) - 1, min(r["left"] for r in rects) + 1
    else:
        begin, finish = first["left"] + 1, last["right"] - 1
    page.mouse.move(begin, y_begin)
    page.mouse.down()
    page.mouse.move(finish, y_finish, steps=6)
    page.mouse.up()
    return page.evaluate("getSelection().getRangeAt(0).toString()")


def link_saved(response) -> bool:
    """The answer to the write that saves a new link: its own POST to ``relations/``, or
    the batch it went in when it queued behind a save in flight (``operations/``)."""
    request = response.request
    if request.method != "POST":
        return False
    if response.url.endswith("/relations/"):
        return True
    return response.url.endswith("/operations/") and '"create_link"' in (request.post_data or "")


def click_text(page, text: str, start: int, end: int) -> None:
    """Click the middle of the first line of text[start:end] (code points)."""
    rect = page.evaluate(_RECTS, [utf16(text, start), utf16(text, end)])[0]
    page.mouse.click((rect["left"] + rect["right"]) / 2, (rect["top"] + rect["bottom"]) / 2)


def click_span(page, quote: str) -> None:
    """Click, on its first line, the painted span whose whole text is ``quote``. Playwright
    finds the segment when it clicks and checks that nothing else would take the click, so
    a page still redrawing after a save cannot move the text from under it."""
    exact = re.compile(f"^{re.escape(quote)}$")
    segment = page.locator("#doc-text .seg").filter(has_text=exact).first
    segment.scroll_into_view_if_needed()
    first_line = segment.evaluate(
        """(seg) => {
          const line = seg.getClientRects()[0], box = seg.getBoundingClientRect();
          return {x: (line.left + line.right) / 2 - box.left,
                  y: (line.top + line.bottom) / 2 - box.top};
        }"""
    )
    segment.click(position=first_line)


def put_caret(page, text: str, cp: int) -> None:
    """Click just inside the left edge of character ``cp`` (left to right text)."""
    rect = page.evaluate(_RECTS, [utf16(text, cp), utf16(text, cp + 1)])[0]
    page.mouse.click(rect["left"] + 1, (rect["top"] + rect["bottom"]) / 2)


def wait_for_text_selection(page, expected: str) -> None:
    """Wait until the page's text selection reads ``expected`` (it may be restored late)."""
    page.wait_for_function("(expected) => getSelection().toString() === expected", arg=expected)


# Every animation-frame callback runs this much later, as on a machine too busy to paint.
_SLOW_FRAMES = """(delay) => {
  const request = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (callback) =>
    request(() => setTimeout(() => callback(performance.now()), delay));
}"""


def slow_frames(page, *, delay_ms: int) -> None:
    """From the next page load on, the page's frames come ``delay_ms`` late."""
    page.add_init_script(f"({_SLOW_FRAMES})({int(delay_ms)})")


def slow_down(page, url_glob: str, *, method: str, seconds: float) -> None:
    """Requests to ``url_glob`` with ``method`` reach the server ``seconds`` late."""

    def delay(route):
        if route.request.method == method:
            time.sleep(seconds)
        route.continue_()

    page.route(url_glob, delay)


def fail_once(page, url_glob: str) -> list:
    """The first request to ``url_glob`` gets a 503, as from a server with a passing
    problem; the others go through. Returns the failed requests, as they come."""
    failures = []

    def fail_the_first(route):
        if not failures:
            failures.append(route.request)
            route.fulfill(status=503, json={"detail": "Service unavailable."})
        else:
            route.continue_()

    page.route(url_glob, fail_the_first)
    return failures


def watch_hidden(locator):
    """Start recording every time the element becomes hidden; return a reader of the
    record (the page's timestamps of each hide)."""
    locator.evaluate(
        """(element) => {
          element.__hides = [];
          new MutationObserver(() => {
            if (element.hidden) element.__hides.push(performance.now());
          }).observe(element, {attributes: true, attributeFilter: ["hidden"]});
        }"""
    )
    return lambda: locator.evaluate("(element) => element.__hides")
