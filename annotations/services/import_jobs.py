"""Imports as jobs: keep the upload in storage, import it in a worker, report every bad line.

The upload is saved to storage as it arrives (in chunks), so the web process never holds
it whole; the worker streams it from storage into ``imports.import_file``, which is all
or nothing. A job whose file has bad lines fails with them (``line_errors``: the first
``imports.MAX_REPORTED_ERRORS``; ``line_error_count``: all of them) and writes nothing.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction

from annotations.models import ImportJob, Project
from annotations.services import jobs
from annotations.services.audit import record_event
from annotations.services.imports import FORMATS, ImportRejected, detect_format, import_file
from annotations.services.jobs import Claim, ClaimLost

logger = logging.getLogger(__name__)


def start_import(
    *, project: Project, actor: User | None, upload: File, file_format: str | None = None
) -> ImportJob:
    """Store the upload and queue its import; a worker picks it up once this commits.

    An unknown file type or format is refused here (ValidationError on ``file``), before
    anything is stored. In the demo (tasks run eagerly) the import has run by the time
    this returns, and the job says how it went.
    """
    from annotations.tasks.imports import run_import_job

    filename = str(upload.name)
    try:
        if file_format is None:
            detect_format(filename)
        elif file_format not in FORMATS:
            raise ValidationError(f"unknown format {file_format!r}: use {', '.join(FORMATS)}")
    except ValidationError as exc:
        raise ValidationError({"file": exc.messages}) from None
    with transaction.atomic():
        job = ImportJob(
            project=project, requested_by=actor, filename=filename, format=file_format or ""
        )
        # Storage reads the upload chunk by chunk (or moves its temporary file).
        job.file.save(f"{project.slug}/{filename}", upload, save=False)
        job.save()
        record_event(
            actor=actor,
            project=project,
            action="import_start",
            obj=job,
            after={"file": filename, "format": job.format},
        )
        jobs.publish_on_commit(run_import_job, job)
    job.refresh_from_db()
    return job


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
            if not claim.succeed(result=summary.to_json()):
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
