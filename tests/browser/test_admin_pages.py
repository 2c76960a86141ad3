"""The admin, a staff tool, works under the workbench's Content-Security-Policy (every
browser test fails on a refused script or style: see conftest.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Layer, Span
from annotations.services import layers as layer_service
from tests.access import layer_access
from tests.browser.conftest import login

pytestmark = pytest.mark.browser


def test_staff_browse_a_layer_and_its_spans_and_the_policy_refuses_nothing(
    page, live_server, cast, documents, celery_eager
):
    cast.manager.is_staff = True
    cast.manager.is_superuser = True
    cast.manager.save()
    seed = documents["seed"]
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    start = seed.text.index("Amrullah Saleh")
    span = layer_service.create_span(
        access=layer_access(cast.alice, layer), label="source", start=start, end=start + 14
    )
    login(page, live_server, "manager")

    page.goto(f"{live_server.url}/admin/annotations/span/?label__name=source")
    expect(page.locator("#result_list")).to_contain_text("Amrullah Saleh")
    expect(page.locator("#changelist-filter")).to_be_visible()
    page.goto(f"{live_server.url}/admin/annotations/layer/{layer.pk}/change/")
    expect(page.locator("body")).to_contain_text("Amrullah Saleh")
    page.goto(f"{live_server.url}/admin/annotations/span/{span.pk}/change/")
    expect(page.locator("#content")).to_contain_text("source")
    assert Span.objects.get(pk=span.pk).start == start
