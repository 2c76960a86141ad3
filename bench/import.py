"""Time an import job end to end: upload stored, Celery worker over Redis, PostgreSQL.

    python bench/import.py                          # 10,000 and 100,000, text only and spans
    python bench/import.py --sizes 10000 --kinds spans
    python bench/import.py --sizes 10000 --kinds text --compare-doccano

The file is the interchange JSONL of ``bench/export.py``'s synthetic corpus (the same
generator): documents of about 1,500 characters, three annotators with 20 spans each,
a gold layer of 20 more on every tenth document, two ``attributed_to`` links per layer
(6.2 million spans at 100,000 documents). ``text`` is the same documents without their
annotations. Files are written once under ``--corpus-dir`` and kept.

Each measurement gets a fresh scratch database (``--database-url``, dropped and made
again, then migrated) and a fresh worker process (``celery worker``, prefork, one pool
process), so that the worker's peak memory is that import's. The clock starts when
``import_jobs.start_import`` is called with the file, as the upload view calls it, and
stops when the job row says ``succeeded``. Peak memory is the pool process's high-water
mark (``VmHWM``): Python, Django and the import together.

``--compare-doccano`` also imports the text-only file into doccano (a separate install,
``--doccano-venv``, never the project's requirements) through its own upload task and
worker, in this same run, and prints the ratio (see ``bench/README.md``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _scratch_db import drop_database, recreate_database  # noqa: E402
from agreement_run import start_worker, wait_for_worker  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/workbench_bench_import"
DOCCANO_SECONDS_10K = 4.8  # doccano's import of 10,000 text-only documents, recorded here


# --- the file ---------------------------------------------------------------------------


def write_corpus(path: Path, size: int, with_spans: bool) -> None:
    """The export bench's corpus as interchange JSONL (with its spans, or text only)."""
    import random

    from export import ANNOTATORS, make_layer, make_text

    from annotations.interchange import DocumentRecord, Relation, Span, dump_record

    rng = random.Random(size)  # the export bench's seed: the same documents
    part = path.with_suffix(".part")
    with part.open("w", encoding="utf-8") as out:
        for number in range(size):
            text, words = make_text(rng)
            meta = {"outlet": rng.choice(["TASS", "TOLOnews", "WION"]), "n": number}
            record = DocumentRecord(id=f"doc-{number:07d}", text=text, meta=meta)
            owners = [*ANNOTATORS, None] if number % 10 == 0 else ANNOTATORS
            for owner in owners:
                spans, links = make_layer(rng, text, words)
                made = [Span(start, end, label, attrs) for label, start, end, attrs in spans]
                relations = [Relation("attributed_to", head, tail) for head, tail in links]
                if owner is None:
                    record.gold, record.gold_relations = made, relations
                else:
                    record.annotations[owner] = made
                    if relations:
                        record.relations[owner] = relations
            if not with_spans:
                record = DocumentRecord(id=record.id, text=text, meta=meta)
            out.write(dump_record(record))
    part.rename(path)


