"""Which agreement run the reports show: the latest succeeded one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import AgreementRun, JobStatus
from annotations.selectors import latest_succeeded_run, succeeded_runs

pytestmark = pytest.mark.django_db


def test_the_latest_finished_success_is_shown_not_a_later_failure(cast):
    now = timezone.now()

    def run(status: str, minutes_ago: int) -> AgreementRun:
        return AgreementRun.objects.create(
            project=cast.project, status=status, finished_at=now - timedelta(minutes=minutes_ago)
        )

    older = run(JobStatus.SUCCEEDED, 30)
    latest = run(JobStatus.SUCCEEDED, 10)
    run(JobStatus.FAILED, 1)
    AgreementRun.objects.create(project=cast.project, status=JobStatus.RUNNING)

    assert latest_succeeded_run(cast.project) == latest
    assert list(succeeded_runs(cast.project)) == [latest, older]


def test_no_succeeded_run_means_nothing_to_show(cast):
    AgreementRun.objects.create(project=cast.project, status=JobStatus.FAILED)

    assert latest_succeeded_run(cast.project) is None
