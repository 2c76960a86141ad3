"""The annotation page in headless Chromium: time to interactive, key press to paint and save.

Creates (or recreates) a dedicated PostgreSQL database, migrates it and seeds one
project with a 50,000-character document (the seed articles repeated, with Persian and
emoji lines) whose annotator layer holds 500 spans (nested and overlapping ones among
them) and 300 links, drawn as arcs. Starts Django's server on a free loopback port (it serves the
static files with --insecure), logs in with Debian's Chromium through Playwright and:

- loads the page several times and reads the page's own "wb:ready" mark, set once the
  text is painted with every span and the keys answer (milliseconds since navigation);
- selects text 20 times and presses a label key; the page measures from the key's
  event time to the frame after the new span is painted ("wb:paint") and to the
  server's answer being applied ("wb:save");
- links a claim to a source 20 times by mouse (click the claim, press l, click the
  source); the page measures from the click to the frame after the new arc is drawn
  ("wb:link"), and each redraw of the arcs alone ("wb:arcs").

Prints the medians (and the spread), checks the stored spans against the text, stops
the server and drops the database.

    .venv/bin/python bench/ui.py
    .venv/bin/python bench/ui.py --loads 3 --samples 10 --spans 200
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _scratch_db import drop_database, recreate_database  # bench/ is on sys.path when run

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLUG = "bench-ui"
PASSWORD = "bench-ui-password-1"
EXTRA_LINES = [
    "اینجا اسم مستعار همه ی ما مقاومت است. مقاومت .\n",
    "Kabul 😀 reported calm; the flag 🇦🇫 flew over the ministry 👍🏽 again.\n",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=50_000, help="document length")
    parser.add_argument("--spans", type=int, default=500, help="spans already in the layer")
    parser.add_argument("--links", type=int, default=300, help="links already in the layer")
    parser.add_argument("--loads", type=int, default=5, help="page loads timed")
    parser.add_argument("--samples", type=int, default=20, help="label key presses timed")
    parser.add_argument("--database", default="wb_bench_ui", help="PostgreSQL database name")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL")
    parser.add_argument("--keep-db", action="store_true", help="leave the database behind")
    return parser.parse_args()


def build_text(length: int) -> str:
    """The seed articles, paragraph by paragraph, with RTL and emoji lines, cut to length."""
    paragraphs = []
    for path in sorted((ROOT / "seeds").glob("*.txt")):
        paragraphs += [p + "\n" for p in path.read_text(encoding="utf-8").split("\n") if p]
    lines: list[str] = []
    total = 0
    index = 0
    while total < length:
        line = paragraphs[index % len(paragraphs)]
        if index % 7 == 3:
            line = EXTRA_LINES[index % 2]
        lines.append(line)
        total += len(line)
        index += 1
    return "".join(lines)[:length]


def word_starts(text: str) -> list[int]:
    return [i for i in range(len(text)) if not text[i].isspace() and (i == 0 or text[i - 1] == " ")]


def seed(text: str, span_count: int, link_count: int) -> tuple[int, int]:
    """The project, its annotator, the document and the layer; returns (document, layer)."""
    from django.contrib.auth import get_user_model

    from annotations.models import Document, LabelType, Layer, Relation, Role, Span
    from annotations.services.assignments import assign_documents
    from annotations.services.projects import add_member, create_project

    users = get_user_model().objects
    manager = users.create_user("bench-manager", password=PASSWORD)
    annotator = users.create_user("bench-annotator", password=PASSWORD)
    project = create_project(name="UI bench", slug=SLUG, created_by=manager, overlap=1)
    add_member(project=project, user=annotator, role=Role.ANNOTATOR)
    document = Document.objects.create(project=project, external_id="big", text=text)
    assign_documents(project=project)
    layer = Layer.objects.get(document=document, annotator=annotator)
    labels = {label.name: label for label in LabelType.objects.filter(project=project)}

    rng = random.Random(500)
    starts = word_starts(text)
    spans = []
    for n in range(span_count):
        begin = rng.randrange(len(starts) - 10)
        start = starts[begin]
        end = starts[begin + rng.randint(1, 8)] - 1
        if n % 10 == 9 and spans:  # Every tenth span sits inside the previous one.
            outer = spans[-1]
            start, end = outer.start, max(outer.start + 1, (outer.start + outer.end) // 2)
        name = ("claim", "source", "sentiment")[n % 3]
        attrs = {"polarity": "negative"} if name == "sentiment" else {}
        spans.append(
            Span(
                layer=layer,
                label=labels[name],
                start=start,
                end=end,
                attributes=attrs,
                quote=text[start:end],
            )
        )
    Span.objects.bulk_create(spans)
    made = list(Span.objects.filter(layer=layer).select_related("label").order_by("id"))
    claims = [s for s in made if s.label.name == "claim"]
    sources = [s for s in made if s.label.name == "source"]
    # Every claim to the source made with it, then to the next ones: several arcs a span.
    pairs = [
        (claims[n % len(claims)], sources[(n + n // len(claims)) % len(sources)])
        for n in range(link_count)
    ]
    Relation.objects.bulk_create(
        Relation(layer=layer, label=labels["attributed_to"], head=claim, tail=source)
        for claim, source in dict.fromkeys(pairs)
    )
    return document.pk, layer.pk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer at {url} within {timeout:.0f} s")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}"


# Functions, not expressions: the page's CSP refuses eval, and Playwright evaluates a bare
# expression with it.
SELECT = """async ([start, end]) => {
  const { domPoint } = await import("/static/annotations/js/offsets.js");
  const root = document.getElementById("doc-text");
  const a = domPoint(root, start);
  const b = domPoint(root, end);
  a.node.parentElement.scrollIntoView({ block: "center" });
  getSelection().setBaseAndExtent(a.node, a.offset, b.node, b.offset);
}"""


def drive(base_url: str, document_id: int, text: str, loads: int, samples: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    page_url = f"{base_url}/projects/{SLUG}/documents/{document_id}/annotate/"
    figures: dict = {"ready": [], "dom": [], "first_byte": [], "paint": [], "save": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        figures["chromium"] = browser.version
        page.goto(f"{base_url}/accounts/login/")
        page.fill("#id_username", "bench-annotator")
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base_url}/")
        page.goto(page_url)  # Warm the server and the static files once.
        page.wait_for_selector("body[data-annotator=ready]")
        for _ in range(loads):
            page.goto(page_url)
            page.wait_for_selector("body[data-annotator=ready]")
            figures["ready"].append(
                page.evaluate("performance.getEntriesByName('wb:ready')[0].startTime")
            )
            navigation = page.evaluate(
                "(({responseStart, domContentLoadedEventEnd}) =>"
                " [responseStart, domContentLoadedEventEnd])"
                "(performance.getEntriesByType('navigation')[0])"
            )
            figures["first_byte"].append(navigation[0])
            figures["dom"].append(navigation[1])
        figures["segments"] = page.locator("#doc-text .seg").count()

        # Fresh places to label: one word each, spread over the document, on the page's
        # UTF-16 offsets (the text has emoji, so they differ from code points).
        rng = random.Random(20)
        starts = word_starts(text)
        chosen = sorted(rng.sample(range(len(starts) - 3), samples))
        for n, index in enumerate(chosen):
            start = starts[index]
            end = starts[index + 2] - 1
            start16 = len(text[:start].encode("utf-16-le")) // 2
            end16 = len(text[:end].encode("utf-16-le")) // 2
            page.evaluate(SELECT, [start16, end16])
            page.keyboard.press("c")
            page.wait_for_function(
                "(n) => performance.getEntriesByName('wb:save').length > n"
                " && performance.getEntriesByName('wb:paint').length > n",
                arg=n,
            )
        figures["paint"] = page.evaluate(
            "performance.getEntriesByName('wb:paint').map((e) => e.duration)"
        )
        figures["save"] = page.evaluate(
            "performance.getEntriesByName('wb:save').map((e) => e.duration)"
        )
        figures["arcs"] = page.locator(".arcs path.arc").count()
        figures["link"], figures["arcs_redraw"] = link_by_mouse(page, samples)
        browser.close()
    return figures


def click_first_line(page, segment) -> None:
    """Click the middle of a segment's first line (a segment that wraps has a bounding box
    whose middle may be another line's text)."""
    segment.scroll_into_view_if_needed()
    box = segment.evaluate(
        "(seg) => { const r = seg.getClientRects()[0];"
        " return [(r.left + r.right) / 2, (r.top + r.bottom) / 2]; }"
    )
    page.mouse.click(*box)


