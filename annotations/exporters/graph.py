"""Who claims what, as a graph: source entities -> propositions, one edge per stance.

A claim span linked to a proposition (its label's catalogue is ``proposition``) and related
to a span linked to a source entity (either end of a relation, in the same layer) is one
*mention*: evidence for the edge ``source -> proposition`` with the claim's stance. Edges
are kept apart per layer (``gold`` or ``annotators/<name>``, as ``Layer.key`` names them):
export the gold layer alone for the adjudicated graph. Claims with no linked source are
not edges; they stay in the other formats.

Files, under ``graph/``:

- ``graph.graphml``: a directed graph for networkx (``read_graphml``), Gephi, igraph and
  Cytoscape. Nodes are catalogue entries, by key, with ``label`` (the entry's name),
  ``kind`` (proposition or source), ``source_kind``, ``status`` and ``mentions``. Edges
  carry ``stance``, ``layer``, ``weight`` (the mentions), ``documents`` (how many documents
  the mentions are in), ``first_date`` and ``last_date`` (document dates, ``meta``
  ``published`` or ``date``). Two stances between the same pair are two edges: networkx
  reads the file as a ``MultiDiGraph`` then, keyed by edge id.
- ``nodes.csv`` and ``edges.csv``: the same graph as the node and edge tables Gephi's
  spreadsheet import reads (``Id``, ``Label``; ``Source``, ``Target``, ``Type``, ``Weight``).
- ``evidence.csv``: one row per mention (source, proposition, stance, layer, document,
  date, offsets, quote), written as the records stream by; the first four columns name its
  edge (``Source``, ``Target``, ``stance``, ``layer`` in ``edges.csv``).

Nodes and edges are sorted (edge ids follow that order) and no timestamp is written: the
same data gives the same bytes. Memory holds one tally per edge, never the mentions.
The graph covers the whole export: a train/dev/test split does not apply to it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from annotations.exporters import DESCRIPTIONS
from annotations.exporters.base import ArchiveWriter, ExportOptions, LabelInfo, layers_of
from annotations.interchange import CatalogueRecord, DocumentRecord

FOLDER = "graph"
PROPOSITION, SOURCE = "proposition", "source"
DATE_KEYS = ("published", "date")
EVIDENCE_HEADER = (
    "source",
    "proposition",
    "stance",
    "layer",
    "document",
    "date",
    "start",
    "end",
    "quote",
)
NODE_HEADER = ("Id", "Label", "kind", "source_kind", "status", "mentions")
EDGE_HEADER = (
    "Id",
    "Source",
    "Target",
    "Type",
    "Label",
    "Weight",
    "stance",
    "layer",
    "documents",
    "first_date",
    "last_date",
)
# GraphML attribute declarations: (id, for, name, type).
GRAPHML_KEYS = (
    ("n_label", "node", "label", "string"),
    ("n_kind", "node", "kind", "string"),
    ("n_source_kind", "node", "source_kind", "string"),
    ("n_status", "node", "status", "string"),
    ("n_mentions", "node", "mentions", "int"),
    ("e_stance", "edge", "stance", "string"),
    ("e_layer", "edge", "layer", "string"),
    ("e_weight", "edge", "weight", "double"),
    ("e_documents", "edge", "documents", "int"),
    ("e_first_date", "edge", "first_date", "string"),
    ("e_last_date", "edge", "last_date", "string"),
)

EdgeKey = tuple[str, str, str, str]  # source, proposition, layer, stance


@dataclass(frozen=True)
class Mention:
    source: str
    proposition: str
    stance: str
    layer: str
    document: str
    date: str
    start: int
    end: int
    quote: str

    @property
    def edge(self) -> EdgeKey:
        return (self.source, self.proposition, self.layer, self.stance)


@dataclass
class EdgeTally:
    mentions: int = 0
    documents: int = 0
    first_date: str = ""
    last_date: str = ""
    last_document: str | None = None

    def add(self, mention: Mention) -> None:
        self.mentions += 1
        # Records come one document at a time: a new document is a change of document.
        if mention.document != self.last_document:
            self.documents += 1
            self.last_document = mention.document
        if mention.date:
            if not self.first_date or mention.date < self.first_date:
                self.first_date = mention.date
            self.last_date = max(self.last_date, mention.date)


@dataclass
class GraphTally:
    """What the graph files need once every record went by: one tally per edge."""

    edges: dict[EdgeKey, EdgeTally] = field(default_factory=dict)

    def add(self, mention: Mention) -> None:
        self.edges.setdefault(mention.edge, EdgeTally()).add(mention)

    def sorted_edges(self) -> list[tuple[str, EdgeKey, EdgeTally]]:
        """The edges in a fixed order, with their ids (``e1``...)."""
        return [
            (f"e{number}", key, self.edges[key])
            for number, key in enumerate(sorted(self.edges), start=1)
        ]


def document_date(meta: Mapping[str, object]) -> str:
    """The first ten characters of the document's date in its meta, or ``""``."""
    for key in DATE_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value:
            return value[:10]
    return ""


def mentions_of(
    record: DocumentRecord, options: ExportOptions, kinds: Mapping[str, str]
) -> Iterator[Mention]:
    """Every claim -> source pair of the record's exported layers, in span order; one
    mention per distinct source entity of a claim. ``kinds`` maps a span label to the
    catalogue it links to."""
    day = document_date(record.meta)
    for layer in layers_of(record, options):
        neighbours: dict[int, list[int]] = {}
        for relation in layer.relations:
            neighbours.setdefault(relation.head, []).append(relation.tail)
            neighbours.setdefault(relation.tail, []).append(relation.head)
        for index, span in enumerate(layer.spans):
            if span.entry is None or kinds.get(span.label) != PROPOSITION:
                continue
            sources = sorted(
                {
                    other.entry
                    for other in (layer.spans[i] for i in neighbours.get(index, ()))
                    if other.entry is not None and kinds.get(other.label) == SOURCE
                }
            )
            for source in sources:
                yield Mention(
                    source=source,
                    proposition=span.entry,
                    stance=span.stance,
                    layer=layer.key,
                    document=record.id,
                    date=day,
                    start=span.start,
                    end=span.end,
                    quote=record.text[span.start : span.end],
                )


