"""One export written as chunks of documents by several processes, then joined.

Each chunk runs the format's own exporter on its documents into a zip of its own (a
*part*), with the same selection, renaming and counting as ``write_archive``, and returns
its figures (``ExportStats`` as JSON). ``join_parts`` then reads the parts in document
order, one at a time and a buffer at a time, and writes the archive a single process would
have written, member for member:

- a member only one chunk can write (brat's and XMI's files per document, spaCy's shards)
  has its compressed bytes copied as they are: the chunk did the compressing;
- a member every chunk adds to (``documents.jsonl``, a CoNLL file per layer, brat's
  ``document_labels.tsv``) is the chunks' pieces one after the other, still compressed:
  each chunk deflates its piece so that it ends on a byte boundary (a sync flush), the
  join puts the pieces end to end and works the file's CRC out from the pieces' own; a
  file with a header has it in a member of its own in each part, and the join deflates
  the first one met ahead of the pieces; ``report.jsonl`` is copied line by line;
- a member each chunk writes the same (XMI's ``TypeSystem.xml``) is taken once;
- a member that depends on the whole corpus (brat's ``annotation.conf``, the card, the
  catalogue) is written by the join itself from the summed figures.

A spaCy shard holds the documents of a block of ``shard_size`` corpus positions, so its
chunks are planned as whole blocks (``chunk_size``) and each chunk is told the corpus
position of its first document (``start``).

Parquet and the claim graph are not written in chunks (``CHUNKED_FORMATS``): a Parquet
file's footer indexes its row groups, and the graph's tallies and ids span the corpus;
those exports run in one process as before.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO, Any

from annotations.exporters.archive import ExportStats, prepare, selection
from annotations.exporters.base import ArchiveWriter, ExportOptions, StartsAtPosition
from annotations.exporters.brat import DOCUMENT_LABELS_HEADER, annotation_conf
from annotations.exporters.conll import TOKENISER_NOTE
from annotations.exporters.dataset_card import CardData, render_card
from annotations.exporters.zipstream import DEFLATE_LEVEL, FINAL_BLOCK, SYNC_MARK, MemberWriter
from annotations.interchange import CATALOGUES_FILE, DocumentRecord, dump_catalogue_record

CHUNKED_FORMATS = frozenset({"jsonl", "conll", "brat", "xmi", "spacy"})
_BUFFER = 1024 * 1024
# A part's member that holds the header lines of the file ``name`` it is the suffix of.
HEADER_SUFFIX = ".header"


def chunk_size(format: str, options: ExportOptions, size: int) -> int:
    """The documents per chunk of a ``format`` export, for a wanted ``size``.

    A spaCy chunk holds whole shards: the largest multiple of ``shard_size`` up to
    ``size``, or one shard when a shard is larger.
    """
    if format == "spacy":
        return max(size // options.shard_size, 1) * options.shard_size
    return size


class Join(Enum):
    WHOLE = "whole"  # written by one chunk: copied compressed
    CONCAT = "concat"  # the chunks' pieces in order
    HEADER = "header"  # the same, each piece's header kept from the first only
    ONCE = "once"  # the same in every chunk: the first
    REWRITTEN = "rewritten"  # depends on the whole corpus: written by the join


def join_of(format: str, name: str) -> tuple[Join, int]:
    """How the join makes member ``name`` of a ``format`` export, and its header's lines."""
    if name == ArchiveWriter.REPORT or format == "jsonl":
        return Join.CONCAT, 0
    if format == "conll":
        return Join.HEADER, 1 + TOKENISER_NOTE.count("\n")
    if format == "brat" and name.endswith("/document_labels.tsv"):
        return Join.HEADER, DOCUMENT_LABELS_HEADER.count("\n")
    if format == "brat" and name == "brat/annotation.conf":
        return Join.REWRITTEN, 0
    if format == "xmi" and name == "xmi/TypeSystem.xml":
        return Join.ONCE, 0
    return Join.WHOLE, 0


def stats_to_json(stats: ExportStats) -> dict[str, Any]:
    return {
        "documents": stats.documents,
        "documents_per_split": dict(stats.documents_per_split),
        "spans": [[key, label, count] for (key, label), count in stats.spans.items()],
        "relations": [[key, kind, count] for (key, kind), count in stats.relations.items()],
        "documents_per_layer": dict(stats.documents_per_layer),
        "documents_per_gold_state": dict(stats.documents_per_gold_state),
        "problems": dict(stats.problems),
    }


