"""Export jobs in Celery: claim the row, run the service, record the outcome.

Only transient trouble is retried (the database or broker unreachable, a storage I/O
error); a retry finds the row queued again and claims it anew. Anything else marks the job
failed with its reason: re-running bad input would fail the same way.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from celery.utils.log import get_task_logger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from annotations.models import ExportJob, JobStatus
from annotations.services import export_jobs

logger = get_task_logger(__name__)

TRANSIENT = (OperationalError, BrokerError, OSError)
MAX_RETRIES = 3


def claim(job_id: int) -> bool:
    """Move the job from queued to running; False when another worker has it or it is done.

    A job still marked running after the hard time limit lost its worker (killed, or the
    machine went away; the broker then delivers the task again): it is claimed anew.
    """
    abandoned = timezone.now() - timedelta(seconds=settings.EXPORT_TIME_LIMIT)
    return bool(
        ExportJob.objects.filter(
            Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, started_at__lt=abandoned),
            pk=job_id,
        ).update(
            status=JobStatus.RUNNING,
            started_at=timezone.now(),
            attempts=F("attempts") + 1,
            error="",
            progress=0.0,
        )
    )


def _reason(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(why)}" for field, why in exc.message_dict.items())
    return "; ".join(exc.messages)


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=MAX_RETRIES,
    time_limit=settings.EXPORT_TIME_LIMIT,
    soft_time_limit=settings.EXPORT_SOFT_TIME_LIMIT,
)
def run_export_job(self, job_id: int) -> str | None:  # type: ignore[no-untyped-def]
    if not claim(job_id):
        logger.info("export %s: already claimed or finished", job_id)
        return None
    job = ExportJob.objects.select_related("project").get(pk=job_id)
    try:
        export_jobs.run_export(job)
    except ValidationError as exc:
        export_jobs.fail_export(job_id, _reason(exc))
    except TRANSIENT as exc:
        if self.request.retries >= MAX_RETRIES:
            logger.exception("export %s: giving up after %s retries", job_id, MAX_RETRIES)
            export_jobs.fail_export(job_id, f"failed after {MAX_RETRIES} retries: {exc}")
            return None
        ExportJob.objects.filter(pk=job_id).update(
            status=JobStatus.QUEUED, error=f"retrying after: {exc}"
        )
        raise self.retry(exc=exc, countdown=5 * 2**self.request.retries) from exc
    except Exception as exc:
        logger.exception("export %s failed", job_id)
        export_jobs.fail_export(job_id, f"export failed: {exc}")
        return None
    return job.checksum
