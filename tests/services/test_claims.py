"""The claim matrix service: which layers count, contradictions, filters, blindness."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotations.models import LabelType
from annotations.services.assignments import assign_documents
from annotations.services.claims import (
    MatrixFilters,
    cell_mentions,
    claim_matrix,
    parse_filters,
)
from tests.access import project_access
from tests.claims import document, layer, link_schema, mention, proposition, source_entity

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(cast):
    schema = link_schema(cast.project)
    fled = proposition(cast.project, "saleh-fled", "Saleh fled to Tajikistan")
    stays = proposition(cast.project, "saleh-stays", "Saleh is still in Panjshir")
    tass = source_entity(cast.project, "tass", "TASS", source_kind="agency")
    saleh = source_entity(cast.project, "saleh", "Amrullah Saleh")
    return schema, fled, stays, tass, saleh


def cells(matrix):
    """{(proposition name, source name or None): {stance: count}} for the non-empty cells."""
    found = {}
    for row in matrix.rows:
        for cell, column in zip(row.cells, matrix.columns, strict=True):
            if cell.total:
                found[row.entry.name, column.entry.name if column.entry else None] = cell.counts
    return found


def matrix_for(user, project, **filters):
    return claim_matrix(project_access(user, project), MatrixFilters(**filters))


def test_gold_counts_where_it_exists_and_the_annotators_elsewhere(cast, world):
    schema, fled, _, tass, saleh = world
    adjudicated = document(cast.project, "001", "2021-09-03")
    mention(schema, layer(adjudicated), fled, "asserts", tass)
    mention(schema, layer(adjudicated, cast.alice), fled, "denies", tass)
    open_doc = document(cast.project, "002", "2021-09-04")
    mention(schema, layer(open_doc, cast.alice), fled, "denies", saleh)
    mention(schema, layer(open_doc, cast.bob), fled, "denies", saleh)
    unsubmitted = document(cast.project, "003", "2021-09-05")
    mention(schema, layer(unsubmitted, cast.bob, submitted=False), fled, "asserts", saleh)

    matrix = matrix_for(cast.reviewer, cast.project)

    assert cells(matrix) == {
        ("Saleh fled to Tajikistan", "TASS"): {"asserts": 1},
        ("Saleh fled to Tajikistan", "Amrullah Saleh"): {"denies": 2},
    }
    assert matrix.mentions == 3
    # The control: annotators only, gold ignored; one annotator's layers only.
    assert cells(matrix_for(cast.reviewer, cast.project, layer="annotators")) == {
        ("Saleh fled to Tajikistan", "TASS"): {"denies": 1},
        ("Saleh fled to Tajikistan", "Amrullah Saleh"): {"denies": 2},
    }
    assert cells(matrix_for(cast.manager, cast.project, annotator="bob")) == {
        ("Saleh fled to Tajikistan", "TASS"): {"asserts": 1},
        ("Saleh fled to Tajikistan", "Amrullah Saleh"): {"denies": 1},
    }


def test_one_source_asserting_and_another_denying_is_a_contradiction(cast, world):
    schema, fled, stays, tass, saleh = world
    doc = document(cast.project, "001", "2021-09-03")
    gold = layer(doc)
    mention(schema, gold, fled, "asserts", tass)
    mention(schema, gold, fled, "denies", saleh)
    # One source both asserting and denying contradicts itself, not another source.
    mention(schema, gold, stays, "asserts", saleh)
    mention(schema, gold, stays, "denies", saleh)
    mention(schema, gold, stays, "reports", tass)

    matrix = matrix_for(cast.reviewer, cast.project)

    by_name = {row.entry.name: row for row in matrix.rows}
    assert by_name["Saleh fled to Tajikistan"].contradiction
    assert [cell.contradiction for cell in by_name["Saleh fled to Tajikistan"].cells] == [
        True,
        True,
    ]
    assert not by_name["Saleh is still in Panjshir"].contradiction
    assert not any(cell.contradiction for cell in by_name["Saleh is still in Panjshir"].cells)
    assert matrix.contradictions == 1


def test_a_claim_with_no_linked_source_has_a_column_of_its_own(cast, world):
    schema, fled, _, tass, _ = world
    pending = source_entity(cast.project, "kabul", "A source in Kabul", status="proposed")
    gold = layer(document(cast.project, "001", None))
    mention(schema, gold, fled, "reports")
    mention(schema, gold, fled, "asserts", pending)  # not approved: no column
    mention(schema, gold, fled, "questions", tass, reverse=True)  # drawn source -> claim
    mention(schema, gold, fled, "asserts", tass)
    mention(schema, gold, fled, "asserts", tass)

    matrix = matrix_for(cast.manager, cast.project)

    assert cells(matrix) == {
        ("Saleh fled to Tajikistan", "TASS"): {"questions": 1, "asserts": 2},
        ("Saleh fled to Tajikistan", None): {"reports": 1, "asserts": 1},
    }
    assert [column.entry.name if column.entry else None for column in matrix.columns] == [
        "TASS",
        None,
    ]
    assert matrix.rows[0].totals == {"reports": 1, "asserts": 3, "questions": 1}


def test_a_claim_attributed_to_two_sources_counts_in_both_and_once_in_the_total(cast, world):
    schema, fled, _, tass, saleh = world
    mention(schema, layer(document(cast.project, "001", None)), fled, "reports", tass, saleh)

    matrix = matrix_for(cast.manager, cast.project)

    assert cells(matrix) == {
        ("Saleh fled to Tajikistan", "TASS"): {"reports": 1},
        ("Saleh fled to Tajikistan", "Amrullah Saleh"): {"reports": 1},
    }
    assert matrix.rows[0].total == 1


def test_only_approved_propositions_are_rows(cast, world):
    schema, fled, stays, tass, _ = world
    rumour = proposition(cast.project, "massoud-fled", "Massoud fled", status="proposed")
    gold = layer(document(cast.project, "001", None))
    mention(schema, gold, rumour, "asserts", tass)

    matrix = matrix_for(cast.manager, cast.project)

    assert [row.entry.name for row in matrix.rows] == [fled.name, stays.name]
    assert matrix.mentions == 0
    assert matrix.propositions == 2


def test_the_date_range_and_the_label_filter(cast, world):
    schema, fled, _, tass, _ = world
    rumour = LabelType.objects.create(
        project=cast.project,
        name="rumour",
        catalogue="proposition",
        stance_values=["spreads", "refutes"],
        position=9,
    )
    for external_id, day in (("001", "2021-09-03"), ("002", "2021-09-04T06:41+05:30")):
        mention(schema, layer(document(cast.project, external_id, day)), fled, "asserts", tass)
    undated = layer(document(cast.project, "003", None))
    mention(schema, undated, fled, "asserts", tass)
    schema.claim = rumour
    mention(schema, undated, fled, "spreads", tass)

    everything = matrix_for(cast.manager, cast.project)
    assert cells(everything)["Saleh fled to Tajikistan", "TASS"] == {"asserts": 3, "spreads": 1}
    assert everything.stances[:4] == ["asserts", "denies", "reports", "questions"]
    assert everything.timeline == {
        (fled.pk, "2021-09-03", "asserts"): 1,
        (fled.pk, "2021-09-04", "asserts"): 1,
    }
    assert everything.undated == 2

    since = matrix_for(cast.manager, cast.project, date_from=date(2021, 9, 4))
    assert cells(since)["Saleh fled to Tajikistan", "TASS"] == {"asserts": 1}
    until = matrix_for(cast.manager, cast.project, date_to=date(2021, 9, 3))
    assert cells(until)["Saleh fled to Tajikistan", "TASS"] == {"asserts": 1}

    rumours = matrix_for(cast.manager, cast.project, label="rumour")
    assert cells(rumours) == {("Saleh fled to Tajikistan", "TASS"): {"spreads": 1}}
    assert rumours.stances == ["spreads", "refutes"]


def test_an_annotator_of_a_blind_project_counts_her_own_layer_only(cast, world):
    schema, fled, _, tass, saleh = world
    doc = document(cast.project, "001", "2021-09-03")
    assign_documents(project=cast.project)
    mention(schema, layer(doc), fled, "denies", saleh)  # gold: never an annotator's
    mention(schema, layer(doc, cast.alice, submitted=False), fled, "asserts", tass)
    mention(schema, layer(doc, cast.bob), fled, "reports", saleh)

    alice = project_access(cast.alice, cast.project)
    matrix = claim_matrix(alice, parse_filters(alice, {"layer": "gold"}))

    assert cells(matrix) == {("Saleh fled to Tajikistan", "TASS"): {"asserts": 1}}
    with pytest.raises(ValidationError) as refused:
        parse_filters(alice, {"annotator": "bob"})
    assert "annotator" in refused.value.message_dict
    bob_cell = {"proposition_id": fled.pk, "source": str(saleh.pk)}
    assert cell_mentions(alice, MatrixFilters(layer="annotators"), **bob_cell) == ([], 0)


def test_in_a_project_that_is_not_blind_she_also_counts_the_others_submitted_layers(cast, world):
    schema, fled, _, tass, saleh = world
    cast.project.blind = False
    cast.project.save()
    doc = document(cast.project, "001", "2021-09-03")
    assign_documents(project=cast.project)
    mention(schema, layer(doc), fled, "denies", saleh)
    mention(schema, layer(doc, cast.alice, submitted=False), fled, "asserts", tass)
    mention(schema, layer(doc, cast.bob), fled, "reports", saleh)

    alice = project_access(cast.alice, cast.project)
    matrix = claim_matrix(alice, parse_filters(alice, {}))

    assert cells(matrix) == {
        ("Saleh fled to Tajikistan", "TASS"): {"asserts": 1},
        ("Saleh fled to Tajikistan", "Amrullah Saleh"): {"reports": 1},
    }
    assert parse_filters(alice, {"annotator": "bob"}).annotator == "bob"


def test_a_cells_mentions_come_by_document_date_with_their_layer_and_quote(cast, world):
    schema, fled, _, tass, _ = world
    late = document(cast.project, "001", "2021-09-23")
    early = document(cast.project, "002", "2021-09-03")
    undated = document(cast.project, "003", None)
    mention(schema, layer(late), fled, "asserts", tass)
    mention(schema, layer(early, cast.alice), fled, "asserts", tass)
    mention(schema, layer(undated, cast.bob), fled, "", tass)

    reviewer = project_access(cast.reviewer, cast.project)
    mentions, total = cell_mentions(reviewer, MatrixFilters(), fled.pk, str(tass.pk))

    assert total == 3
    assert [(m.external_id, m.date, m.layer, m.stance) for m in mentions] == [
        ("002", "2021-09-03", "alice", "asserts"),
        ("001", "2021-09-23", "gold", "asserts"),
        ("003", "", "bob", "unspecified"),
    ]
    assert mentions[0].quote == "Saleh said he is still in Panjshir."[:34]
    assert cell_mentions(reviewer, MatrixFilters(), fled.pk, "none", limit=5) == ([], 0)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"layer": "everything"}, "layer"),
        ({"label": "sentiment"}, "label"),
        ({"annotator": "nobody"}, "annotator"),
        ({"from": "3 Sept"}, "from"),
        ({"from": "2021-09-05", "to": "2021-09-04"}, "to"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(cast, world, params, field):
    with pytest.raises(ValidationError) as refused:
        parse_filters(project_access(cast.manager, cast.project), params)

    assert field in refused.value.message_dict


def test_the_number_of_queries_does_not_grow_with_the_corpus(cast, world):
    schema, fled, stays, tass, saleh = world

    def grow(start: int, count: int) -> None:
        for number in range(start, start + count):
            doc = document(cast.project, f"{number:03d}", f"2021-09-{1 + number % 28:02d}")
            mention(schema, layer(doc), fled, "asserts", tass)
            mention(schema, layer(doc, cast.alice), stays, "denies", saleh)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            matrix_for(cast.manager, cast.project)
        return len(captured)

    grow(0, 3)
    few = queries()
    grow(3, 30)

    assert queries() == few


def test_an_empty_project_gives_an_empty_matrix(cast):
    matrix = matrix_for(cast.manager, cast.project)

    assert (matrix.rows, matrix.columns, matrix.mentions, matrix.propositions) == ([], [], 0, 0)
