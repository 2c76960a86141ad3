"""Reviewers' decisions on candidates, kept on the server, and what "final" gold needs."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from annotations.models import AuditEvent, Document, Layer, ReviewDecision, Role
from annotations.selectors import (
    GOLD_FINAL,
    GOLD_IN_PROGRESS,
    GOLD_NOT_STARTED,
    documents_to_review,
    final_with_open_candidates,
    review_decisions,
    unsettled_candidates,
)
from annotations.services import layers
from annotations.services.decisions import decide, undo_decision
from annotations.services.export_jobs import card_data
from annotations.services.imports import import_file
from annotations.services.layers import LayerConflict
from annotations.services.projects import add_member
from tests.access import layer_access, project_access
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEXT = "Saleh said he is in Panjshir. TASS said he left."
CLAIM, SOURCE, LEFT = "11:28:claim", "0:5:source", "40:47:claim"
LINK = f"link:attributed_to|{CLAIM}|{SOURCE}"


def span(start, end, label):
    return {"start": start, "end": end, "label": label, "attrs": {}}


@pytest.fixture
def document(cast):
    """Two submitted layers: both mark the claim, its source and the link; bob one more."""
    record = {
        "id": "d1",
        "text": TEXT,
        "annotations": {
            "alice": [span(11, 28, "claim"), span(0, 5, "source")],
            "bob": [span(11, 28, "claim"), span(0, 5, "source"), span(40, 47, "claim")],
        },
        "relations": {
            "alice": [{"type": "attributed_to", "head": 0, "tail": 1}],
            "bob": [{"type": "attributed_to", "head": 0, "tail": 1}],
        },
    }
    import_file(project=cast.project, filename="d.jsonl", data=(json.dumps(record) + "\n").encode())
    return Document.objects.get(external_id="d1")


@pytest.fixture
def second_reviewer(cast):
    user = UserFactory(username="rita")
    add_member(project=cast.project, user=user, role=Role.REVIEWER)
    return user


def staff(cast, user=None):
    return project_access(user or cast.reviewer, cast.project)


def gold_access(cast, document):
    gold = layers.ensure_gold_layer(access=staff(cast), document=document)
    return layer_access(cast.reviewer, gold)


def test_a_rejection_is_stored_shared_and_audited_and_undo_takes_it_back(
    cast, document, second_reviewer
):
    version = decide(access=staff(cast), document=document, key=LEFT, decision="reject", version=1)

    assert version == 2
    seen_by_rita = review_decisions(Document.objects.get(pk=document.pk))
    assert [(d["key"], d["decision"], d["decided_by"]) for d in seen_by_rita] == [
        (LEFT, "reject", "reviewer")
    ]
    assert LEFT not in unsettled_candidates(document)

    undo_decision(access=staff(cast, second_reviewer), document=document, key=LEFT, version=2)

    assert not ReviewDecision.objects.filter(document=document).exists()
    assert LEFT in unsettled_candidates(document)
    events = AuditEvent.objects.filter(object_type="reviewdecision").order_by("id")
    assert [(e.action, e.actor.username, e.after["key"]) for e in events] == [
        ("reject", "reviewer", LEFT),
        ("undo_decision", "rita", LEFT),
    ]


def test_a_second_reviewer_on_a_stale_version_gets_a_conflict(cast, document, second_reviewer):
    decide(access=staff(cast), document=document, key=LEFT, decision="reject", version=1)

    with pytest.raises(LayerConflict) as conflict:
        decide(
            access=staff(cast, second_reviewer),
            document=Document.objects.get(pk=document.pk),
            key=CLAIM,
            decision="reject",
            version=1,
        )

    assert conflict.value.current_version == 2
    assert list(ReviewDecision.objects.values_list("key", flat=True)) == [LEFT]


def test_unknown_candidates_and_annotators_are_refused(cast, document):
    with pytest.raises(ValidationError) as bad:
        decide(access=staff(cast), document=document, key="1:2:claim", decision="reject")
    assert "no candidate '1:2:claim'" in str(bad.value.message_dict["key"])
    with pytest.raises(PermissionDenied):
        decide(
            access=project_access(cast.alice, cast.project),
            document=document,
            key=LEFT,
            decision="reject",
        )


def test_accepting_a_link_whose_end_is_rejected_needs_with_ends(cast, document):
    decide(access=staff(cast), document=document, key=SOURCE, decision="reject")

    with pytest.raises(ValidationError) as refused:
        decide(access=staff(cast), document=document, key=LINK, decision="accept")

    message = refused.value.message_dict["with_ends"][0]
    assert "source “Saleh” (0:5:source) is rejected" in message
    assert "claim “he is in Panjshir” (11:28:claim) is not in gold" in message
    assert not ReviewDecision.objects.filter(key=LINK).exists()

    decide(access=staff(cast), document=document, key=LINK, decision="accept", with_ends=True)

    assert dict(ReviewDecision.objects.values_list("key", "decision")) == {
        SOURCE: "accept",
        CLAIM: "accept",
        LINK: "accept",
    }
    # Nothing entered gold behind the reviewer's back: the page writes gold itself.
    assert not Layer.objects.filter(document=document, is_gold=True).exists()


def test_final_with_open_candidates_is_refused_with_the_count(cast, document):
    access = gold_access(cast, document)

    with pytest.raises(ValidationError) as refused:
        layers.submit_layer(access=access)

    assert refused.value.message_dict["reason"][0].startswith("4 candidates not settled")
    assert Layer.objects.get(document=document, is_gold=True).status == "open"


def test_a_stale_final_is_a_conflict_before_it_is_unsettled(cast, document):
    access = gold_access(cast, document)
    layers.create_span(access=access, label="claim", start=11, end=28)

    with pytest.raises(LayerConflict) as conflict:
        layers.submit_layer(access=access, version=1)

    assert conflict.value.current_version == 2


def test_final_with_a_reason_keeps_it_and_audits_it(cast, document):
    access = gold_access(cast, document)

    layer = layers.submit_layer(access=access, reason="  the source is out of scope ")

    layer.refresh_from_db()
    assert (layer.status, layer.final_reason) == ("submitted", "the source is out of scope")
    event = AuditEvent.objects.filter(action="submit", object_id=str(layer.pk)).get()
    assert (event.after["reason"], event.after["open_candidates"]) == (
        "the source is out of scope",
        4,
    )
    assert final_with_open_candidates(cast.project) == 1
    assert card_data(cast.project).final_with_open_candidates == 1  # the exports' card


def test_settled_gold_goes_final_without_a_reason(cast, document):
    access = gold_access(cast, document)
    layers.replace_layer(
        access=access,
        spans=[
            layers.SpanInput(label="source", start=0, end=5, attrs={}),
            layers.SpanInput(label="claim", start=11, end=28, attrs={}),
        ],
        relations=[layers.RelationInput(type="attributed_to", head=1, tail=0)],
    )
    decide(access=staff(cast), document=document, key=LEFT, decision="reject")

    layer = layers.submit_layer(access=access)

    assert (layer.status, layer.final_reason) == ("submitted", "")
    assert final_with_open_candidates(cast.project) == 0


def test_gold_state_goes_not_started_in_progress_final_and_back(cast, document):
    def state():
        _, summaries = documents_to_review(cast.project)
        return summaries[0].gold_status

    assert state() == GOLD_NOT_STARTED
    access = gold_access(cast, document)
    assert state() == GOLD_IN_PROGRESS
    layers.submit_layer(access=access, reason="checked by hand")
    assert state() == GOLD_FINAL

    reopened = layers.reopen_layer(access=access)

    assert (state(), reopened.final_reason) == (GOLD_IN_PROGRESS, "")
    assert final_with_open_candidates(cast.project) == 0
