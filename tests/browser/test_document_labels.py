"""Document-level labels on the annotation page: picked, saved with the layer version,
still there after a reload; read-only once the layer is submitted. On the review page:
each annotator's values beside their layer, and gold's set the same way."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import DocumentLabel, Layer, LayerStatus
from annotations.services.layers import set_document_label, submit_layer
from tests.access import layer_access
from tests.browser.conftest import login, open_document
from tests.factories import DocumentLabelTypeFactory

pytestmark = pytest.mark.browser


def check_and_save(page, option) -> None:
    """Tick ``option`` and wait for the server to store it."""
    with page.expect_response(
        lambda r: "/document-labels/" in r.url and r.request.method == "PUT"
    ) as info:
        option.check()
    assert info.value.status == 200, info.value.text()
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")


@pytest.fixture
def labelled(cast, documents):
    DocumentLabelTypeFactory(project=cast.project)
    DocumentLabelTypeFactory(
        project=cast.project, name="topics", choices=["security", "politics"], multiple=True
    )
    return documents["seed"]


def test_an_annotator_picks_a_stance_and_finds_it_saved_after_a_reload(
    page, live_server, cast, labelled, screenshot_dir
):
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, labelled)

    panel = page.locator("#document-labels-panel")
    check_and_save(page, panel.get_by_label("refutes"))
    check_and_save(page, panel.get_by_label("politics"))
    check_and_save(page, panel.get_by_label("supports"))
    page.reload()
    page.wait_for_selector("body[data-annotator=ready]")
    page.screenshot(path=screenshot_dir / "document-labels.png")

    assert panel.get_by_label("supports").is_checked()
    assert not panel.get_by_label("refutes").is_checked()
    assert panel.get_by_label("politics").is_checked()
    assert not panel.get_by_label("security").is_checked()
    layer = Layer.objects.get(document=labelled, annotator=cast.alice)
    rows = DocumentLabel.objects.filter(layer=layer).order_by("label__name")
    assert [(row.label.name, row.value) for row in rows] == [
        ("stance", "supports"),
        ("topics", "politics"),
    ]
    assert layer.version == 4  # three saves, each one version


def test_a_submitted_layer_shows_its_document_labels_disabled(page, live_server, cast, labelled):
    layer = Layer.objects.get(document=labelled, annotator=cast.alice)
    DocumentLabel.objects.create(
        layer=layer, label=cast.project.label_types.get(name="stance"), value="neutral"
    )
    Layer.objects.filter(pk=layer.pk).update(status=LayerStatus.SUBMITTED)
    login(page, live_server, "alice")
    open_document(page, live_server, cast.project, labelled)

    neutral = page.locator("#document-labels-panel").get_by_label("neutral")

    assert neutral.is_checked()
    assert neutral.is_disabled()


def test_a_reviewer_sees_each_annotators_stance_and_sets_golds(
    page, live_server, cast, labelled, celery_eager, screenshot_dir
):
    for annotator, stance in ((cast.alice, "refutes"), (cast.bob, "neutral")):
        layer = Layer.objects.get(document=labelled, annotator=annotator)
        set_document_label(
            access=layer_access(annotator, layer),
            label=cast.project.label_types.get(name="stance"),
            values=[stance],
        )
        submit_layer(access=layer_access(annotator, layer))
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/documents/{labelled.pk}/review/")
    page.wait_for_selector("body[data-annotator=ready]")

    lanes = page.locator("#layers")
    expect(lanes.locator("li[data-annotator=alice] [data-document-labels]")).to_have_text(
        "stance: refutes"
    )
    expect(lanes.locator("li[data-annotator=bob] [data-document-labels]")).to_have_text(
        "stance: neutral"
    )
    check_and_save(page, page.locator("#document-labels-panel").get_by_label("refutes"))
    page.screenshot(path=screenshot_dir / "document-labels-review.png")

    gold = Layer.objects.get(document=labelled, is_gold=True)
    assert [(row.label.name, row.value) for row in gold.document_labels.all()] == [
        ("stance", "refutes")
    ]
