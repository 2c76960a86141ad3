"""Agreement runs in Celery: a live worker over Redis and PostgreSQL, a killed worker,
retries and failures."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry
from django.db import OperationalError
from rest_framework.test import APIClient

from annotations.agreement import compute
from annotations.models import AgreementRun, AuditEvent, JobStatus
from annotations.selectors import iter_project_records
from annotations.services import agreement_runs, jobs
from annotations.services.imports import import_documents
from annotations.tasks.agreement import run_agreement
from tests.agreement.corpus import corpus
from tests.workers import (
    finished,
    finished_by_a_new_worker,
    kill,
    running_with_progress,
    start_worker,
)


def without_run(result: dict) -> dict:
    return {key: value for key, value in result.items() if key != "run"}


def finish_events(run: AgreementRun) -> int:
    return AuditEvent.objects.filter(action="agreement_finish", object_id=str(run.pk)).count()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_live_worker_runs_a_chunked_run_started_over_the_api(cast, live_worker, settings) -> None:
    settings.AGREEMENT_CHUNK_DOCUMENTS = 4  # 23 documents: a chord of 6 chunks
    import_documents(project=cast.project, records=corpus(23, ["alice", "bob", "carol"], seed=8))
    client = APIClient()
    client.force_authenticate(cast.reviewer)
    response = client.post(
        "/api/projects/panjshir/agreement-runs/",
        {"parameters": {"bootstrap_resamples": 100}},
        format="json",
    )
    assert response.status_code == 201, response.data
    assert "warning" not in response.data
    run = finished(AgreementRun.objects.get(pk=response.data["id"]), 60)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.result["run"]["chunks"] == 6
    detail = client.get(response.data["url"]).data
    assert detail["progress"] == 1.0
    assert detail["result"]["intervals"]["resamples"] == 100
    assert without_run(detail["result"]) == compute(
        iter_project_records(cast.project), run.parameters
    )
    assert finish_events(run) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_worker_is_killed_completes_once_after_a_new_worker_starts(
    cast, tmp_path
) -> None:
    from workbench.celery import app

    app.control.purge()
    import_documents(project=cast.project, records=corpus(300, ["alice", "bob", "carol"], seed=9))
    log = tmp_path / "workers.log"
    first = start_worker(log, "doomed")
    try:
        run = agreement_runs.start_run(
            project=cast.project,
            actor=cast.manager,
            parameters={"bootstrap_resamples": 0},
            chunk_size=5,  # 60 chunks: a run long enough to be cut in the middle
        )
        running_with_progress(run, 60, log)  # a chunk is done: the run is under way
    finally:
        kill(first)
    run.refresh_from_db()
    assert run.status == JobStatus.RUNNING, "the worker finished before it could be killed"
    assert run.progress < 1.0

    run = finished_by_a_new_worker(run, 120, log)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert finish_events(run) == 1
    expected = compute(iter_project_records(cast.project), run.parameters)
    assert without_run(run.result) == expected  # no chunk lost, none counted twice
    assert run.result["documents"] + run.result["documents_skipped"] == 300


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_run_left_running_with_every_message_lost_completes_when_a_worker_starts(
    cast, tmp_path
) -> None:
    from workbench.celery import app

    app.control.purge()
    import_documents(project=cast.project, records=corpus(40, ["alice", "bob"], seed=5))
    run = AgreementRun.objects.create(project=cast.project, parameters={"bootstrap_resamples": 0})
    # A worker claimed it and died; Redis lost its messages (popped, never recorded).
    assert jobs.claim(AgreementRun, run.pk) is not None

    log = tmp_path / "worker.log"
    worker = start_worker(log, "starting")
    try:
        run = finished(run, 60, log)
    finally:
        kill(worker)

    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.attempts == 2  # taken over once, by the starting worker
    assert finish_events(run) == 1
    assert without_run(run.result) == compute(iter_project_records(cast.project), run.parameters)


@pytest.mark.django_db
def test_a_run_is_measured_once_however_often_its_task_is_delivered(cast, celery_eager) -> None:
    import_documents(project=cast.project, records=corpus(5, ["alice", "bob"], seed=1))
    run = AgreementRun.objects.create(project=cast.project, parameters={})
    assert run_agreement.apply(args=[run.pk]).get() == 1  # the claim's token
    assert run_agreement.apply(args=[run.pk]).get() is None
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED
    assert run.attempts == 1
    assert finish_events(run) == 1


@pytest.mark.django_db
def test_bad_stored_parameters_fail_the_run_with_the_reason(cast, celery_eager) -> None:
    run = AgreementRun.objects.create(project=cast.project, parameters={"confidence": 7})
    run_agreement.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "confidence must be a number between 0 and 1" in run.error


@pytest.mark.django_db
def test_a_transient_error_puts_the_run_back_in_the_queue_for_a_retry(
    cast, celery_eager, monkeypatch
) -> None:
    def unreachable(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(agreement_runs, "run_inline", unreachable)
    run = AgreementRun.objects.create(project=cast.project, parameters={})
    with pytest.raises(Retry):
        run_agreement.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.status == JobStatus.QUEUED
    assert run.error.startswith("retrying after: the database went away")


@pytest.mark.django_db
def test_an_unexpected_error_fails_the_run_with_the_reason(cast, celery_eager, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("something odd")

    import_documents(project=cast.project, records=corpus(3, ["alice", "bob"], seed=1))
    monkeypatch.setattr(agreement_runs, "measure_chunk", broken)
    run = AgreementRun.objects.create(project=cast.project, parameters={})
    run_agreement.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert run.error == "agreement failed: RuntimeError: something odd"


@pytest.mark.django_db
def test_a_redelivered_message_takes_over_a_run_left_running(cast, celery_eager) -> None:
    import_documents(project=cast.project, records=corpus(5, ["alice", "bob"], seed=1))
    run = AgreementRun.objects.create(project=cast.project, parameters={})
    assert jobs.claim(AgreementRun, run.pk) is not None  # a planner that died after claiming
    assert run_agreement.apply(args=[run.pk]).get() is None  # a plain delivery leaves it
    run_agreement.push_request(delivery_info={"redelivered": True}, is_eager=True)
    try:
        assert run_agreement.run(run.pk) == 2  # the redelivered message takes it over
    finally:
        run_agreement.pop_request()
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED
    assert run.attempts == 2
    assert finish_events(run) == 1


@pytest.mark.django_db
def test_a_takeover_of_an_attempt_happens_once(cast, celery_eager) -> None:
    import_documents(project=cast.project, records=corpus(5, ["alice", "bob"], seed=1))
    run = AgreementRun.objects.create(project=cast.project, parameters={})
    assert jobs.claim(AgreementRun, run.pk) is not None
    # A starting worker and the sweep both send a take-over of attempt 1.
    assert run_agreement.apply(args=[run.pk], kwargs={"take_over_from": 1}).get() == 2
    assert run_agreement.apply(args=[run.pk], kwargs={"take_over_from": 1}).get() is None
    run.refresh_from_db()
    assert run.attempts == 2
    assert finish_events(run) == 1
