"""Jobs left running by a worker nobody will restart are finished by beat's sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from annotations.interchange import dump_record
from annotations.models import AgreementRun, AuditEvent, ExportJob, ImportJob, Job, JobStatus
from annotations.services.imports import import_documents
from tests.agreement.corpus import corpus
from tests.factories import ProjectFactory
from tests.workers import finished, kill, ready, start_worker, tail_lines


def left_running(job: Job) -> Job:
    """The job as a worker that died an hour ago left it: running, attempt 1, no heartbeat."""
    an_hour_ago = timezone.now() - timedelta(hours=1)
    type(job).objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, attempts=1, started_at=an_hour_ago, heartbeat_at=an_hour_ago
    )
    return job


def finish_events(job: Job, action: str) -> int:
    return AuditEvent.objects.filter(action=action, object_id=str(job.pk)).count()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_jobs_whose_heartbeat_stopped_are_picked_up_by_the_sweep_and_finish_once(
    cast, tmp_path
) -> None:
    from workbench.celery import app

    app.control.purge()
    import_documents(project=cast.project, records=corpus(30, ["alice", "bob"], seed=6))
    log = tmp_path / "worker.log"
    worker = start_worker(log, "sweeper", beat_schedule=tmp_path / "beat-schedule")
    try:
        # Only once the worker has started: a starting worker would take them over itself.
        ready("sweeper", 60, log)
        elsewhere = ProjectFactory(slug="elsewhere")
        upload = "".join(dump_record(r) for r in corpus(50, ["carol"], seed=7)).encode()
        imported = ImportJob(project=elsewhere, filename="corpus.jsonl")
        imported.file.save("elsewhere/corpus.jsonl", ContentFile(upload), save=False)
        imported.save()
        stopped = [
            left_running(imported),
            left_running(AgreementRun.objects.create(project=cast.project)),
            left_running(ExportJob.objects.create(project=cast.project, format="conll")),
        ]
        for job in stopped:
            finished(job, 60, log)
    finally:
        kill(worker)

    for job in stopped:
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert job.attempts == 2  # taken over once
        assert any(
            f"{type(job).__name__} {job.pk}: picked up by the sweep" in line
            for line in tail_lines(log)
        )
    imported, measured, exported = stopped
    assert elsewhere.documents.count() == imported.result["documents"] == 50
    assert finish_events(measured, "agreement_finish") == 1
    assert finish_events(exported, "export_finish") == 1
    assert exported.checksum
