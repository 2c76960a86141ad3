"""Agreement runs in Celery: claim the run, measure its chunks in parallel, store once.

``run_agreement`` claims the row (``tasks.lifecycle``) and fans the project's documents
out as a chord: one ``measure_agreement_chunk`` per chunk, then ``finish_agreement``
merges their statistics and stores the result. Every task carries the claim's token:

- a chunk only reads, returns its statistics and advances progress (which also beats);
- a run taken over gets a new token and a new chord, so the old chord's tasks do nothing;
- ``finish_agreement`` stores only if its token still owns the run: the result is stored
  once, whatever the old claim still has in flight.
"""

from __future__ import annotations

from typing import Any

from celery import Task, chord, group, shared_task
from django.core.exceptions import ValidationError

from annotations.agreement import ParameterError, Partial
from annotations.models import AgreementRun, Project
from annotations.services import agreement_runs, jobs
from annotations.services.agreement_runs import Chunk
from annotations.services.jobs import Claim
from annotations.tasks.lifecycle import JOB_TASK_OPTIONS, run_job, run_step


@shared_task(**JOB_TASK_OPTIONS)
def run_agreement(
    self: Task, run_id: int, chunk_size: int | None = None, take_over_from: int | None = None
) -> int | None:
    """Claim the run, then measure it: inline when small or eager, else as a chord."""

    def measure(claim: Claim) -> None:
        run = AgreementRun.objects.select_related("project").get(pk=run_id)
        chunks = agreement_runs.plan_chunks(run.project, chunk_size)
        if self.request.is_eager or len(chunks) <= 1:
            agreement_runs.run_inline(run, claim, chunk_size)
            return
        plan = [chunk.to_json() for chunk in chunks]
        chord(
            group(measure_agreement_chunk.s(run_id, claim.token, item, len(plan)) for item in plan),
            finish_agreement.s(run_id, claim.token, plan),
        ).apply_async()

    return run_job(
        self,
        AgreementRun,
        run_id,
        measure,
        take_over_from=take_over_from,
        expected=(ValidationError, ParameterError),
        what="agreement",
    )


@shared_task(**JOB_TASK_OPTIONS)
def measure_agreement_chunk(
    self: Task, run_id: int, token: int, chunk: list[int], total: int
) -> dict[str, Any] | None:
    """One chunk's statistics, for ``finish_agreement``; None once the claim is stale."""
    claim = Claim(model=AgreementRun, job_id=run_id, token=token)
    part = Chunk.from_json(chunk)

    def measure() -> dict[str, Any]:
        run = AgreementRun.objects.select_related("project").get(pk=run_id)
        partial = agreement_runs.measure_chunk(run, part)
        claim.advance(1 / total)
        return {"chunk": part.index, "partial": partial.to_json()}

    return run_step(self, claim, measure, what=f"chunk {part.index}", failed="agreement failed")


@shared_task(**JOB_TASK_OPTIONS)
def finish_agreement(
    self: Task,
    results: list[dict[str, Any] | None],
    run_id: int,
    token: int,
    plan: list[list[int]],
) -> bool:
    """Merge the chunks' statistics and store the result, if ``token`` still owns the run."""
    claim = Claim(model=AgreementRun, job_id=run_id, token=token)

    def store() -> bool:
        run = AgreementRun.objects.select_related("project").get(pk=run_id)
        partials = {item["chunk"]: Partial.from_json(item["partial"]) for item in results if item}
        chunks = [Chunk.from_json(item) for item in plan]
        with jobs.heartbeat(claim):
            return agreement_runs.store_result(run, claim, partials, chunks)

    return bool(run_step(self, claim, store, what="storing the result", failed="agreement failed"))


@shared_task(acks_late=True)
def rerun_agreement_if_stale(project_id: int) -> int | None:
    """The debounced re-run after submissions (see ``agreement_runs.schedule_rerun``)."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    run = agreement_runs.rerun_if_stale(project)
    return run.pk if run is not None else None
