"""Jobs whose worker died are run again: by a starting worker, and by a periodic sweep.

Redelivery alone cannot be trusted to finish them: Redis pops a message before it records
it as unacknowledged, so a worker killed between the two loses it, and a chord missing one
chunk never finishes. So:

- a worker that starts (``worker_ready``) publishes every queued job and takes over every
  running one. The cost: a job that a healthy worker elsewhere is running starts again
  when another worker starts;
- ``sweep_jobs``, on Celery beat's schedule (``JOB_SWEEP_SECONDS``), takes over running
  jobs whose heartbeat stopped ``JOB_STALE_SECONDS`` ago, and publishes again queued jobs
  published that long ago. A job whose chunks (or the step that joins them) wait in the
  broker's queue behind other work is not stale: nobody beats for it, but nothing is lost.

A take-over names the attempt it replaces, so two of them for one attempt restart it once.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready
from celery.utils.log import get_task_logger

from annotations.models import AgreementRun, ExportJob, ImportJob, Job
from annotations.services import jobs, workers
from annotations.services.jobs import Restart
from annotations.tasks.agreement import finish_agreement, measure_agreement_chunk, run_agreement
from annotations.tasks.exports import finish_export, run_export_job, write_export_chunk
from annotations.tasks.imports import run_import_job

logger = get_task_logger(__name__)

# Each kind of job and the task that runs it (every one takes ``take_over_from``).
RUNNERS: dict[type[Job], Task] = {
    ImportJob: run_import_job,
    AgreementRun: run_agreement,
    ExportJob: run_export_job,
}


def _publish(model: type[Job], restarts: list[Restart], why: str) -> None:
    for restart in restarts:
        logger.info(
            "%s %s: %s (taking over attempt %s)",
            model.__name__,
            restart.job_id,
            why,
            restart.take_over_from,
        )
        RUNNERS[model].apply_async(
            args=[restart.job_id], kwargs={"take_over_from": restart.take_over_from}
        )


@worker_ready.connect
def resume_unfinished_jobs(**kwargs: Any) -> None:
    """A starting worker runs again every job left queued or running."""
    for model in RUNNERS:
        _publish(model, jobs.unfinished_jobs(model), "resumed by a starting worker")


# The tasks that work on a job after its claim, and the position of the job's id among
# their arguments (its token follows): while one waits in the queue, the job is not stale.
FOLLOWERS: dict[str, int] = {
    measure_agreement_chunk.name: 0,
    finish_agreement.name: 1,  # after the chord's results
    write_export_chunk.name: 0,
    finish_export.name: 1,
}


@shared_task(acks_late=True)
def sweep_jobs() -> int:
    """Run again the jobs nobody is working on; how many were published."""
    published = 0
    waiting = workers.waiting_claims(FOLLOWERS)
    for model in RUNNERS:
        restarts = jobs.stale_jobs(model, waiting)
        _publish(model, restarts, "picked up by the sweep")
        published += len(restarts)
    return published
