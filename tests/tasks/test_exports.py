from __future__ import annotations

import hashlib
import io
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

from annotations.models import ExportJob, JobStatus
from annotations.services import export_jobs
from annotations.services.imports import import_file
from annotations.tasks.exports import claim, run_export_job

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "export_edge_cases.jsonl"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_live_worker_runs_an_export_that_only_the_manager_can_download(cast, live_worker) -> None:
    import_file(project=cast.project, filename="edge.jsonl", data=FIXTURE.read_bytes())
    manager = client_for(cast.manager)
    response = manager.post("/api/projects/panjshir/exports/", {"format": "parquet"}, format="json")
    assert response.status_code == 201, response.data
    assert "warning" not in response.data
    job_url = f"/api/projects/panjshir/exports/{response.data['id']}/"
    deadline = time.monotonic() + 60
    while (detail := manager.get(job_url).data)["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, detail
        time.sleep(0.2)
    assert detail["status"] == "succeeded", detail["error"]
    download = manager.get(detail["download_url"])
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == detail["checksum"]
    assert "data/corpus.parquet" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert client_for(cast.alice).get(detail["download_url"]).status_code == 403
    assert client_for(cast.outsider).get(detail["download_url"]).status_code == 404


@pytest.mark.django_db
def test_a_job_runs_once_however_often_its_task_is_delivered(cast, celery_eager) -> None:
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    assert run_export_job.apply(args=[job.pk]).get() is not None
    assert run_export_job.apply(args=[job.pk]).get() is None
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 1


@pytest.mark.django_db
def test_bad_stored_options_fail_the_job_with_the_reason(cast, celery_eager) -> None:
    job = ExportJob.objects.create(project=cast.project, format="jsonl", options={"layers": "x"})
    run_export_job.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("options.layers: must be one of")


@pytest.mark.django_db
def test_a_transient_error_puts_the_job_back_in_the_queue_for_a_retry(
    cast, celery_eager, monkeypatch
) -> None:
    def unreachable(job, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(export_jobs, "run_export", unreachable)
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    with pytest.raises(Retry):
        run_export_job.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert "went away" in job.error


@pytest.mark.django_db
def test_a_job_left_running_past_the_time_limit_is_claimed_again(cast, settings) -> None:
    settings.EXPORT_TIME_LIMIT = 60
    recent = ExportJob.objects.create(
        project=cast.project, format="jsonl", status=JobStatus.RUNNING, started_at=timezone.now()
    )
    lost = ExportJob.objects.create(
        project=cast.project,
        format="jsonl",
        status=JobStatus.RUNNING,
        started_at=timezone.now() - timedelta(seconds=61),
        attempts=1,
    )
    assert not claim(recent.pk)
    assert claim(lost.pk)
    lost.refresh_from_db()
    assert lost.attempts == 2
