"""JSONL, the workbench's own interchange format (docs/interchange.md), one document a line.

Lines come from ``interchange.dump_record``, the one canonical form, so that export ->
import -> export gives the same bytes. The whole corpus is ``documents.jsonl``; a split export
writes ``train.jsonl``, ``dev.jsonl`` and ``test.jsonl`` instead (a part with no
documents has no file).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from annotations.exporters import DESCRIPTIONS
from annotations.exporters.base import ArchiveWriter, ExportOptions, LabelInfo, parts
from annotations.interchange import DocumentRecord, dump_record


class JsonlExporter:
    name = "jsonl"
    extension = ".jsonl"
    media_type = "application/x-ndjson"
    description = DESCRIPTIONS["jsonl"]

    def write(
        self,
        records: Iterable[DocumentRecord],
        archive: ArchiveWriter,
        options: ExportOptions,
        schema: Sequence[LabelInfo],
    ) -> None:
        if options.split is None:
            with archive.open("documents.jsonl") as out:
                for record in records:
                    out.write(dump_record(record).encode())
            return
        for split, record in parts(records, options):
            archive.spool(f"{split}.jsonl").write(dump_record(record).encode())
