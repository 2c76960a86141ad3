"""Parquet in the layout Hugging Face ``datasets``, pandas and polars read directly.

One row per document, one file per part: ``data/train.parquet``, ``data/dev.parquet`` and
``data/test.parquet`` for a split export (a part with no documents has no file, since
``datasets`` refuses an empty split), ``data/corpus.parquet`` otherwise. Columns::

    id: string, text: string, meta: string (JSON; documents' meta keys differ)
    gold_state: string ("in_progress" or "final"; null: the document has no gold)
    gold: list<struct<start, end, label, text, attrs (JSON string), entry, stance>>
          (null without gold; ``entry`` is a catalogue entry's key, ``stance`` the
          stance toward it, both null when the span is not linked)
    gold_relations: list<struct<type, head, tail>>     (indices into gold)
    gold_document_labels: list<struct<label, values: list<string>>>
    annotations: list<struct<annotator, spans: list<span>, relations: list<relation>,
                             document_labels: list<struct<label, values: list<string>>>>>

``document_labels`` lists the document-level labels a layer gave a value (e.g.
``[{"label": "stance", "values": ["refutes"]}]``), by label name.

``gold`` columns are there when the gold layer is exported, ``annotations`` when annotators'
layers are. The gold columns of a document nobody adjudicated are null (an empty list is
gold with nothing to mark); an annotator missing from a row's ``annotations`` did not
annotate that document, one with no spans found nothing. ``start``/``end`` are code points
(Python ``str`` slicing); ``text`` is the covered text, for checking. Rows are written in row
groups of ``shard_size`` documents, so memory stays flat.
``datasets.load_dataset("parquet", data_files=...)`` loads it; the dataset card's YAML header
names the files of each split for the Hub.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from annotations.exporters import DESCRIPTIONS
from annotations.exporters.base import (
    ArchiveWriter,
    ExportOptions,
    LabelInfo,
    parts,
)
from annotations.interchange import DocumentRecord, Relation, Span, attrs_json

SPAN = pa.struct(
    [
        ("start", pa.int32()),
        ("end", pa.int32()),
        ("label", pa.string()),
        ("text", pa.string()),
        ("attrs", pa.string()),
        ("entry", pa.string()),
        ("stance", pa.string()),
    ]
)
RELATION = pa.struct([("type", pa.string()), ("head", pa.int32()), ("tail", pa.int32())])
DOCUMENT_LABEL = pa.struct([("label", pa.string()), ("values", pa.list_(pa.string()))])
LAYER = pa.struct(
    [
        ("annotator", pa.string()),
        ("spans", pa.list_(SPAN)),
        ("relations", pa.list_(RELATION)),
        ("document_labels", pa.list_(DOCUMENT_LABEL)),
    ]
)


def parquet_schema(options: ExportOptions) -> pa.Schema:
    fields = [("id", pa.string()), ("text", pa.string()), ("meta", pa.string())]
    if options.layers in ("gold", "all"):
        fields += [
            ("gold_state", pa.string()),
            ("gold", pa.list_(SPAN)),
            ("gold_relations", pa.list_(RELATION)),
            ("gold_document_labels", pa.list_(DOCUMENT_LABEL)),
        ]
    if options.layers in ("annotators", "all"):
        fields.append(("annotations", pa.list_(LAYER)))
    return pa.schema(fields)


def part_member(split: str | None) -> str:
    return f"data/{split or 'corpus'}.parquet"


def _spans(text: str, spans: list[Span]) -> list[dict[str, Any]]:
    return [
        {
            "start": span.start,
            "end": span.end,
            "label": span.label,
            "text": text[span.start : span.end],
            "attrs": attrs_json(span.attrs),
            "entry": span.entry,
            "stance": span.stance or None,
        }
        for span in spans
    ]


def _relations(relations: list[Relation]) -> list[dict[str, Any]]:
    return [relation.to_json() for relation in relations]


def _document_labels(labels: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [{"label": name, "values": sorted(labels[name])} for name in sorted(labels)]


def row(record: DocumentRecord, options: ExportOptions) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": record.id,
        "text": record.text,
        "meta": json.dumps(record.meta, ensure_ascii=False, sort_keys=True),
    }
    if options.layers in ("gold", "all"):
        has_gold = record.gold_state is not None
        values["gold_state"] = record.gold_state
        values["gold"] = _spans(record.text, record.gold) if has_gold else None
        values["gold_relations"] = _relations(record.gold_relations) if has_gold else None
        values["gold_document_labels"] = (
            _document_labels(record.gold_document_labels) if has_gold else None
        )
    if options.layers in ("annotators", "all"):
        values["annotations"] = [
            {
                "annotator": name,
                "spans": _spans(record.text, record.annotations[name]),
                "relations": _relations(record.relations.get(name, [])),
                "document_labels": _document_labels(record.document_labels.get(name, {})),
            }
            for name in sorted(record.annotations)
        ]
    return values


class ParquetExporter:
    name = "parquet"
    extension = ".parquet"
    media_type = "application/vnd.apache.parquet"
    description = DESCRIPTIONS["parquet"]

    def write(
        self,
        records: Iterable[DocumentRecord],
        archive: ArchiveWriter,
        options: ExportOptions,
        schema: Sequence[LabelInfo],
    ) -> None:
        table_schema = parquet_schema(options)
        writers: dict[str, pq.ParquetWriter] = {}
        batches: dict[str, list[dict[str, Any]]] = {}
        for split, record in parts(records, options):
            name = part_member(split)
            if name not in writers:
                # Parquet compresses inside (zstd): the zip stores it as it is.
                sink = archive.spool(name, compress=False)
                writers[name] = pq.ParquetWriter(sink, table_schema, compression="zstd")
                batches[name] = []
            batches[name].append(row(record, options))
            if len(batches[name]) >= options.shard_size:
                writers[name].write_table(pa.Table.from_pylist(batches[name], table_schema))
                batches[name] = []
        for name, writer in writers.items():
            if batches[name]:
                writer.write_table(pa.Table.from_pylist(batches[name], table_schema))
            writer.close()
