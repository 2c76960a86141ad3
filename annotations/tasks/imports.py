"""Import jobs in Celery: the shared lifecycle (``tasks.lifecycle``) around the service."""

from __future__ import annotations

from celery import Task, shared_task

from annotations.models import ImportJob
from annotations.services import import_jobs
from annotations.services.jobs import Claim
from annotations.tasks.lifecycle import JOB_TASK_OPTIONS, run_job


@shared_task(**JOB_TASK_OPTIONS)
def run_import_job(self: Task, job_id: int, take_over_from: int | None = None) -> int | None:
    """Claim the import and run it from its stored file; the claim's token, or None."""

    def load(claim: Claim) -> None:
        job = ImportJob.objects.select_related("project", "requested_by").get(pk=job_id)
        import_jobs.run_import(job, claim)

    return run_job(self, ImportJob, job_id, load, take_over_from=take_over_from, what="import")
