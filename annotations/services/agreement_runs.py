"""Agreement runs as jobs: start one, measure a project in chunks, store the result once.

The measuring is the Django-free ``annotations.agreement``: each chunk of documents (in id
order) is streamed from ``selectors.iter_project_records`` into sufficient statistics,
the chunks' statistics are merged, and ``finalize`` writes the result JSON. The Celery
tasks (``annotations.tasks.agreement``) run the chunks in parallel; ``run_inline`` runs
them one after the other in this process, for ``manage.py agreement`` and the eager demo.

A run is a job (``services.jobs``): every function here that writes works under a claim,
so a run taken over after its worker died completes once, whatever the dead worker's
leftover tasks do later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotations import agreement
from annotations.agreement import ParameterError, Params, Partial
from annotations.models import (
    AgreementRun,
    JobStatus,
    LabelKind,
    LabelType,
    Layer,
    LayerStatus,
    Project,
)
from annotations.selectors import iter_project_records
from annotations.services import jobs
from annotations.services.audit import record_event
from annotations.services.jobs import Claim

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chunk:
    """Documents ``first_id..last_id`` (by id); ``start`` is the first one's position."""

    index: int
    start: int
    first_id: int
    last_id: int

    def to_json(self) -> list[int]:
        return [self.index, self.start, self.first_id, self.last_id]

    @classmethod
    def from_json(cls, raw: Iterable[int]) -> Chunk:
        index, start, first_id, last_id = raw
        return cls(index=index, start=start, first_id=first_id, last_id=last_id)


def chunk_documents() -> int:
    # A chunk is one Celery task, and its statistics travel through the result backend.
    return int(settings.AGREEMENT_CHUNK_DOCUMENTS)


def parse_parameters(project: Project, raw: Mapping[str, Any] | None) -> Params:
    """Checked parameters, or ValidationError naming the problem (``parameters``).

    Unless the caller names labels, the run measures the project's span labels, so that a
    label nobody used still shows (undefined, with its reason); unless the caller gives
    ``links``, the catalogue links of every span label that links to a catalogue; and
    unless the caller gives ``document_labels``, every document-level label of the project.
    """
    if raw is not None and not isinstance(raw, Mapping):
        raise ValidationError({"parameters": ["must be an object"]})
    raw = dict(raw or {})
    if "labels" not in raw:
        raw["labels"] = list(
            LabelType.objects.filter(project=project, kind=LabelKind.SPAN).values_list(
                "name", flat=True
            )
        )
    if "links" not in raw:
        raw["links"] = {
            name: {"catalogue": catalogue, "stances": list(stances)}
            for name, catalogue, stances in LabelType.objects.filter(
                project=project, kind=LabelKind.SPAN
            )
            .exclude(catalogue="")
            .values_list("name", "catalogue", "stance_values")
        }
    if "document_labels" not in raw:
        raw["document_labels"] = {
            name: {"multiple": multiple, "choices": list(choices)}
            for name, multiple, choices in LabelType.objects.filter(
                project=project, kind=LabelKind.DOCUMENT
            ).values_list("name", "multiple", "choices")
        }
    try:
        return Params.from_mapping(raw)
    except ParameterError as exc:
        raise ValidationError({"parameters": [str(exc)]}) from None


@transaction.atomic
def start_run(
    *,
    project: Project,
    actor: User | None,
    parameters: Mapping[str, Any] | None = None,
    chunk_size: int | None = None,
) -> AgreementRun:
    """Queue a run of ``project``; a worker picks it up once this commits."""
    from annotations.tasks.agreement import run_agreement

    params = parse_parameters(project, parameters)
    run = AgreementRun.objects.create(
        project=project, requested_by=actor, parameters=params.to_json()
    )
    record_event(
        actor=actor, project=project, action="agreement_start", obj=run, after=run.parameters
    )
    jobs.publish_on_commit(run_agreement, run, chunk_size)
    return run


def plan_chunks(project: Project, size: int | None = None) -> list[Chunk]:
    """Split the project's documents, in id order, into chunks of ``size``."""
    size = size or chunk_documents()
    ids = list(project.documents.order_by("id").values_list("id", flat=True))
    return [
        Chunk(
            index=n, start=start, first_id=ids[start], last_id=ids[min(start + size, len(ids)) - 1]
        )
        for n, start in enumerate(range(0, len(ids), size))
    ]


