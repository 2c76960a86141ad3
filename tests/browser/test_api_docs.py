"""The interactive API page works on a closed network: its assets are served locally."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_api_docs_list_the_layer_endpoints_without_any_outside_request(
    page: Page, live_server, cast
):
    outside = []
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith(live_server.url) else outside.append(request.url)
        ),
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.get_by_text("/api/layers/{layer_id}/spans/").first).to_be_visible(timeout=15000)
    assert outside == []
