"""The graph export from the database: the records carry each span's entry and stance,
the card the catalogue, and the graph names its nodes after the catalogue."""

from __future__ import annotations

import io
import zipfile

import networkx as nx
import pytest

from annotations.exporters.base import ExportOptions
from annotations.services.export_jobs import write_export
from tests.claims import document, layer, link_schema, mention, proposition, source_entity

pytestmark = pytest.mark.django_db


def test_a_contradiction_in_the_database_becomes_two_edges_into_one_proposition(cast, tmp_path):
    schema = link_schema(cast.project)
    fled = proposition(cast.project, "saleh-fled", "Saleh fled to Tajikistan")
    tass = source_entity(cast.project, "tass", "TASS", source_kind="agency")
    saleh = source_entity(cast.project, "saleh", "Amrullah Saleh")
    mention(schema, layer(document(cast.project, "002", "2021-09-03")), fled, "asserts", tass)
    mention(schema, layer(document(cast.project, "001", "2021-09-04")), fled, "denies", saleh)
    target = tmp_path / "graph.zip"

    stats = write_export(
        project=cast.project, format="graph", options=ExportOptions(layers="gold"), target=target
    )

    with zipfile.ZipFile(target) as archive:
        graph = nx.read_graphml(io.BytesIO(archive.read("graph/graph.graphml")))
    assert stats.documents == 2
    assert sorted((s, t, d["stance"]) for s, t, d in graph.edges(data=True)) == [
        ("saleh", "saleh-fled", "denies"),
        ("tass", "saleh-fled", "asserts"),
    ]
    assert graph.nodes["tass"]["label"] == "TASS"
    assert graph.nodes["saleh-fled"]["label"] == "Saleh fled to Tajikistan"
