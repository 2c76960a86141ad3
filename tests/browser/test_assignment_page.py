"""A manager hands the documents out from the assignment page; the annotators' queues fill,
and the time an annotator works on a document is measured."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Assignment
from tests.browser.conftest import login, open_document
from tests.factories import DocumentFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def unassigned(cast, seed_text):
    return [
        DocumentFactory(project=cast.project, external_id="000", text=seed_text),
        DocumentFactory(project=cast.project, external_id="001"),
        DocumentFactory(project=cast.project, external_id="002"),
    ]


def test_manager_previews_and_applies_the_plan_and_the_queue_fills(
    page, live_server, cast, unassigned, screenshot_dir
):
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/dashboard/")
    page.click("nav.project-nav >> text=Assignment")

    expect(page.locator("#pool-unassigned")).to_have_text("3")
    alice = page.locator("#assignment-preview tr[data-annotator=alice]")
    expect(alice.locator("td").nth(2)).to_have_text("3")
    page.screenshot(path=screenshot_dir / "assignment-preview.png", full_page=True)
    assert not Assignment.objects.exists()
    page.click("#apply-plan")

    expect(page.locator(".messages")).to_contain_text("Assigned: 6 new assignments")
    expect(page.locator("#pool-unassigned")).to_have_text("0")
    expect(alice.locator("td").nth(1)).to_have_text("3")  # open now
    expect(alice.locator("td").nth(2)).to_have_text("0")  # nothing more to give

    page.context.clear_cookies()
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/queue/")
    expect(page.locator("table.queue tbody tr")).to_have_count(3)


def test_time_with_edits_on_the_page_is_reported(page, live_server, cast, unassigned):
    from annotations.services.assignments import assign_documents

    assign_documents(project=cast.project)
    document = unassigned[1]
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, document)

    page.locator("#doc-text").click()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(700)
    # Leaving the page sends what was measured.
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/queue/")

    def measured() -> float:
        return Assignment.objects.get(document=document, annotator=cast.alice).active_seconds

    for _ in range(50):
        if measured() > 0:
            break
        page.wait_for_timeout(100)
    assert 0 < measured() < 10
