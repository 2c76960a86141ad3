"""Importing documents: plain text files, the JSONL interchange format, and CSV.

A whole import is one transaction: the first bad line rejects the file with its name,
its line number and the reason, and nothing is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotations.interchange import (
    DocumentRecord,
    InterchangeError,
    end_label_problem,
    iter_records,
    span_problems,
)
from annotations.models import (
    Assignment,
    AssignmentStatus,
    Document,
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
# Documents written to the database at a time: memory stays bounded on large files.
BATCH = 500


class ImportRejected(ValidationError):
    """A file that cannot be imported; the message names the file, the line, the reason."""

    def __init__(self, filename: str, reason: str, line: int | None = None):
        self.filename = filename
        self.line = line
        self.reason = reason
        where = f"{filename}, line {line}" if line is not None else filename
        super().__init__(f"{where}: {reason}")


@dataclass
class ImportSummary:
    documents: int = 0
    spans: int = 0
    relations: int = 0
    annotators: set[str] = field(default_factory=set)
    created_users: list[str] = field(default_factory=list)


def detect_format(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix in ("txt", "csv"):
        return suffix
    raise ImportRejected(filename, "unknown file type: name it .txt, .jsonl or .csv")


def decode(filename: str, data: bytes) -> str:
    """UTF-8 text of an uploaded file (a byte-order mark is dropped), or ImportRejected."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRejected(
            filename, f"not UTF-8 (byte 0x{data[exc.start]:02x} cannot be decoded)", line
        ) from None
    if not text.strip():
        raise ImportRejected(filename, "the file is empty")
    return text


@transaction.atomic
def import_file(
    *,
    project: Project,
    filename: str,
    data: bytes,
    actor: User | None = None,
    file_format: str | None = None,
) -> ImportSummary:
    """Import one uploaded file into ``project``, all or nothing."""
    file_format = file_format or detect_format(filename)
    if file_format not in FORMATS:
        raise ImportRejected(filename, f"unknown format {file_format!r}: use {', '.join(FORMATS)}")
    text = decode(filename, data)
    if file_format == "txt":
        external_id = PurePath(filename).stem
        records: Iterable[tuple[int | None, DocumentRecord]] = [
            (None, DocumentRecord(id=external_id, text=text))
        ]
    elif file_format == "csv":
        records = _csv_records(filename, text)
    else:
        records = _jsonl_records(filename, text)
    summary = _write_records(project, filename, records)
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
    summary = _write_records(project, source, ((None, record) for record in records))
    record_event(
        actor=actor,
        project=project,
        action="import",
        object_type="document",
        after={"source": source, "documents": summary.documents, "spans": summary.spans},
    )
    return summary


def _jsonl_records(filename: str, text: str) -> Iterator[tuple[int | None, DocumentRecord]]:
    try:
        yield from iter_records(text.splitlines())
    except InterchangeError as exc:
        reason = f"{exc.field}: {exc.reason}" if exc.field else exc.reason
        raise ImportRejected(filename, reason, exc.line) from None


def _csv_records(filename: str, text: str) -> Iterator[tuple[int | None, DocumentRecord]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    if "text" not in columns:
        raise ImportRejected(filename, f"no 'text' column (columns: {', '.join(columns)})", 1)
    id_column = next((name for name in ("id", "external_id") if name in columns), None)
    meta_columns = [name for name in columns if name not in ("text", id_column)]
    for row in reader:
        # The header is line 1; a quoted field may span lines, so ask the reader.
        line = reader.line_num
        if None in row:
            raise ImportRejected(filename, "more fields than the header has columns", line)
        if not (row["text"] or "").strip():
            raise ImportRejected(filename, "the text is empty", line)
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

    def __init__(self, project: Project, filename: str):
        self.project = project
        self.filename = filename
        self.summary = ImportSummary()
        self.schema = span_label_schema(project)
        self.labels = {label.name: label for label in project.label_types.all()}
        self.relation_types = {
            label.name for label in self.labels.values() if label.kind == LabelKind.RELATION
        }
        self.seen_ids: set[str] = set()
        self.users: dict[str, User] = {}
        self.annotator_ids: set[int] = set(
            Membership.objects.filter(project=project).values_list("user_id", flat=True)
        )

    def check(self, line: int | None, record: DocumentRecord) -> None:
        def reject(reason: str) -> ImportRejected:
            return ImportRejected(self.filename, f"document {record.id!r}: {reason}", line)

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

    def write(self, batch: list[tuple[int | None, DocumentRecord]]) -> None:
        ids = [record.id for _, record in batch]
        clash = (
            Document.objects.filter(project=self.project, external_id__in=ids)
            .values_list("external_id", flat=True)
            .first()
        )
        if clash is not None:
            line = next(line for line, record in batch if record.id == clash)
            raise ImportRejected(
                self.filename, f"document {clash!r} is already in the project", line
            )
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
            if record.gold or record.gold_relations:
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
        self.summary.documents += len(documents)
        self.summary.spans += sum(len(spans) for spans in spans_by_layer)
        self.summary.relations += len(relations)


def _write_records(
    project: Project, filename: str, records: Iterable[tuple[int | None, DocumentRecord]]
) -> ImportSummary:
    writer = _Writer(project, filename)
    batch: list[tuple[int | None, DocumentRecord]] = []
    for line, record in records:
        writer.check(line, record)
        batch.append((line, record))
        if len(batch) >= BATCH:
            writer.write(batch)
            batch = []
    if batch:
        writer.write(batch)
    if writer.summary.documents == 0:
        raise ImportRejected(filename, "the file holds no documents")
    return writer.summary
