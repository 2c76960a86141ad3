"""brat standoff: for each layer and document a ``.txt`` with the text and a ``.ann`` beside it.

Offsets: brat's server reads the ``.txt`` as UTF-8 into a Python string and slices it, so its
offsets are code points, like ours (on Python 3, and on the "wide" Python 2 builds that Linux
shipped; brat's own browser client mis-draws text after astral characters such as emoji, a
known brat bug, but the files are right). brat opens text with universal newlines, which turns
``\\r\\n`` into one character: a document holding ``\\r`` is reported, since brat would shift
every offset after it.

Lines of the ``.ann`` file (tab-separated, as brat writes them)::

    T1	claim 0 17	Saleh has left...
    T2	source 40 45;46 52	first line second line   (a span across a line break)
    A1	kind T2 anonymous                            (an attribute and its value)
    R1	attributed_to Arg1:T1 Arg2:T2                (head, then tail)
    A2	stance T1 denies                             (the stance toward its entry)
    N1	Reference T1 catalogue:saleh-fled	saleh-fled  (the catalogue entry it names)

A span that crosses line breaks is written as fragments without the line-break characters,
as brat requires; its text is the fragments joined by spaces. Label and attribute names
cannot hold spaces in brat: spaces become ``_``. ``annotation.conf`` at the top of the folder
declares the labels, relations and attributes so that brat opens the collection as it is.
Files: ``brat/<split>/<layer>/<document id>.txt`` and ``.ann`` (ids percent-escaped). The
``gold`` folder holds only the documents with a gold layer: an empty ``.ann`` there was
adjudicated with nothing to mark, a document missing from it was never adjudicated.

brat has no document-level annotation: every line of an ``.ann`` file annotates text, and a
``#`` note must point at one of them. Document-level labels (stance...) therefore go to a
side file per layer folder, ``brat/<split>/<layer>/document_labels.tsv``, with the header
``document<TAB>label<TAB>value`` and one line per value. brat lists a folder's documents by
their ``.txt`` files and ignores the rest, so the collection still opens unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from annotations.exporters import DESCRIPTIONS
from annotations.exporters.base import (
    ArchiveWriter,
    ExportOptions,
    LabelInfo,
    layers_of,
    part_prefix,
    parts,
    safe_name,
)
from annotations.interchange import DocumentRecord, Span

_LINE_BREAK = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def brat_name(name: str) -> str:
    return re.sub(r"\s+", "_", name.strip()) or "_"


def fragments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The parts of ``[start, end)`` between line breaks (brat wants no break in a span)."""
    pieces = []
    position = start
    for match in _LINE_BREAK.finditer(text, start, end):
        if match.start() > position:
            pieces.append((position, match.start()))
        position = match.end()
    if end > position:
        pieces.append((position, end))
    return pieces


def _attribute_value(value: Any) -> str | None:
    """The brat form of a value: None for a binary attribute that is set."""
    if value is True:
        return None
    return brat_name(str(value).lower() if isinstance(value, bool) else str(value))


def ann_lines(record: DocumentRecord, spans: list[Span], relations: Iterable[Any]) -> list[str]:
    lines = []
    attribute_number = 0
    normalisations = 0
    span_ids: dict[int, str] = {}
    for index, span in enumerate(spans):
        pieces = fragments(record.text, span.start, span.end)
        if not pieces:  # a span of line breaks only: nothing brat can show
            continue
        span_ids[index] = f"T{index + 1}"
        offsets = ";".join(f"{start} {end}" for start, end in pieces)
        covered = " ".join(record.text[start:end] for start, end in pieces)
        lines.append(f"T{index + 1}\t{brat_name(span.label)} {offsets}\t{covered}\n")
        for name in sorted(span.attrs):
            if span.attrs[name] is False or span.attrs[name] is None:
                continue
            attribute_number += 1
            value = _attribute_value(span.attrs[name])
            tail = "" if value is None else f" {value}"
            lines.append(f"A{attribute_number}\t{brat_name(name)} T{index + 1}{tail}\n")
        if span.entry is not None:
            # brat's normalisation line: the span refers to an entry of an external list.
            normalisations += 1
            lines.append(
                f"N{normalisations}\tReference T{index + 1} catalogue:{span.entry}\t{span.entry}\n"
            )
            if span.stance:
                attribute_number += 1
                stance = brat_name(span.stance)
                lines.append(f"A{attribute_number}\tstance T{index + 1} {stance}\n")
    for number, relation in enumerate(relations, start=1):
        if relation.head in span_ids and relation.tail in span_ids:
            lines.append(
                f"R{number}\t{brat_name(relation.type)} "
                f"Arg1:{span_ids[relation.head]} Arg2:{span_ids[relation.tail]}\n"
            )
    return lines


