"""The life of a job row (import, agreement run, export), the same for every kind.

A job is ``queued`` until a worker claims it, ``running`` while a worker holds the claim,
and ends ``succeeded`` or ``failed`` (with a reason a manager can read). Claiming is a
conditional UPDATE that bumps ``attempts``; the number it reaches is the claim's token,
and every later write of that worker (progress, heartbeat, result, failure) is made only
``WHERE attempts = token``. Whoever takes a job over gets a new token, so whatever the
previous holder still does afterwards writes nothing: a job succeeds once.

A worker that died stops its heartbeat. Three paths hand its job to another worker: the
broker redelivering the task's message, a worker starting (``worker_ready``), and the
periodic sweep of jobs whose heartbeat is older than ``JOB_STALE_SECONDS``. The Celery
side of this lives in ``annotations.tasks.lifecycle`` and ``annotations.tasks.recovery``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from annotations.models import Job, JobStatus

logger = logging.getLogger(__name__)

# Progress short of done: 1.0 is written only with the result.
ALMOST_DONE = 0.99


class ClaimLost(Exception):
    """The claim no longer owns its job: another worker took it over, or it ended."""


@dataclass
class Claim:
    """A worker's hold on one job row, identified by its token."""

    model: type[Job]
    job_id: int
    token: int
    # Progress reported in memory, saved by the next heartbeat (see ``heartbeat``).
    progress: float | None = None

    def _owned(self) -> QuerySet[Job]:
        return self.model._default_manager.filter(
            pk=self.job_id, status=JobStatus.RUNNING, attempts=self.token
        )

    def owns(self) -> bool:
        return bool(self._owned().exists())

    def report(self, fraction: float) -> None:
        """Note progress (0 to 1); the heartbeat saves it, so this costs no query."""
        self.progress = min(fraction, ALMOST_DONE)

    def beat(self) -> bool:
        """Save the heartbeat and the reported progress; False once the claim is lost."""
        fields: dict[str, Any] = {"heartbeat_at": timezone.now()}
        if self.progress is not None:
            fields["progress"] = self.progress
        return bool(self._owned().update(**fields))

    def advance(self, step: float) -> bool:
        """Add ``step`` to the saved progress (parts of one job measured apart), and beat."""
        return bool(
            self._owned().update(
                progress=Least(F("progress") + step, Value(ALMOST_DONE)),
                heartbeat_at=timezone.now(),
            )
        )

    def succeed(self, **fields: Any) -> bool:
        """Mark the job succeeded with ``fields`` (its result), if this claim still owns it.

        Call it inside the transaction that writes the job's other effects, so that they
        are kept only when the job is marked succeeded by this claim.
        """
        now = timezone.now()
        return bool(
            self._owned().update(
                status=JobStatus.SUCCEEDED,
                progress=1.0,
                error="",
                finished_at=now,
                heartbeat_at=now,
                **fields,
            )
        )

    def fail(self, reason: str, **fields: Any) -> bool:
        """Mark the job failed with ``reason``, if this claim still owns it."""
        return fail(self.model, self.job_id, reason, token=self.token, **fields)

    def requeue(self, reason: str) -> bool:
        """Hand the job back to the queue before the task retries it."""
        return bool(
            self._owned().update(status=JobStatus.QUEUED, error=f"retrying after: {reason}"[:2000])
        )


def max_attempts() -> int:
    return int(settings.JOB_MAX_ATTEMPTS)


def claim(
    model: type[Job], job_id: int, *, take_over: bool = False, from_attempt: int | None = None
) -> Claim | None:
    """Move the job to running under a new token; None when it is not this caller's to run.

    A queued job is always claimed. A running one only with ``take_over`` (its worker died
    or its message came back), and, when ``from_attempt`` is given, only if that attempt
    still holds it: two messages sent to take over the same attempt restart it once. A job
    claimed ``JOB_MAX_ATTEMPTS`` times already fails instead: something kills every
    worker that runs it.
    """
    claimable = Q(status=JobStatus.QUEUED)
    if take_over:
        running = Q(status=JobStatus.RUNNING)
        if from_attempt is not None:
            running &= Q(attempts=from_attempt)
        claimable |= running
    jobs = model._default_manager.filter(claimable, pk=job_id)
    now = timezone.now()
    with transaction.atomic():
        updated = jobs.filter(attempts__lt=max_attempts()).update(
            status=JobStatus.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            heartbeat_at=now,
            progress=0.0,
            error="",
        )
        if updated:
            token = model._default_manager.values_list("attempts", flat=True).get(pk=job_id)
            return Claim(model=model, job_id=job_id, token=int(token))
    if jobs.update(
        status=JobStatus.FAILED,
        error=f"gave up after {max_attempts()} attempts: every worker that ran it stopped",
        finished_at=now,
    ):
        logger.error("%s %s: gave up after %s attempts", model.__name__, job_id, max_attempts())
    return None


def fail(
    model: type[Job], job_id: int, reason: str, *, token: int | None = None, **fields: Any
) -> bool:
    """Mark an unfinished job failed; with ``token``, only while that claim owns it."""
    jobs = model._default_manager.filter(
        pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    )
    if token is not None:
        jobs = jobs.filter(attempts=token)
    return bool(
        jobs.update(
            status=JobStatus.FAILED, error=reason[:2000], finished_at=timezone.now(), **fields
        )
    )


def heartbeat_seconds() -> float:
    return float(settings.JOB_HEARTBEAT_SECONDS)


def stale_seconds() -> float:
    return float(settings.JOB_STALE_SECONDS)


