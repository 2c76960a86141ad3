"""Research exports as jobs: start one, run it, publish its archive with a checksum.

The archive is written by the Django-free ``annotations.exporters`` from the records that
``selectors.iter_project_records`` streams, so memory stays flat. Each attempt (see
``services.jobs``) writes to a ``.part`` file of its own in its host's scratch folder and
publishes it to storage (``annotations.storage``: the local disk or a bucket) under a name
of its own, so a retried, killed or superseded attempt never leaves half a file under a
published name, nor overwrites the archive another attempt recorded. An attempt removes
the ``.part`` files its job's earlier attempts left on its host. The same ``write_export``
serves the Celery task and ``manage.py export``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from queue import Full, Queue
from typing import IO, Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage
from django.db import connections, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from annotations.exporters import EXPORTERS
from annotations.exporters.archive import ExportStats, write_archive
from annotations.exporters.base import ExportOptions, LabelInfo, OptionsError
from annotations.exporters.chunked import (
    CHUNKED_FORMATS,
    chunk_size,
    join_parts,
    merged,
    stats_from_json,
    stats_to_json,
    write_chunk,
)
from annotations.exporters.dataset_card import CardData
from annotations.interchange import DocumentRecord
from annotations.models import (
    ExportJob,
    LabelType,
    Layer,
    Membership,
    Project,
    Role,
)
from annotations.selectors import (
    catalogue_records,
    final_with_open_candidates,
    iter_project_records,
    latest_succeeded_run,
)
from annotations.services import agreement_runs, jobs
from annotations.services.agreement_runs import Chunk
from annotations.services.audit import record_event
from annotations.services.jobs import Claim, ClaimLost
from annotations.storage import publish, scratch_folder

logger = logging.getLogger(__name__)

# Documents between two progress reports (to the job's heartbeat, or a terminal's bar).
PROGRESS_EVERY = 100
ProgressCallback = Callable[[int, int], None]


def parse_options(format: str, options: Mapping[str, Any] | None) -> ExportOptions:
    """Checked export options, or ValidationError naming the field (``options.<name>``)."""
    if format not in EXPORTERS:
        raise ValidationError({"format": [f"must be one of: {', '.join(EXPORTERS)}"]})
    try:
        return ExportOptions.from_json(options or {})
    except OptionsError as exc:
        raise ValidationError({f"options.{exc.field}": [exc.reason]}) from None


@transaction.atomic
def start_export(
    *,
    project: Project,
    actor: User | None,
    format: str,
    options: Mapping[str, Any] | None = None,
) -> ExportJob:
    """Queue an export of ``project``; the worker picks it up once this commits."""
    from annotations.tasks.exports import run_export_job

    parsed = parse_options(format, options)
    job = ExportJob.objects.create(
        project=project, requested_by=actor, format=format, options=parsed.to_json()
    )
    record_event(
        actor=actor,
        project=project,
        action="export_start",
        obj=job,
        after={"format": format, "options": job.options},
    )
    jobs.publish_on_commit(run_export_job, job)
    return job


def workbench_version() -> str:
    return str(settings.WORKBENCH_VERSION)


def _label_infos(project: Project) -> list[LabelInfo]:
    return [
        LabelInfo(
            name=label.name,
            kind=label.kind,
            description=label.description,
            attributes=label.attribute_schema or {},
            allow_overlap=label.allow_overlap,
            head=label.head_label.name if label.head_label else None,
            tail=label.tail_label.name if label.tail_label else None,
            choices=list(label.choices or []),
            multiple=label.multiple,
            catalogue=label.catalogue,
            link_required=label.link_required,
            stance_values=list(label.stance_values or []),
        )
        for label in LabelType.objects.filter(project=project)
        .select_related("head_label", "tail_label")
        .order_by("position", "name")
    ]


def _annotators(project: Project) -> list[str]:
    """Everyone with a layer in the project, and its annotators who have none yet."""
    # One probe per user, not a DISTINCT over every layer: a third of the time at 100,000
    # documents.
    has_layer = Layer.objects.filter(annotator=OuterRef("pk"), document__project=project)
    with_layers = User.objects.filter(Exists(has_layer)).values_list("username", flat=True)
    members = Membership.objects.filter(project=project, role=Role.ANNOTATOR).values_list(
        "user__username", flat=True
    )
    return sorted(set(with_layers) | set(members))


def card_data(project: Project) -> CardData:
    """The project's side of the dataset card: schema, annotators, latest agreement."""
    run = latest_succeeded_run(project)
    return CardData(
        project_name=project.name,
        project_slug=project.slug,
        exported_at=timezone.now(),
        workbench_version=workbench_version(),
        guidelines=project.guidelines,
        labels=_label_infos(project),
        annotators=_annotators(project),
        agreement=run.result if run else None,
        agreement_finished_at=run.finished_at if run else None,
        final_with_open_candidates=final_with_open_candidates(project),
        catalogue=catalogue_records(project),
    )


