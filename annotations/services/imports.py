"""Importing documents: plain text files, the JSONL interchange format, and CSV.

A whole import is one transaction: a file with bad lines is rejected with every bad line
named (file, line number, reason; the first ``MAX_REPORTED_ERRORS`` of them, and how many
there were), and nothing is written. The file is read as a stream, line by line, so a
large upload never sits in memory whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotations.interchange import (
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

FORMATS = ("txt", "jsonl", "csv")
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
    """The bad lines found so far: the first ones kept, all of them counted."""

    def __init__(self, filename: str):
        self.filename = filename
        self.errors: list[LineError] = []
        self.total = 0

    def add(self, line: int | None, reason: str) -> None:
        self.total += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(LineError(self.filename, line, reason))

    def raise_any(self) -> None:
        if self.total:
            # In line order: clashes with the project are found a batch after the line.
            in_order = sorted(self.errors, key=lambda error: error.line or 0)
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
    if suffix in ("txt", "csv"):
        return suffix
    raise rejected(filename, "unknown file type: name it .txt, .jsonl or .csv")


class _Lines:
    """``(line number, text)`` of every line of a binary stream, read one at a time.

    Line endings are kept (CSV needs them). A line that is not UTF-8 is reported and
    passed on with the bad bytes replaced: the import is rejected anyway, and the lines
    after it are still checked. ``on_progress`` is told the bytes read so far.
    """

    def __init__(
        self, source: IO[bytes], problems: _Problems, on_progress: ProgressCallback | None
    ):
        self.source = source
        self.problems = problems
        self.on_progress = on_progress
        self.has_text = False  # anything but whitespace so far

    def __iter__(self) -> Iterator[tuple[int, str]]:
        read = 0
        for number, raw in enumerate(iter(self.source.readline, b""), start=1):
            read += len(raw)
            if number == 1 and raw.startswith(BYTE_ORDER_MARK):
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

    ``on_progress`` is told how many bytes have been read, line after line.
    """
    file_format = file_format or detect_format(filename)
    if file_format not in FORMATS:
        raise rejected(filename, f"unknown format {file_format!r}: use {', '.join(FORMATS)}")
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    problems = _Problems(filename)
    lines = _Lines(source, problems, on_progress)
    records: Iterable[tuple[int | None, DocumentRecord | str]]
    if file_format == "txt":
        # One document: the whole file is its text.
        text = "".join(line for _, line in lines)
        records = [(None, DocumentRecord(id=PurePath(filename).stem, text=text))]
    elif file_format == "csv":
        records = _csv_records(filename, lines)
    else:
        records = _jsonl_records(lines)
    try:
        summary = _write_records(project, problems, records)
    except ImportRejected:
        if not lines.has_text:
            raise rejected(filename, "the file is empty") from None
        raise
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


def _jsonl_records(
    lines: Iterable[tuple[int, str]],
) -> Iterator[tuple[int | None, DocumentRecord | str]]:
    """Each non-blank line's record, or the reason it is not one."""
    for number, line in lines:
        if not line.strip():
            continue
        try:
            yield number, parse_line(line, number)
        except InterchangeError as exc:
            yield number, f"{exc.field}: {exc.reason}" if exc.field else exc.reason


def _csv_records(
    filename: str, lines: Iterable[tuple[int, str]]
) -> Iterator[tuple[int | None, DocumentRecord | str]]:
    reader = csv.DictReader(line for _, line in lines)
    try:
        columns = reader.fieldnames or []
    except csv.Error as exc:
        raise rejected(filename, f"not CSV ({exc})", 1) from None
    if "text" not in columns:
        raise rejected(filename, f"no 'text' column (columns: {', '.join(columns)})", 1)
    id_column = next((name for name in ("id", "external_id") if name in columns), None)
    meta_columns = [name for name in columns if name not in ("text", id_column)]
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader cannot go on past a broken row
            yield reader.line_num, f"not CSV ({exc})"
            return
        # The header is line 1; a quoted field may span lines, so ask the reader.
        line = reader.line_num
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
                id=external_id or str(reader.line_num - 1),
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
            if record.gold or record.gold_relations or record.gold_document_labels:
                layers.append(Layer(document=document, is_gold=True))
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
