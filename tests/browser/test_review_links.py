"""The review page shows each annotator's catalogue link and stance, and accepting a
variant takes its entry and stance into gold with it (Chromium)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from annotations.models import CatalogueEntry, LabelType, Layer, Span
from annotations.services import layers as layer_service
from tests.access import layer_access
from tests.browser.conftest import login
from tests.browser.test_review import CLAIM, bounds, open_review, row

pytestmark = pytest.mark.browser


@pytest.fixture
def linked_disagreement(cast, documents, celery_eager):
    """Seed 000: alice and bob mark the same claim; alice links it to "Saleh fled to
    Tajikistan" and says the text asserts it, bob to "Saleh is still in Panjshir", denied."""
    seed = documents["seed"]
    LabelType.objects.filter(project=cast.project, name="claim").update(
        catalogue="proposition", stance_values=["asserts", "denies"]
    )
    entries = {
        key: CatalogueEntry.objects.create(
            project=cast.project, kind="proposition", key=key, name=name
        )
        for key, name in (("fled", "Saleh fled to Tajikistan"), ("stays", "Saleh is in Panjshir"))
    }
    start, end = bounds(seed.text, CLAIM)
    for who, entry, stance in ((cast.alice, "fled", "asserts"), (cast.bob, "stays", "denies")):
        layer = Layer.objects.get(document=seed, annotator=who)
        span = layer_service.create_span(
            access=layer_access(who, layer), label="claim", start=start, end=end
        )
        Span.objects.filter(pk=span.pk).update(entry=entries[entry], stance=stance)
        layer_service.submit_layer(access=layer_access(who, layer))
    return seed


def test_candidates_show_links_per_annotator_and_accepting_one_takes_it_into_gold(
    page, live_server, cast, linked_disagreement
):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    seed = linked_disagreement
    start, end = bounds(seed.text, CLAIM)
    claim = row(page, f"{start}:{end}:claim")
    login(page, live_server, "reviewer")
    open_review(page, live_server, cast.project, seed)

    expect(claim).to_have_class("disputed")
    expect(claim.locator(".issue-link")).to_have_text("links differ")
    expect(claim.locator("td.mark")).to_have_text(
        ["✓Saleh fled to Tajikistan · asserts", "✓Saleh is in Panjshir · denies"]
    )
    accept = claim.locator("button.accept")
    expect(accept).to_have_text(
        ["Accept Saleh fled to Tajikistan · asserts", "Accept Saleh is in Panjshir · denies"]
    )

    with page.expect_request(lambda r: r.url.endswith("/spans/") and r.method == "POST") as created:
        accept.nth(1).click()
    body = json.loads(created.value.post_data or "{}")
    assert (body["label"], body["start"], body["end"]) == ("claim", start, end)
    assert (body["entry"], body["stance"]) == ("stays", "denies")
    expect(claim).to_have_class("disputed in-gold")
    expect(claim.locator("[data-gold]")).to_have_text("✓Saleh is in Panjshir · denies")
    # In gold with bob's link: only alice's is left to choose, offered as a change.
    expect(accept.nth(1)).to_be_hidden()
    expect(accept.nth(0)).to_have_text("Use Saleh fled to Tajikistan · asserts")

    with page.expect_request(lambda r: "/spans/" in r.url and r.method == "PATCH") as changed:
        accept.nth(0).click()
    assert json.loads(changed.value.post_data or "{}") | {"version": 0} == {
        "entry": "fled",
        "stance": "asserts",
        "version": 0,
    }
    expect(claim.locator("[data-gold]")).to_have_text("✓Saleh fled to Tajikistan · asserts")
    # The change is saved before the test ends (and its database is emptied).
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")
    assert errors == []