def chunk_card(project: Project, options: ExportOptions) -> CardData:
    """What a chunk's writer needs of the card: the schema, and the annotators when their
    names become pseudonyms. The card itself is the join's, so each of many chunks does
    not count the whole project again."""
    return CardData(
        project_name=project.name,
        project_slug=project.slug,
        exported_at=timezone.now(),
        workbench_version=workbench_version(),
        labels=_label_infos(project),
        annotators=_annotators(project) if options.pseudonymise else (),
    )


def _counted(
    records: Iterable[DocumentRecord], total: int, on_progress: ProgressCallback | None
) -> Iterator[DocumentRecord]:
    for done, record in enumerate(records, start=1):
        yield record
        if on_progress and (done % PROGRESS_EVERY == 0 or done == total):
            on_progress(done, total)


_DONE = object()


def read_ahead(records: Iterator[DocumentRecord], depth: int = 1000) -> Iterator[DocumentRecord]:
    """Iterate ``records`` in a thread of its own, up to ``depth`` records ahead.

    The selector waits on PostgreSQL for every chunk; in its own thread (and connection)
    those waits overlap with the exporter's work instead of adding to it. The thread sees
    only committed rows, so inside a transaction use the records as they are.
    """
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for record in records:
                while not stop.is_set():
                    try:
                        queue.put(record, timeout=0.5)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            queue.put(exc)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=produce, name="export-read-ahead", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield cast(DocumentRecord, item)
    finally:
        stop.set()
        thread.join()


def write_export(
    *,
    project: Project,
    format: str,
    options: ExportOptions,
    target: str | Path | IO[bytes],
    on_progress: ProgressCallback | None = None,
) -> ExportStats:
    """Write the zip archive of a project export to ``target``; report progress on the way."""
    total = project.documents.count()
    records = iter_project_records(project)
    if not transaction.get_connection().in_atomic_block:
        records = read_ahead(records)
    records = _counted(records, total, on_progress)
    return write_archive(records, target, format=format, options=options, card=card_data(project))


def sha256_of(path: Path) -> tuple[str, int]:
    """The SHA-256 hex digest and the size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def archive_name(job: ExportJob, attempt: int) -> str:
    slug = job.project.slug
    return f"exports/{slug}/{slug}-{job.format}-{job.pk}-{attempt}.zip"


def _part_prefix(job: ExportJob) -> str:
    return f".export-{job.pk}-"


def run_export(job: ExportJob, claim: Claim, *, storage: Storage | None = None) -> ExportJob:
    """Run a claimed job in this process: write its archive, publish it, record checksum,
    size and success.

    Progress goes to the claim's heartbeat. Bad options raise ValidationError (the task
    fails the job); storage or database trouble raises as it comes, for the task to retry.
    Raises ClaimLost, and unpublishes its archive, when another attempt took the job over.
    """
    options = parse_options(job.format, job.options)
    partial = _fresh_partial(job, claim)

    def report(done: int, total: int) -> None:
        claim.report(done / total if total else 1.0)

    try:
        stats = write_export(
            project=job.project,
            format=job.format,
            options=options,
            target=partial,
            on_progress=report,
        )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return _publish_archive(job, claim, partial, stats, storage=storage)


def _fresh_partial(job: ExportJob, claim: Claim) -> Path:
    """The scratch file of this attempt's archive, once the job's leftovers on this host
    (earlier attempts', dead or superseded, and their chunks') are gone."""
    folder = scratch_folder()
    for leftover in folder.glob(f"{_part_prefix(job)}*.zip.part"):
        leftover.unlink(missing_ok=True)
    return folder / f"{_part_prefix(job)}{claim.token}.zip.part"


def _publish_archive(
    job: ExportJob, claim: Claim, partial: Path, stats: ExportStats, *, storage: Storage | None
) -> ExportJob:
    storage = storage or job.file.storage
    name = archive_name(job, claim.token)
    try:
        checksum, size = sha256_of(partial)
        published = publish(storage, partial, name)
    finally:
        partial.unlink(missing_ok=True)
    with transaction.atomic():
        if not claim.succeed(file=published, checksum=checksum, size=size):
            storage.delete(published)
            raise ClaimLost(job.pk)
        record_event(
            actor=None,
            project=job.project,
            action="export_finish",
            obj=job,
            after={
                "documents": stats.documents,
                "problems": dict(stats.problems),
                "checksum": checksum,
                "size": size,
            },
        )
    job.refresh_from_db()
    return job


# --- in chunks, by several workers (``annotations.tasks.exports``) ------------------------


def chunk_documents() -> int:
    return int(settings.EXPORT_CHUNK_DOCUMENTS)


def plan_chunks(job: ExportJob, size: int | None = None) -> list[Chunk]:
    """The chunks of documents a job is written in; one for a format written whole."""
    if job.format not in CHUNKED_FORMATS:
        return agreement_runs.plan_chunks(job.project, max(job.project.documents.count(), 1))
    options = parse_options(job.format, job.options)
    size = chunk_size(job.format, options, size or chunk_documents())
    return agreement_runs.plan_chunks(job.project, size)


def _chunks_folder(job: ExportJob) -> str:
    return f"exports/{job.project.slug}/.chunks"


def chunk_name(job: ExportJob, token: int, chunk: Chunk) -> str:
    """Where a chunk's part is stored: a folder per attempt, so attempts never mix."""
    return f"{_chunks_folder(job)}/{job.pk}-{token}/{chunk.index:05d}.zip"


