"""The claim matrix page: cells, contradictions, a cell's mentions, filters, blindness."""

from __future__ import annotations

import re

import pytest

from annotations.services.assignments import assign_documents
from tests.claims import document, layer, link_schema, mention, proposition, source_entity

pytestmark = pytest.mark.django_db

URL = "/projects/panjshir/claims/"
MENTIONS = re.compile(r'<section class="card" id="mentions".*?</section>', re.S)


def opened_cell(client, user, proposition, source) -> tuple[str, str]:
    """The page with the cell (proposition, source) opened, and its list of mentions."""
    client.force_login(user)
    html = client.get(URL, {"proposition": proposition.pk, "source": source.pk}).content.decode()
    return html, MENTIONS.search(html)[0]


@pytest.fixture
def linked(cast):
    schema = link_schema(cast.project)
    fled = proposition(cast.project, "saleh-fled", "Saleh fled to Tajikistan")
    tass = source_entity(cast.project, "tass", "TASS", source_kind="agency")
    saleh = source_entity(cast.project, "saleh", "Amrullah Saleh")
    tass_story = document(cast.project, "002", "2021-09-03")
    denial = document(cast.project, "001", "2021-09-04")
    assign_documents(project=cast.project)
    mention(schema, layer(tass_story), fled, "asserts", tass)
    mention(schema, layer(denial, cast.alice), fled, "denies", saleh)
    mention(schema, layer(denial, cast.bob), fled, "denies", saleh)
    return fled, tass, saleh, tass_story, denial


def test_an_empty_project_explains_where_the_rows_come_from(client, cast):
    client.force_login(cast.manager)

    response = client.get(URL)

    assert response.status_code == 200
    assert "No propositions yet" in response.content.decode()
    assert 'id="claim-matrix"' not in response.content.decode()


def test_propositions_without_mentions_say_how_to_link_claims(client, cast):
    link_schema(cast.project)
    proposition(cast.project, "saleh-fled", "Saleh fled to Tajikistan")
    client.force_login(cast.reviewer)

    html = client.get(URL).content.decode()

    assert "No mentions" in html
    assert "Saleh fled to Tajikistan" in html


def test_the_matrix_shows_counts_and_marks_the_contradiction(client, cast, linked):
    fled, tass, saleh, *_ = linked
    client.force_login(cast.reviewer)

    html = client.get(URL).content.decode()

    row = re.search(rf'<tr data-proposition="{fled.pk}" class="contradicted">.*?</tr>', html, re.S)
    assert row is not None
    assert "contradicted</span>" in row[0]
    tass_cell = re.search(
        rf'<td class="cell contradiction" data-source="{tass.pk}">.*?</td>', html, re.S
    )
    saleh_cell = re.search(
        rf'<td class="cell contradiction" data-source="{saleh.pk}">.*?</td>', html, re.S
    )
    assert tass_cell is not None
    assert 'asserts</span> <span class="count">1' in tass_cell[0]
    assert saleh_cell is not None
    assert 'denies</span> <span class="count">2' in saleh_cell[0]
    assert 'id="matrix-legend"' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline"' in html


def test_opening_a_cell_lists_its_mentions_with_links_to_review(client, cast, linked):
    fled, _, saleh, _, denial = linked

    _, section = opened_cell(client, cast.reviewer, fled, saleh)

    assert "2 mentions" in section
    assert section.count(f'href="/projects/panjshir/documents/{denial.pk}/review/"') == 2
    assert all(word in section for word in ("alice", "bob", "2021-09-04"))


def test_an_annotator_sees_her_own_mentions_and_links_to_annotate(client, cast, linked):
    fled, tass, saleh, _, denial = linked

    html, section = opened_cell(client, cast.alice, fled, saleh)

    assert "1 mention" in section
    assert f'href="/projects/panjshir/documents/{denial.pk}/annotate/"' in section
    assert "bob" not in section
    # Gold is not hers to see: TASS's asserting claim lives in gold only.
    assert f'data-source="{tass.pk}"' not in html
    assert 'name="layer"' not in html
    assert 'name="annotator"' not in html


def test_the_layer_and_date_filters_change_the_counts(client, cast, linked):
    _, _, saleh, *_ = linked
    client.force_login(cast.manager)

    html = client.get(URL, {"annotator": "alice", "from": "2021-09-04"}).content.decode()

    cell = re.search(rf'data-source="{saleh.pk}">.*?</td>', html, re.S)[0]
    assert 'denies</span> <span class="count">1' in cell
    assert "TASS" not in re.search(r"<thead>.*?</thead>", html, re.S)[0]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"layer": "everything"}, "layer"),
        ({"to": "yesterday"}, "to"),
        ({"proposition": "12345678", "source": "none"}, "proposition"),
        ({"proposition": "1", "source": "x"}, "proposition"),
    ],
)
def test_bad_parameters_get_400_naming_the_field(client, cast, linked, params, field):
    client.force_login(cast.manager)

    response = client.get(URL, params)

    assert response.status_code == 400
    assert f"{field}: " in response.content.decode()


def test_a_bad_source_is_named(client, cast, linked):
    fled, *_ = linked
    client.force_login(cast.manager)

    response = client.get(URL, {"proposition": fled.pk, "source": "x"})

    assert response.status_code == 400
    assert "source: must be the id of an approved source entity" in response.content.decode()


@pytest.mark.parametrize("who", ["manager", "reviewer", "alice"])
def test_every_member_finds_the_page_in_the_project_nav(client, cast, who):
    client.force_login(getattr(cast, who))

    html = client.get("/projects/panjshir/guidelines/").content.decode()

    assert f'<a href="{URL}">Claims</a>' in html


def test_outsiders_get_404(client, cast):
    client.force_login(cast.outsider)

    assert client.get(URL).status_code == 404
