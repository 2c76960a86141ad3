"""A manager uploads documents from the documents page and reads how the import went."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from annotations.models import Document, ImportJob, JobStatus
from tests.browser.conftest import login
from tests.conftest import SEEDS

pytestmark = pytest.mark.browser


def line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def test_manager_uploads_the_seed_articles_then_a_jsonl_with_a_bad_line_then_fixes_it(
    page, live_server, cast, celery_eager, screenshot_dir, tmp_path
):
    seeds = sorted(SEEDS.glob("*.txt"))
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/documents/")
    expect(page.locator("#upload-heading")).to_have_text("Add the project's first documents")

    page.set_input_files("#id_file", [str(seed) for seed in seeds])
    page.click("#start-import")

    expect(page.locator("#import-outcome")).to_have_text(
        "Imported 5 documents, 0 spans, 0 relations."
    )
    expect(page.locator("#documents tbody tr")).to_have_count(5)
    expect(page.locator("#list-heading")).to_have_text("5 documents")
    first = page.locator("#documents tbody tr").first
    expect(first.locator("td").first).to_have_text(seeds[0].stem)
    page.screenshot(path=str(screenshot_dir / "documents-uploaded.png"), full_page=True)

    bad = tmp_path / "more.jsonl"
    bad.write_text(
        line({"id": "m1", "text": "Saleh stays in Panjshir."})
        + line({"id": "m2", "text": "short", "gold": [{"start": 0, "end": 9, "label": "claim"}]})
        + line({"id": "m3", "text": "TASS said he left."}),
        encoding="utf-8",
    )
    page.set_input_files("#id_file", str(bad))
    page.click("#start-import")

    expect(page.locator("#import-outcome")).to_contain_text("The import failed and wrote nothing")
    error_row = page.locator("#line-errors tbody tr")
    expect(error_row).to_have_count(1)
    expect(error_row.locator("td").nth(0)).to_have_text("more.jsonl")
    expect(error_row.locator("td").nth(1)).to_have_text("2")
    expect(error_row.locator("td").nth(2)).to_contain_text("at most the text's length")
    expect(page.locator("#documents tbody tr")).to_have_count(5)
    page.screenshot(path=str(screenshot_dir / "documents-line-error.png"), full_page=True)

    bad.write_text(
        line({"id": "m1", "text": "Saleh stays in Panjshir."})
        + line({"id": "m2", "text": "short", "gold": [{"start": 0, "end": 5, "label": "claim"}]})
        + line({"id": "m3", "text": "TASS said he left."}),
        encoding="utf-8",
    )
    page.set_input_files("#id_file", str(bad))
    page.click("#start-import")

    expect(page.locator("#import-outcome")).to_have_text(
        "Imported 3 documents, 1 span, 0 relations."
    )
    expect(page.locator("#documents tbody tr")).to_have_count(8)
    expect(page.locator("#recent-imports tbody tr")).to_have_count(3)
    assert Document.objects.filter(project=cast.project).count() == 8


def test_the_page_follows_a_running_import_and_shows_its_outcome(
    page, live_server, cast, celery_eager
):
    job = ImportJob.objects.create(
        project=cast.project,
        requested_by=cast.manager,
        filename="news.jsonl",
        file="imports/news.jsonl",
        status=JobStatus.RUNNING,
        progress=0.4,
    )
    login(page, live_server, "manager")
    page.goto(f"{live_server.url}/projects/{cast.project.slug}/documents/?import={job.pk}")
    expect(page.locator("#import-status")).to_have_text("running, 40%")

    ImportJob.objects.filter(pk=job.pk).update(progress=0.7)
    expect(page.locator("#import-status")).to_have_text("running, 70%")
    expect(page.locator("#import-progress")).to_have_js_property("value", 70)

    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        result={"documents": 2, "spans": 0, "relations": 0, "annotators": [], "created_users": []},
    )
    expect(page.locator("#import-outcome")).to_have_text(
        "Imported 2 documents, 0 spans, 0 relations."
    )
