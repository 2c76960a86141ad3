"""A submission re-runs agreement by itself once submissions pause (when configured)."""

from __future__ import annotations

import time

import pytest

from annotations.models import AgreementRun, Document, JobStatus, Layer
from annotations.services.imports import import_file
from annotations.services.layers import submit_layer
from tests.access import layer_access
from tests.conftest import FIXTURES


def submit_one_more(cast) -> Layer:
    import_file(
        project=cast.project,
        filename="both.jsonl",
        data=(FIXTURES / "persian_and_emoji.jsonl").read_bytes(),
    )
    extra = Document.objects.create(project=cast.project, external_id="extra", text="Saleh spoke.")
    layer = Layer.objects.create(document=extra, annotator=cast.alice)
    return submit_layer(access=layer_access(cast.alice, layer))


@pytest.mark.worker
def test_submission_starts_a_run_after_a_quiet_second(cast, live_worker, settings):
    settings.AGREEMENT_RERUN_AFTER_SECONDS = 1

    submit_one_more(cast)

    deadline = time.monotonic() + 30
    run = None
    while time.monotonic() < deadline:
        run = AgreementRun.objects.filter(project=cast.project).first()
        if run is not None and run.is_finished:
            break
        time.sleep(0.2)
    assert run is not None, "no agreement run was started after the submission"
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.requested_by is None
    assert run.result["documents"] == 2


@pytest.mark.django_db
def test_nothing_is_scheduled_when_automatic_runs_are_off(
    cast, settings, django_capture_on_commit_callbacks
):
    settings.AGREEMENT_RERUN_AFTER_SECONDS = 0

    with django_capture_on_commit_callbacks() as callbacks:
        submit_one_more(cast)

    assert callbacks == []
    assert not AgreementRun.objects.exists()


@pytest.mark.django_db
def test_without_a_broker_the_last_submission_leaves_a_current_report_at_once(
    cast, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.AGREEMENT_RERUN_AFTER_SECONDS = 30

    with django_capture_on_commit_callbacks(execute=True):
        submitted = submit_one_more(cast)

    run = AgreementRun.objects.get(project=cast.project)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.requested_by is None
    assert run.created_at >= submitted.submitted_at
    assert run.result["documents"] == 2


@pytest.mark.django_db
def test_a_submission_after_the_last_run_starts_the_next_one(
    cast, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.AGREEMENT_RERUN_AFTER_SECONDS = 30
    with django_capture_on_commit_callbacks(execute=True):
        submit_one_more(cast)
    bob_layer = Layer.objects.create(
        document=Document.objects.get(external_id="extra"), annotator=cast.bob
    )

    with django_capture_on_commit_callbacks(execute=True):
        submit_layer(access=layer_access(cast.bob, bob_layer))

    assert AgreementRun.objects.filter(status=JobStatus.SUCCEEDED).count() == 2
    assert AgreementRun.objects.latest("created_at").result["documents"] == 3


def test_the_quiet_period_defaults_to_thirty_seconds():
    from workbench import settings as configured

    assert configured.AGREEMENT_RERUN_AFTER_SECONDS == 30


@pytest.mark.worker
def test_a_burst_of_submissions_gives_one_run_after_the_last(cast, live_worker, settings):
    settings.AGREEMENT_RERUN_AFTER_SECONDS = 2
    first = submit_one_more(cast)
    time.sleep(0.5)  # inside the first check's quiet period: that check must start nothing
    late = Layer.objects.create(document=first.document, annotator=cast.bob)
    last = submit_layer(access=layer_access(cast.bob, late))

    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and not AgreementRun.objects.filter(status=JobStatus.SUCCEEDED).exists()
    ):
        time.sleep(0.2)
    time.sleep(2.5)  # the second check has run by now too

    (run,) = AgreementRun.objects.filter(project=cast.project)
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.created_at >= last.submitted_at
