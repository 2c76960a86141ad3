"""Importing documents: plain text files, the JSONL interchange format, CSV, and zips of them.

A whole import is one transaction: a file with bad lines is rejected with every bad line
named (file, line number, reason; the first ``MAX_REPORTED_ERRORS`` of them, and how many
there were), and nothing is written. The file is read as a stream, line by line, so a
large upload never sits in memory whole.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotations.interchange import (
    GOLD_FINAL,
    DocumentRecord,
    InterchangeError,
    check_storable,
    document_label_problems,
    end_label_problem,
    parse_line,
    span_problems,
)
from annotations.models import (
    Assignment,
    AssignmentStatus,
    Document,
    DocumentLabel,
    LabelKind,
    Layer,
    LayerStatus,
    Membership,
    Project,
    Relation,
    Role,
    Span,
)
from annotations.services.audit import record_event
from annotations.services.projects import span_label_schema

FORMATS = ("txt", "jsonl", "csv", "zip")
# A CSV row's text is one field, often longer than the csv module's default limit of
# 128 KiB; the upload's size limit bounds it already.
csv.field_size_limit(2**31 - 1)
# Documents written to the database at a time: memory stays bounded on large files.
BATCH = 500
# Bad lines named in a rejection; the rest are only counted.
MAX_REPORTED_ERRORS = 100
BYTE_ORDER_MARK = b"\xef\xbb\xbf"
ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class LineError:
    """Why one line (or, with no line, the whole file) cannot be imported."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "reason": self.reason}


class ImportRejected(ValidationError):
    """A file that cannot be imported: its first bad lines, and how many there were."""

    def __init__(self, errors: list[LineError], total: int | None = None):
        self.errors = errors[:MAX_REPORTED_ERRORS]
        self.total = max(total or 0, len(errors))
        messages = [str(error) for error in self.errors]
        if self.total > len(self.errors):
            messages.append(f"... and {self.total - len(self.errors)} more bad lines")
        super().__init__(messages)


def rejected(filename: str, reason: str, line: int | None = None) -> ImportRejected:
    """A rejection for one reason."""
    return ImportRejected([LineError(filename, line, reason)])


class _Problems:
    """The bad lines found so far: the first ones kept, all of them counted.

    An upload of several files (a zip) is checked as one stream of numbered lines: each
    file's lines are numbered on from where the previous file's stopped (``start_file``),
    so the checks, which see only a number, still report the right file and its own line.
    """

    def __init__(self, filename: str):
        self.filename = filename
        self._files: list[tuple[int, str]] = []  # (offset, name)
        self._next_offset = 0
        self.errors: list[tuple[int, LineError]] = []
        self.total = 0

    def start_file(self, name: str) -> int:
        """Begin the lines of file ``name``; the offset to add to its line numbers.

        The offset itself stands for the whole file (a .txt is one document).
        """
        offset = self._next_offset
        self._files.append((offset, name))
        self.filename = name
        return offset

    def end_file(self, last_line: int) -> None:
        """The current file's lines went up to ``last_line`` (numbered with its offset)."""
        self._next_offset = max(self._next_offset + 1, last_line + 1)

    def where(self, line: int | None) -> tuple[str, int | None]:
        """The file, and the file's own line, of a line number given to the checks."""
        if line is None or not self._files:
            return self.filename, line
        position = bisect_right([offset for offset, _ in self._files], line) - 1
        offset, name = self._files[max(position, 0)]
        return name, (line - offset) or None

    def add(self, line: int | None, reason: str) -> None:
        self.total += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            name, local = self.where(line)
            current = self._files[-1][0] if self._files else 0
            order = line if line is not None else current
            self.errors.append((order, LineError(name, local, reason)))

    def raise_any(self) -> None:
        if self.total:
            # In line order: clashes with the project are found a batch after the line.
            in_order = [error for _, error in sorted(self.errors, key=lambda item: item[0])]
            raise ImportRejected(in_order, self.total)


class _Refused(Exception):
    """One record refused; the import goes on checking the others."""


@dataclass
class ImportSummary:
    documents: int = 0
    spans: int = 0
    relations: int = 0
    annotators: set[str] = field(default_factory=set)
    created_users: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "spans": self.spans,
            "relations": self.relations,
            "annotators": sorted(self.annotators),
            "created_users": self.created_users,
        }


