"""The manager's dashboard and the annotator's queue, as a browser shows them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import AssignmentStatus, Layer
from annotations.services import layers as layer_service
from tests.access import layer_access
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


@pytest.fixture
def progress(cast, documents):
    seed = documents["seed"]
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    start = seed.text.index("Amrullah Saleh")
    layer_service.create_span(
        access=layer_access(cast.alice, layer), label="source", start=start, end=start + 14
    )
    layer_service.submit_layer(access=layer_access(cast.alice, layer))
    cast.bob.assignments.filter(document=documents["hostile"]).update(
        status=AssignmentStatus.SKIPPED, skip_reason="broken markup"
    )
    return documents


def test_manager_sees_progress_bars_per_annotator_and_document(
    page, live_server, cast, progress, screenshot_dir
):
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/")

    expect(page).to_have_url(f"{live_server.url}/projects/{cast.project.slug}/dashboard/")
    alice = page.locator("#annotator-progress tr", has_text="alice")
    expect(alice.locator(".bar-submitted")).to_have_count(1)
    expect(alice).to_contain_text("33.3% done")
    seed_row = page.locator("#document-progress tr", has_text="000")
    expect(seed_row).to_contain_text("1 / 2")
    expect(
        page.locator("#document-progress tr", has_text="002").locator(".bar-skipped")
    ).to_have_count(1)
    page.screenshot(path=screenshot_dir / "dashboard.png", full_page=True)


def test_annotator_queue_shows_status_and_next(page, live_server, cast, progress, screenshot_dir):
    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/")

    expect(page.locator("table.queue tbody tr")).to_have_count(3)
    expect(page.locator("table.queue tr", has_text="000")).to_contain_text("Submitted")
    page.screenshot(path=screenshot_dir / "queue.png", full_page=True)
    page.click("#next-link")
    expect(page).to_have_url(
        f"{live_server.url}/projects/{cast.project.slug}/documents/{progress['emoji'].pk}/annotate/"
    )
