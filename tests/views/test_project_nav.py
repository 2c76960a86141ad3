"""The project navigation marks the page you are on, on every page it links to."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav class="project-nav".*?</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)"([^>]*)>([^<]+)</a>')


def nav_links(html: str) -> list[tuple[str, bool, str]]:
    (nav,) = NAV.findall(html)
    return [(href, 'aria-current="page"' in rest, text) for href, rest, text in LINK.findall(nav)]


@pytest.mark.parametrize("who", ["manager", "reviewer", "alice"])
def test_every_nav_link_leads_to_a_page_where_only_that_link_is_current(client, cast, who):
    client.force_login(getattr(cast, who))
    start = "/projects/panjshir/guidelines/"
    links = nav_links(client.get(start).content.decode())
    assert links

    for href, _current, text in links:
        response = client.get(href)
        assert response.status_code == 200, href
        marked = [name for _href, current, name in nav_links(response.content.decode()) if current]
        assert marked == [text], href