def stats_from_json(raw: dict[str, Any]) -> ExportStats:
    return ExportStats(
        documents=raw["documents"],
        documents_per_split=Counter(raw["documents_per_split"]),
        spans=Counter({(key, label): count for key, label, count in raw["spans"]}),
        relations=Counter({(key, kind): count for key, kind, count in raw["relations"]}),
        documents_per_layer=Counter(raw["documents_per_layer"]),
        documents_per_gold_state=Counter(raw["documents_per_gold_state"]),
        problems=Counter(raw["problems"]),
    )


def merged(parts: Iterable[ExportStats]) -> ExportStats:
    """The figures of the whole export, from its chunks'."""
    total = ExportStats()
    for part in parts:
        total.documents += part.documents
        total.documents_per_split.update(part.documents_per_split)
        total.spans.update(part.spans)
        total.relations.update(part.relations)
        total.documents_per_layer.update(part.documents_per_layer)
        total.documents_per_gold_state.update(part.documents_per_gold_state)
        total.problems.update(part.problems)
    return total


class PartWriter(ArchiveWriter):
    """A chunk's part. A piece of a file that the chunks' pieces make one after the other
    is deflated so that the join can put the compressed pieces end to end; the other
    members the join takes apart are stored, so that the join need not inflate them."""

    def __init__(self, target: str | Path | IO[bytes], format: str):
        super().__init__(target)
        self._format = format

    def open(self, name: str, *, compress: bool = True) -> MemberWriter:
        join = join_of(self._format, name)[0]
        if join is Join.CONCAT and name != self.REPORT:
            self.member_count += 1
            return self.zip.open(name, joinable=True)
        return super().open(name, compress=compress and join is Join.WHOLE)

    def spool(self, name: str, *, compress: bool = True) -> IO[bytes]:
        whole = join_of(self._format, name)[0] is Join.WHOLE
        return super().spool(name, compress=compress and whole)

    def _copy_in(self, path: Path, name: str, compress: bool) -> None:
        join, header_lines = join_of(self._format, name)
        if join is not Join.HEADER:
            super()._copy_in(path, name, compress)
            return
        # The header, which only the first piece keeps, as a member of its own; the rest
        # deflated to be put end to end with the other chunks' pieces.
        with path.open("rb") as source:
            header = b"".join(source.readline() for _ in range(header_lines))
            self.write_bytes(name + HEADER_SUFFIX, header, compress=False)
            with self.zip.open(name, joinable=True) as member:
                shutil.copyfileobj(source, member, _BUFFER)


def write_chunk(
    records: Iterable[DocumentRecord],
    target: str | Path | IO[bytes],
    *,
    format: str,
    options: ExportOptions,
    card: CardData,
    start: int,
) -> ExportStats:
    """Write one chunk's part of a ``format`` export to ``target``; return its figures.

    ``start`` is the corpus position of the chunk's first document.
    """
    if format not in CHUNKED_FORMATS:
        raise ValueError(f"{format} exports are not written in chunks")
    exporter, rename = prepare(format, options, card)
    if isinstance(exporter, StartsAtPosition):
        exporter.start_at(start)
    stats = ExportStats()
    with PartWriter(target, format) as archive:
        exporter.write(selection(records, options, rename, stats), archive, options, card.labels)
        stats.problems = Counter(archive.problem_counts)
    return stats


def _data_offset(source: IO[bytes], member: zipfile.ZipInfo) -> int:
    """Where a member's compressed data starts: after its local header, whose name and
    extra field may differ in length from the central directory's."""
    source.seek(member.header_offset + 26)
    name_length, extra_length = struct.unpack("<HH", source.read(4))
    return int(member.header_offset + 30 + name_length + extra_length)


PartOpener = AbstractContextManager[IO[bytes]]


def join_parts(
    parts: Iterable[PartOpener],
    target: str | Path | IO[bytes],
    *,
    format: str,
    options: ExportOptions,
    card: CardData,
    stats: ExportStats,
) -> ExportStats:
    """Join the chunks' parts (opened in document order) into the export archive.

    ``stats`` are the chunks' figures merged. Each part is read once, a buffer at a time:
    members that several chunks add to wait in temporary files until the end, as the
    exporters' own side-by-side members do.
    """
    exporter, rename = prepare(format, options, card)
    with ArchiveWriter(target) as archive, _Joiner(archive, format) as joiner:
        if card.catalogue:
            archive.write_bytes(
                CATALOGUES_FILE,
                "".join(dump_catalogue_record(entry) for entry in card.catalogue).encode(),
            )
        for opener in parts:
            with opener as source, zipfile.ZipFile(source) as part:
                for member in part.infolist():
                    joiner.add(part, source, member)
        joiner.finish()
        if format == "brat":
            seen_spans = {label for _key, label in stats.spans}
            seen_relations = {kind for _key, kind in stats.relations}
            conf = annotation_conf(card.labels, seen_spans, seen_relations)
            archive.write_bytes("brat/annotation.conf", conf.encode())
        archive.problem_counts = Counter(stats.problems)
        readme = render_card(card, exporter, options, stats, rename)
        archive.write_bytes("README.md", readme.encode())
    stats.members = archive.member_count
    return stats


