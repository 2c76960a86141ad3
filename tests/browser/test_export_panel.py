"""A manager exports the corpus from the dashboard: start, watch, download, read errors."""

from __future__ import annotations

import hashlib
import zipfile

import pytest
from django.core.exceptions import ValidationError
from playwright.sync_api import expect

from annotations.interchange import DocumentRecord, iter_records
from annotations.models import ExportJob, JobStatus
from annotations.services import export_jobs
from annotations.services.imports import import_file
from annotations.services.workers import NO_WORKER_WARNING
from tests.browser.conftest import login
from tests.conftest import FIXTURES

pytestmark = pytest.mark.browser

CORPUS = FIXTURES / "persian_and_emoji.jsonl"


@pytest.fixture
def corpus(cast) -> list[DocumentRecord]:
    """Seed 000 with alice's, bob's and a gold layer; an emoji document without gold."""
    import_file(project=cast.project, filename=CORPUS.name, data=CORPUS.read_bytes())
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [record for _, record in iter_records(lines)]


def open_dashboard(page, live_server, project) -> None:
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/projects/{project.slug}/dashboard/")
    expect(page.locator("#export-form")).to_be_visible()


def test_manager_exports_the_gold_layer_as_conll_and_downloads_it(
    page, live_server, cast, corpus, celery_eager, screenshot_dir, tmp_path
):
    ExportJob.objects.create(
        project=cast.project,
        requested_by=cast.manager,
        format="parquet",
        status=JobStatus.FAILED,
        error="export failed: the disk is full",
    )
    open_dashboard(page, live_server, cast.project)

    page.check("input[name=format][value=conll]")
    page.check("input[name=layers][value=gold]")
    page.click("#start-export")

    expect(page.locator("#export-job")).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#export-progress")).to_have_js_property("value", 1)
    expect(page.locator("#export-status")).to_contain_text("succeeded, 100%")
    job = ExportJob.objects.get(format="conll")
    assert job.requested_by == cast.manager
    assert job.options["layers"] == "gold"
    expect(page.locator("#export-checksum")).to_have_text(job.checksum)
    expect(page.locator("#export-size")).to_contain_text(f"({job.size:,} bytes)")
    expect(page.locator("#export-error")).to_be_hidden()
    expect(page.locator("#export-warning")).to_be_hidden()
    page.screenshot(path=screenshot_dir / "dashboard_export.png", full_page=True)

    with page.expect_download() as download_info:
        page.click("#export-download")
    archive = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(archive)

    assert hashlib.sha256(archive.read_bytes()).hexdigest() == job.checksum
    with zipfile.ZipFile(archive) as members:
        names = members.namelist()
        assert "README.md" in names
        assert [name for name in names if name.endswith(".conll")] == ["conll/gold.conll"]
        conll = members.read("conll/gold.conll").decode("utf-8")
    gold_labels = {span.label for record in corpus for span in record.gold or []}
    assert gold_labels
    for label in gold_labels:
        assert f"B-{label}" in conll

    page.reload()

    row = page.locator(f"#recent-exports tr[data-export='{job.pk}']")
    expect(row).to_contain_text("succeeded")
    expect(row.get_by_role("link", name="Download")).to_have_attribute(
        "href", f"/api/projects/{cast.project.slug}/exports/{job.pk}/download/"
    )
    expect(page.locator("#export-job")).to_be_hidden()


def test_a_finished_export_appears_in_recent_exports_without_a_reload(
    page, live_server, cast, corpus, celery_eager
):
    open_dashboard(page, live_server, cast.project)
    expect(page.locator("#no-exports")).to_have_text("No export yet.")

    page.click("#start-export")

    expect(page.locator("#export-job")).to_have_attribute("data-status", "succeeded")
    job = ExportJob.objects.get()
    row = page.locator(f"#recent-exports tr[data-export='{job.pk}']")
    expect(row).to_contain_text("succeeded")
    expect(row.get_by_role("link", name="Download")).to_be_visible()
    expect(page.locator("#no-exports")).to_have_count(0)


def test_split_ratios_that_do_not_add_up_show_the_apis_error_beside_the_split(
    page, live_server, cast, corpus, celery_eager, screenshot_dir
):
    bad_split = {"seed": 0, "train": 0.8, "dev": 0.2, "test": 0.1}
    with pytest.raises(ValidationError) as refused:
        export_jobs.parse_options("jsonl", {"split": bad_split})
    open_dashboard(page, live_server, cast.project)

    page.check("#export-split")
    page.fill("input[name=dev]", "0.2")
    page.click("#start-export")

    error = page.locator('.field-error[data-errors-for="options.split"]')
    expect(error).to_have_text(" ".join(refused.value.message_dict["options.split"]))
    expect(page.locator("fieldset.export-split")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#export-job")).to_be_hidden()
    assert not ExportJob.objects.exists()
    page.locator("#export-panel").screenshot(path=screenshot_dir / "export_panel_error.png")

    page.fill("input[name=dev]", "0.1")
    page.click("#start-export")

    expect(page.locator("#export-job")).to_have_attribute("data-status", "succeeded")
    expect(error).to_be_hidden()
    assert ExportJob.objects.get().options["split"] == {**bad_split, "dev": 0.1}


def test_a_failed_export_shows_its_error(
    page, live_server, cast, corpus, celery_eager, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("the exporter broke")

    monkeypatch.setattr(export_jobs, "write_export", broken)
    open_dashboard(page, live_server, cast.project)

    page.click("#start-export")

    expect(page.locator("#export-job")).to_have_attribute("data-status", "failed")
    job = ExportJob.objects.get()
    expect(page.locator("#export-error")).to_have_text(f"Export #{job.pk} failed: {job.error}")
    assert "the exporter broke" in job.error
    expect(page.locator("#export-result")).to_be_hidden()
    expect(page.locator("#start-export")).to_be_enabled()


def test_an_export_started_with_no_worker_says_so_and_is_followed_after_a_reload(
    page, live_server, cast, corpus
):
    from workbench.celery import app

    open_dashboard(page, live_server, cast.project)
    try:
        page.click("#start-export")

        expect(page.locator("#export-warning")).to_have_text(NO_WORKER_WARNING)
        expect(page.locator("#export-status")).to_contain_text("queued, 0%")
        expect(page.locator("#start-export")).to_be_disabled()

        page.reload()

        job = ExportJob.objects.get()
        expect(page.locator("#export-status")).to_contain_text(f"Export #{job.pk} (jsonl) queued")
        expect(page.locator("#export-warning")).to_have_text(NO_WORKER_WARNING)
        expect(page.locator("#recent-exports tr", has_text="jsonl")).to_contain_text("queued")
    finally:
        app.control.purge()  # the message no worker took would run against a gone row later