def corpus(folder: Path, size: int, kind: str) -> Path:
    path = folder / f"bench-import-{size}-{kind}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        write_corpus(path, size, kind == "spans")
        print(
            f"  (wrote {path}, {path.stat().st_size / 2**20:.0f} MiB, in "
            f"{time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    return path


# --- the worker -------------------------------------------------------------------------


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def peak_rss_mb(pid: int) -> float:
    """The largest high-water mark (VmHWM) among ``pid``'s child processes, in MiB."""
    import psutil

    peaks = []
    for process in psutil.Process(pid).children(recursive=True):
        status = Path(f"/proc/{process.pid}/status").read_text()
        kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
        peaks.append(int(kib) / 1024)
    return max(peaks)


# --- one measured import ----------------------------------------------------------------


def measure(path: Path, size: int, kind: str, url: str) -> dict[str, Any]:
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connections

    from annotations.models import JobStatus
    from annotations.services.import_jobs import start_import
    from annotations.services.projects import create_project
    from workbench.celery import app

    connections.close_all()
    server, name = url.rsplit("/", 1)
    recreate_database(server, name)
    call_command("migrate", verbosity=0)
    project = create_project(name=f"Import bench {size}", slug=f"import-bench-{size}-{kind}")
    app.control.purge()
    worker_name = f"import-bench-{os.getpid()}-{size}-{kind}"
    log = Path("/tmp") / f"{worker_name}.log"
    worker = start_worker(1, log, worker_name)
    try:
        wait_for_worker(worker_name)
        started = time.perf_counter()
        with path.open("rb") as upload:
            job = start_import(project=project, actor=None, upload=File(upload, name=path.name))
        stored = time.perf_counter() - started
        while True:
            job.refresh_from_db()
            if job.status in (JobStatus.SUCCEEDED, JobStatus.FAILED):
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        peak = peak_rss_mb(worker.pid)
    finally:
        stop(worker)
    if job.status != JobStatus.SUCCEEDED:
        raise SystemExit(f"the import failed: {job.error}\n{job.line_errors[:3]}")
    job.file.delete(save=False)
    result = job.result or {}
    connections.close_all()
    drop_database(server, name)
    return {
        "documents": result["documents"],
        "kind": kind,
        "spans": result["spans"],
        "relations": result["relations"],
        "seconds": round(seconds, 2),
        "store_seconds": round(stored, 2),
        "peak_mb": round(peak, 1),
        "file_mb": round(path.stat().st_size / 2**20, 1),
    }


def report(result: dict[str, Any]) -> str:
    seconds = result["seconds"]
    return (
        f"| {result['documents']:,} | {result['kind']} | {result['file_mb']:.0f} | "
        f"{seconds:.1f} | {result['store_seconds']:.1f} | "
        f"{result['documents'] / seconds:,.0f} | {result['spans']:,} | "
        f"{result['spans'] / seconds:,.0f} | {result['peak_mb']:.0f} |"
    )


# --- doccano, side by side ----------------------------------------------------------------


def doccano_seconds(path: Path, venv: Path, broker: str) -> float:
    """doccano's own import of ``path`` (a separate install in ``venv``), in seconds."""
    runner = ROOT / "bench" / "_doccano_import.py"
    done = subprocess.run(
        [str(venv / "bin" / "python"), str(runner), str(path), "--broker", broker],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"doccano's import failed:\n{done.stderr[-3000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--kinds", default="text,spans", help="text, spans or both")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--corpus-dir", type=Path, default=Path("/tmp"))
    parser.add_argument("--media-root", type=Path, default=Path("/tmp/bench-import-media"))
    parser.add_argument("--compare-doccano", action="store_true")
    parser.add_argument("--doccano-venv", type=Path, default=Path("/tmp/doccano-venv"))
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ["CELERY_BROKER_URL"] = args.broker
    os.environ["MEDIA_ROOT"] = str(args.media_root)
    # As in production: with DEBUG on, Django keeps every query's SQL in memory.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    server, _ = args.database_url.rsplit("/", 1)
    recreate_database(server, args.database_url.rsplit("/", 1)[1])

    sizes = [int(size) for size in args.sizes.split(",")]
    kinds = args.kinds.split(",")
    print(f"import bench: {os.cpu_count()} cores, PostgreSQL, Redis, worker x1 (prefork)")
    results = []
    for size in sizes:
        for kind in kinds:
            path = corpus(args.corpus_dir, size, kind)
            result = measure(path, size, kind, args.database_url)
            results.append(result)
            print(f"  {result}", flush=True)
    print()
    print(
        "| documents | file | MiB | wall s | of it storing the upload s | docs/s | spans "
        "| spans/s | worker peak MiB |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for result in results:
        print(report(result))
    for kind in kinds:
        peaks = {r["documents"]: r["peak_mb"] for r in results if r["kind"] == kind}
        if len(peaks) > 1:
            small, large = min(peaks), max(peaks)
            print(
                f"peak at {large:,} / at {small:,} ({kind}): {peaks[large] / peaks[small]:.2f}"
                " (target < 1.5)"
            )
    spans_100k = [r for r in results if r["kind"] == "spans" and r["documents"] >= 100_000]
    for r in spans_100k:
        verdict = "met" if r["seconds"] < 120 else "MISSED"
        print(
            f"{r['documents']:,} documents with {r['spans']:,} spans: {r['seconds']:.1f} s "
            f"(target < 120 s: {verdict})"
        )
    text_runs = [r for r in results if r["kind"] == "text"]
    if text_runs:
        ours = text_runs[0]
        per_doc = ours["seconds"] / ours["documents"]
        if args.compare_doccano:
            path = corpus(args.corpus_dir, ours["documents"], "text")
            try:
                theirs = doccano_seconds(path, args.doccano_venv, args.broker)
                source = "doccano, measured in this run"
            except (OSError, RuntimeError) as exc:
                print(f"doccano could not be run: {exc}")
                theirs = DOCCANO_SECONDS_10K * ours["documents"] / 10_000
                source = "doccano's recorded 4.8 s per 10,000 documents"
        else:
            theirs = DOCCANO_SECONDS_10K * ours["documents"] / 10_000
            source = "doccano's recorded 4.8 s per 10,000 documents"
        their_per_doc = theirs / ours["documents"]
        print(
            f"text only, {ours['documents']:,} documents: ours {ours['seconds']:.2f} s, "
            f"{source}: {theirs:.2f} s; ours per document / theirs = "
            f"{per_doc / their_per_doc:.2f} (target <= 1)"
        )


if __name__ == "__main__":
    main()