@contextmanager
def heartbeat(job: Claim, *, every: float | None = None) -> Iterator[None]:
    """Beat for ``job`` in a thread of its own while the block runs.

    The thread has its own database connection, so the beat and the progress it saves are
    committed at once, even while the job's own work sits in one long transaction (an
    import). A failed beat is logged and tried again at the next one.
    """
    every = every if every is not None else heartbeat_seconds()
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.wait(every):
                try:
                    if not job.beat():
                        return  # taken over or ended: nothing left to keep alive
                except Exception:
                    logger.warning("%s %s: heartbeat failed", job.model.__name__, job.job_id)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=run, name=f"heartbeat-{job.job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class Restart:
    """A job to publish again: ``take_over_from`` is the attempt that stopped, if any."""

    job_id: int
    take_over_from: int | None


def stale_jobs(
    model: type[Job], waiting: Collection[tuple[int, int]] = frozenset()
) -> list[Restart]:
    """Jobs nobody is working on, marked so that a concurrent sweep does not pick them too.

    Running jobs whose heartbeat stopped more than ``JOB_STALE_SECONDS`` ago are to be
    taken over; queued jobs published that long ago are published again (their message
    may be lost: a broker that went away, a worker that died holding it). ``waiting``:
    the ``(job id, token)`` of running jobs whose next tasks wait in the broker's queue
    (chunks behind other work): nobody beats for them, yet nothing is lost.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=stale_seconds())
    last_sign = Coalesce("heartbeat_at", "started_at", "created_at")
    candidates = (
        model._default_manager.alias(last_sign=last_sign)
        .filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], last_sign__lt=cutoff)
        .values_list("pk", "status", "attempts")
    )
    restarts = []
    for job_id, status, attempts in candidates:
        if status == JobStatus.RUNNING and (job_id, attempts) in waiting:
            continue
        # Conditional on the state just read: a beat or a claim in between wins.
        marked = (
            model._default_manager.alias(last_sign=last_sign)
            .filter(pk=job_id, status=status, attempts=attempts, last_sign__lt=cutoff)
            .update(heartbeat_at=now)
        )
        if marked:
            take_over_from = attempts if status == JobStatus.RUNNING else None
            restarts.append(Restart(job_id=job_id, take_over_from=take_over_from))
    return restarts


def unfinished_jobs(model: type[Job]) -> list[Restart]:
    """Every queued and running job, for a worker that starts (see ``tasks.recovery``)."""
    unfinished = model._default_manager.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    return [
        Restart(job_id=job_id, take_over_from=attempts if status == JobStatus.RUNNING else None)
        for job_id, status, attempts in unfinished.values_list("pk", "status", "attempts")
    ]


class BrokerUnavailable(Exception):
    """A job's row is saved, but its task could not be handed to the broker: the sweep
    publishes the job once the broker answers again. ``job`` is the saved row."""

    def __init__(self, job: Job, reason: str):
        self.job = job
        super().__init__(f"the job queue did not answer ({reason})")


def _send(task: Any, args: list[Any], **options: Any) -> str | None:
    """Hand a task to the broker, waiting at most ``CELERY_BROKER_TIMEOUT`` seconds.

    The try runs in a thread of its own, so a broker that is down or frozen costs the
    request a second or two, whatever the client library does meanwhile (retries, closing
    a dead connection). Returns None once sent, else why not; an error that is not the
    broker's is raised.
    """
    outcome: dict[str, BaseException | bool] = {}

    def send() -> None:
        try:
            task.apply_async(args=args, retry=False, ignore_result=True, **options)
            outcome["sent"] = True
        except BaseException as exc:  # handed to the request's thread below
            outcome["error"] = exc

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    deadline = settings.BROKER_TIMEOUT
    sender.join(deadline)
    if outcome.get("sent"):
        return None
    error = outcome.get("error")
    if isinstance(error, BaseException) and not isinstance(error, BrokerError | OSError):
        raise error
    return str(error) if error else f"no answer within {deadline} s"


def publish_on_commit(task: Any, job: Job, *args: Any) -> None:
    """Hand ``job``'s task to the broker once the row commits, trying once.

    A broker that does not take it within the deadline (``_send``) makes
    ``BrokerUnavailable`` come out of the commit: the job stays queued (the sweep
    publishes it later) and the caller can say so. Should the try go through after all
    once the broker wakes, the job has two messages and the claim runs it once. Nothing
    waits for the task's result: the job's row holds its outcome.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:  # no broker: the task runs here and now
        transaction.on_commit(lambda: task.apply_async(args=[job.pk, *args]))
        return

    def publish() -> None:
        reason = _send(task, [job.pk, *args])
        if reason is not None:
            logger.warning("%s %s: not published: %s", type(job).__name__, job.pk, reason)
            raise BrokerUnavailable(job, reason)

    transaction.on_commit(publish)


def schedule_on_commit(task: Any, *args: Any, countdown: float) -> None:
    """Run a check ``countdown`` seconds after this commits, the way jobs are published.

    For debounced work that creates its job only when the check finds it due (the
    agreement re-run after submissions). With no broker (eager) the check runs at once:
    nothing could hold it for the countdown. A broker that does not answer loses the
    check (logged): the next trigger schedules another, and nothing the caller saved is
    undone.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        transaction.on_commit(lambda: task.apply(args=list(args)))
        return

    def schedule() -> None:
        reason = _send(task, list(args), countdown=countdown)
        if reason is not None:
            logger.warning("%s%s: not scheduled: %s", task.name, args, reason)

    transaction.on_commit(schedule)