def link_by_mouse(page, samples: int) -> list[float]:
    """Link claims to sources by mouse, each pair of segments holding one span only (so
    the click picks that span); the page's "wb:link" durations."""
    claims = page.locator('#doc-text .seg[data-tag="claim"]:not([data-k*=" "])')
    sources = page.locator('#doc-text .seg[data-tag="source"]:not([data-k*=" "])')
    arcs = page.locator(".arcs path.arc")
    drawn_before = page.evaluate("() => performance.getEntriesByName('wb:arcs').length")
    for n in range(samples):
        before = arcs.count()
        click_first_line(page, claims.nth(n * 3))
        page.keyboard.press("l")
        click_first_line(page, sources.nth(sources.count() - 1 - n * 3))
        page.wait_for_function(
            "([n, before]) => performance.getEntriesByName('wb:link').length > n"
            " && document.querySelectorAll('.arcs path.arc').length > before",
            arg=[n, before],
        )
        page.wait_for_selector("#save-state[data-state=saved]")
    link = page.evaluate("performance.getEntriesByName('wb:link').map((e) => e.duration)")
    redraw = page.evaluate(
        "(skip) => performance.getEntriesByName('wb:arcs').slice(skip).map((e) => e.duration)",
        drawn_before,
    )
    return link, redraw


def spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):7.1f} ms   "
        f"min {min(values):7.1f}   max {max(values):7.1f}   (n={len(values)})"
    )


def main() -> None:
    args = parse_args()
    database_url = f"{args.pg}/{args.database}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="workbench.settings",
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # Plain HTTP on loopback, no proxy in front.
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        LOG_LEVEL="WARNING",
        # Playwright's sync API runs an event loop in this thread; the ORM calls here
        # all happen before or after it.
        DJANGO_ALLOW_ASYNC_UNSAFE="true",
    )
    os.environ.pop("CELERY_BROKER_URL", None)
    recreate_database(args.pg, args.database)
    server = None
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        text = build_text(args.chars)
        document_id, layer_id = seed(text, args.spans, args.links)
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runserver",
                "--noreload",
                "--insecure",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base_url}/accounts/login/", server)
        figures = drive(base_url, document_id, text, args.loads, args.samples)

        from annotations.models import Span

        stored = list(Span.objects.filter(layer_id=layer_id).values_list("start", "end", "quote"))
        wrong = sum(1 for start, end, quote in stored if text[start:end] != quote)
        astral = sum(1 for char in text if ord(char) > 0xFFFF)
        print(f"machine: {machine()}, Chromium {figures['chromium']}")
        print(
            f"document: {len(text):,} code points ({astral} beyond U+FFFF), "
            f"{text.count(chr(10)) + 1} lines; layer: {args.spans} spans, "
            f"{figures['arcs']} links; {figures['segments']} painted segments"
        )
        print(f"time to interactive (wb:ready)  {spread(figures['ready'])}")
        print(f"  server, to the first byte     {spread(figures['first_byte'])}")
        print(f"DOMContentLoaded                {spread(figures['dom'])}")
        print(f"label key -> span painted       {spread(figures['paint'])}")
        print(f"label key -> span saved         {spread(figures['save'])}")
        print(f"click -> link's arc drawn       {spread(figures['link'])}")
        print(f"  of which drawing the arcs     {spread(figures['arcs_redraw'])}")
        print(
            f"stored spans: {len(stored)} (expected {args.spans + args.samples}), "
            f"quotes not matching the text: {wrong}"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(args.pg, args.database)


if __name__ == "__main__":
    main()
