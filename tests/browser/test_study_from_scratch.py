"""A whole study set up in the browser, from an empty database with one staff account: the
project, its schema, its documents, its people by invitation, the assignment, and two
annotators' work, with a live Celery worker running the import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from annotations.models import (
    Assignment,
    Document,
    DocumentLabel,
    LabelType,
    LayerStatus,
    Membership,
    Project,
    Role,
    Span,
)
from tests.browser.conftest import PASSWORD, drag_select
from tests.conftest import SEEDS
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

SLUG = "saleh-claims"
# What each annotator marks in seed 000: (label key, text), each found in the text.
WORK = {
    "alice": [("c", "he is still in Panjshir valley"), ("s", "Amrullah Saleh")],
    "bob": [("c", "he has fled to Tajikistan"), ("e", "مقاومت")],
}


def sign_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records),
        encoding="utf-8",
    )
    return path


def build_schema(page) -> None:
    """claim, source (with its kind), sentiment, and the article's stance."""
    for name, key in (("claim", "c"), ("source", "s"), ("sentiment", "e")):
        new_span = page.locator("#new-span")
        new_span.get_by_label("Name").fill(name)
        new_span.get_by_label("Hotkey").fill(key)
        new_span.get_by_role("button", name="Add").click()
        expect(page.locator(f"article[data-label={name}]")).to_be_visible()
    source = page.locator("article[data-label=source]")
    source.get_by_label("New attribute of source", exact=True).fill("kind")
    source.get_by_label("Values of the new attribute of source").fill("person, outlet, anonymous")
    source.get_by_role("button", name="Add attribute").click()
    expect(source.locator("[data-attribute=kind] li[data-value]")).to_have_count(3)
    new_document = page.locator("#new-document")
    new_document.get_by_label("Name").fill("stance")
    new_document.get_by_label("Choices").fill("supports, refutes, neutral")
    new_document.get_by_role("button", name="Add").click()
    expect(page.locator("article[data-label=stance] li[data-value]")).to_have_count(3)


def invite(page, role: str) -> str:
    """Make an invitation link for ``role`` on the members page; return the link."""
    page.select_option("#invitations select[name=role]", role)
    page.click("button[value=invite]")
    return page.locator("#invitation-link").inner_text()


