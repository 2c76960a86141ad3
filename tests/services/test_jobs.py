"""The job row's lifecycle, the same for every kind: claims, tokens, heartbeat, staleness."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import AgreementRun, ExportJob, JobStatus
from annotations.services import jobs
from annotations.services.jobs import Restart
from tests.workers import wait_for


@pytest.mark.django_db
def test_a_queued_job_is_claimed_once_and_a_running_one_only_by_a_take_over(cast) -> None:
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    first = jobs.claim(ExportJob, job.pk)
    assert first is not None
    assert first.token == 1
    assert jobs.claim(ExportJob, job.pk) is None  # a second delivery finds it running
    assert jobs.claim(ExportJob, job.pk, take_over=True, from_attempt=7) is None  # not its attempt
    second = jobs.claim(ExportJob, job.pk, take_over=True, from_attempt=1)
    assert second is not None
    assert second.token == 2
    # A second take-over of attempt 1 (a starting worker and the sweep both saw it) is refused.
    assert jobs.claim(ExportJob, job.pk, take_over=True, from_attempt=1) is None

    assert not first.owns()
    assert not first.beat()
    assert not first.succeed(checksum="old")
    assert not first.fail("old attempt")
    assert second.succeed(checksum="new")
    job.refresh_from_db()
    assert (job.status, job.checksum, job.progress, job.error) == (
        JobStatus.SUCCEEDED,
        "new",
        1.0,
        "",
    )
    assert jobs.claim(ExportJob, job.pk, take_over=True) is None  # finished stays finished


@pytest.mark.django_db
def test_a_job_claimed_too_often_fails_with_the_reason(cast, settings) -> None:
    settings.JOB_MAX_ATTEMPTS = 2
    run = AgreementRun.objects.create(project=cast.project)
    assert jobs.claim(AgreementRun, run.pk) is not None
    assert jobs.claim(AgreementRun, run.pk, take_over=True) is not None
    assert jobs.claim(AgreementRun, run.pk, take_over=True) is None
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert run.error == "gave up after 2 attempts: every worker that ran it stopped"


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_saves_progress_while_the_claim_owns_the_job(cast) -> None:
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    claim = jobs.claim(ExportJob, job.pk)
    assert claim is not None
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    with jobs.heartbeat(claim, every=0.05):
        claim.report(0.4)
        wait_for(
            lambda: ExportJob.objects.filter(pk=job.pk, progress=0.4).exists(),
            10,
            lambda: "the heartbeat never saved the progress",
        )
    job.refresh_from_db()
    assert job.heartbeat_at > timezone.now() - timedelta(seconds=10)

    claim.report(3.0)  # a report never says "done": only the result does
    assert claim.progress == jobs.ALMOST_DONE


@pytest.mark.django_db
def test_stale_jobs_are_those_whose_heartbeat_stopped_each_handed_out_once(cast, settings) -> None:
    settings.JOB_STALE_SECONDS = 60
    old = timezone.now() - timedelta(seconds=61)
    stale = ExportJob.objects.create(
        project=cast.project,
        format="jsonl",
        status=JobStatus.RUNNING,
        attempts=3,
        started_at=old,
        heartbeat_at=old,
    )
    beating = ExportJob.objects.create(
        project=cast.project,
        format="jsonl",
        status=JobStatus.RUNNING,
        attempts=1,
        started_at=old,
        heartbeat_at=timezone.now(),
    )
    lost_message = ExportJob.objects.create(project=cast.project, format="jsonl")
    ExportJob.objects.filter(pk=lost_message.pk).update(created_at=old)
    waiting = ExportJob.objects.create(project=cast.project, format="jsonl")
    finished = ExportJob.objects.create(
        project=cast.project, format="jsonl", status=JobStatus.FAILED, heartbeat_at=old
    )

    restarts = jobs.stale_jobs(ExportJob)

    assert sorted(restarts, key=lambda r: r.job_id) == [
        Restart(job_id=stale.pk, take_over_from=3),
        Restart(job_id=lost_message.pk, take_over_from=None),
    ]
    assert jobs.stale_jobs(ExportJob) == []  # marked: the next sweep waits its turn
    assert {beating.pk, waiting.pk, finished.pk}.isdisjoint(r.job_id for r in restarts)
