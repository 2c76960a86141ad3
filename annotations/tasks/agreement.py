"""Agreement runs in Celery: claim the run, measure its chunks in parallel, store once.

``run_agreement`` claims the row and fans the project's documents out as a chord: one
``measure_agreement_chunk`` per chunk, then ``finish_agreement`` merges their statistics
and stores the result. Every task is ``acks_late``: a worker killed mid-task leaves its
message to be delivered again (Redis hands unacknowledged messages back after the
visibility timeout, when a worker starts or every few minutes), and each task is safe to
run again:

- a chunk only reads, and returns its statistics;
- a redelivered ``run_agreement`` takes the run over with a new claim token, so anything
  still in flight from the old claim writes nothing;
- ``finish_agreement`` stores only if its token still owns the run, so the result is
  stored once.

Only transient trouble (database, broker) is retried; anything else fails the run with
its reason.
"""

from __future__ import annotations

from typing import Any

from celery import chord, group, shared_task
from celery.signals import worker_ready
from celery.utils.log import get_task_logger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerError

from annotations.agreement import ParameterError, Partial
from annotations.models import AgreementRun, JobStatus, Project
from annotations.services import agreement_runs
from annotations.services.agreement_runs import Chunk

logger = get_task_logger(__name__)

TRANSIENT = (OperationalError, BrokerError)
MAX_RETRIES = 3


def _redelivered(request: Any) -> bool:
    return bool((getattr(request, "delivery_info", None) or {}).get("redelivered"))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return f"{type(exc).__name__}: {exc}"


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def run_agreement(  # type: ignore[no-untyped-def]
    self, run_id: int, chunk_size: int | None = None, take_over: bool = False
) -> int | None:
    """Claim the run, then measure it: inline when small or eager, else as a chord."""
    token = agreement_runs.claim(run_id, take_over=take_over or _redelivered(self.request))
    if token is None:
        logger.info("agreement run %s: already claimed or finished", run_id)
        return None
    try:
        run = AgreementRun.objects.select_related("project").get(pk=run_id)
        chunks = agreement_runs.plan_chunks(run.project, chunk_size)
        if settings.CELERY_TASK_ALWAYS_EAGER or len(chunks) <= 1:
            agreement_runs.run_inline(run, token, chunk_size)
            return token
        plan = [chunk.to_json() for chunk in chunks]
        chord(
            group(measure_agreement_chunk.s(run_id, token, item, len(plan)) for item in plan),
            finish_agreement.s(run_id, token, plan),
        ).apply_async()
    except TRANSIENT as exc:
        if self.request.retries >= MAX_RETRIES:
            agreement_runs.fail_run(run_id, f"failed after {MAX_RETRIES} retries: {exc}", token)
            return None
        agreement_runs.requeue(run_id, token, str(exc))
        raise self.retry(exc=exc, countdown=5 * 2**self.request.retries) from exc
    except (ValidationError, ParameterError) as exc:
        agreement_runs.fail_run(run_id, _reason(exc), token)
    except Exception as exc:
        logger.exception("agreement run %s failed", run_id)
        agreement_runs.fail_run(run_id, f"agreement failed: {_reason(exc)}", token)
    return token


@shared_task(bind=True, acks_late=True, max_retries=MAX_RETRIES)
def measure_agreement_chunk(  # type: ignore[no-untyped-def]
    self, run_id: int, token: int, chunk: list[int], total: int
) -> dict[str, Any] | None:
    """One chunk's statistics, for ``finish_agreement``; None once the claim is stale."""
    if not agreement_runs.is_current(run_id, token):
        return None
    part = Chunk.from_json(chunk)
    try:
        run = AgreementRun.objects.select_related("project").get(pk=run_id)
        partial = agreement_runs.measure_chunk(run, part)
        agreement_runs.add_progress(run_id, token, 1 / total)
    except TRANSIENT as exc:
        if self.request.retries >= MAX_RETRIES:
            agreement_runs.fail_run(run_id, f"failed after {MAX_RETRIES} retries: {exc}", token)
            return None
        raise self.retry(exc=exc, countdown=2 * 2**self.request.retries) from exc
    except Exception as exc:
        logger.exception("agreement run %s, chunk %s failed", run_id, part.index)
        agreement_runs.fail_run(run_id, f"agreement failed: {_reason(exc)}", token)
        return None
    return {"chunk": part.index, "partial": partial.to_json()}


@shared_task(bind=True, acks_late=True)
def finish_agreement(  # type: ignore[no-untyped-def]
    self, results: list[dict[str, Any] | None], run_id: int, token: int, plan: list[list[int]]
) -> bool:
    """Merge the chunks' statistics and store the result, if ``token`` still owns the run."""
    if not agreement_runs.is_current(run_id, token):
        return False
    try:
        run = AgreementRun.objects.select_related("project").get(pk=run_id)
        partials = {item["chunk"]: Partial.from_json(item["partial"]) for item in results if item}
        chunks = [Chunk.from_json(item) for item in plan]
        return agreement_runs.store_result(run, token, partials, chunks)
    except Exception as exc:
        logger.exception("agreement run %s: storing the result failed", run_id)
        agreement_runs.fail_run(run_id, f"agreement failed: {_reason(exc)}", token)
        return False


@worker_ready.connect
def resume_unfinished_runs(**kwargs: Any) -> None:
    """When a worker starts, it takes over every running run and claims every queued one.

    Redelivery alone cannot be trusted to finish a run whose worker died: Redis pops a
    message before it records it as unacknowledged, so a worker killed between the two
    loses it, and a chord missing one chunk never finishes. Taking the run over gives it a
    new claim token and a new chord; whatever the old claim still has in flight stores
    nothing, so the run completes once. The cost: a run that a healthy worker elsewhere was
    measuring starts again when another worker starts.
    """
    unfinished = AgreementRun.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    for run_id, status in unfinished.values_list("pk", "status"):
        logger.info("agreement run %s (%s): resumed by a starting worker", run_id, status)
        # A queued run's own message may still be waiting: whichever comes first claims it.
        take_over = status == JobStatus.RUNNING
        run_agreement.apply_async(args=[run_id], kwargs={"take_over": take_over})


@shared_task(acks_late=True)
def rerun_agreement_if_stale(project_id: int) -> int | None:
    """The debounced re-run after submissions (see ``agreement_runs.schedule_rerun``)."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    run = agreement_runs.rerun_if_stale(project)
    return run.pk if run is not None else None
