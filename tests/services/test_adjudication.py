from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from annotations.models import (
    AuditEvent,
    CatalogueEntry,
    Document,
    DocumentLabel,
    Layer,
    Role,
    Span,
)
from annotations.services.adjudication import merge_into_gold
from annotations.services.imports import import_file
from annotations.services.layers import LayerConflict
from annotations.services.projects import add_member
from tests.access import project_access
from tests.claims import TEXT as CLAIM_TEXT
from tests.claims import document as claim_document
from tests.claims import layer as claim_layer
from tests.claims import link_schema, proposition
from tests.factories import DocumentLabelTypeFactory, UserFactory

pytestmark = pytest.mark.django_db

TEXT = "Saleh said he is in Panjshir. TASS said he left."
SALEH, CLAIM = (0, 5), (11, 28)
TASS, LEFT = (30, 34), (40, 47)


def span(bounds, label, **attrs):
    return {"start": bounds[0], "end": bounds[1], "label": label, "attrs": attrs}


LINK = {"type": "attributed_to", "head": 0, "tail": 1}


@pytest.fixture
def voted(cast):
    """Three annotators: two agree on the claim, its source and the link; one differs."""
    add_member(project=cast.project, user=UserFactory(username="carol"), role=Role.ANNOTATOR)
    record = {
        "id": "d1",
        "text": TEXT,
        "annotations": {
            "alice": [span(CLAIM, "claim"), span(SALEH, "source", kind="person")],
            "bob": [span(CLAIM, "claim"), span(SALEH, "source", kind="person")],
            "carol": [
                span(CLAIM, "claim"),
                span(SALEH, "source", kind="media"),
                span(LEFT, "claim"),
            ],
        },
        "relations": {"alice": [LINK], "bob": [LINK]},
    }
    import_file(
        project=cast.project, filename="votes.jsonl", data=(json.dumps(record) + "\n").encode()
    )
    return Document.objects.get(external_id="d1")


def gold_content(document):
    gold = Layer.objects.get(document=document, is_gold=True)
    spans = sorted(
        (s.start, s.end, s.label.name, tuple(sorted(s.attributes.items())))
        for s in gold.spans.select_related("label")
    )
    links = sorted(
        (r.label.name, (r.head.start, r.head.end), (r.tail.start, r.tail.end))
        for r in gold.relations.select_related("label", "head", "tail")
    )
    return gold, spans, links


def test_majority_vote_takes_agreed_spans_majority_attributes_and_links(cast, voted):
    layer, merge = merge_into_gold(
        access=project_access(cast.reviewer, voted.project), document=voted
    )

    _, spans, links = gold_content(voted)
    assert merge.min_votes == 2
    assert spans == [
        (*SALEH, "source", (("kind", "person"),)),
        (*CLAIM, "claim", ()),
    ]
    assert links == [("attributed_to", CLAIM, SALEH)]
    assert layer.version == 2


def test_one_vote_is_enough_when_the_reviewer_asks_for_the_union(cast, voted):
    merge_into_gold(
        access=project_access(cast.reviewer, voted.project), document=voted, min_votes=1
    )

    _, spans, _ = gold_content(voted)
    assert (*LEFT, "claim", ()) in spans


def test_unanimous_vote_counts_spans_whatever_their_attributes(cast, voted):
    merge_into_gold(
        access=project_access(cast.reviewer, voted.project), document=voted, min_votes=3
    )

    _, spans, links = gold_content(voted)
    assert [s[:3] for s in spans] == [(*SALEH, "source"), (*CLAIM, "claim")]
    assert links == []  # only two of the three drew the link


def test_gold_spans_already_settled_are_kept(cast, voted):
    merge_into_gold(
        access=project_access(cast.reviewer, voted.project), document=voted, min_votes=1
    )
    Layer.objects.filter(document=voted, annotator__username="carol").update(status="open")

    merge_into_gold(access=project_access(cast.reviewer, voted.project), document=voted)

    _, spans, _ = gold_content(voted)
    assert (*LEFT, "claim", ()) in spans  # carol's withdrawn span stays: gold had it


def test_stale_version_is_refused_and_gold_is_unchanged(cast, voted):
    merge_into_gold(
        access=project_access(cast.reviewer, voted.project), document=voted, min_votes=3
    )

    with pytest.raises(LayerConflict):
        merge_into_gold(
            access=project_access(cast.reviewer, voted.project),
            document=voted,
            min_votes=1,
            version=1,
        )

    _, spans, _ = gold_content(voted)
    assert len(spans) == 2  # the union would have added carol's third span


def test_annotators_cannot_adjudicate(cast, voted):
    with pytest.raises(PermissionDenied):
        merge_into_gold(access=project_access(cast.alice, voted.project), document=voted)

    assert not Layer.objects.filter(document=voted, is_gold=True).exists()


def test_a_document_nobody_submitted_cannot_be_adjudicated(cast):
    import_file(project=cast.project, filename="plain.txt", data=b"Nothing yet.")

    with pytest.raises(ValidationError, match="no annotator has submitted"):
        merge_into_gold(
            access=project_access(cast.reviewer, Document.objects.get(external_id="plain").project),
            document=Document.objects.get(external_id="plain"),
        )


