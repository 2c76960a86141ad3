"""The export panel on the dashboard: managers only, the form's choices, recent exports."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from annotations.exporters import DESCRIPTIONS, EXPORTERS, get_exporter
from annotations.exporters.base import ExportOptions
from annotations.models import ExportJob, JobStatus, LabelKind, LabelType
from annotations.services.workers import NO_WORKER_WARNING
from annotations.views import export_panel
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _a_worker_answers(monkeypatch) -> None:
    """No broker round trip per page; the tests about the warning say who answers."""
    monkeypatch.setattr(export_panel, "a_worker_answers", lambda *args: True)


def url(project) -> str:
    return f"/projects/{project.slug}/dashboard/"


def make_job(project, *, minutes_ago: int, status: str = JobStatus.SUCCEEDED, **fields):
    """An export job row as a finished, failed or waiting job leaves it."""
    if status == JobStatus.SUCCEEDED:
        fields = {
            "file": f"exports/{project.slug}/{project.slug}-x.zip",
            "size": 2048,
            "checksum": "ab" * 32,
            "progress": 1.0,
            **fields,
        }
    job = ExportJob.objects.create(
        project=project, format=fields.pop("format", "conll"), status=status, **fields
    )
    ExportJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return job


def test_managers_see_the_export_panel_with_each_format_and_its_description(client, cast, corpus):
    client.force_login(cast.manager)

    page = client.get(url(cast.project)).content.decode()

    assert 'id="export-panel"' in page
    assert f'data-list-url="{reverse("export-list", args=[cast.project.slug])}"' in page
    assert "annotations/js/export.js" in page
    for name in EXPORTERS:
        assert f'name="format" value="{name}"' in page
        assert escape(get_exporter(name).description) in page


def test_the_panel_offers_the_projects_span_labels_and_every_option(client, cast, corpus):
    client.force_login(cast.manager)

    page = client.get(url(cast.project)).content.decode()

    span_labels = LabelType.objects.filter(project=cast.project, kind=LabelKind.SPAN)
    other_labels = LabelType.objects.filter(project=cast.project).exclude(kind=LabelKind.SPAN)
    assert span_labels.exists()
    assert other_labels.exists()
    for label in span_labels:
        assert f'name="labels" value="{label.name}" checked' in page
    for label in other_labels:
        assert f'name="labels" value="{label.name}"' not in page
    defaults = ExportOptions()
    assert f'name="layers" value="{defaults.layers}" checked' in page
    for option in (
        "include_meta",
        "pseudonymise",
        "final_gold_only",
        "alignment",
        "split",
        "seed",
        "train",
    ):
        assert f'name="{option}"' in page


def test_recent_exports_are_listed_newest_first_with_who_status_and_size(client, cast, corpus):
    options = ExportOptions.from_json(
        {
            "layers": "gold",
            "labels": ["claim"],
            "pseudonymise": True,
            "final_gold_only": True,
            "split": {"seed": 3},
        }
    ).to_json()
    done = make_job(
        cast.project, minutes_ago=30, requested_by=cast.manager, format="brat", options=options
    )
    failed = make_job(
        cast.project,
        minutes_ago=20,
        status=JobStatus.FAILED,
        requested_by=cast.manager,
        error="export failed: disk full",
    )
    waiting = make_job(cast.project, minutes_ago=10, status=JobStatus.QUEUED)
    client.force_login(cast.manager)

    response = client.get(url(cast.project))

    rows = response.context["exports"]["recent"]
    assert [row["job"].pk for row in rows] == [waiting.pk, failed.pk, done.pk]
    download = reverse("export-download", args=[cast.project.slug, done.pk])
    assert [row["download_url"] for row in rows] == [None, None, download]
    page = response.content.decode()
    assert f'href="{download}"' in page
    assert "export failed: disk full" in page
    assert "2.0\xa0KB" in page
    summary = "layers: gold · labels: claim · split 0.8/0.1/0.1 (seed 3) · pseudonymised"
    assert f"{summary} · final gold only" in page
    assert page.count("<td>manager</td>") == 2
    assert "<td>—</td>" in page  # nobody asked for the waiting one through the site


def test_only_the_projects_latest_exports_are_listed(client, cast, corpus):
    jobs = [make_job(cast.project, minutes_ago=n) for n in range(export_panel.RECENT_EXPORTS + 2)]
    make_job(ProjectFactory(), minutes_ago=0)
    client.force_login(cast.manager)

    rows = client.get(url(cast.project)).context["exports"]["recent"]

    assert [row["job"].pk for row in rows] == [job.pk for job in jobs[: len(rows)]]
    assert len(rows) == export_panel.RECENT_EXPORTS


def test_an_export_without_a_worker_shows_the_warning_and_is_followed(
    client, cast, corpus, monkeypatch
):
    monkeypatch.setattr(export_panel, "a_worker_answers", lambda *args: False)
    make_job(cast.project, minutes_ago=5)
    waiting = make_job(cast.project, minutes_ago=1, status=JobStatus.QUEUED)
    client.force_login(cast.manager)

    page = client.get(url(cast.project)).content.decode()

    assert escape(NO_WORKER_WARNING) in page
    detail = reverse("export-detail", args=[cast.project.slug, waiting.pk])
    assert f'data-job-url="{detail}"' in page


def test_no_warning_when_a_worker_answers_or_nothing_waits(client, cast, corpus, monkeypatch):
    monkeypatch.setattr(export_panel, "a_worker_answers", lambda *args: True)
    make_job(cast.project, minutes_ago=1, status=JobStatus.QUEUED)
    client.force_login(cast.manager)

    assert escape(NO_WORKER_WARNING) not in client.get(url(cast.project)).content.decode()

    ExportJob.objects.update(status=JobStatus.SUCCEEDED)
    monkeypatch.setattr(export_panel, "a_worker_answers", lambda *args: False)
    page = client.get(url(cast.project)).content.decode()
    assert escape(NO_WORKER_WARNING) not in page
    assert 'data-job-url=""' in page


def test_the_export_list_reads_the_same_queries_however_many_exports(client, cast, corpus):
    client.force_login(cast.manager)
    make_job(cast.project, minutes_ago=0, requested_by=cast.manager)
    with CaptureQueriesContext(connection) as one:
        client.get(url(cast.project))
    for n in range(1, 8):
        make_job(cast.project, minutes_ago=n, requested_by=cast.reviewer)
    with CaptureQueriesContext(connection) as eight:
        client.get(url(cast.project))

    assert len(eight.captured_queries) == len(one.captured_queries)
    statements = [query["sql"].lstrip().split()[0].upper() for query in eight.captured_queries]
    assert set(statements) == {"SELECT"}


def test_reviewers_see_the_dashboard_without_the_export_panel(client, cast, corpus):
    make_job(cast.project, minutes_ago=1)
    client.force_login(cast.reviewer)

    response = client.get(url(cast.project))

    assert response.status_code == 200
    assert response.context["exports"] is None
    page = response.content.decode()
    assert 'id="export-panel"' not in page
    assert "export.js" not in page
    assert "/exports/" not in page


@pytest.mark.parametrize("who", ["alice", "outsider"])
def test_annotators_and_outsiders_get_404_for_the_dashboard(client, cast, corpus, who):
    client.force_login(getattr(cast, who))

    assert client.get(url(cast.project)).status_code == 404


def test_every_exporter_says_what_the_form_says_it_is():
    for name in EXPORTERS:
        assert get_exporter(name).description == DESCRIPTIONS[name]


def test_describing_the_formats_loads_no_heavy_library_into_the_web_process():
    script = (
        "import sys, django; django.setup()\n"
        "from annotations.exporters import EXPORTERS\n"
        "from annotations.exporters import DESCRIPTIONS\n"
        "assert set(DESCRIPTIONS) == set(EXPORTERS)\n"
        "print(sorted({'spacy', 'pyarrow', 'cassis'} & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "workbench.settings"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert done.stdout.strip() == "[]"
