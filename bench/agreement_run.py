"""Time an AgreementRun end to end: PostgreSQL, a Celery worker over Redis, stored result.

    python bench/agreement_run.py                    # 10,000 documents, a 2-process worker
    python bench/agreement_run.py --documents 2000

The project is the synthetic one of ``bench/agreement.py`` (same seed, same documents),
imported once through the project's importer into a benchmark database (kept between
runs; ``--reimport`` makes it anew). The clock starts when ``start_run`` is called and
stops when the row says ``succeeded``: planning, every chunk loaded from PostgreSQL and
measured by the worker, merging, finalizing and storing the result JSON. For comparison
the same run is also made in this one process (``run_inline``, what ``manage.py
agreement`` does).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _scratch_db import ensure_database  # noqa: E402
from agreement import synthetic_project  # noqa: E402

from annotations.interchange import DocumentRecord  # noqa: E402


def setup_django(url: str, broker: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["CELERY_BROKER_URL"] = broker
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def importable(record: DocumentRecord) -> DocumentRecord:
    """The schema's attributed_to goes from a claim to a source: drop links that noise bent."""
    for name, links in list(record.relations.items()):
        spans = record.annotations[name]
        kept = [
            link
            for link in links
            if spans[link.head].label == "claim" and spans[link.tail].label == "source"
        ]
        record.relations[name] = list(dict.fromkeys(kept))
    return record


def ensure_project(documents: int, seed: int, reimport: bool) -> object:
    from annotations.models import Project
    from annotations.services.imports import import_documents
    from annotations.services.projects import create_project

    slug = f"agreement-bench-{documents}-{seed}"
    project = Project.objects.filter(slug=slug).first()
    if project is not None and not reimport and project.documents.count() == documents:
        return project
    if project is not None:
        project.delete()
    project = create_project(name=slug, slug=slug)
    started = time.perf_counter()
    batch: list[DocumentRecord] = []
    for record in synthetic_project(documents, seed):
        batch.append(importable(record))
        if len(batch) == 1000:
            import_documents(project=project, records=batch, source="bench")
            batch = []
    if batch:
        import_documents(project=project, records=batch, source="bench")
    print(f"  (imported {documents:,} documents in {time.perf_counter() - started:.0f} s)")
    return project


def start_worker(concurrency: int, log: Path, name: str = "") -> subprocess.Popen[bytes]:
    """A Celery worker (prefork) of its own session, named ``name`` (ping finds it by that)."""
    command = [sys.executable, "-m", "celery", "-A", "workbench", "worker", "--pool", "prefork"]
    command += ["--concurrency", str(concurrency), "--loglevel", "WARNING"]
    name = name or f"agreement-bench-{os.getpid()}"
    command += ["--hostname", f"{name}@%h", "--without-gossip"]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_worker(name_part: str, seconds: float = 60) -> None:
    from workbench.celery import app

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0)
        if any(name_part in name for reply in replies for name in reply):
            return
    raise SystemExit("the worker did not answer")


def timed_run(project: object, parameters: dict[str, object]) -> tuple[float, object]:
    from annotations.models import AgreementRun, JobStatus
    from annotations.services.agreement_runs import start_run

    started = time.perf_counter()
    run = start_run(project=project, actor=None, parameters=parameters)  # type: ignore[arg-type]
    while True:
        status = AgreementRun.objects.filter(pk=run.pk).values_list("status", flat=True).get()
        if status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    run.refresh_from_db()
    if run.status != JobStatus.SUCCEEDED:
        raise SystemExit(f"run failed: {run.error}")
    return seconds, run


def inline_run(project: object, parameters: dict[str, object]) -> float:
    from annotations.models import AgreementRun
    from annotations.services import agreement_runs, jobs

    started = time.perf_counter()
    params = agreement_runs.parse_parameters(project, parameters)  # type: ignore[arg-type]
    run = AgreementRun.objects.create(project=project, parameters=params.to_json())
    claim = jobs.claim(AgreementRun, run.pk)
    run.refresh_from_db()
    assert claim is not None
    agreement_runs.run_inline(run, claim)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/workbench_bench"
    )
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--reimport", action="store_true")
    args = parser.parse_args()

    ensure_database(args.database_url)
    setup_django(args.database_url, args.broker)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    cores, workers = os.cpu_count(), args.concurrency
    print(f"agreement run bench: {cores} cores, PostgreSQL, Redis, worker x{workers}")
    project = ensure_project(args.documents, args.seed, args.reimport)

    from workbench.celery import app

    app.control.purge()
    log = Path("/tmp") / f"agreement-bench-worker-{os.getpid()}.log"
    worker = start_worker(args.concurrency, log)
    try:
        wait_for_worker(f"agreement-bench-{os.getpid()}")
        seconds, run = timed_run(project, {"bootstrap_resamples": 0})
        result = run.result  # type: ignore[attr-defined]
        print(
            f"{args.documents:,} documents, AgreementRun through the worker, no bootstrap: "
            f"{seconds:.2f} s wall ({result['run']['chunks']} chunks; finalize "
            f"{result['run']['finalize_seconds']:.2f} s); target < 20 s: "
            f"{'met' if seconds < 20 else 'MISSED'}",
            flush=True,
        )
        print(f"  overall: {result['overall']}", flush=True)
        seconds, _ = timed_run(project, {"bootstrap_resamples": 1000})
        print(f"  with 1000 bootstrap resamples: {seconds:.2f} s wall", flush=True)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
    seconds = inline_run(project, {"bootstrap_resamples": 0})
    print(f"  the same in one process, no worker (manage.py agreement): {seconds:.2f} s wall")


if __name__ == "__main__":
    main()
