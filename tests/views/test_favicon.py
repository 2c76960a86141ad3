"""The icon is our own SVG in static, linked from the base template."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_every_page_links_the_svg_icon_that_static_files_serve(client, cast):
    client.force_login(cast.alice)

    html = client.get("/projects/panjshir/guidelines/").content.decode()

    icon = '<link rel="icon" type="image/svg+xml" href="/static/annotations/img/favicon.svg">'
    assert icon in html
    assert finders.find("annotations/img/favicon.svg")
