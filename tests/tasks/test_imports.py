"""Import jobs in Celery: a killed worker, redelivery, retries and failures."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry
from django.core.files.base import ContentFile
from django.db import OperationalError

from annotations.interchange import dump_record
from annotations.models import AuditEvent, Document, ImportJob, JobStatus, Project
from annotations.services import import_jobs, jobs
from annotations.tasks.imports import run_import_job
from tests.agreement.corpus import corpus
from tests.workers import (
    finished_by_a_new_worker,
    kill,
    running_with_progress,
    start_worker,
)


def corpus_file(documents: int) -> bytes:
    return "".join(dump_record(r) for r in corpus(documents, ["alice", "bob"], seed=3)).encode()


def import_events(project: Project) -> int:
    return AuditEvent.objects.filter(project=project, action="import").count()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_import_whose_worker_is_killed_completes_once_after_a_new_worker_starts(
    cast, tmp_path
) -> None:
    from workbench.celery import app

    app.control.purge()
    documents = 20_000  # long enough to be cut in the middle
    upload = ContentFile(corpus_file(documents), name="big.jsonl")
    log = tmp_path / "workers.log"
    first = start_worker(log, "doomed")
    try:
        job = import_jobs.start_import(project=cast.project, actor=cast.manager, upload=upload)
        running_with_progress(job, 60, log)
    finally:
        kill(first)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING, "the worker finished before it could be killed"
    assert job.progress < 1.0
    assert not Document.objects.exists()  # the dead worker's transaction was rolled back

    job = finished_by_a_new_worker(job, 180, log)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    assert job.result["documents"] == documents
    assert Document.objects.filter(project=cast.project).count() == documents
    assert import_events(cast.project) == 1


def stored_job(project: Project, data: bytes, name: str = "corpus.jsonl") -> ImportJob:
    job = ImportJob(project=project, filename=name)
    job.file.save(f"{project.slug}/{name}", ContentFile(data), save=False)
    job.save()
    return job


@pytest.mark.django_db
def test_an_import_runs_once_however_often_its_task_is_delivered(cast, celery_eager) -> None:
    job = stored_job(cast.project, corpus_file(3))
    assert run_import_job.apply(args=[job.pk]).get() == 1  # the claim's token
    assert run_import_job.apply(args=[job.pk]).get() is None
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert Document.objects.count() == 3
    assert import_events(cast.project) == 1


@pytest.mark.django_db
def test_a_redelivered_message_takes_over_an_import_left_running(cast, celery_eager) -> None:
    job = stored_job(cast.project, corpus_file(3))
    assert jobs.claim(ImportJob, job.pk) is not None  # its worker died mid-import
    run_import_job.push_request(delivery_info={"redelivered": True}, is_eager=True)
    try:
        assert run_import_job.run(job.pk) == 2
    finally:
        run_import_job.pop_request()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["documents"] == Document.objects.count() == 3


@pytest.mark.django_db
def test_a_transient_error_puts_the_import_back_in_the_queue_for_a_retry(
    cast, celery_eager, monkeypatch
) -> None:
    def unreachable(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(import_jobs, "import_file", unreachable)
    job = stored_job(cast.project, corpus_file(3))
    with pytest.raises(Retry):
        run_import_job.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED
    assert job.error == "retrying after: the database went away"


@pytest.mark.django_db
def test_a_file_gone_from_storage_fails_after_the_retries(cast, celery_eager) -> None:
    job = stored_job(cast.project, corpus_file(3))
    job.file.delete(save=False)  # storage trouble that does not go away
    for attempt in range(4):
        # What a worker's request says on the n-th retry.
        run_import_job.push_request(retries=attempt, called_directly=False, is_eager=True)
        try:
            run_import_job.run(job.pk)
        except Retry:
            pass
        finally:
            run_import_job.pop_request()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("failed after 3 retries: ")
