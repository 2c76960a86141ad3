"""What every job task does around its service: claim, heartbeat, retry, fail.

A job task takes the row's primary key and calls ``run_job`` with the service call to
make under the claim. Tasks are ``acks_late`` with ``reject_on_worker_lost``: the message
of a worker that died goes back to the broker, and its redelivery takes the job over with
a new token instead of being refused (``services.jobs`` explains the tokens).

Only transient trouble is retried: the database, the broker or storage I/O going away,
with exponential backoff, ``MAX_RETRIES`` times. Anything else fails the job with its
reason: bad input would fail the same way again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.log import get_task_logger
from django.core.exceptions import ValidationError
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from kombu.exceptions import OperationalError as BrokerError

from annotations.models import Job
from annotations.services import jobs
from annotations.services.jobs import Claim, ClaimLost

logger = get_task_logger(__name__)
T = TypeVar("T")

TRANSIENT = (OperationalError, InterfaceError, BrokerError, OSError)
MAX_RETRIES = 3
# Options shared by every job task (pass them to ``shared_task``).
JOB_TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": MAX_RETRIES,
}


def redelivered(task: Task) -> bool:
    """Whether the broker delivers this message again (its first worker died)."""
    return bool((getattr(task.request, "delivery_info", None) or {}).get("redelivered"))


def reason(exc: BaseException) -> str:
    """A failure as a manager reads it."""
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{name}: {' '.join(why)}" for name, why in exc.message_dict.items())
        return "; ".join(exc.messages)
    if isinstance(exc, SoftTimeLimitExceeded):
        return "stopped: it ran past its time limit"
    return f"{type(exc).__name__}: {exc}"


def retry_or_fail(task: Task, job: Claim, exc: Exception, *, hand_back: bool = True) -> None:
    """After a transient error: retry with backoff while retries remain, else fail the job.

    Raises celery's Retry when retrying. ``hand_back``: the task claims the job, so the job
    goes back to the queue and the retried task may also take over this claim's attempt
    (the job stays running when the database is too far away to requeue it). Otherwise
    the task works under the claim's token, and its retry keeps the token. A claim already
    lost retries nothing: the job is someone else's.
    """
    # A dropped connection stays broken until closed; Django opens a new one on next use.
    # (Not inside a transaction: an eager run in a test or a request keeps its own.)
    if not connection.in_atomic_block:
        connection.close()
    name = f"{job.model.__name__} {job.job_id}"
    try:
        if not job.owns():
            logger.info("%s: claim lost, not retried", name)
            return
        if task.request.retries >= MAX_RETRIES:
            logger.error("%s: giving up after %s retries", name, MAX_RETRIES)
            job.fail(f"failed after {MAX_RETRIES} retries: {exc}")
            return
        if hand_back:
            job.requeue(str(exc))
    except DatabaseError:
        logger.warning("%s: the database is still away", name)
    kwargs = dict(task.request.kwargs or {})
    if hand_back:
        kwargs["take_over_from"] = job.token
    raise task.retry(exc=exc, kwargs=kwargs, countdown=5 * 2**task.request.retries)


def run_job(
    task: Task,
    model: type[Job],
    job_id: int,
    work: Callable[[Claim], Any],
    *,
    take_over_from: int | None = None,
    expected: tuple[type[Exception], ...] = (ValidationError,),
    what: str = "job",
) -> int | None:
    """Claim the job and run ``work`` under the claim, with a heartbeat; return the token.

    ``work`` stores the result itself (``Claim.succeed``). Returns None when the job was
    not this delivery's to run, or the claim was lost on the way. ``expected`` errors
    (bad input) fail the job with their message; others with their type too.
    """
    take_over = take_over_from is not None or redelivered(task)
    job = jobs.claim(model, job_id, take_over=take_over, from_attempt=take_over_from)
    if job is None:
        logger.info("%s %s: already claimed or finished", model.__name__, job_id)
        return None
    try:
        if task.request.is_eager:  # the demo's web process: nobody watches a heartbeat
            work(job)
        else:
            with jobs.heartbeat(job):
                work(job)
    except ClaimLost:
        logger.info("%s %s: taken over by another attempt", model.__name__, job_id)
        return None
    except TRANSIENT as exc:
        retry_or_fail(task, job, exc)
        return None
    except expected as exc:
        job.fail(reason(exc))
    except Exception as exc:
        logger.exception("%s %s failed", model.__name__, job_id)
        job.fail(f"{what} failed: {reason(exc)}")
    return job.token


def run_step(
    task: Task, claim: Claim, step: Callable[[], T], *, what: str, failed: str
) -> T | None:
    """Run ``step``, a part of a job split across tasks (a chunk, or the step that ends the
    job), under ``claim``'s token; what it returns, or None.

    Nothing runs once the claim no longer owns the job. Transient trouble retries the task
    under the same token; anything else fails the job: ``failed`` and the reason.
    """
    name = f"{claim.model.__name__} {claim.job_id}"
    if not claim.owns():
        return None
    try:
        return step()
    except ClaimLost:
        logger.info("%s: taken over by another attempt", name)
    except TRANSIENT as exc:
        retry_or_fail(task, claim, exc, hand_back=False)
    except Exception as exc:
        logger.exception("%s: %s failed", name, what)
        claim.fail(f"{failed}: {reason(exc)}")
    return None
