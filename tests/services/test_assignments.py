from __future__ import annotations

from collections import Counter

import pytest
from django.core.exceptions import ValidationError

from annotations.models import Assignment, Layer, Role
from annotations.services.assignments import assign_documents
from annotations.services.projects import add_member
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_annotators(cast):
    for name in ("carol", "dave", "erin"):
        add_member(project=cast.project, user=UserFactory(username=name), role=Role.ANNOTATOR)
    DocumentFactory.create_batch(10, project=cast.project)
    return cast.project


def test_each_document_gets_exactly_k_annotators_and_loads_are_balanced(five_annotators):
    assign_documents(project=five_annotators, overlap=3)

    per_document = Counter(Assignment.objects.values_list("document_id", flat=True))
    per_annotator = Counter(Assignment.objects.values_list("annotator__username", flat=True))
    assert set(per_document.values()) == {3}
    assert sorted(per_annotator.values()) == [6, 6, 6, 6, 6]


def test_assignment_is_deterministic(five_annotators):
    assign_documents(project=five_annotators, overlap=2)
    first = set(Assignment.objects.values_list("document__external_id", "annotator__username"))
    Assignment.objects.all().delete()
    Layer.objects.all().delete()

    assign_documents(project=five_annotators, overlap=2)

    again = set(Assignment.objects.values_list("document__external_id", "annotator__username"))
    assert first == again


def test_running_again_adds_nothing_and_new_documents_are_topped_up(five_annotators):
    assign_documents(project=five_annotators, overlap=2)
    assert assign_documents(project=five_annotators, overlap=2) == []

    DocumentFactory(project=five_annotators)
    added = assign_documents(project=five_annotators, overlap=2)

    assert len(added) == 2
    assert max(Counter(Assignment.objects.values_list("document_id", flat=True)).values()) == 2


def test_each_assignment_comes_with_an_empty_open_layer(five_annotators):
    assign_documents(project=five_annotators, overlap=2)

    pairs = set(Assignment.objects.values_list("document_id", "annotator_id"))
    layers = set(Layer.objects.values_list("document_id", "annotator_id"))
    assert pairs == layers
    assert not Layer.objects.filter(spans__isnull=False).exists()


def test_k_larger_than_the_team_is_refused(cast):
    DocumentFactory(project=cast.project)

    with pytest.raises(ValidationError, match="2 annotators, fewer than k=3"):
        assign_documents(project=cast.project, overlap=3)
    assert not Assignment.objects.exists()
