"""Importing documents: plain text files, the JSONL interchange format, CSV, and zips of them.

A whole import is one transaction: a file with bad lines is rejected with every bad line
named (file, line number, reason; the first ``MAX_REPORTED_ERRORS`` of them, and how many
there were), and nothing is written. The file is read as a stream, line by line, so a
large upload never sits in memory whole.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import re
import threading
import zipfile
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from annotations import sql
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
from annotations.interchange import Relation as InterchangeRelation
from annotations.interchange import Span as InterchangeSpan
from annotations.models import (
    Assignment,
    AssignmentStatus,
    Document,
    DocumentLabel,
    LabelKind,
    LabelType,
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
    """Checks records against the project; ``write`` (a subclass's) stores a checked batch.

    Everything a record is checked against is looked up once, here: span labels with their
    attribute schema, relation types with the labels allowed at their ends. What grows with
    the file is ``seen_ids`` (the external ids met so far, to report a duplicate: a short
    string per document, a few MB at 100,000 documents); ``existing_ids``, those of the
    documents the project held before, grows with the project in the same measure.
    """

    def __init__(self, project: Project, problems: _Problems):
        self.project = project
        self.problems = problems
        self.summary = ImportSummary()
        labels = list(project.label_types.select_related("head_label", "tail_label"))
        self.label_ids = {label.name: label.pk for label in labels}
        self.schema = span_label_schema(project)
        # Relation type -> the span label allowed at its head and at its tail (None: any).
        self.relation_ends = {
            label.name: (
                label.head_label.name if label.head_label else None,
                label.tail_label.name if label.tail_label else None,
            )
            for label in labels
            if label.kind == LabelKind.RELATION
        }
        self.document_label_schema = {
            label.name: (label.multiple, list(label.choices))
            for label in labels
            if label.kind == LabelKind.DOCUMENT
        }
        # Read once: asking the database batch by batch made PostgreSQL filter every
        # document of the project (those this import wrote too) against the whole batch.
        self.existing_ids = set(
            Document.objects.filter(project=project).values_list("external_id", flat=True)
        )
        self.seen_ids: set[str] = set()
        self.valid_usernames: set[str] = set()
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
        if record.id in self.existing_ids:
            raise _Refused(f"document {record.id!r} is already in the project")
        if record.id in self.seen_ids:
            raise reject("the id appears twice in this file")
        self.seen_ids.add(record.id)
        layers = [(f"annotations.{name}", spans) for name, spans in record.annotations.items()]
        layers.append(("gold", record.gold))
        for where, spans in layers:
            problem = self._span_problem(record.text, spans)
            if problem:
                raise reject(f"{where}{problem}")
        relation_sets = [(f"relations.{n}", r) for n, r in record.relations.items()]
        relation_sets.append(("gold_relations", record.gold_relations))
        span_lists = {f"relations.{n}": s for n, s in record.annotations.items()}
        span_lists["gold_relations"] = record.gold
        for where, relations in relation_sets:
            seen = set()
            for index, relation in enumerate(relations):
                here = f"{where}[{index}]"
                if relation.type not in self.relation_ends:
                    known = ", ".join(sorted(self.relation_ends))
                    raise reject(
                        f"{here}.type: unknown relation {relation.type!r} (known: {known})"
                    )
                if relation in seen:
                    raise reject(f"{here}: the same link appears twice")
                seen.add(relation)
                spans = span_lists[where]
                head, tail = self.relation_ends[relation.type]
                for end, allowed in (("head", head), ("tail", tail)):
                    problem = end_label_problem(
                        relation.type, end, allowed, spans[getattr(relation, end)].label
                    )
                    if problem:
                        raise reject(f"{here}.{end}: {problem}")
        label_sets = [(f"document_labels.{n}", v) for n, v in record.document_labels.items()]
        label_sets.append(("gold_document_labels", record.gold_document_labels))
        for where, labels in label_sets:
            for name, reason in document_label_problems(labels, self.document_label_schema):
                raise reject(f"{where}.{name}: {reason}")
        for name in record.annotations:
            if name not in self.valid_usernames:
                try:
                    UnicodeUsernameValidator()(name)
                except ValidationError:
                    raise reject(f"annotations: {name!r} is not a valid username") from None
                self.valid_usernames.add(name)

    def _span_problem(self, text: str, spans: list[InterchangeSpan]) -> str | None:
        """``[index].field: reason`` for the first bad span of a layer, or None."""
        length, schema = len(text), self.schema
        for index, span in enumerate(spans):
            start, end, label, attrs, _, _ = span
            allowed = schema.get(label)
            # One fast test for the good span (a file holds millions of them); the
            # interchange's checks name what is wrong with a bad one.
            if (
                allowed is not None
                and 0 <= start < end <= length
                and all(name in allowed and value in allowed[name] for name, value in attrs.items())
            ):
                continue
            for problem_field, reason in span_problems(text, span, schema):
                return f"[{index}].{problem_field}: {reason}"
        return None

    def user(self, username: str) -> User:
        """The named annotator, made (with no usable password) and added if need be."""
        if username not in self.users:
            user_model = get_user_model()
            user = user_model.objects.filter(username=username).first()
            if user is not None:
                self.hold(user)
            if user is None:
                user = user_model(username=username)
                user.set_unusable_password()
                user.save()
                self.summary.created_users.append(username)
            if user.pk not in self.annotator_ids:
                Membership.objects.create(project=self.project, user=user, role=Role.ANNOTATOR)
                self.annotator_ids.add(user.pk)
            self.users[username] = user
            self.summary.annotators.add(username)
        return self.users[username]

    def layers(self, record: DocumentRecord) -> list[_LayerPlan]:
        """The layers ``record`` makes: one per annotator (submitted), and the gold one."""
        plans = [
            _LayerPlan(
                self.user(name),
                spans,
                record.relations.get(name, []),
                record.document_labels.get(name, {}),
            )
            for name, spans in record.annotations.items()
        ]
        if record.gold_state is not None:  # gold exists, even an empty one
            plans.append(
                _LayerPlan(
                    None,
                    record.gold,
                    record.gold_relations,
                    record.gold_document_labels,
                    final=record.gold_state == GOLD_FINAL,
                )
            )
        return plans

    def write(self, batch: list[tuple[int | None, DocumentRecord]]) -> None:
        raise NotImplementedError

    def hold(self, user: User) -> None:
        """An existing account the import's layers will name (see ``_CopyWriter``)."""

    @contextmanager
    def running(self) -> Iterator[None]:
        """Around all the batches: writers that work in the background start and stop."""
        yield


@dataclass
class _LayerPlan:
    annotator: User | None  # None: the gold layer
    spans: list[InterchangeSpan]
    relations: list[InterchangeRelation]
    document_labels: Mapping[str, Sequence[str]]  # label name -> the values given
    final: bool = False  # a gold layer marked final (submitted)


_PlannedDocument = tuple[DocumentRecord, list[_LayerPlan]]
# A layer about to be written: its id, its document's id, the record and the plan.
_NumberedLayer = tuple[int, int, DocumentRecord, _LayerPlan]


class _OrmWriter(_Writer):
    """Writes with the ORM's ``bulk_create``: any database (the demo's SQLite)."""

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
        # (layer, its record, its plan) in the order the layers are made.
        contents: list[tuple[DocumentRecord, _LayerPlan]] = []
        for document, (_, record) in zip(documents, batch, strict=True):
            for plan in self.layers(record):
                gold = plan.annotator is None
                submitted = not gold or plan.final
                layers.append(
                    Layer(
                        document=document,
                        annotator=plan.annotator,
                        is_gold=gold,
                        status=LayerStatus.SUBMITTED if submitted else LayerStatus.OPEN,
                        submitted_at=now if submitted else None,
                    )
                )
                if not gold:
                    assignments.append(
                        Assignment(
                            document=document,
                            annotator=plan.annotator,
                            status=AssignmentStatus.SUBMITTED,
                            started_at=now,
                            finished_at=now,
                        )
                    )
                contents.append((record, plan))
        Layer.objects.bulk_create(layers)
        Assignment.objects.bulk_create(assignments)

        spans_by_layer: list[list[Span]] = []
        for layer, (record, plan) in zip(layers, contents, strict=True):
            spans_by_layer.append(
                [
                    Span(
                        layer=layer,
                        label_id=self.label_ids[span.label],
                        start=span.start,
                        end=span.end,
                        attributes=dict(span.attrs),
                        quote=record.text[span.start : span.end],
                    )
                    for span in plan.spans
                ]
            )
        Span.objects.bulk_create([span for spans in spans_by_layer for span in spans])
        relations = [
            Relation(
                layer=layer,
                label_id=self.label_ids[relation.type],
                head=made[relation.head],
                tail=made[relation.tail],
            )
            for layer, made, (_, plan) in zip(layers, spans_by_layer, contents, strict=True)
            for relation in plan.relations
        ]
        Relation.objects.bulk_create(relations)
        DocumentLabel.objects.bulk_create(
            [
                DocumentLabel(layer=layer, label_id=self.label_ids[name], value=value)
                for layer, (_, plan) in zip(layers, contents, strict=True)
                for name, values in plan.document_labels.items()
                for value in values
            ]
        )
        self.summary.documents += len(documents)
        self.summary.spans += sum(len(spans) for spans in spans_by_layer)
        self.summary.relations += len(relations)


class _CopyWriter(_Writer):
    """Writes with PostgreSQL's COPY: no model instances, ids reserved from the sequences.

    Each batch takes as many ids as it needs from the documents', layers' and spans'
    sequences (``nextval`` in one query each, so a concurrent writer is never given one of
    them), so the rows can name each other before they are sent: a layer its document, a
    span its layer, a relation the ids of its head and tail spans.
    """

    def __init__(self, project: Project, problems: _Problems):
        super().__init__(project, problems)
        self.attributes_json: dict[str, str] = {}
        # Planned batches on their way to the writing thread (None: no more); one waits
        # while another is written, so at most three batches are in memory at a time.
        self.queue: queue.Queue[list[_PlannedDocument] | None] = queue.Queue(maxsize=1)
        self.thread: threading.Thread | None = None
        self.failure: BaseException | None = None
        self.unchecked = False

    @contextmanager
    def running(self) -> Iterator[None]:
        """Write in a thread of its own while the caller reads and checks the next batch.

        The thread sends rows through this transaction's own psycopg connection (a
        connection serves one statement at a time: the caller's queries wait for a COPY
        to end). PostgreSQL stores one batch on the other core while Python parses the
        next. Whatever happens, the thread has stopped when this returns.
        """
        connection.ensure_connection()
        self.unchecked = _skip_key_checks(self.project)
        database = connection.connection
        self.thread = threading.Thread(target=self._write_queued, args=(database,), daemon=True)
        self.thread.start()
        try:
            yield
        finally:
            self.queue.put(None)
            self.thread.join()
            # The thread's error first: it is why the caller's queries fail, if they did.
            self._raise_failure()
        if self.unchecked:
            # Whatever the caller writes next in its transaction is checked again.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")

    def hold(self, user: User) -> None:
        # Without the foreign-key checks, nothing else keeps the account from being
        # deleted before the commit; the lock a check would take does.
        if self.unchecked:
            _hold_rows(type(user), "id = %s", [user.pk])

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _write_queued(self, database: Any) -> None:
        while (planned := self.queue.get()) is not None:
            if self.failure is not None:
                continue  # drain: the caller raises the failure at its next batch
            try:
                with database.cursor() as cursor:
                    self._copy(cursor, planned)
            except BaseException as exc:  # handed to the caller's thread
                self.failure = exc

    @staticmethod
    def reserve(cursor: Any, model: type[Model], count: int) -> Sequence[int]:
        """``count`` new ids of ``model``'s table: a range, unless other writers took some
        of the numbers between them meanwhile (then the list of them)."""
        cursor.execute(
            "WITH taken AS (SELECT nextval(pg_get_serial_sequence(%s, %s)) AS id "
            "FROM generate_series(1, %s)) SELECT min(id), max(id), CASE WHEN "
            "max(id) - min(id) + 1 <> count(*) THEN array_agg(id ORDER BY id) END FROM taken",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        first, last, scattered = cursor.fetchone()
        if first is None:
            return range(0)
        return scattered if scattered is not None else range(first, last + 1)

    def attributes(self, attrs: Mapping[str, Any]) -> str:
        """The JSON of a span's attributes: a corpus repeats a handful of sets."""
        if not attrs:
            return "{}"
        # The repr of decoded JSON tells apart all it can hold (1, 1.0 and true too).
        key = repr(attrs)
        made = self.attributes_json.get(key)
        if made is None:
            made = self.attributes_json[key] = json.dumps(attrs, ensure_ascii=False)
        return made

    def write(self, batch: list[tuple[int | None, DocumentRecord]]) -> None:
        """Plan the batch's layers (making annotators here, through the ORM) and queue it."""
        self._raise_failure()
        self.queue.put([(record, self.layers(record)) for _, record in batch])

    def _copy(self, cursor: Any, planned: list[_PlannedDocument]) -> None:
        now = timezone.now()
        document_ids = self.reserve(cursor, Document, len(planned))
        layer_ids = self.reserve(cursor, Layer, sum(len(plans) for _, plans in planned))
        layers = [
            (layer_id, document_id, record, plan)
            for layer_id, (document_id, record, plan) in zip(
                layer_ids,
                (
                    (document_id, record, plan)
                    for document_id, (record, plans) in zip(document_ids, planned, strict=True)
                    for plan in plans
                ),
                strict=True,
            )
        ]
        with cursor.copy(_copy_statement(Document, with_id=True)) as copy:
            for document_id, (record, _) in zip(document_ids, planned, strict=True):
                meta = json.dumps(record.meta, ensure_ascii=False)
                # The columns in field order; 1 is the document's first review_version.
                copy.write_row((document_id, self.project.pk, record.id, record.text, meta, now, 1))
        submitted, opened = LayerStatus.SUBMITTED.value, LayerStatus.OPEN.value
        with cursor.copy(_copy_statement(Layer, with_id=True)) as copy:
            for layer_id, document_id, _, plan in layers:
                # The columns in field order; "" is the gold layer's final_reason.
                row: tuple[Any, ...]
                if plan.annotator is None and plan.final:
                    row = (layer_id, document_id, None, True, submitted, 1, now, now, "")
                elif plan.annotator is None:
                    row = (layer_id, document_id, None, True, opened, 1, now, None, "")
                else:
                    annotator = plan.annotator.pk
                    row = (layer_id, document_id, annotator, False, submitted, 1, now, now, "")
                copy.write_row(row)
        with cursor.copy(_copy_statement(Assignment, with_id=False)) as copy:
            for _, document_id, _, plan in layers:
                if plan.annotator is not None:
                    annotator = plan.annotator.pk
                    copy.write_row((document_id, annotator, submitted, "", 0.0, now, now, now))
        span_ids = self._copy_spans(cursor, layers)
        relations = self._copy_relations(cursor, layers, span_ids)
        with cursor.copy(_copy_statement(DocumentLabel, with_id=False)) as copy:
            for layer_id, _, _, plan in layers:
                for name, values in plan.document_labels.items():
                    for value in values:
                        copy.write_row((layer_id, self.label_ids[name], value))
        self.summary.documents += len(planned)
        self.summary.spans += len(span_ids)
        self.summary.relations += relations

    def _copy_spans(self, cursor: Any, layers: list[_NumberedLayer]) -> Sequence[int]:
        """Write the spans of ``layers``; their ids, layer after layer, in each one's order."""
        span_ids = self.reserve(cursor, Span, sum(len(plan.spans) for *_, plan in layers))
        label_ids, attributes = self.label_ids, self.attributes
        next_id = iter(span_ids).__next__
        with cursor.copy(_copy_statement(Span, with_id=True)) as copy:
            write = copy.write_row
            for layer_id, _, record, plan in layers:
                text = record.text
                for start, end, label, attrs, _, _ in plan.spans:
                    row = (next_id(), layer_id, label_ids[label], start, end, attributes(attrs))
                    write((*row, text[start:end], None, ""))
        return span_ids

    def _copy_relations(
        self, cursor: Any, layers: list[_NumberedLayer], span_ids: Sequence[int]
    ) -> int:
        """Write the relations of ``layers``, their ends found by index; how many."""
        count, first_span = 0, 0
        with cursor.copy(_copy_statement(Relation, with_id=False)) as copy:
            for layer_id, _, _, plan in layers:
                for relation in plan.relations:
                    head, tail = (
                        span_ids[first_span + relation.head],
                        span_ids[first_span + relation.tail],
                    )
                    copy.write_row((layer_id, self.label_ids[relation.type], head, tail))
                    count += 1
                first_span += len(plan.spans)
        return count


def _skip_key_checks(project: Project) -> bool:
    """Let the import's rows skip PostgreSQL's foreign-key checks, when the database role
    may (a superuser, or a role granted ``SET`` on ``session_replication_role``); False
    when it may not, and the checks run as usual.

    The checks cannot fail here: every row the import writes names rows of its own
    transaction (documents, layers, spans), or rows it holds ``FOR KEY SHARE`` until it
    commits, the lock a check would take: the project, its labels and the annotators'
    accounts (``hold``). At 100,000 documents they cost a third of the import's time, two
    a span, all run at the commit.
    """
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    _hold_rows(Project, "id = %s", [project.pk])
    _hold_rows(LabelType, f"{sql.column(LabelType._meta.get_field('project'))} = %s", [project.pk])
    return True


def _hold_rows(model: type[Model], where: str, params: list[Any]) -> None:
    """Lock the rows of ``model`` matching ``where`` against deletion until the commit."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {sql.table(model)} WHERE {where} FOR KEY SHARE", params)


def _copy_statement(model: type[Model], *, with_id: bool) -> str:
    """COPY into every column of ``model`` in field order (the id only ``with_id``). The
    rows name every column, so a new field needs its value in them (the writing tests,
    which compare this path with the ORM's, fail until it has one)."""
    fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
    return f"COPY {sql.table(model)} ({', '.join(sql.column(f) for f in fields)}) FROM STDIN"


def _write_records(
    project: Project,
    problems: _Problems,
    records: Iterable[tuple[int | None, DocumentRecord | str]],
) -> ImportSummary:
    """Check every record; write them in batches until the first problem, then only check."""
    writer: _Writer = (
        _CopyWriter(project, problems)
        if connection.vendor == "postgresql"
        else _OrmWriter(project, problems)
    )
    batch: list[tuple[int | None, DocumentRecord]] = []

    def flush() -> None:
        if not problems.total:
            writer.write(batch)
        batch.clear()

    with writer.running():
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