def crc32_combine(first: int, second: int, second_length: int) -> int:
    """The CRC-32 of two byte strings one after the other, from each one's CRC-32 and the
    second's length, without their bytes.

    ``zlib.crc32(b, c)`` is, bit for bit, an affine function of the starting value ``c``:
    the part that depends on ``c`` is what ``c`` becomes over as many zero bytes, and the
    rest is ``b``'s own CRC less what a start of 0 becomes over those zeros.
    """
    over_zeros_from_first, over_zeros_from_nothing = first, 0
    zeros = bytes(min(second_length, _BUFFER))
    left = second_length
    while left:
        block = zeros[: min(left, len(zeros))]
        over_zeros_from_first = zlib.crc32(block, over_zeros_from_first)
        over_zeros_from_nothing = zlib.crc32(block, over_zeros_from_nothing)
        left -= len(block)
    return over_zeros_from_first ^ over_zeros_from_nothing ^ second


@dataclass
class _Deflated:
    """A file joined from deflated pieces: their data so far, its CRC and size."""

    data: IO[bytes]
    crc: int = 0
    size: int = 0


class _Joiner:
    """Puts the members of the parts, met in document order, into the archive."""

    def __init__(self, archive: ArchiveWriter, format: str):
        self._archive = archive
        self._format = format
        self._deflated: dict[str, _Deflated] = {}

    def add(self, part: zipfile.ZipFile, source: IO[bytes], member: zipfile.ZipInfo) -> None:
        name = member.filename
        if name.endswith(HEADER_SUFFIX):
            self._start_with_header(name.removesuffix(HEADER_SUFFIX), part.read(member))
            return
        join = join_of(self._format, name)[0]
        if join is Join.REWRITTEN:
            return
        if join is Join.WHOLE:
            source.seek(_data_offset(source, member))
            self._archive.copy_compressed(
                name,
                method=member.compress_type,
                crc=member.CRC,
                size=member.file_size,
                source=source,
                length=member.compress_size,
            )
            return
        if join in (Join.CONCAT, Join.HEADER) and name != ArchiveWriter.REPORT:
            source.seek(_data_offset(source, member))
            self._add_deflated(name, source, member)
            return
        with part.open(member) as piece:
            if name == ArchiveWriter.REPORT:
                self._archive.extend_report(piece)
                return
            out = self._archive.spool(name)  # every such member is compressed
            if out.tell() and join is Join.ONCE:
                return
            shutil.copyfileobj(piece, out, _BUFFER)

    def _start_with_header(self, name: str, header: bytes) -> None:
        """Begin file ``name`` with its header, deflated here, unless a chunk before did."""
        if name in self._deflated:
            return
        joined = self._deflated[name] = _Deflated(tempfile.TemporaryFile())  # noqa: SIM115
        compressor = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        joined.data.write(compressor.compress(header) + compressor.flush(zlib.Z_SYNC_FLUSH))
        joined.crc, joined.size = zlib.crc32(header), len(header)

    def _add_deflated(self, name: str, source: IO[bytes], member: zipfile.ZipInfo) -> None:
        """Append a piece's deflated data, less its final block, to the file's."""
        if name not in self._deflated:
            self._deflated[name] = _Deflated(tempfile.TemporaryFile())  # noqa: SIM115
        joined = self._deflated[name]
        left = member.compress_size - len(FINAL_BLOCK)
        tail = b""
        while left > 0 and (data := source.read(min(_BUFFER, left))):
            left -= len(data)
            joined.data.write(data)
            tail = (tail + data)[-len(SYNC_MARK) :]
        if left or tail != SYNC_MARK or source.read(len(FINAL_BLOCK)) != FINAL_BLOCK:
            raise ValueError(f"{name}: a chunk's piece does not end as a joinable one")
        joined.crc = crc32_combine(joined.crc, member.CRC, member.file_size)
        joined.size += member.file_size

    def finish(self) -> None:
        """Write the files joined from deflated pieces, each ended with the final block."""
        for name, joined in self._deflated.items():
            joined.data.write(FINAL_BLOCK)
            length = joined.data.tell()
            joined.data.seek(0)
            self._archive.copy_compressed(
                name,
                method=zipfile.ZIP_DEFLATED,
                crc=joined.crc,
                size=joined.size,
                source=joined.data,
                length=length,
            )

    def __enter__(self) -> _Joiner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for joined in self._deflated.values():
            joined.data.close()
