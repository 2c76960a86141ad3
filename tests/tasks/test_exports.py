"""Export jobs in Celery: a live worker, a killed worker, redelivery, retries and failures."""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.db import OperationalError
from rest_framework.test import APIClient

from annotations.models import AuditEvent, ExportJob, JobStatus
from annotations.services import export_jobs, jobs
from annotations.services.imports import import_documents, import_file
from annotations.tasks.exports import run_export_job
from tests.agreement.corpus import corpus
from tests.workers import (
    finished,
    finished_by_a_new_worker,
    kill,
    kill_pool_children,
    running_with_progress,
    start_worker,
)

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


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_export_whose_worker_is_killed_completes_once_after_a_new_worker_starts(
    cast, tmp_path
) -> None:
    from workbench.celery import app

    app.control.purge()
    import_documents(project=cast.project, records=corpus(3000, ["alice", "bob"], seed=4))
    log = tmp_path / "workers.log"
    first = start_worker(log, "doomed")
    try:
        job = export_jobs.start_export(project=cast.project, actor=cast.manager, format="xmi")
        running_with_progress(job, 60, log)
    finally:
        kill(first)
    scratch = Path(settings.FILE_UPLOAD_TEMP_DIR)
    assert [p.name for p in scratch.iterdir()] == [f".export-{job.pk}-1.zip.part"]

    job = finished_by_a_new_worker(job, 180, log)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    data = job.file.read()
    assert hashlib.sha256(data).hexdigest() == job.checksum
    assert len(zipfile.ZipFile(io.BytesIO(data)).namelist()) > 3000
    # The dead attempt's half-written file is gone; only the published archive is left.
    assert not list(scratch.iterdir())
    folder = Path(settings.MEDIA_ROOT) / "exports" / cast.project.slug
    assert [p.name for p in folder.iterdir()] == [Path(job.file.name).name]
    assert AuditEvent.objects.filter(action="export_finish", object_id=str(job.pk)).count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_export_whose_pool_process_is_killed_is_taken_over_by_its_redelivered_message(
    cast, tmp_path
) -> None:
    from workbench.celery import app

    app.control.purge()
    import_documents(project=cast.project, records=corpus(3000, ["alice", "bob"], seed=4))
    log = tmp_path / "worker.log"
    worker = start_worker(log, "survivor")
    try:
        job = export_jobs.start_export(project=cast.project, actor=cast.manager, format="xmi")
        running_with_progress(job, 60, log)
        assert kill_pool_children(worker)
        # The main process lives: it hands the message back (reject_on_worker_lost), and the
        # redelivery takes the job over. No worker starts, no sweep runs.
        job = finished(job, 180, log)
    finally:
        kill(worker)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    assert hashlib.sha256(job.file.read()).hexdigest() == job.checksum
    assert AuditEvent.objects.filter(action="export_finish", object_id=str(job.pk)).count() == 1


@pytest.mark.django_db
def test_a_job_runs_once_however_often_its_task_is_delivered(cast, celery_eager) -> None:
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    assert run_export_job.apply(args=[job.pk]).get() == 1  # the claim's token
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
    def unreachable(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(export_jobs, "run_export", unreachable)
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    with pytest.raises(Retry):
        run_export_job.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.error == "retrying after: the database went away"


@pytest.mark.django_db
def test_a_redelivered_message_takes_over_an_export_left_running(cast, celery_eager) -> None:
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    assert jobs.claim(ExportJob, job.pk) is not None  # its worker died mid-export
    assert run_export_job.apply(args=[job.pk]).get() is None  # a plain delivery leaves it
    run_export_job.push_request(delivery_info={"redelivered": True}, is_eager=True)
    try:
        assert run_export_job.run(job.pk) == 2
    finally:
        run_export_job.pop_request()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert AuditEvent.objects.filter(action="export_finish", object_id=str(job.pk)).count() == 1