def _csv_line(values: Iterable[object]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(list(values))
    return out.getvalue().encode()


@dataclass(frozen=True)
class Node:
    key: str
    name: str
    kind: str
    source_kind: str
    status: str
    mentions: int


def nodes_of(
    tally: GraphTally, catalogue: Sequence[CatalogueRecord], kinds: Mapping[str, str]
) -> list[Node]:
    """The entries that take part in an edge, by key; an entry missing from the catalogue
    is named by its key."""
    entries = {entry.key: entry for entry in catalogue}
    mentions: dict[str, int] = {}
    kind_of: dict[str, str] = {}
    for (source, proposition, _, _), edge in tally.edges.items():
        for key, kind in ((source, SOURCE), (proposition, PROPOSITION)):
            mentions[key] = mentions.get(key, 0) + edge.mentions
            kind_of[key] = kind
    nodes = []
    for key in sorted(mentions):
        entry = entries.get(key)
        nodes.append(
            Node(
                key=key,
                name=entry.name if entry else key,
                kind=kind_of[key],
                source_kind=entry.source_kind if entry else "",
                status=entry.status if entry else "",
                mentions=mentions[key],
            )
        )
    return nodes


def graphml(nodes: Sequence[Node], edges: Sequence[tuple[str, EdgeKey, EdgeTally]]) -> str:
    """The graph as GraphML (UTF-8, one element a line)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
    ]
    lines += [
        f'  <key id="{key}" for="{owner}" attr.name="{name}" attr.type="{kind}"/>'
        for key, owner, name, kind in GRAPHML_KEYS
    ]
    lines.append('  <graph id="claims" edgedefault="directed">')

    def data(key: str, value: object) -> str:
        return f'<data key="{key}">{escape(str(value))}</data>'

    for node in nodes:
        lines.append(
            f"    <node id={quoteattr(node.key)}>"
            + data("n_label", node.name)
            + data("n_kind", node.kind)
            + data("n_source_kind", node.source_kind)
            + data("n_status", node.status)
            + data("n_mentions", node.mentions)
            + "</node>"
        )
    for edge_id, (source, proposition, layer, stance), tally in edges:
        lines.append(
            f'    <edge id="{edge_id}" source={quoteattr(source)} '
            f"target={quoteattr(proposition)}>"
            + data("e_stance", stance)
            + data("e_layer", layer)
            + data("e_weight", float(tally.mentions))
            + data("e_documents", tally.documents)
            + data("e_first_date", tally.first_date)
            + data("e_last_date", tally.last_date)
            + "</edge>"
        )
    lines += ["  </graph>", "</graphml>"]
    return "\n".join(lines) + "\n"


class GraphExporter:
    name = "graph"
    extension = ".graphml"
    media_type = "application/graphml+xml"
    description = DESCRIPTIONS["graph"]

    def __init__(self) -> None:
        self._catalogue: tuple[CatalogueRecord, ...] = ()

    def use_catalogue(self, entries: Sequence[CatalogueRecord]) -> None:
        """The project's catalogue entries: the nodes' names, kinds of source, statuses."""
        self._catalogue = tuple(entries)

    def write(
        self,
        records: Iterable[DocumentRecord],
        archive: ArchiveWriter,
        options: ExportOptions,
        schema: Sequence[LabelInfo],
    ) -> None:
        kinds = {label.name: label.catalogue for label in schema if label.kind == "span"}
        tally = GraphTally()
        # Evidence first, streamed. Edge ids follow the sorted order, known only at the
        # end: a row names its edge by what makes it one (ends, layer, stance).
        with archive.open(f"{FOLDER}/evidence.csv") as out:
            out.write(_csv_line(EVIDENCE_HEADER))
            for record in records:
                for mention in mentions_of(record, options, kinds):
                    tally.add(mention)
                    out.write(
                        _csv_line(
                            (
                                mention.source,
                                mention.proposition,
                                mention.stance,
                                mention.layer,
                                mention.document,
                                mention.date,
                                mention.start,
                                mention.end,
                                mention.quote,
                            )
                        )
                    )
        edges = tally.sorted_edges()
        nodes = nodes_of(tally, self._catalogue, kinds)
        archive.write_bytes(f"{FOLDER}/graph.graphml", graphml(nodes, edges).encode())
        node_rows = [_csv_line(NODE_HEADER)] + [
            _csv_line(
                (node.key, node.name, node.kind, node.source_kind, node.status, node.mentions)
            )
            for node in nodes
        ]
        archive.write_bytes(f"{FOLDER}/nodes.csv", b"".join(node_rows))
        edge_rows = [_csv_line(EDGE_HEADER)] + [
            _csv_line(
                (
                    edge_id,
                    source,
                    proposition,
                    "Directed",
                    stance,
                    tally.mentions,
                    stance,
                    layer,
                    tally.documents,
                    tally.first_date,
                    tally.last_date,
                )
            )
            for edge_id, (source, proposition, layer, stance), tally in edges
        ]
        archive.write_bytes(f"{FOLDER}/edges.csv", b"".join(edge_rows))
