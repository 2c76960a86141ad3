"""CoNLL-style BIO: one tab-separated file per layer, one token a line, one column per label.

Each file starts with two comment lines naming the columns and the tokeniser, then holds one
block per document: ``# doc_id = ...``, one ``# <label> = <value>`` line per value the layer
gives the document for a document-level label (sorted by label, then value), one
``# link = <label> <start> <end> <entry key> [<stance>]`` line per span linked to a
catalogue entry (in the layer's order), and one line per token::

    # columns = TOKEN START END claim source sentiment
    # tokeniser = annotations.exporters.tokens (see README.md)
    # doc_id = 000
    # stance = refutes
    Saleh	204	209	O	B-source	O

START and END are the token's code-point offsets, so a reader can rebuild every span exactly:
a span is a ``B-label`` token and the ``I-label`` tokens after it in the same column. A column
per label lets spans of different labels overlap (a source inside a claim); two overlapping
spans of the same label in one layer cannot both be written, so the later one is left out and
reported. Relations and attributes have no place in BIO: use JSONL, brat, XMI or Parquet.

The tokens come from ``tokens.py``; the export's ``alignment`` option decides what happens to a
span edge inside a token, and every such case is written to ``report.jsonl``. An annotator's
file holds only the documents that annotator annotated, ``gold.conll`` only the documents
with a gold layer (a document adjudicated with nothing to mark is there, all ``O``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from annotations.exporters import DESCRIPTIONS
from annotations.exporters.base import (
    ArchiveWriter,
    ExportOptions,
    LabelInfo,
    Layer,
    layers_of,
    part_prefix,
    parts,
)
from annotations.exporters.tokens import TokenIndex, document_tokens
from annotations.interchange import DocumentRecord

TOKENISER_NOTE = "# tokeniser = annotations.exporters.tokens (see README.md)\n"


def span_columns(schema: Sequence[LabelInfo], options: ExportOptions) -> list[str]:
    """The span labels that get a column, in schema order."""
    return [
        label.name
        for label in schema
        if label.kind == "span" and (options.labels is None or label.name in options.labels)
    ]


class ConllExporter:
    name = "conll"
    extension = ".conll"
    media_type = "text/tab-separated-values"
    description = DESCRIPTIONS["conll"]

    def write(
        self,
        records: Iterable[DocumentRecord],
        archive: ArchiveWriter,
        options: ExportOptions,
        schema: Sequence[LabelInfo],
    ) -> None:
        columns = span_columns(schema, options)
        column_of = {label: index for index, label in enumerate(columns)}
        header = ("# columns = " + " ".join(["TOKEN", "START", "END", *columns]) + "\n").encode()
        started: set[str] = set()
        every_o = "\t".join(["O"] * len(columns)) + "\n"
        for split, record in parts(records, options):
            layers = layers_of(record, options)
            edges = [edge for layer in layers for s in layer.spans for edge in (s.start, s.end)]
            index, cuts = document_tokens(record.text, edges, options.alignment)
            for cut in cuts:
                archive.problem("token_split", record.id, "all", offset=cut)
            # Every layer's file has the same tokens: their columns before the tags, and
            # their lines with no span, are made once per document.
            text = record.text
            token_columns = [f"{text[start:end]}\t{start}\t{end}\t" for start, end in index.tokens]
            untagged = [columns + every_o for columns in token_columns]
            for layer in layers:
                tagged = self._tags(record.id, layer, index, column_of, options, archive)
                name = f"conll/{part_prefix(split)}{layer.key}.conll"
                out = archive.spool(name)
                if name not in started:
                    started.add(name)
                    out.write(header + TOKENISER_NOTE.encode())
                lines = [f"# doc_id = {_one_line(record.id)}\n"]
                lines += [
                    f"# {_one_line(label)} = {_one_line(value)}\n"
                    for label in sorted(layer.document_labels)
                    for value in sorted(layer.document_labels[label])
                ]
                lines += [
                    f"# link = {_one_line(span.label)} {span.start} {span.end} {span.entry}"
                    + (f" {_one_line(span.stance)}" if span.stance else "")
                    + "\n"
                    for span in layer.spans
                    if span.entry is not None
                ]
                body = untagged.copy()
                for token, row in tagged.items():
                    body[token] = token_columns[token] + "\t".join(row) + "\n"
                lines += body
                lines.append("\n")
                out.write("".join(lines).encode())

    @staticmethod
    def _tags(
        doc_id: str,
        layer: Layer,
        index: TokenIndex,
        column_of: dict[str, int],
        options: ExportOptions,
        archive: ArchiveWriter,
    ) -> dict[int, list[str]]:
        """The tag columns of the tokens a layer's spans cover, by token; the other tokens
        are all ``O``. Whatever cannot be tagged is reported."""
        tagged: dict[int, list[str]] = {}
        width = len(column_of)
        for span in layer.spans:
            start, end, label = span.start, span.end, span.label
            column = column_of.get(label)
            if column is None:
                archive.problem(
                    "label_without_column", doc_id, layer.name, start=start, end=end, label=label
                )
                continue
            found = index.align(start, end, options.alignment)
            if found is None:
                archive.problem(
                    "span_not_on_token_edges", doc_id, layer.name, start=start, end=end, label=label
                )
                continue
            first, last = found
            covered = range(first, last)
            if any(tagged[i][column] != "O" for i in covered if i in tagged):
                archive.problem(
                    "overlaps_same_label", doc_id, layer.name, start=start, end=end, label=label
                )
                continue
            moved_to = [index.starts[first], index.ends[last - 1]]
            if moved_to != [start, end]:
                archive.problem(
                    "span_moved",
                    doc_id,
                    layer.name,
                    start=start,
                    end=end,
                    label=label,
                    moved_to=moved_to,
                )
            inside = f"I-{label}"
            for i in covered:
                row = tagged.get(i)
                if row is None:
                    row = tagged[i] = ["O"] * width
                row[column] = inside
            tagged[first][column] = f"B-{label}"
        return tagged


def _one_line(value: str) -> str:
    # An id is free text; a line break in it would end the comment line.
    return value.replace("\r", "\\r").replace("\n", "\\n")
