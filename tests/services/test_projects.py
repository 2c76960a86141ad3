from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from annotations.models import AuditEvent, Project, Role
from annotations.services.projects import add_member, create_project
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_new_project_starts_from_the_news_claims_preset():
    owner = UserFactory(username="owner")
    project = create_project(name="Newsroom", slug="newsroom", created_by=owner)

    labels = {label.name: label for label in project.label_types.all()}
    assert {name: label.kind for name, label in labels.items()} == {
        "claim": "span",
        "source": "span",
        "sentiment": "span",
        "attributed_to": "relation",
    }
    assert labels["source"].attribute_schema == {
        "kind": ["person", "organisation", "media", "anonymous"]
    }
    assert labels["sentiment"].attribute_schema == {"polarity": ["positive", "negative", "neutral"]}
    assert (labels["attributed_to"].head_label, labels["attributed_to"].tail_label) == (
        labels["claim"],
        labels["source"],
    )
    assert project.memberships.get(user=owner).role == Role.MANAGER


def test_a_project_may_start_with_an_empty_schema_and_its_creator_as_manager():
    owner = UserFactory(username="owner")
    project = create_project(name="Blank", slug="blank", created_by=owner, schema="empty")

    assert not project.label_types.exists()
    assert project.memberships.get(user=owner).role == Role.MANAGER


def test_an_unknown_schema_start_is_refused():
    with pytest.raises(ValidationError, match="schema"):
        create_project(name="Odd", slug="odd", schema="ner")
    assert not Project.objects.filter(slug="odd").exists()


def test_slug_already_taken_is_refused():
    create_project(name="A", slug="same")
    with pytest.raises(ValidationError, match="exists already"):
        create_project(name="B", slug="same")


def test_changing_a_role_is_audited_with_before_and_after(cast):
    add_member(project=cast.project, user=cast.alice, role=Role.REVIEWER, actor=cast.manager)

    event = AuditEvent.objects.filter(object_type="membership", action="update").get()
    assert event.before == {"role": "annotator"}
    assert event.after == {"user": "alice", "role": "reviewer"}
    assert event.actor == cast.manager