def annotation_conf(
    schema: Sequence[LabelInfo], seen_spans: set[str], seen_relations: set[str]
) -> str:
    entities = [brat_name(label.name) for label in schema if label.kind == "span"]
    entities += sorted(brat_name(name) for name in seen_spans - {x.name for x in schema})
    relations = [brat_name(label.name) for label in schema if label.kind == "relation"]
    relations += sorted(brat_name(name) for name in seen_relations - {x.name for x in schema})
    lines = ["[entities]", *entities, "", "[relations]"]
    lines += [f"{name}\tArg1:<ENTITY>, Arg2:<ENTITY>" for name in relations]
    lines += ["", "[events]", "", "[attributes]"]
    for label in schema:
        for attribute, values in label.attributes.items():
            choices = "|".join(brat_name(str(value)) for value in values)
            lines.append(f"{brat_name(attribute)}\tArg:{brat_name(label.name)}, Value:{choices}")
        if label.stance_values:
            choices = "|".join(brat_name(value) for value in label.stance_values)
            lines.append(f"stance\tArg:{brat_name(label.name)}, Value:{choices}")
    return "\n".join(lines) + "\n"


DOCUMENT_LABELS_HEADER = "document\tlabel\tvalue\n"


def _tsv_field(value: str) -> str:
    # Tabs and line breaks would split the row; ids and values are free text.
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _write_document_labels(
    archive: ArchiveWriter, folder: str, document: str, labels: Mapping[str, list[str]]
) -> None:
    out = archive.spool(f"{folder}/document_labels.tsv")
    if out.tell() == 0:
        out.write(DOCUMENT_LABELS_HEADER.encode())
    rows = [
        f"{_tsv_field(document)}\t{_tsv_field(label)}\t{_tsv_field(value)}\n"
        for label in sorted(labels)
        for value in sorted(labels[label])
    ]
    out.write("".join(rows).encode())


class BratExporter:
    name = "brat"
    extension = ".ann"
    media_type = "text/plain"
    description = DESCRIPTIONS["brat"]

    def write(
        self,
        records: Iterable[DocumentRecord],
        archive: ArchiveWriter,
        options: ExportOptions,
        schema: Sequence[LabelInfo],
    ) -> None:
        seen_spans: set[str] = set()
        seen_relations: set[str] = set()
        for split, record in parts(records, options):
            if "\r" in record.text:
                archive.problem(
                    "carriage_return",
                    record.id,
                    "all",
                    reason="brat reads text with universal newlines; offsets after \\r shift",
                )
            for layer in layers_of(record, options):
                seen_spans.update(span.label for span in layer.spans)
                seen_relations.update(relation.type for relation in layer.relations)
                for span in layer.spans:
                    if not fragments(record.text, span.start, span.end):
                        archive.problem(
                            "span_of_line_breaks",
                            record.id,
                            layer.name,
                            start=span.start,
                            end=span.end,
                            label=span.label,
                        )
                folder = f"brat/{part_prefix(split)}{layer.key}"
                if layer.document_labels:
                    _write_document_labels(archive, folder, record.id, layer.document_labels)
                base = f"{folder}/{safe_name(record.id)}"
                archive.write_bytes(f"{base}.txt", record.text.encode())
                lines = ann_lines(record, layer.spans, layer.relations)
                archive.write_bytes(f"{base}.ann", "".join(lines).encode())
        conf = annotation_conf(schema, seen_spans, seen_relations)
        archive.write_bytes("brat/annotation.conf", conf.encode())
