"""Export jobs in Celery: the shared lifecycle (``tasks.lifecycle``) around the service."""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from annotations.models import ExportJob
from annotations.services import export_jobs
from annotations.services.jobs import Claim
from annotations.tasks.lifecycle import JOB_TASK_OPTIONS, run_job


@shared_task(
    **JOB_TASK_OPTIONS,
    time_limit=settings.EXPORT_TIME_LIMIT,
    soft_time_limit=settings.EXPORT_SOFT_TIME_LIMIT,
)
def run_export_job(self: Task, job_id: int, take_over_from: int | None = None) -> int | None:
    """Claim the export and write its archive; the token of the claim that ran it, or None."""

    def export(claim: Claim) -> None:
        job = ExportJob.objects.select_related("project").get(pk=job_id)
        export_jobs.run_export(job, claim)

    return run_job(self, ExportJob, job_id, export, take_over_from=take_over_from, what="export")
