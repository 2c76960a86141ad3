"""Export jobs in Celery: a live worker, a killed worker, redelivery, retries and failures."""

from __future__ import annotations

import hashlib
import io
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

from annotations.exporters.base import ExportOptions
from annotations.models import AuditEvent, ExportJob, JobStatus
from annotations.services import export_jobs, jobs
from annotations.services.imports import import_documents, import_file
from annotations.tasks.exports import run_export_job, write_export_chunk
from annotations.tasks.recovery import sweep_jobs
from tests.agreement.corpus import corpus
from tests.workers import (
    finished,
    finished_by_a_new_worker,
    kill,
    kill_pool_children,
    kill_pool_process_running,
    ready,
    running_with_progress,
    start_worker,
    tail,
    wait_for,
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


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def one_process_export(project, format: str, folder: Path) -> dict[str, bytes]:
    """The members of the archive one process writes, for comparison."""
    target = folder / f"one-process-{format}.zip"
    export_jobs.write_export(project=project, format=format, options=ExportOptions(), target=target)
    return members(target.read_bytes())


def without_date(card: bytes) -> bytes:
    # The card says when it was written: the one line two exports cannot share.
    return b"\n".join(line for line in card.splitlines() if not line.startswith(b"Exported "))


def progress_while_running(job: ExportJob, log: Path) -> set[float]:
    """Every progress the job shows until it ends, read as often as the database allows."""
    seen = set()
    deadline = time.monotonic() + 240
    while not job.is_finished:
        assert time.monotonic() < deadline, f"{job} at {job.progress:.0%}\n{tail(log)}"
        job.refresh_from_db()
        seen.add(job.progress)
    return seen


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_workers_write_an_export_in_chunks_and_progress_counts_them(cast, tmp_path) -> None:
    from workbench.celery import app

    app.control.purge()
    import_documents(project=cast.project, records=corpus(1200, ["alice", "bob"], seed=4))
    log = tmp_path / "workers.log"
    chunked = {"EXPORT_CHUNK_DOCUMENTS": "100"}
    workers = [start_worker(log, f"w{n}", environment=chunked) for n in (1, 2)]
    try:
        for n in (1, 2):  # a worker that starts takes over every running job
            ready(f"w{n}", 60, log)
        job = export_jobs.start_export(project=cast.project, actor=cast.manager, format="brat")
        seen = progress_while_running(job, log)
    finally:
        for worker in workers:
            kill(worker)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 1
    # Twelve chunks: the job moves a twelfth at a time (and never past 99 % before its end).
    assert {round(value * 12, 6) for value in seen} <= {*map(float, range(12)), 11.88, 12.0}
    expected, joined = one_process_export(cast.project, "brat", tmp_path), members(job.file.read())
    assert sorted(joined) == sorted(expected)
    expected["README.md"], joined["README.md"] = (
        without_date(expected["README.md"]),
        without_date(joined["README.md"]),
    )
    assert [name for name in expected if joined[name] != expected[name]] == []
    assert not list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir())
    assert not list((Path(settings.MEDIA_ROOT) / "exports" / "panjshir" / ".chunks").iterdir())
    assert AuditEvent.objects.filter(action="export_finish", object_id=str(job.pk)).count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_chunk_whose_pool_process_is_killed_is_written_again_and_the_job_ends_once(
    cast, tmp_path
) -> None:
    from workbench.celery import app

    app.control.purge()
    import_documents(project=cast.project, records=corpus(3000, ["alice", "bob"], seed=4))
    log = tmp_path / "worker.log"
    worker = start_worker(log, "survivor", environment={"EXPORT_CHUNK_DOCUMENTS": "300"})
    try:
        job = export_jobs.start_export(project=cast.project, actor=cast.manager, format="xmi")
        running_with_progress(job, 120, log)  # a chunk is done, the next one is being written
        kill_pool_process_running("survivor", write_export_chunk.name, job, 120, log)
        # The main process hands the chunk's message back; the chunk is written again under
        # the same claim. Nobody takes the job over.
        job = finished(job, 240, log)
    finally:
        kill(worker)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 1
    assert job.progress == 1.0
    data = job.file.read()
    assert hashlib.sha256(data).hexdigest() == job.checksum
    assert sorted(members(data)) == sorted(one_process_export(cast.project, "xmi", tmp_path))
    assert AuditEvent.objects.filter(action="export_finish", object_id=str(job.pk)).count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_chunks_waiting_behind_another_export_are_not_taken_for_a_dead_job(
    cast, tmp_path, settings
) -> None:
    from workbench.celery import app

    app.control.purge()
    settings.JOB_STALE_SECONDS = 1  # the sweep below: five of the worker's heartbeats
    import_documents(project=cast.project, records=corpus(5000, ["alice", "bob"], seed=4))
    log = tmp_path / "worker.log"
    worker = start_worker(log, "busy", environment={"EXPORT_CHUNK_DOCUMENTS": "300"})
    try:
        # spaCy, the slowest format: its chunks keep the one process busy for seconds.
        first = export_jobs.start_export(project=cast.project, actor=cast.manager, format="spacy")
        second = export_jobs.start_export(project=cast.project, actor=cast.manager, format="jsonl")

        def waiting_without_a_beat() -> bool:
            second.refresh_from_db()
            assert second.progress == 0, f"the first export ended too soon\n{tail(log)}"
            return (
                second.status == JobStatus.RUNNING
                and second.heartbeat_at < timezone.now() - timedelta(seconds=1.5)
            )

        # The one process writes the first export's chunks; the second's wait behind them.
        wait_for(waiting_without_a_beat, 120, lambda: f"{second}\n{tail(log)}")
        assert sweep_jobs() == 0
        first, second = finished(first, 300, log), finished(second, 300, log)
    finally:
        kill(worker)
    assert (first.status, second.status) == (JobStatus.SUCCEEDED, JobStatus.SUCCEEDED)
    assert (first.attempts, second.attempts) == (1, 1)