def write_chunk_part(
    job: ExportJob, claim: Claim, chunk: Chunk, *, storage: Storage | None = None
) -> dict[str, Any]:
    """Write and store one chunk's part; its figures as JSON, for ``finish_chunks``.

    Writing it again (a redelivered task, a chunk redone) replaces the stored part.
    """
    storage = storage or job.file.storage
    options = parse_options(job.format, job.options)
    documents = job.project.documents.filter(id__gte=chunk.first_id, id__lte=chunk.last_id)
    # No reading ahead in a thread here: with a process per core writing chunks, the
    # thread's hand-overs cost more CPU than its overlap saves (bench/README.md).
    records = iter_project_records(job.project, documents=documents)
    local = scratch_folder() / f"{_part_prefix(job)}{claim.token}-{chunk.index}.zip.part"
    try:
        stats = write_chunk(
            records,
            local,
            format=job.format,
            options=options,
            card=chunk_card(job.project, options),
            start=chunk.start,
        )
        publish(storage, local, chunk_name(job, claim.token, chunk))
    finally:
        local.unlink(missing_ok=True)
    return stats_to_json(stats)


def finish_chunks(
    job: ExportJob,
    claim: Claim,
    chunks: list[Chunk],
    figures: Mapping[int, Mapping[str, Any]],
    *,
    storage: Storage | None = None,
) -> ExportJob:
    """Join the chunks' stored parts into the archive and publish it, once.

    ``figures``: each chunk's, by index; a chunk missing from them (its task gave up, or
    was lost with its worker) is written here. Raises ClaimLost when another attempt owns
    the job. The parts are removed once joined, with those of earlier attempts.
    """
    storage = storage or job.file.storage
    options = parse_options(job.format, job.options)
    parts = dict(figures)
    for chunk in chunks:
        if chunk.index not in parts:
            logger.warning("export %s: writing missing chunk %s", job.pk, chunk.index)
            parts[chunk.index] = write_chunk_part(job, claim, chunk, storage=storage)
            claim.advance(1 / len(chunks))
    if not claim.owns():
        raise ClaimLost(job.pk)
    stats = merged(stats_from_json(dict(parts[chunk.index])) for chunk in chunks)
    partial = _fresh_partial(job, claim)
    try:
        join_parts(
            (storage.open(chunk_name(job, claim.token, chunk), "rb") for chunk in chunks),
            partial,
            format=job.format,
            options=options,
            card=card_data(job.project),
            stats=stats,
        )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    _remove_chunk_parts(job, claim, storage)
    return _publish_archive(job, claim, partial, stats, storage=storage)


def _remove_chunk_parts(job: ExportJob, claim: Claim, storage: Storage) -> None:
    """Delete the stored parts of this attempt, and those earlier attempts left."""
    folder = _chunks_folder(job)
    try:
        attempts, _files = storage.listdir(folder)
    except FileNotFoundError:  # on a local disk: no chunked export of the project yet
        return
    for attempt in attempts:
        job_id, _, token = attempt.partition("-")
        if job_id == str(job.pk) and int(token) <= claim.token:
            for name in storage.listdir(f"{folder}/{attempt}")[1]:
                storage.delete(f"{folder}/{attempt}/{name}")
            if storage.exists(f"{folder}/{attempt}"):  # a folder on a local disk only
                storage.delete(f"{folder}/{attempt}")
