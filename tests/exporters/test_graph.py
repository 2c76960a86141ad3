"""The graph export: GraphML that networkx reads, CSV tables pandas and csv read, the
mentions as evidence, the same bytes for the same data."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import networkx as nx
import pandas as pd

from annotations.exporters.archive import write_archive
from annotations.exporters.base import ExportOptions, LabelInfo
from annotations.interchange import CatalogueRecord, DocumentRecord, Relation, Span
from tests.exporters.conftest import make_card

TASS_TEXT = "A source in Kabul told TASS that Saleh left Panjshir for Tajikistan."
SALEH_TEXT = "Saleh said: I am still in Panjshir. Reports that I fled are baseless."
SCHEMA = (
    LabelInfo("claim", catalogue="proposition", stance_values=["asserts", "denies"]),
    LabelInfo("source", catalogue="source"),
    LabelInfo("sentiment"),
    LabelInfo("attributed_to", kind="relation", head="claim", tail="source"),
)
CATALOGUE = (
    CatalogueRecord("saleh-fled", "proposition", "Saleh fled to Tajikistan"),
    CatalogueRecord("saleh-stays", "proposition", "Saleh is still in Panjshir"),
    CatalogueRecord("kabul", "source", "A source in Kabul", "anonymous"),
    CatalogueRecord("saleh", "source", "Amrullah Saleh", "person"),
    CatalogueRecord("unused", "source", "Nobody", "person", status="proposed"),
)


def span(text: str, part: str, label: str, entry: str | None = None, stance: str = "") -> Span:
    start = text.index(part)
    return Span(start, start + len(part), label, {}, entry, stance)


def records() -> list[DocumentRecord]:
    tass_gold = [
        span(TASS_TEXT, "A source in Kabul", "source", "kabul"),
        span(TASS_TEXT, "Saleh left Panjshir for Tajikistan", "claim", "saleh-fled", "asserts"),
    ]
    saleh_spans = [
        span(SALEH_TEXT, "Saleh", "source", "saleh"),
        span(SALEH_TEXT, "I am still in Panjshir", "claim", "saleh-stays", "asserts"),
        span(SALEH_TEXT, "Reports that I fled", "claim", "saleh-fled", "denies"),
        span(SALEH_TEXT, "baseless", "sentiment"),
    ]
    return [
        DocumentRecord(
            id="002",
            text=TASS_TEXT,
            meta={"published": "2021-09-03"},
            gold_state="final",
            gold=tass_gold,
            gold_relations=[Relation("attributed_to", 1, 0)],
        ),
        DocumentRecord(
            id="001",
            text=SALEH_TEXT,
            meta={"published": "2021-09-04T06:41+05:30"},
            annotations={"alice": saleh_spans, "bob": saleh_spans[:2]},
            # alice drew one link from the source to the claim: it counts all the same.
            relations={
                "alice": [Relation("attributed_to", 1, 0), Relation("attributed_to", 0, 2)],
                "bob": [Relation("attributed_to", 1, 0)],
            },
        ),
    ]


def export(tmp_path: Path, options: ExportOptions | None = None, name: str = "graph.zip"):
    path = tmp_path / name
    stats = write_archive(
        iter(records()),
        path,
        format="graph",
        options=options or ExportOptions(),
        card=make_card(labels=SCHEMA, catalogue=CATALOGUE),
    )
    return path, stats


def test_the_graphml_loads_in_networkx_with_the_edges_and_their_attributes(tmp_path: Path):
    path, stats = export(tmp_path)

    with zipfile.ZipFile(path) as archive:
        graph = nx.read_graphml(io.BytesIO(archive.read("graph/graph.graphml")))

    assert stats.documents == 2
    assert graph.is_directed()
    edges = {
        (source, target, data["layer"], data["stance"]): data
        for source, target, data in graph.edges(data=True)
    }
    assert set(edges) == {
        ("kabul", "saleh-fled", "gold", "asserts"),
        ("saleh", "saleh-stays", "annotators/alice", "asserts"),
        ("saleh", "saleh-fled", "annotators/alice", "denies"),
        ("saleh", "saleh-stays", "annotators/bob", "asserts"),
    }
    fled = edges["kabul", "saleh-fled", "gold", "asserts"]
    assert (fled["weight"], fled["documents"]) == (1.0, 1)
    assert (fled["first_date"], fled["last_date"]) == ("2021-09-03", "2021-09-03")
    assert graph.nodes["saleh"] == {
        "label": "Amrullah Saleh",
        "kind": "source",
        "source_kind": "person",
        "status": "approved",
        "mentions": 3,
    }
    assert graph.nodes["saleh-fled"]["kind"] == "proposition"
    assert "unused" not in graph  # no edge: not a node


def test_two_stances_between_one_pair_are_two_edges_of_a_multigraph(tmp_path: Path):
    both = records()[1]
    both.annotations["alice"] = [
        *both.annotations["alice"],
        span(SALEH_TEXT, "Reports that I fled are baseless", "claim", "saleh-fled", "asserts"),
    ]
    both.relations["alice"] = [*both.relations["alice"], Relation("attributed_to", 4, 0)]
    path = tmp_path / "multi.zip"
    write_archive(
        iter([both]),
        path,
        format="graph",
        options=ExportOptions(layers="annotators"),
        card=make_card(labels=SCHEMA, catalogue=CATALOGUE),
    )

    with zipfile.ZipFile(path) as archive:
        graph = nx.read_graphml(io.BytesIO(archive.read("graph/graph.graphml")))

    assert isinstance(graph, nx.MultiDiGraph)
    stances = sorted(data["stance"] for _, _, data in graph.edges("saleh", data=True))
    assert stances == ["asserts", "asserts", "asserts", "denies"]


def test_the_csv_tables_load_in_pandas_and_evidence_names_its_edge(tmp_path: Path):
    path, _ = export(tmp_path, ExportOptions(layers="gold"))

    with zipfile.ZipFile(path) as archive:
        nodes = pd.read_csv(io.BytesIO(archive.read("graph/nodes.csv")), keep_default_na=False)
        edges = pd.read_csv(io.BytesIO(archive.read("graph/edges.csv")), keep_default_na=False)
        evidence = list(csv.DictReader(io.StringIO(archive.read("graph/evidence.csv").decode())))

    assert nodes.to_dict("records") == [
        {
            "Id": "kabul",
            "Label": "A source in Kabul",
            "kind": "source",
            "source_kind": "anonymous",
            "status": "approved",
            "mentions": 1,
        },
        {
            "Id": "saleh-fled",
            "Label": "Saleh fled to Tajikistan",
            "kind": "proposition",
            "source_kind": "",
            "status": "approved",
            "mentions": 1,
        },
    ]
    assert edges[["Id", "Source", "Target", "Type", "Label", "Weight", "layer"]].to_dict(
        "records"
    ) == [
        {
            "Id": "e1",
            "Source": "kabul",
            "Target": "saleh-fled",
            "Type": "Directed",
            "Label": "asserts",
            "Weight": 1,
            "layer": "gold",
        }
    ]
    assert evidence == [
        {
            "source": "kabul",
            "proposition": "saleh-fled",
            "stance": "asserts",
            "layer": "gold",
            "document": "002",
            "date": "2021-09-03",
            "start": str(TASS_TEXT.index("Saleh left")),
            "end": str(TASS_TEXT.index("Saleh left") + len("Saleh left Panjshir for Tajikistan")),
            "quote": "Saleh left Panjshir for Tajikistan",
        }
    ]


def test_the_same_data_gives_the_same_bytes(tmp_path: Path):
    first, _ = export(tmp_path, name="a.zip")
    second, _ = export(tmp_path, name="b.zip")

    with zipfile.ZipFile(first) as one, zipfile.ZipFile(second) as two:
        for name in ("graph/graph.graphml", "graph/nodes.csv", "graph/edges.csv"):
            assert one.read(name) == two.read(name), name
        assert one.read("graph/evidence.csv") == two.read("graph/evidence.csv")


def test_no_linked_claims_give_an_empty_graph_that_still_loads(tmp_path: Path):
    plain = DocumentRecord(id="x", text="Nothing linked.", annotations={"alice": []})
    path = tmp_path / "empty.zip"
    write_archive(iter([plain]), path, format="graph", options=ExportOptions(), card=make_card())

    with zipfile.ZipFile(path) as archive:
        graph = nx.read_graphml(io.BytesIO(archive.read("graph/graph.graphml")))
        edges = pd.read_csv(io.BytesIO(archive.read("graph/edges.csv")))

    assert (graph.number_of_nodes(), graph.number_of_edges(), len(edges)) == (0, 0, 0)