def measure_chunk(run: AgreementRun, chunk: Chunk) -> Partial:
    """The sufficient statistics of one chunk's documents (submitted layers only)."""
    params = Params.from_mapping(run.parameters)
    documents = run.project.documents.filter(id__gte=chunk.first_id, id__lte=chunk.last_id)
    records = iter_project_records(run.project, documents=documents)
    return agreement.accumulate(records, params, start=chunk.start)


def store_result(
    run: AgreementRun, claim: Claim, partials: Mapping[int, Partial], chunks: list[Chunk]
) -> bool:
    """Merge the chunks' statistics, finalize and store the result, once.

    A chunk missing from ``partials`` is measured here. Returns False when the claim no
    longer owns the run (another attempt stores, or already has).
    """
    if not claim.owns():
        return False
    started = time.perf_counter()
    merged = []
    for chunk in chunks:
        partial = partials.get(chunk.index)
        if partial is None:
            logger.warning("agreement run %s: measuring missing chunk %s", run.pk, chunk.index)
            partial = measure_chunk(run, chunk)
        merged.append(partial)
    result = agreement.finalize(agreement.merge(merged), run.parameters)
    now = timezone.now()
    result["run"] = {
        "chunks": len(chunks),
        "finalize_seconds": round(time.perf_counter() - started, 3),
        "seconds": round((now - run.started_at).total_seconds(), 3) if run.started_at else None,
    }
    with transaction.atomic():
        stored = claim.succeed(result=result)
        if stored:
            record_event(
                actor=None,
                project=run.project,
                action="agreement_finish",
                obj=run,
                after={"documents": result["documents"], "overall": result["overall"]},
            )
    return bool(stored)


def run_inline(run: AgreementRun, claim: Claim, chunk_size: int | None = None) -> bool:
    """Measure a claimed run chunk after chunk in this process, with progress; store it."""
    chunks = plan_chunks(run.project, chunk_size)
    partials: dict[int, Partial] = {}
    for chunk in chunks:
        partials[chunk.index] = measure_chunk(run, chunk)
        claim.advance(1 / len(chunks))
    return store_result(run, claim, partials, chunks)


def rerun_delay() -> int:
    """Seconds of quiet after a submission before the automatic re-run (0: never)."""
    return int(settings.AGREEMENT_RERUN_AFTER_SECONDS)


def quiet_period() -> int:
    """The quiet the re-run check asks for: none without a broker (eager), where the check
    runs right after the submission commits, so the demo's report is current at once."""
    return 0 if settings.CELERY_TASK_ALWAYS_EAGER else rerun_delay()


def schedule_rerun(project: Project) -> None:
    """After a submission: ask for a re-run once submissions have paused (debounced).

    Every submission schedules a check ``rerun_delay()`` seconds later; the check starts
    a run only if nothing was submitted in between (a later check will decide) and no run
    since the last submission exists or is pending. Call it from the submitting service.
    """
    delay = rerun_delay()
    if delay <= 0:
        return
    from annotations.tasks.agreement import rerun_agreement_if_stale

    jobs.schedule_on_commit(rerun_agreement_if_stale, project.pk, countdown=delay)


def rerun_if_stale(project: Project, *, now: datetime | None = None) -> AgreementRun | None:
    """Start a run if submissions changed since the last one and have paused since."""
    now = now or timezone.now()
    last_submission = Layer.objects.filter(
        document__project=project, is_gold=False, status=LayerStatus.SUBMITTED
    ).aggregate(latest=Max("submitted_at"))["latest"]
    if last_submission is None or last_submission > now - timedelta(seconds=quiet_period()):
        return None  # nothing submitted, or a newer check is due
    last_run = AgreementRun.objects.filter(project=project).order_by("-created_at", "-id").first()
    if last_run is not None and (
        last_run.status in (JobStatus.QUEUED, JobStatus.RUNNING)
        or last_run.created_at >= last_submission
    ):
        return None
    parameters = dict(last_run.parameters) if last_run is not None else {}
    return start_run(project=project, actor=None, parameters=parameters)
