"""The agreement run API: who may start and read runs, what a run looks like."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from annotations.models import AgreementRun, JobStatus
from annotations.services import agreement_runs, jobs
from annotations.services.imports import import_documents
from annotations.services.workers import NO_WORKER_WARNING
from tests.agreement.corpus import corpus

RUNS = "/api/projects/panjshir/agreement-runs/"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def finished_run(cast) -> AgreementRun:
    import_documents(project=cast.project, records=corpus(6, ["alice", "bob"], seed=2))
    run = AgreementRun.objects.create(project=cast.project, parameters={"bootstrap_resamples": 20})
    claim = jobs.claim(AgreementRun, run.pk)
    run.refresh_from_db()
    agreement_runs.run_inline(run, claim)
    run.refresh_from_db()
    return run


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["manager", "reviewer"])
def test_managers_and_reviewers_start_a_run_and_read_it(
    cast, who, celery_eager, django_capture_on_commit_callbacks
) -> None:
    import_documents(project=cast.project, records=corpus(6, ["alice", "bob"], seed=2))
    client = client_for(getattr(cast, who))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(RUNS, {"parameters": {"bootstrap_resamples": 10}}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["status"] == "queued"  # as it was when the answer was made
    assert response.data["requested_by"] == who
    assert "warning" not in response.data  # eager mode: this process is the worker
    detail = client.get(response.data["url"])
    assert detail.status_code == 200
    assert detail.data["status"] == "succeeded"
    assert detail.data["progress"] == 1.0
    assert detail.data["result"]["annotators"] == ["alice", "bob"]
    assert detail.data["overall"] == detail.data["result"]["overall"]
    listed = client.get(RUNS).data
    assert [item["id"] for item in listed] == [response.data["id"]]
    assert listed[0]["overall"] == detail.data["result"]["overall"]
    assert "result" not in listed[0]


@pytest.mark.django_db
def test_starting_with_no_worker_answering_says_so_at_once(cast, settings, monkeypatch) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    monkeypatch.setattr("annotations.api.agreement.a_worker_answers", lambda: False)
    monkeypatch.setattr(
        "annotations.tasks.agreement.run_agreement.delay_on_commit", lambda *args: None
    )
    response = client_for(cast.manager).post(RUNS, {}, format="json")
    assert response.status_code == 201
    assert response.data["warning"] == NO_WORKER_WARNING
    assert response.data["status"] == "queued"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "outsider"])
def test_annotators_and_outsiders_get_404_for_everything(cast, finished_run, who) -> None:
    client = client_for(getattr(cast, who))
    assert client.get(RUNS).status_code == 404
    assert client.post(RUNS, {}, format="json").status_code == 404
    assert client.get(f"{RUNS}{finished_run.pk}/").status_code == 404
    assert AgreementRun.objects.count() == 1


@pytest.mark.django_db
def test_a_run_of_another_project_is_not_found(cast, finished_run) -> None:
    from tests.factories import ProjectFactory

    other = ProjectFactory(slug="other", created_by=cast.manager)
    response = client_for(cast.manager).get(
        f"/api/projects/{other.slug}/agreement-runs/{finished_run.pk}/"
    )
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ({"bootstrap_resamples": "lots"}, "bootstrap_resamples must be an integer of at least 0"),
        (
            {"bootstrap_resamples": 1_000_000_000},
            "bootstrap_resamples must be an integer of at most 10000",
        ),
        ({"bootstrap_seed": 2**64}, "bootstrap_seed must be an integer of at most"),
        ("x", "must be an object"),
        (["labels"], "must be an object"),
    ],
)
def test_bad_parameters_get_400_with_the_reason(cast, parameters, reason) -> None:
    response = client_for(cast.manager).post(RUNS, {"parameters": parameters}, format="json")
    assert response.status_code == 400
    assert response.data["parameters"][0].startswith(reason)
    assert not AgreementRun.objects.exists()


@pytest.mark.django_db
def test_anonymous_callers_are_refused(cast) -> None:
    assert APIClient().get(RUNS).status_code in (401, 403)


@pytest.mark.django_db
def test_the_list_filters_by_status(cast, finished_run) -> None:
    AgreementRun.objects.create(project=cast.project, status=JobStatus.FAILED, error="boom")
    client = client_for(cast.manager)
    assert [r["status"] for r in client.get(RUNS).data] == ["failed", "succeeded"]
    assert [r["id"] for r in client.get(RUNS, {"status": "succeeded"}).data] == [finished_run.pk]