def test_adjudication_is_in_the_audit_trail(cast, voted):
    merge_into_gold(access=project_access(cast.reviewer, voted.project), document=voted)

    event = AuditEvent.objects.filter(action="replace", actor=cast.reviewer).get()
    assert len(event.after["spans"]) == 2


def labelled_document(cast, labels: dict) -> Document:
    """Three annotators who gave document labels ``labels[name]``."""
    add_member(project=cast.project, user=UserFactory(username="carol"), role=Role.ANNOTATOR)
    DocumentLabelTypeFactory(project=cast.project)
    DocumentLabelTypeFactory(
        project=cast.project, name="topics", choices=["security", "politics"], multiple=True
    )
    record = {
        "id": "d2",
        "text": TEXT,
        "annotations": {"alice": [], "bob": [], "carol": []},
        "document_labels": labels,
    }
    import_file(
        project=cast.project, filename="labels.jsonl", data=(json.dumps(record) + "\n").encode()
    )
    return Document.objects.get(external_id="d2")


def gold_labels(document) -> list[tuple[str, str]]:
    return list(
        DocumentLabel.objects.filter(layer__document=document, layer__is_gold=True)
        .order_by("label__name", "value")
        .values_list("label__name", "value")
    )


def test_the_vote_settles_document_labels_too(cast):
    document = labelled_document(
        cast,
        {
            "alice": {"stance": ["refutes"], "topics": ["security", "politics"]},
            "bob": {"stance": ["refutes"], "topics": ["security"]},
            "carol": {"stance": ["neutral"]},
        },
    )

    merge_into_gold(access=project_access(cast.reviewer, document.project), document=document)

    assert gold_labels(document) == [("stance", "refutes"), ("topics", "security")]


def test_with_one_vote_a_single_choice_label_takes_the_most_voted_value_or_none_on_a_tie(cast):
    document = labelled_document(
        cast,
        {
            "alice": {"stance": ["refutes"], "topics": ["politics"]},
            "bob": {"stance": ["supports"], "topics": ["security"]},
        },
    )

    merge_into_gold(
        access=project_access(cast.reviewer, document.project), document=document, min_votes=1
    )

    assert gold_labels(document) == [("topics", "politics"), ("topics", "security")]


def linked_claims(cast, links: dict) -> Document:
    """alice, bob and carol each mark the same claim, linked as ``links[name]`` says:
    (proposition key or None, stance)."""
    schema = link_schema(cast.project)
    proposition(cast.project, "p-in", "He is still in Panjshir")
    proposition(cast.project, "p-left", "He left Panjshir")
    add_member(project=cast.project, user=UserFactory(username="carol"), role=Role.ANNOTATOR)
    doc = claim_document(cast.project, "d3", None)
    for name, (key, stance) in links.items():
        annotator = get_user_model().objects.get(username=name)
        entry = CatalogueEntry.objects.get(key=key) if key else None
        Span.objects.create(
            layer=claim_layer(doc, annotator),
            label=schema.claim,
            start=0,
            end=34,
            quote=CLAIM_TEXT[0:34],
            entry=entry,
            stance=stance,
        )
    return doc


def gold_links(document) -> list[tuple[str | None, str]]:
    return [
        (span.entry.key if span.entry else None, span.stance)
        for span in Span.objects.filter(layer__document=document, layer__is_gold=True)
    ]


def test_the_vote_links_gold_to_the_entry_and_stance_most_annotators_gave(cast):
    document = linked_claims(
        cast,
        {"alice": ("p-in", "asserts"), "bob": ("p-in", "asserts"), "carol": ("p-left", "denies")},
    )

    merge_into_gold(access=project_access(cast.reviewer, document.project), document=document)

    assert gold_links(document) == [("p-in", "asserts")]


def test_the_vote_leaves_undecided_links_and_stances_out_of_gold(cast):
    document = linked_claims(
        cast,
        {"alice": ("p-in", "asserts"), "bob": ("p-in", "reports"), "carol": ("p-left", "")},
    )

    merge_into_gold(access=project_access(cast.reviewer, document.project), document=document)
    assert gold_links(document) == [("p-in", "")]  # two of three for p-in, no stance twice

    Layer.objects.filter(is_gold=True).delete()
    merge_into_gold(
        access=project_access(cast.reviewer, document.project), document=document, min_votes=1
    )
    assert gold_links(document) == [("p-in", "")]  # p-in twice beats p-left; stances tie


def test_gold_keeps_the_link_it_already_had_when_the_vote_runs_again(cast):
    document = linked_claims(
        cast,
        {"alice": ("p-in", "asserts"), "bob": ("p-in", "asserts"), "carol": ("p-left", "denies")},
    )
    access = project_access(cast.reviewer, document.project)
    merge_into_gold(access=access, document=document)
    Span.objects.filter(layer__is_gold=True).update(
        entry=CatalogueEntry.objects.get(key="p-left"), stance="reports"
    )

    merge_into_gold(access=access, document=document)

    assert gold_links(document) == [("p-left", "reports")]
