"""The order an annotator's open documents come in: the one in progress first."""

from __future__ import annotations

import pytest

from annotations.models import Assignment, AssignmentStatus
from annotations.selectors import queue_rank

pytestmark = pytest.mark.django_db


def test_the_document_in_progress_comes_before_earlier_assigned_ones(cast, corpus):
    mine = Assignment.objects.filter(annotator=cast.alice)
    mine.filter(document=corpus[0]).update(status=AssignmentStatus.SUBMITTED)
    mine.filter(document=corpus[2]).update(status=AssignmentStatus.IN_PROGRESS)

    ordered = mine.order_by(queue_rank("status"), "document_id")

    assert [a.document.external_id for a in ordered] == ["003", "002", "001"]


def test_the_rank_does_not_follow_the_status_strings(cast, corpus):
    # "assigned" sorts before "in_progress" as text; the queue wants the opposite.
    mine = Assignment.objects.filter(annotator=cast.alice)
    mine.filter(document=corpus[1]).update(status=AssignmentStatus.IN_PROGRESS)

    first = mine.order_by(queue_rank("status"), "document_id").first()

    assert first is not None
    assert first.status == AssignmentStatus.IN_PROGRESS
