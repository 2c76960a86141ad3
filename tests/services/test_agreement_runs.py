"""Agreement runs through the service: chunks, claims, one stored result, failures."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from annotations.agreement import compute
from annotations.models import AgreementRun, AuditEvent, JobStatus, LayerStatus
from annotations.selectors import iter_project_records
from annotations.services import agreement_runs, jobs
from annotations.services.imports import import_documents
from tests.agreement.corpus import corpus
from tests.factories import DocumentLabelTypeFactory


def without_run(result: dict) -> dict:
    return {key: value for key, value in result.items() if key != "run"}


@pytest.fixture
def measured_project(cast):
    import_documents(project=cast.project, records=corpus(23, ["alice", "bob", "carol"], seed=4))
    return cast.project


@pytest.mark.django_db
def test_started_run_measures_the_submitted_layers_once_committed(
    cast, measured_project, celery_eager, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = agreement_runs.start_run(
            project=measured_project, actor=cast.manager, parameters={"bootstrap_resamples": 50}
        )
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.error
    assert run.progress == 1.0
    assert run.attempts == 1
    expected = compute(iter_project_records(measured_project), run.parameters)
    assert without_run(run.result) == expected
    assert run.result["label_names"] == ["claim", "sentiment", "source"]
    assert AuditEvent.objects.filter(action="agreement_finish", object_id=str(run.pk)).count() == 1


@pytest.mark.django_db
def test_chunks_give_the_same_result_as_one_pass(cast, measured_project) -> None:
    results = []
    for size in (1, 5, 1000):
        run = AgreementRun.objects.create(
            project=measured_project, parameters={"bootstrap_resamples": 30, "bootstrap_seed": 3}
        )
        claim = jobs.claim(AgreementRun, run.pk)
        run.refresh_from_db()
        assert agreement_runs.run_inline(run, claim, chunk_size=size)
        run.refresh_from_db()
        assert run.result["run"]["chunks"] == -(-23 // size)
        results.append(without_run(run.result))
    assert results[0] == results[1] == results[2]


@pytest.mark.django_db
def test_open_layers_do_not_count(cast, measured_project) -> None:
    from annotations.models import Layer

    Layer.objects.filter(document__project=measured_project, annotator__username="carol").update(
        status=LayerStatus.OPEN
    )
    run = AgreementRun.objects.create(project=measured_project, parameters={})
    claim = jobs.claim(AgreementRun, run.pk)
    run.refresh_from_db()
    agreement_runs.run_inline(run, claim)
    run.refresh_from_db()
    assert run.result["annotators"] == ["alice", "bob"]


@pytest.mark.django_db
def test_a_run_is_claimed_once_unless_taken_over(cast, measured_project) -> None:
    run = AgreementRun.objects.create(project=measured_project, parameters={})
    first = jobs.claim(AgreementRun, run.pk)
    assert first is not None
    assert first.token == 1
    assert jobs.claim(AgreementRun, run.pk) is None  # a second delivery finds it running
    second = jobs.claim(AgreementRun, run.pk, take_over=True)  # a redelivered message
    assert second is not None
    assert second.token == 2
    run.refresh_from_db()
    chunks = agreement_runs.plan_chunks(measured_project, 10)
    # The old claim's work no longer counts; the new one stores, once.
    assert not agreement_runs.store_result(run, first, {}, chunks)
    assert agreement_runs.store_result(run, second, {}, chunks)
    assert not agreement_runs.store_result(run, second, {}, chunks)
    assert jobs.claim(AgreementRun, run.pk, take_over=True) is None  # finished stays finished
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED
    assert run.result["documents"] + run.result["documents_skipped"] == 23
    assert AuditEvent.objects.filter(action="agreement_finish", object_id=str(run.pk)).count() == 1


@pytest.mark.django_db
def test_bad_parameters_are_refused_with_the_reason(cast) -> None:
    with pytest.raises(ValidationError) as caught:
        agreement_runs.start_run(
            project=cast.project, actor=cast.manager, parameters={"bootstrap_resamples": -5}
        )
    assert "bootstrap_resamples" in caught.value.message_dict["parameters"][0]
    assert not AgreementRun.objects.exists()


@pytest.mark.django_db
def test_an_empty_project_gives_a_result_with_reasons(cast) -> None:
    run = AgreementRun.objects.create(project=cast.project, parameters={})
    claim = jobs.claim(AgreementRun, run.pk)
    run.refresh_from_db()
    assert agreement_runs.run_inline(run, claim)
    run.refresh_from_db()
    assert run.result["documents"] == 0
    assert run.result["overall"]["alpha_char_macro"] is None
    assert run.result["overall"]["alpha_char_macro_reason"]


@pytest.mark.django_db
def test_the_automatic_rerun_waits_for_submissions_to_pause(
    cast, measured_project, settings
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from annotations.models import Layer

    settings.AGREEMENT_RERUN_AFTER_SECONDS = 60
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a broker holds the check for the quiet period
    now = timezone.now()
    layers = Layer.objects.filter(document__project=measured_project, is_gold=False)
    layers.update(submitted_at=now - timedelta(seconds=10))
    assert agreement_runs.rerun_if_stale(measured_project, now=now) is None  # still busy
    later = now + timedelta(seconds=120)
    run = agreement_runs.rerun_if_stale(measured_project, now=later)
    assert run is not None
    assert run.status == JobStatus.QUEUED
    assert agreement_runs.rerun_if_stale(measured_project, now=later) is None  # one pending
    AgreementRun.objects.filter(pk=run.pk).update(status=JobStatus.SUCCEEDED)
    assert agreement_runs.rerun_if_stale(measured_project, now=later) is None  # up to date
    layers.filter(pk=layers.first().pk).update(submitted_at=later)
    assert agreement_runs.rerun_if_stale(measured_project, now=later + timedelta(minutes=5))


@pytest.mark.django_db
def test_no_automatic_rerun_unless_configured(cast, measured_project, settings) -> None:
    settings.AGREEMENT_RERUN_AFTER_SECONDS = 0
    agreement_runs.schedule_rerun(measured_project)  # nothing scheduled, nothing raised
    assert not AgreementRun.objects.exists()


@pytest.mark.django_db
def test_a_run_measures_the_projects_document_labels(
    cast, celery_eager, django_capture_on_commit_callbacks
) -> None:
    DocumentLabelTypeFactory(project=cast.project)
    records = corpus(12, ["alice", "bob"], seed=2)
    for number, record in enumerate(records):
        for name in record.annotations:
            stance = ["supports", "refutes", "neutral"][(number + (name == "bob")) % 3]
            record.document_labels[name] = {"stance": [stance]}
    import_documents(project=cast.project, records=records)

    with django_capture_on_commit_callbacks(execute=True):
        run = agreement_runs.start_run(
            project=cast.project, actor=cast.manager, parameters={"bootstrap_resamples": 0}
        )
    run.refresh_from_db()

    assert run.parameters["document_labels"] == {
        "stance": {"multiple": False, "choices": ["supports", "refutes", "neutral"]}
    }
    stance = run.result["document_labels"]["stance"]
    assert (
        stance
        == compute(iter_project_records(cast.project), run.parameters)["document_labels"]["stance"]
    )
    assert stance["n_documents"] == sum(len(r.annotations) >= 2 for r in records)
    assert stance["alpha"] is not None
    assert [(pair["a"], pair["b"]) for pair in stance["pairs"]] == [("alice", "bob")]
