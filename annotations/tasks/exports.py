"""Export jobs in Celery: claim the job, write its chunks in parallel, join them once.

``run_export_job`` claims the row (``tasks.lifecycle``). An export of one chunk (a small
project, or a format written whole: ``exporters.chunked``), or one run eagerly, is written
here and now. Otherwise the job fans out as a chord: one ``write_export_chunk`` per chunk of
documents, each storing its part, then ``finish_export`` joins the parts into the archive
and publishes it. Every task carries the claim's token, as agreement runs do:

- a chunk advances progress by its share once its part is stored (which also beats), so
  progress counts chunks done; a chunk whose pool process died is handed back by the
  worker (``reject_on_worker_lost``) and written again under the same token;
- a job taken over gets a new token and a new chord: the old chord's tasks do nothing;
- ``finish_export`` publishes only if its token still owns the job, writing first any
  chunk that has no part: the job succeeds once.
"""

from __future__ import annotations

from typing import Any

from celery import Task, chord, group, shared_task
from django.conf import settings

from annotations.models import ExportJob
from annotations.services import export_jobs, jobs
from annotations.services.agreement_runs import Chunk
from annotations.services.jobs import Claim
from annotations.tasks.lifecycle import JOB_TASK_OPTIONS, run_job, run_step

EXPORT_TASK_OPTIONS: dict[str, Any] = {
    **JOB_TASK_OPTIONS,
    "time_limit": settings.EXPORT_TIME_LIMIT,
    "soft_time_limit": settings.EXPORT_SOFT_TIME_LIMIT,
}


@shared_task(**EXPORT_TASK_OPTIONS)
def run_export_job(self: Task, job_id: int, take_over_from: int | None = None) -> int | None:
    """Claim the export and write it, or fan it out; the claim's token, or None."""

    def export(claim: Claim) -> None:
        job = ExportJob.objects.select_related("project").get(pk=job_id)
        export_jobs.parse_options(job.format, job.options)  # bad options fail the job here
        chunks = export_jobs.plan_chunks(job)
        if self.request.is_eager or len(chunks) <= 1:
            export_jobs.run_export(job, claim)
            return
        plan = [chunk.to_json() for chunk in chunks]
        chord(
            group(write_export_chunk.s(job_id, claim.token, item, len(plan)) for item in plan),
            finish_export.s(job_id, claim.token, plan),
        ).apply_async()

    return run_job(self, ExportJob, job_id, export, take_over_from=take_over_from, what="export")


@shared_task(**EXPORT_TASK_OPTIONS)
def write_export_chunk(
    self: Task, job_id: int, token: int, chunk: list[int], total: int
) -> dict[str, Any] | None:
    """Store one chunk's part; its index and figures for ``finish_export``, or None."""
    claim = Claim(model=ExportJob, job_id=job_id, token=token)
    part = Chunk.from_json(chunk)

    def write() -> dict[str, Any]:
        job = ExportJob.objects.select_related("project").get(pk=job_id)
        with jobs.heartbeat(claim):
            figures = export_jobs.write_chunk_part(job, claim, part)
        claim.advance(1 / total)
        return {"chunk": part.index, "figures": figures}

    return run_step(self, claim, write, what=f"chunk {part.index}", failed="export failed")


@shared_task(**EXPORT_TASK_OPTIONS)
def finish_export(
    self: Task,
    results: list[dict[str, Any] | None],
    job_id: int,
    token: int,
    plan: list[list[int]],
) -> bool:
    """Join the parts and publish the archive, if ``token`` still owns the job."""
    claim = Claim(model=ExportJob, job_id=job_id, token=token)

    def join() -> bool:
        job = ExportJob.objects.select_related("project").get(pk=job_id)
        figures = {item["chunk"]: item["figures"] for item in results if item}
        chunks = [Chunk.from_json(item) for item in plan]
        with jobs.heartbeat(claim):
            export_jobs.finish_chunks(job, claim, chunks, figures)
        return True

    return bool(run_step(self, claim, join, what="joining the chunks", failed="export failed"))
