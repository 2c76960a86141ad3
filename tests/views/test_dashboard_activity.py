"""The dashboard's active time per annotator and documents submitted per day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.models import Assignment, AssignmentStatus, Role
from annotations.selectors import daily_throughput, median_active_seconds
from annotations.services.assignments import assign_documents
from annotations.services.projects import add_member
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(project):
    return f"/projects/{project.slug}/dashboard/"


def submit(assignment, *, seconds, days_ago=0):
    assignment.status = AssignmentStatus.SUBMITTED
    assignment.active_seconds = seconds
    assignment.finished_at = timezone.now() - timedelta(days=days_ago)
    assignment.save()


@pytest.fixture
def worked(cast):
    """alice submitted three documents (60 s, 100 s, 300 s; today, today, two days ago),
    bob one (40 s, yesterday) and one imported without measured time."""
    DocumentFactory.create_batch(4, project=cast.project)
    assign_documents(project=cast.project)
    alice = list(Assignment.objects.filter(annotator=cast.alice).order_by("document_id"))
    bob = list(Assignment.objects.filter(annotator=cast.bob).order_by("document_id"))
    submit(alice[0], seconds=60)
    submit(alice[1], seconds=100)
    submit(alice[2], seconds=300, days_ago=2)
    alice[3].active_seconds = 500  # in progress: not in the median
    alice[3].save()
    submit(bob[0], seconds=40, days_ago=1)
    submit(bob[1], seconds=0, days_ago=40)
    return cast


def test_median_active_time_counts_submitted_documents_with_measured_time(worked):
    assert median_active_seconds(worked.project) == {"alice": 100, "bob": 40}


def test_throughput_counts_submissions_per_day_and_annotator_in_the_window(worked):
    throughput = daily_throughput(worked.project, days=30)

    today = timezone.localdate()
    assert len(throughput.days) == 30
    assert throughput.days[-1] == today
    assert throughput.annotators == ["alice", "bob"]
    assert throughput.counts == {
        ("alice", today): 2,
        ("alice", today - timedelta(days=2)): 1,
        ("bob", today - timedelta(days=1)): 1,
    }


def test_the_dashboard_shows_median_time_and_the_chart(client, worked):
    client.force_login(worked.manager)

    response = client.get(url(worked.project))

    html = response.content.decode()
    rows = {row["username"]: row for row in response.context["annotators"]}
    assert rows["alice"]["median_active_text"] == "1 min 40 s"
    assert rows["bob"]["median_active_text"] == "40 s"
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart daily-bars"' in html
    assert "<title>Documents submitted per day and annotator, last 30 days</title>" in html
    assert f"{timezone.localdate().isoformat()} alice: 2</title>" in html
    assert "4 documents submitted in the last 30 days" in html


def test_the_dashboard_costs_the_same_queries_with_more_annotators(
    client, worked, django_assert_max_num_queries
):
    client.force_login(worked.manager)
    client.get(url(worked.project))
    with CaptureQueriesContext(connection) as few:
        client.get(url(worked.project))
    for name in ("carol", "dave", "erin", "frank"):
        add_member(project=worked.project, user=UserFactory(username=name), role=Role.ANNOTATOR)
    DocumentFactory.create_batch(6, project=worked.project)
    assign_documents(project=worked.project, overlap=3)
    for assignment in Assignment.objects.filter(status=AssignmentStatus.ASSIGNED)[:8]:
        submit(assignment, seconds=30)

    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url(worked.project))