def join(browser, link: str, username: str, live_server) -> None:
    """A newcomer opens the link in a browser of their own and chooses a password."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_again", PASSWORD)
    page.click("#join-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/projects/{SLUG}/**")
    expect(page.locator(".topbar .who")).to_have_text(username)
    context.close()


def annotate_and_submit(browser, live_server, username: str, document: Document) -> None:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live_server, username, PASSWORD)
    page.goto(f"{live_server.url}/projects/{SLUG}/queue/")
    expect(page.locator("table.queue tbody tr")).to_have_count(Document.objects.count())
    page.goto(f"{live_server.url}/projects/{SLUG}/documents/{document.pk}/annotate/")
    page.wait_for_selector("body[data-annotator=ready]")
    text = document.text
    for key, quote in WORK[username]:
        start = text.index(quote)
        assert drag_select(page, text, start, start + len(quote), rtl=key == "e") == quote
        with page.expect_response(
            lambda r: r.url.endswith("/spans/") and r.request.method == "POST"
        ) as created:
            page.keyboard.press(key)
        assert created.value.status == 201, created.value.text()
    with page.expect_response(lambda r: "/document-labels/" in r.url) as saved:
        page.locator("#document-labels-panel").get_by_label("refutes").check()
    assert saved.value.status == 200, saved.value.text()
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")
    with page.expect_response(lambda r: r.url.endswith("/submit/")) as submitted:
        page.click("#submit-button")
    assert submitted.value.status == 200, submitted.value.text()
    context.close()


def test_a_study_starts_from_an_empty_database_in_the_browser(
    page, browser, live_server, live_worker, tmp_path, screenshot_dir
):
    UserFactory(username="lead", is_staff=True)
    sign_in(page, live_server, "lead", PASSWORD)

    # The project, its labels built from nothing.
    page.fill("#id_name", "Saleh claims")
    expect(page.locator("#id_slug")).to_have_value(SLUG)
    page.select_option("#id_schema", "empty")
    page.click("#new-project button[type=submit]")
    page.wait_for_url(f"{live_server.url}/projects/{SLUG}/settings/")
    page.click(".project-nav >> text=Schema")
    build_schema(page)
    project = Project.objects.get(slug=SLUG)
    assert sorted(project.label_types.values_list("name", "kind")) == [
        ("claim", "span"),
        ("sentiment", "span"),
        ("source", "span"),
        ("stance", "document"),
    ]

    # The five seed articles as .txt, then a JSONL with one bad line, then the fixed file.
    page.click(".project-nav >> text=Documents")
    page.set_input_files("#id_file", [str(seed) for seed in sorted(SEEDS.glob("*.txt"))])
    page.click("#start-import")
    expect(page.locator("#import-outcome")).to_have_text(
        "Imported 5 documents, 0 spans, 0 relations.", timeout=30_000
    )
    good = {"id": "tass-1", "text": "TASS said Saleh left for Dushanbe."}
    bad = {"id": "tolo-1", "text": "Saleh is in Panjshir.", "gold": [{"start": 0, "end": 99}]}
    page.set_input_files("#id_file", str(jsonl(tmp_path / "wire.jsonl", [good, bad])))
    page.click("#start-import")
    expect(page.locator("#import-outcome")).to_contain_text(
        "The import failed and wrote nothing", timeout=30_000
    )
    error = page.locator("#line-errors tbody tr")
    expect(error).to_have_count(1)
    expect(error.locator("td").nth(1)).to_have_text("2")
    page.screenshot(path=screenshot_dir / "study-line-error.png", full_page=True)
    assert Document.objects.count() == 5
    bad["gold"] = [{"start": 0, "end": 5, "label": "source", "attrs": {"kind": "person"}}]
    page.set_input_files("#id_file", str(jsonl(tmp_path / "wire.jsonl", [good, bad])))
    page.click("#start-import")
    expect(page.locator("#import-outcome")).to_have_text(
        "Imported 2 documents, 1 span, 0 relations.", timeout=30_000
    )

    # Two annotators and a reviewer, each joining by their own link.
    page.click(".project-nav >> text=Members")
    for username, role in (("alice", "annotator"), ("bob", "annotator"), ("rana", "reviewer")):
        join(browser, invite(page, role), username, live_server)
    assert dict(
        Membership.objects.filter(project=project).values_list("user__username", "role")
    ) == {"lead": Role.MANAGER, "alice": Role.ANNOTATOR, "bob": Role.ANNOTATOR, "rana": "reviewer"}

    # k = 2: every document to both annotators.
    page.click(".project-nav >> text=Assignment")
    page.click("#apply-plan")
    expect(page.locator(".messages")).to_contain_text("Assigned: 14 new assignments")
    page.screenshot(path=screenshot_dir / "study-assigned.png", full_page=True)

    seed = Document.objects.get(external_id__startswith="000_")
    for username in WORK:
        annotate_and_submit(browser, live_server, username, seed)

    # Exactly the spans they made, at code-point offsets that hold their quotes.
    for username, work in WORK.items():
        user = User.objects.get(username=username)
        stored = Span.objects.filter(layer__annotator=user).order_by("start")
        expected = sorted(
            (seed.text.index(quote), seed.text.index(quote) + len(quote), quote)
            for _, quote in work
        )
        assert [(s.start, s.end, s.quote) for s in stored] == expected
        assert all(seed.text[s.start : s.end] == s.quote for s in stored)
        assert {s.layer.document_id for s in stored} == {seed.pk}
        assert stored[0].layer.status == LayerStatus.SUBMITTED
        assert Assignment.objects.get(document=seed, annotator=user).status == "submitted"
        assert list(
            DocumentLabel.objects.filter(layer__annotator=user).values_list("label__name", "value")
        ) == [("stance", "refutes")]
    assert Span.objects.filter(layer__is_gold=False).count() == 4
    assert LabelType.objects.filter(project=project).count() == 4
