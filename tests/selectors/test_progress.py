"""The dashboard's reads: progress per annotator, per document and over the project."""

from __future__ import annotations

import pytest

from annotations.models import AssignmentStatus, LabelType, Layer, Span
from annotations.selectors import (
    annotator_progress,
    document_progress,
    documents_by_progress,
    project_progress,
)
from annotations.services.assignments import assign_documents
from annotations.services.projects import add_member
from tests.factories import DocumentFactory, LayerFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


def add_spans(layer: Layer, count: int) -> None:
    label = LabelType.objects.get(project=layer.document.project, name="claim")
    for start in range(count):
        Span.objects.create(
            layer=layer, label=label, start=start, end=start + 1, quote=layer.document.text[start]
        )


@pytest.fixture
def progress(cast, corpus):
    """001: both submitted, alice's two spans, one gold span; 002: alice in progress, bob's
    span; 003: bob skipped. alice also works in another project, which must not count."""
    alice, bob = cast.alice.assignments, cast.bob.assignments
    alice.filter(document=corpus[0]).update(status=AssignmentStatus.SUBMITTED)
    bob.filter(document=corpus[0]).update(status=AssignmentStatus.SUBMITTED)
    alice.filter(document=corpus[1]).update(status=AssignmentStatus.IN_PROGRESS)
    bob.filter(document=corpus[2]).update(status=AssignmentStatus.SKIPPED)
    add_spans(Layer.objects.get(document=corpus[0], annotator=cast.alice), 2)
    add_spans(Layer.objects.get(document=corpus[1], annotator=cast.bob), 1)
    add_spans(LayerFactory(document=corpus[0], annotator=None, is_gold=True), 1)

    elsewhere = ProjectFactory(created_by=cast.manager)
    add_member(project=elsewhere, user=cast.alice, role="annotator")
    DocumentFactory(project=elsewhere)
    assign_documents(project=elsewhere, overlap=1)
    add_spans(Layer.objects.get(document__project=elsewhere, annotator=cast.alice), 3)
    return corpus


def test_annotators_come_by_name_with_their_own_work_in_this_project(cast, progress):
    rows = annotator_progress(cast.project)

    assert [row.username for row in rows] == ["alice", "bob"]
    alice, bob = rows
    assert alice.progress.assigned == 3
    assert alice.progress.counts == {
        "submitted": 1,
        "in_progress": 1,
        "assigned": 1,
        "skipped": 0,
    }
    assert (alice.progress.done, alice.spans) == (1, 2)
    assert (bob.progress.done, bob.spans) == (2, 1)


def test_a_member_without_assignments_is_listed_with_nothing_done(cast, progress):
    add_member(project=cast.project, user=UserFactory(username="carol"), role="annotator")

    carol = annotator_progress(cast.project)[-1]

    assert (carol.username, carol.progress.assigned, carol.spans) == ("carol", 0, 0)


def test_documents_come_by_external_id_with_annotator_and_gold_spans_apart(cast, progress):
    rows = document_progress(list(documents_by_progress(cast.project)))

    assert [row.document.external_id for row in rows] == ["001", "002", "003"]
    first, second, third = rows
    assert first.progress.counts["submitted"] == 2
    assert (first.spans, first.gold_spans) == (2, 1)
    assert (second.spans, second.gold_spans) == (1, 0)
    assert third.progress.counts["skipped"] == 1


def test_a_document_is_complete_once_the_overlap_has_submitted(cast, progress):
    overall = project_progress(cast.project)

    assert (overall.documents, overall.complete) == (3, 1)
    assert overall.progress.assigned == 6
    assert overall.progress.counts == {
        "submitted": 2,
        "in_progress": 1,
        "assigned": 2,
        "skipped": 1,
    }


def test_the_dashboard_reads_cost_the_same_whatever_the_corpus(
    cast, progress, django_assert_max_num_queries
):
    for _ in range(40):
        DocumentFactory(project=cast.project)
    assign_documents(project=cast.project)

    # Annotators and their spans, the documents, their page and spans, the totals: 7.
    with django_assert_max_num_queries(7):
        annotator_progress(cast.project)
        page = list(documents_by_progress(cast.project)[:25])
        rows = document_progress(page)
        project_progress(cast.project)

    assert len(rows) == 25


def test_the_dashboard_page_stays_within_its_query_budget(
    client, cast, progress, django_assert_max_num_queries
):
    client.force_login(cast.manager)

    # Session, user, project, role; the reads above less the count; the export panel;
    # the median active times and the documents submitted per day.
    with django_assert_max_num_queries(15):
        response = client.get(f"/projects/{cast.project.slug}/dashboard/")

    assert response.status_code == 200
