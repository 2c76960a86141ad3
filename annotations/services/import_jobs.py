"""Imports as jobs: keep the upload in storage, import it in a worker, report every bad line.

The upload is saved to storage as it arrives (in chunks), so the web process never holds
it whole; several files are copied into one stored zip, one job. The worker streams it
from storage into ``imports.import_file``, which is all or nothing, then assigns the new
documents when the job asks for it (``options["assign_now"]``). A job whose files have
bad lines fails with them (``line_errors``: the first ``imports.MAX_REPORTED_ERRORS``;
``line_error_count``: all of them) and writes nothing.
"""

from __future__ import annotations

import logging
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import PurePath
from typing import IO, Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.template.defaultfilters import pluralize

from annotations.models import ImportJob, Project
from annotations.services import jobs
from annotations.services.assignments import apply_to_project
from annotations.services.audit import record_event
from annotations.services.imports import FORMATS, ImportRejected, detect_format, import_file
from annotations.services.jobs import Claim, ClaimLost
from annotations.storage import scratch_folder

logger = logging.getLogger(__name__)


def start_import(
    *,
    project: Project,
    actor: User | None,
    upload: File | Sequence[File],
    file_format: str | None = None,
    assign_now: bool = False,
) -> ImportJob:
    """Store the upload and queue its import; a worker picks it up once this commits.

    Several files make one job: they are stored as one zip (written as they are read, a
    chunk at a time), imported all or nothing together. ``assign_now``: once the import
    has succeeded, hand the project's unassigned documents out (``apply_to_project``).
    An unknown file type or format is refused here (ValidationError on ``file``), before
    anything is stored. In the demo (tasks run eagerly) the import has run by the time
    this returns, and the job says how it went.
    """
    from annotations.tasks.imports import run_import_job

    uploads = [upload] if isinstance(upload, File) else list(upload)
    names = [PurePath(str(each.name)).name for each in uploads]
    _check_uploads(names, file_format)
    options: dict[str, Any] = {"assign_now": assign_now}
    if len(uploads) > 1:
        options["files"] = names
        filename = _bundle_name(names)
        file_format = "zip"
    else:
        filename = str(uploads[0].name)
    with transaction.atomic():
        job = ImportJob(
            project=project,
            requested_by=actor,
            filename=filename,
            format=file_format or "",
            options=options,
        )
        if len(uploads) > 1:
            with tempfile.TemporaryFile(dir=scratch_folder()) as bundle:
                _write_bundle(bundle, zip(names, uploads, strict=True))
                bundle.seek(0)
                job.file.save(f"{project.slug}/upload.zip", File(bundle), save=False)
        else:
            # Storage reads the upload chunk by chunk (or moves its temporary file).
            job.file.save(f"{project.slug}/{filename}", uploads[0], save=False)
        job.save()
        record_event(
            actor=actor,
            project=project,
            action="import_start",
            obj=job,
            after={"file": filename, "format": job.format, **options},
        )
        jobs.publish_on_commit(run_import_job, job)
    job.refresh_from_db()
    return job


def _check_uploads(names: list[str], file_format: str | None) -> None:
    """ValidationError on ``file`` (or ``file_format``) for an upload the job cannot read."""
    if not names:
        raise ValidationError({"file": ["choose at least one file"]})
    if file_format is not None and file_format not in FORMATS:
        raise ValidationError(
            {"file_format": [f"unknown format {file_format!r}: use {', '.join(FORMATS)}"]}
        )
    if len(names) > 1 and file_format is not None:
        raise ValidationError({"file_format": ["give a format only with a single file"]})
    problems = []
    if file_format is None:
        for name in names:
            try:
                kind = detect_format(name)
            except ImportRejected as refused:
                problems.extend(refused.messages)
                continue
            if kind == "zip" and len(names) > 1:
                problems.append(f"{name}: send a .zip on its own, not with other files")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"two files have the same name: {', '.join(repeated)}")
    if problems:
        raise ValidationError({"file": problems})


def _bundle_name(names: list[str]) -> str:
    """The job's name for several files: the first ones' names and how many more."""
    shown = ", ".join(names[:3])
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"{len(names)} files: {shown}{more}"[:255]


def _write_bundle(target: IO[bytes], files: Iterable[tuple[str, File]]) -> None:
    """Store ``files`` into one zip, copied chunk by chunk (already compressed enough:
    the archive lives only until the import has run)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as archive:
        for name, upload in files:
            with archive.open(name, "w", force_zip64=True) as member:
                for chunk in upload.chunks():
                    member.write(chunk)


def run_import(job: ImportJob, claim: Claim) -> ImportJob:
    """Run a claimed import from its stored file, and record its counts or its bad lines.

    The documents and the job's success are committed together, and only while the claim
    owns the job (ClaimLost otherwise): an import taken over from a dead worker is counted
    once. Storage or database trouble raises as it comes, for the task to retry.
    """
    size = job.file.size

    def report(done: int) -> None:
        claim.report(done / size if size else 1.0)

    try:
        with job.file.open("rb") as source, transaction.atomic():
            summary = import_file(
                project=job.project,
                filename=job.filename,
                data=source,
                actor=job.requested_by,
                file_format=job.format or None,
                on_progress=report,
            )
            result = summary.to_json()
            if job.options.get("assign_now"):
                result["assignment"] = _assign_now(job)
            if not claim.succeed(result=result):
                raise ClaimLost(job.pk)  # rolls the documents back
    except ImportRejected as rejected:
        first = str(rejected.errors[0])
        claim.fail(
            first if rejected.total == 1 else f"{rejected.total} bad lines; the first: {first}",
            line_errors=[error.to_json() for error in rejected.errors],
            line_error_count=rejected.total,
        )
    job.refresh_from_db()
    return job


def _assign_now(job: ImportJob) -> dict[str, Any]:
    """Hand out the project's unassigned documents after an import: how many assignments
    were made, and why some documents are still short of k (the import stands either way)."""
    plan = apply_to_project(project=job.project, actor=job.requested_by)
    outcome: dict[str, Any] = {"assigned": plan.added}
    if plan.unfillable:
        annotators = sum(1 for annotator in plan.annotators if annotator.is_annotator)
        outcome["reason"] = (
            f"{plan.unfillable} document{pluralize(plan.unfillable)} short of "
            f"k={plan.overlap} annotators: the project has {annotators}"
        )
    return outcome