def detect_format(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix in ("txt", "csv", "zip"):
        return suffix
    raise rejected(filename, "unknown file type: name it .txt, .jsonl, .csv or .zip")


class _Lines:
    """``(line number, text)`` of every line of a binary stream, read one at a time.

    Line endings are kept (CSV needs them). A line that is not UTF-8 is reported and
    passed on with the bad bytes replaced: the import is rejected anyway, and the lines
    after it are still checked. ``on_progress`` is told the bytes read so far. Numbers
    start after ``offset`` (see ``_Problems.start_file``); ``last`` is the last one given.
    """

    def __init__(
        self,
        source: IO[bytes],
        problems: _Problems,
        on_progress: ProgressCallback | None,
        offset: int = 0,
    ):
        self.source = source
        self.problems = problems
        self.on_progress = on_progress
        self.offset = offset
        self.last = offset
        self.has_text = False  # anything but whitespace so far

    def __iter__(self) -> Iterator[tuple[int, str]]:
        read = 0
        for number, raw in enumerate(iter(self.source.readline, b""), start=self.offset + 1):
            read += len(raw)
            self.last = number
            if number == self.offset + 1 and raw.startswith(BYTE_ORDER_MARK):
                raw = raw[len(BYTE_ORDER_MARK) :]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                reason = f"not UTF-8 (byte 0x{raw[exc.start]:02x} cannot be decoded)"
                self.problems.add(number, reason)
                text = raw.decode("utf-8", errors="replace")
            self.has_text = self.has_text or bool(text.strip())
            yield number, text
            if self.on_progress:
                self.on_progress(read)


Records = Iterator[tuple[int | None, DocumentRecord | str]]


@transaction.atomic
def import_file(
    *,
    project: Project,
    filename: str,
    data: bytes | IO[bytes],
    actor: User | None = None,
    file_format: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import one file (its bytes, or a binary stream) into ``project``, all or nothing.

    A zip is read member by member, each by its own extension, and is all or nothing as a
    whole. ``on_progress`` is told how many bytes of ``data`` have been read so far.
    """
    file_format = file_format or detect_format(filename)
    if file_format not in FORMATS:
        raise rejected(filename, f"unknown format {file_format!r}: use {', '.join(FORMATS)}")
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    problems = _Problems(filename)
    records: Records
    if file_format == "zip":
        records = _zip_records(filename, source, problems, on_progress)
    else:
        records = _file_records(filename, file_format, source, problems, on_progress)
    summary = _write_records(project, problems, _distinct(records, problems))
    record_event(
        actor=actor,
        project=project,
        action="import",
        object_type="document",
        after={
            "file": filename,
            "format": file_format,
            "documents": summary.documents,
            "spans": summary.spans,
            "relations": summary.relations,
        },
    )
    return summary


@transaction.atomic
def import_documents(
    *,
    project: Project,
    records: Iterable[DocumentRecord],
    source: str = "records",
    actor: User | None = None,
) -> ImportSummary:
    """Import records made in code (the seeds), with the checks of a file import."""
    summary = _write_records(project, _Problems(source), ((None, record) for record in records))
    record_event(
        actor=actor,
        project=project,
        action="import",
        object_type="document",
        after={"source": source, "documents": summary.documents, "spans": summary.spans},
    )
    return summary


def _distinct(records: Records, problems: _Problems) -> Records:
    """The records, with an id met before in this upload turned into an error naming both."""
    first_line: dict[str, int | None] = {}
    for line, record in records:
        if isinstance(record, DocumentRecord):
            if record.id in first_line:
                yield (
                    line,
                    f"document {record.id!r}: the id appears twice, first at "
                    + (_earlier(problems, first_line[record.id], line)),
                )
                continue
            first_line[record.id] = line
        yield line, record


def _earlier(problems: _Problems, first: int | None, again: int | None) -> str:
    """Where a line was, said from another line: its number alone in the same file."""
    first_file, first_at = problems.where(first)
    if first_at is None:
        return first_file
    if first_file == problems.where(again)[0]:
        return f"line {first_at}"
    return f"{first_file}, line {first_at}"


def _file_records(
    filename: str,
    file_format: str,
    source: IO[bytes],
    problems: _Problems,
    on_progress: ProgressCallback | None,
) -> Records:
    """The records of one file of the upload (a member, when it is a zip)."""
    offset = problems.start_file(filename)
    lines = _Lines(source, problems, on_progress, offset)
    if file_format == "txt":
        # One document: the whole file is its text; its name (no extension) is its id.
        text = "".join(line for _, line in lines)
        if lines.has_text:
            yield offset, DocumentRecord(id=PurePath(filename).stem, text=text)
    elif file_format == "csv":
        yield from _csv_records(filename, lines)
    else:
        yield from _jsonl_records(lines)
    if not lines.has_text:
        problems.add(None, "the file is empty")
    problems.end_file(lines.last)


# A zip holds the files it names; these limits keep a small archive from unpacking into
# more than the server can take (a "zip bomb"). Sizes are the ones the archive declares:
# reading a member stops at its declared size, so it cannot grow past them.
MAX_ZIP_MEMBERS = 200_000
MAX_COMPRESSION_RATIO = 200
# Files macOS and Windows put into archives beside the real ones.
IGNORED_MEMBERS = re.compile(r"(^|/)(__MACOSX/|\.[^/]*$|Thumbs\.db$|desktop\.ini$)")


def max_unzipped_bytes() -> int:
    return int(settings.IMPORT_MAX_UNZIPPED_BYTES)


def _zip_members(filename: str, archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's files to import, in its order; ImportRejected if it is unsafe."""
    members = [
        info
        for info in archive.infolist()
        if not info.is_dir() and not IGNORED_MEMBERS.search(info.filename)
    ]
    for info in members:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in info.filename:
            raise rejected(filename, f"{info.filename!r}: a path outside the archive is refused")
        if info.flag_bits & 0x1:
            raise rejected(filename, f"{info.filename!r}: encrypted members are not read")
    if not members:
        raise rejected(filename, "the archive holds no files")
    if len(members) > MAX_ZIP_MEMBERS:
        raise rejected(filename, f"more than {MAX_ZIP_MEMBERS:,} files in one archive")
    unzipped = sum(info.file_size for info in members)
    if unzipped > max_unzipped_bytes():
        raise rejected(
            filename,
            f"it unpacks to {unzipped:,} bytes, more than the {max_unzipped_bytes():,} "
            "this server takes (IMPORT_MAX_UNZIPPED_BYTES)",
        )
    for info in members:
        if info.file_size > 2**20 and info.file_size > MAX_COMPRESSION_RATIO * info.compress_size:
            raise rejected(
                filename,
                f"{info.filename!r} unpacks to {info.file_size // info.compress_size}x its "
                "packed size: refused as a zip bomb",
            )
    return members


def _zip_records(
    filename: str, source: IO[bytes], problems: _Problems, on_progress: ProgressCallback | None
) -> Records:
    """The records of every file in a zip, read as streams one after the other."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise rejected(filename, f"not a zip archive ({exc})") from None

    def report(_: int) -> None:
        if on_progress:  # how far into the archive the reading is
            on_progress(source.tell())

    with archive:
        for info in _zip_members(filename, archive):
            try:
                member_format = detect_format(info.filename)
                if member_format == "zip":
                    raise rejected(info.filename, "a zip inside the zip is not read")
            except ImportRejected as refused:
                skipped = problems.start_file(info.filename)
                problems.add(None, refused.errors[0].reason)
                problems.end_file(skipped)
                continue
            try:
                with archive.open(info) as member:
                    yield from _file_records(info.filename, member_format, member, problems, report)
            except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
                problems.add(None, f"damaged in the archive ({exc})")
                return


def _jsonl_records(lines: Iterable[tuple[int, str]]) -> Records:
    """Each non-blank line's record, or the reason it is not one."""
    for number, line in lines:
        if not line.strip():
            continue
        try:
            yield number, parse_line(line, number)
        except InterchangeError as exc:
            yield number, f"{exc.field}: {exc.reason}" if exc.field else exc.reason


def _csv_records(filename: str, lines: _Lines) -> Records:
    """Each row's record: the ``text`` column, the ``id`` (or ``external_id``) column as
    its id (else the file's name and the row's number), every other column as meta."""
    before = lines.offset  # the reader counts its own lines; the checks see ours
    reader = csv.DictReader(line for _, line in lines)
    try:
        columns = reader.fieldnames or []
    except csv.Error as exc:
        yield before + 1, f"not CSV ({exc})"
        return
    if not columns:
        return  # an empty file
    if "text" not in columns:
        yield before + 1, f"no 'text' column in the header (columns: {', '.join(columns)})"
        return
    id_column = next((name for name in ("id", "external_id") if name in columns), None)
    meta_columns = [name for name in columns if name not in ("text", id_column)]
    stem = PurePath(filename).stem
    rows = iter(reader)
    row_number = 0
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader cannot go on past a broken row
            yield before + reader.line_num, f"not CSV ({exc})"
            return
        row_number += 1
        # A quoted field may span lines: the reader knows where the row ended.
        line = before + reader.line_num
        if None in row:
            yield line, "more fields than the header has columns"
            continue
        if not (row["text"] or "").strip():
            yield line, "the text is empty"
            continue
        external_id = (row[id_column] or "").strip() if id_column else ""
        yield (
            line,
            DocumentRecord(
                id=external_id or f"{stem}-{row_number}",
                text=row["text"],
                meta={name: row[name] for name in meta_columns if row[name] not in ("", None)},
            ),
        )


class _Writer:
    """Checks records against the project and writes them in batches."""

    def __init__(self, project: Project, problems: _Problems):
        self.project = project
        self.problems = problems
        self.summary = ImportSummary()
        self.schema = span_label_schema(project)
        self.labels = {label.name: label for label in project.label_types.all()}
        self.relation_types = {
            label.name for label in self.labels.values() if label.kind == LabelKind.RELATION
        }
        self.document_label_schema = {
            label.name: (label.multiple, list(label.choices))
            for label in self.labels.values()
            if label.kind == LabelKind.DOCUMENT
        }
        self.seen_ids: set[str] = set()
        self.users: dict[str, User] = {}
        self.annotator_ids: set[int] = set(
            Membership.objects.filter(project=project).values_list("user_id", flat=True)
        )

    def check(self, record: DocumentRecord) -> None:
        """Raise _Refused with the first thing wrong with ``record``."""

        def reject(reason: str) -> _Refused:
            return _Refused(f"document {record.id!r}: {reason}")

        try:
            # JSONL lines were checked as they were parsed; CSV rows and text files not.
            check_storable(record)
        except InterchangeError as exc:
            raise reject(f"{exc.field}: {exc.reason}") from None
        if not record.text:
            raise reject("the text is empty")
        if record.id in self.seen_ids:
            raise reject("the id appears twice in this file")
        self.seen_ids.add(record.id)
        layers = [(f"annotations.{name}", spans) for name, spans in record.annotations.items()]
        layers.append(("gold", record.gold))
        for where, spans in layers:
            for index, span in enumerate(spans):
                for problem_field, reason in span_problems(record.text, span, self.schema):
                    raise reject(f"{where}[{index}].{problem_field}: {reason}")
        relation_sets = [(f"relations.{n}", r) for n, r in record.relations.items()]
        relation_sets.append(("gold_relations", record.gold_relations))
        span_lists = {f"relations.{n}": s for n, s in record.annotations.items()}
        span_lists["gold_relations"] = record.gold
        for where, relations in relation_sets:
            seen = set()
            for index, relation in enumerate(relations):
                here = f"{where}[{index}]"
                if relation.type not in self.relation_types:
                    known = ", ".join(sorted(self.relation_types))
                    raise reject(
                        f"{here}.type: unknown relation {relation.type!r} (known: {known})"
                    )
                if relation in seen:
                    raise reject(f"{here}: the same link appears twice")
                seen.add(relation)
                label = self.labels[relation.type]
                spans = span_lists[where]
                for end, allowed in (("head", label.head_label), ("tail", label.tail_label)):
                    problem = end_label_problem(
                        relation.type,
                        end,
                        allowed.name if allowed is not None else None,
                        spans[getattr(relation, end)].label,
                    )
                    if problem:
                        raise reject(f"{here}.{end}: {problem}")
        label_sets = [(f"document_labels.{n}", v) for n, v in record.document_labels.items()]
        label_sets.append(("gold_document_labels", record.gold_document_labels))
        for where, labels in label_sets:
            for name, reason in document_label_problems(labels, self.document_label_schema):
                raise reject(f"{where}.{name}: {reason}")
        validate_username = UnicodeUsernameValidator()
        for name in record.annotations:
            try:
                validate_username(name)
            except ValidationError:
                raise reject(f"annotations: {name!r} is not a valid username") from None

    def user(self, username: str) -> User:
        """The named annotator, made (with no usable password) and added if need be."""
        if username not in self.users:
            user_model = get_user_model()
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model(username=username)
                user.set_unusable_password()
                user.save()
                self.summary.created_users.append(username)
            if user.pk not in self.annotator_ids:
                Membership.objects.create(project=self.project, user=user, role=Role.ANNOTATOR)
                self.annotator_ids.add(user.pk)
            self.users[username] = user
        return self.users[username]

    def clashes(self, batch: list[tuple[int | None, DocumentRecord]]) -> bool:
        """Report the documents of ``batch`` already in the project; whether there were any."""
        ids = [record.id for _, record in batch]
        taken = set(
            Document.objects.filter(project=self.project, external_id__in=ids).values_list(
                "external_id", flat=True
            )
        )
        for line, record in batch:
            if record.id in taken:
                self.problems.add(line, f"document {record.id!r} is already in the project")
        return bool(taken)

    def write(self, batch: list[tuple[int | None, DocumentRecord]]) -> None:
        documents = Document.objects.bulk_create(
            [
                Document(project=self.project, external_id=r.id, text=r.text, meta=r.meta)
                for _, r in batch
            ]
        )
        now = timezone.now()
        layers: list[Layer] = []
        assignments: list[Assignment] = []
        # (layer, record's spans, record's relations) in the order the layers are made.
        contents = []
        for document, (_, record) in zip(documents, batch, strict=True):
            for username, spans in record.annotations.items():
                user = self.user(username)
                self.summary.annotators.add(username)
                layers.append(
                    Layer(
                        document=document,
                        annotator=user,
                        status=LayerStatus.SUBMITTED,
                        submitted_at=now,
                    )
                )
                assignments.append(
                    Assignment(
                        document=document,
                        annotator=user,
                        status=AssignmentStatus.SUBMITTED,
                        started_at=now,
                        finished_at=now,
                    )
                )
                contents.append((record, spans, record.relations.get(username, [])))
            if record.gold_state is not None:
                final = record.gold_state == GOLD_FINAL
                layers.append(
                    Layer(
                        document=document,
                        is_gold=True,
                        status=LayerStatus.SUBMITTED if final else LayerStatus.OPEN,
                        submitted_at=now if final else None,
                    )
                )
                contents.append((record, record.gold, record.gold_relations))
        Layer.objects.bulk_create(layers)
        Assignment.objects.bulk_create(assignments)

        spans_by_layer: list[list[Span]] = []
        for layer, (record, spans, _) in zip(layers, contents, strict=True):
            spans_by_layer.append(
                [
                    Span(
                        layer=layer,
                        label=self.labels[span.label],
                        start=span.start,
                        end=span.end,
                        attributes=dict(span.attrs),
                        quote=record.text[span.start : span.end],
                    )
                    for span in spans
                ]
            )
        Span.objects.bulk_create([span for spans in spans_by_layer for span in spans])
        relations = [
            Relation(
                layer=layer,
                label=self.labels[relation.type],
                head=made[relation.head],
                tail=made[relation.tail],
            )
            for layer, made, (_, _, layer_relations) in zip(
                layers, spans_by_layer, contents, strict=True
            )
            for relation in layer_relations
        ]
        Relation.objects.bulk_create(relations)
        DocumentLabel.objects.bulk_create(
            [
                DocumentLabel(layer=layer, label=self.labels[name], value=value)
                for layer, (record, _, _) in zip(layers, contents, strict=True)
                for name, values in (
                    record.gold_document_labels
                    if layer.annotator is None
                    else record.document_labels.get(layer.annotator.username, {})
                ).items()
                for value in values
            ]
        )
        self.summary.documents += len(documents)
        self.summary.spans += sum(len(spans) for spans in spans_by_layer)
        self.summary.relations += len(relations)


def _write_records(
    project: Project,
    problems: _Problems,
    records: Iterable[tuple[int | None, DocumentRecord | str]],
) -> ImportSummary:
    """Check every record; write them in batches until the first problem, then only check."""
    writer = _Writer(project, problems)
    batch: list[tuple[int | None, DocumentRecord]] = []

    def flush() -> None:
        if not writer.clashes(batch) and not problems.total:
            writer.write(batch)
        batch.clear()

    for line, record in records:
        if isinstance(record, str):
            problems.add(line, record)
            continue
        try:
            writer.check(record)
        except _Refused as refused:
            problems.add(line, str(refused))
            continue
        batch.append((line, record))
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    problems.raise_any()
    if writer.summary.documents == 0:
        raise rejected(problems.filename, "the file holds no documents")
    return writer.summary
