"""Every page names the workbench's own icon, so the browser asks for no /favicon.ico."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def test_pages_load_their_icon_and_nothing_is_missing(page, live_server, cast):
    failed: list[str] = []
    icons: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.on("request", lambda r: icons.append(r.url) if "favicon" in r.url else None)

    login(page, live_server, "alice")
    page.goto(f"{live_server.url}/projects/panjshir/guidelines/")
    page.wait_for_load_state("networkidle")

    assert failed == []
    assert icons
    assert all(url.endswith("/static/annotations/img/favicon.svg") for url in icons)
