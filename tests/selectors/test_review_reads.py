"""The review pages' reads: the documents worst first, and one document's candidates."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.utils import timezone

from annotations.models import (
    AgreementRun,
    JobStatus,
    LabelType,
    Layer,
    LayerStatus,
    Relation,
    Role,
    Span,
)
from annotations.selectors import document_review, documents_to_review
from annotations.services.projects import add_member
from tests.factories import DocumentFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

TEXT = "Saleh said he is in Panjshir. TASS said he left for Tajikistan."
SALEH, CLAIM, TASS = (0, 5), (11, 28), (30, 34)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The review list caches its counts; no test sees another's."""
    cache.clear()
    yield
    cache.clear()


def layer(document, annotator, status, *marks):
    """A layer with spans ``(bounds, label)`` (gold without an annotator); returns it and
    its spans in order."""
    made = Layer.objects.create(
        document=document, annotator=annotator, is_gold=annotator is None, status=status
    )
    labels = {label.name: label for label in LabelType.objects.filter(project=document.project)}
    spans = [
        Span.objects.create(
            layer=made, label=labels[label], start=start, end=end, quote=TEXT[start:end]
        )
        for (start, end), label in marks
    ]
    return made, spans


@pytest.fixture
def documents(cast):
    """d1: alice and bob submitted and disagree (TASS: source or claim), carol's layer is
    open; d2: alice and bob agree; d3: nobody submitted."""
    d1, d2, d3 = (
        DocumentFactory(project=cast.project, external_id=name, text=TEXT)
        for name in ("d1", "d2", "d3")
    )
    submitted = LayerStatus.SUBMITTED
    _, (claim, source) = layer(d1, cast.alice, submitted, (CLAIM, "claim"), (TASS, "source"))
    attributed = LabelType.objects.get(project=cast.project, name="attributed_to")
    Relation.objects.create(layer=claim.layer, label=attributed, head=claim, tail=source)
    layer(d1, cast.bob, submitted, (CLAIM, "claim"), (TASS, "claim"))
    carol = UserFactory(username="carol")
    add_member(project=cast.project, user=carol, role=Role.ANNOTATOR)
    layer(d1, carol, LayerStatus.OPEN, (SALEH, "source"))
    layer(d2, cast.alice, submitted, (CLAIM, "claim"))
    layer(d2, cast.bob, submitted, (CLAIM, "claim"))
    return d1, d2, d3


def test_the_most_disputed_document_comes_first_and_the_untouched_last(cast, documents):
    run_id, summaries = documents_to_review(cast.project)

    assert run_id is None
    assert [s.external_id for s in summaries] == ["d1", "d2", "d3"]
    d1, d2, d3 = summaries
    # TASS as source and as claim, each one of two; alice's link to her source.
    assert (d1.annotators, d1.candidates, d1.disagreements) == (("alice", "bob"), 4, 3)
    assert (d2.candidates, d2.disagreements) == (1, 0)
    assert (d3.annotators, d3.gold_status) == ((), "not_started")


def test_a_document_with_final_gold_goes_last(cast, documents):
    layer(documents[0], None, LayerStatus.SUBMITTED, (CLAIM, "claim"))

    _, summaries = documents_to_review(cast.project)

    assert [s.external_id for s in summaries] == ["d2", "d3", "d1"]
    assert (summaries[-1].gold_status, summaries[-1].gold_spans) == ("final", 1)


def test_agreed_documents_come_by_their_latest_score_lowest_first(cast, documents):
    d4 = DocumentFactory(project=cast.project, external_id="d4", text=TEXT)
    layer(d4, cast.alice, LayerStatus.SUBMITTED)
    layer(d4, cast.bob, LayerStatus.SUBMITTED)
    AgreementRun.objects.create(
        project=cast.project,
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
        result={
            "per_document": [
                {"id": "d2", "span_f1_exact_mean": 1.0},
                {"id": "d4", "span_f1_exact_mean": 0.5},
            ]
        },
    )

    run_id, summaries = documents_to_review(cast.project)

    assert run_id is not None
    assert [s.external_id for s in summaries] == ["d1", "d4", "d2", "d3"]
    assert [s.span_f1_exact for s in summaries] == [None, 0.5, 1.0, None]


def test_a_reviewer_sees_the_submitted_layers_only(cast, documents):
    found = document_review(cast.project, documents[0].pk, role=Role.REVIEWER)

    assert found is not None
    assert [layer.annotator.username for layer in found.layers] == ["alice", "bob"]
    assert [layer.span_count for layer in found.layers] == [2, 2]
    assert found.review.annotators == found.review.counted == ["alice", "bob"]
    assert "source" not in {c.label for c in found.review.candidates if c.start == SALEH[0]}
    assert found.gold is None


def test_a_manager_also_sees_open_layers_listed_but_not_counted(cast, documents):
    found = document_review(cast.project, documents[0].pk, role=Role.MANAGER)

    assert found is not None
    assert [layer.annotator.username for layer in found.layers] == ["alice", "bob", "carol"]
    assert found.review.counted == ["alice", "bob"]
    saleh = next(c for c in found.review.candidates if (c.start, c.end) == SALEH)
    assert (saleh.votes, saleh.issues) == (0, ())


def test_a_document_of_another_project_is_not_found(cast, documents):
    elsewhere = DocumentFactory(project=ProjectFactory(created_by=cast.manager))

    assert document_review(cast.project, elsewhere.pk, role=Role.MANAGER) is None


def test_while_nothing_new_is_submitted_the_list_reads_no_layer_content(
    cast, documents, django_assert_max_num_queries
):
    documents_to_review(cast.project)

    # The latest run, the submitted layers' state, the gold layers, the documents.
    with django_assert_max_num_queries(4):
        _, summaries = documents_to_review(cast.project)

    assert summaries[0].disagreements == 3
