"""Time every export format on a seeded synthetic project in PostgreSQL.

    python bench/export.py                                   # 10,000 then 100,000 documents
    python bench/export.py --sizes 2000 --formats jsonl,conll
    CELERY_BROKER_URL=redis://... python bench/export.py --workers 1,2   # the chunked job

The project: documents of about 1,500 characters (English words, a Persian phrase and an
emoji now and then), 3 annotators with 20 spans each, and on every tenth document (the
adjudicated ones) a gold layer of 20 more; each layer has 2 ``attributed_to`` links, and
spans start and end on word edges. It is written straight into
the tables with COPY, once per size (kept between runs in the bench database, project
``bench-<size>``; ``--reseed`` writes it again).

Each export runs in its own process through the service the job and ``manage.py export`` use
(``export_jobs.write_export``: the selector streams records from PostgreSQL, the exporter
writes the zip to a temporary folder), so that its wall time and peak memory (``ru_maxrss``)
are its own. ``CPU s`` is the process's own CPU time (PostgreSQL's is not in it): on a
shared, busy machine it moves less than the wall time. ``base`` is the process's peak
before the export starts (Python, Django and the format's libraries loaded); ``peak`` is its
peak at the end.

With ``--workers``, each export is a job (``export_jobs.start_export``) run by a fresh
``celery worker`` of that many pool processes: its chunks written in parallel, then
joined. The wall time runs from the job's start to its success; the peak of each pool
process is its ``VmHWM``.

The database is ``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/
workbench_bench``), created and migrated when missing; never a database holding real data.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from _scratch_db import ensure_database  # bench/ is on sys.path when run

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/workbench_bench"
FORMATS = ["jsonl", "conll", "spacy", "brat", "xmi", "parquet", "graph"]
ANNOTATORS = ["alice", "bob", "carol"]
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "said",
    "that",
    "Saleh",
    "Panjshir",
    "Taliban",
    "source",
    "Kabul",
    "told",
    "TASS",
    "reports",
    "president",
    "valley",
    "commander",
    "forces",
    "resistance",
    "video",
    "message",
    "claims",
    "media",
    "fled",
    "Tajikistan",
    "according",
    "officials",
    "spokesman",
    "denied",
    "confirmed",
    "sources",
    "situation",
    "battle",
    "government",
    "province",
    "district",
    "Sunday",
    "Monday",
    "statement",
    "agency",
    "news",
    "local",
    "ministry",
]
EXTRAS = ["اسم مستعار", "مقاومت", "😀", "🇦🇫", "“quoted”"]
KINDS = ["person", "organisation", "media", "anonymous"]
POLARITIES = ["positive", "negative", "neutral"]
BATCH = 1000


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # As in production: with DEBUG on, Django keeps the last 9,000 queries' SQL in memory.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    import django

    django.setup()


# --- the synthetic project ----------------------------------------------------------


def make_text(rng: random.Random) -> tuple[str, list[tuple[int, int]]]:
    """About 1,500 characters, and the (start, end) of every word in it."""
    pieces: list[str] = []
    words: list[tuple[int, int]] = []
    length = 0
    while length < 1500:
        word = rng.choice(EXTRAS) if rng.random() < 0.02 else rng.choice(WORDS)
        if pieces:
            separator = "\n\n" if rng.random() < 0.02 else " "
            pieces.append(separator)
            length += len(separator)
        words.append((length, length + len(word)))
        pieces.append(word)
        length += len(word)
    return "".join(pieces), words


def make_layer(
    rng: random.Random, text: str, words: list[tuple[int, int]]
) -> tuple[list[tuple[str, int, int, dict[str, str]]], list[tuple[int, int]]]:
    spans = []
    for _ in range(20):
        label = rng.choices(["claim", "source", "sentiment"], weights=[4, 4, 2])[0]
        size = {"claim": (5, 25), "source": (1, 4), "sentiment": (1, 6)}[label]
        first = rng.randrange(0, len(words) - size[1])
        last = first + rng.randint(*size) - 1
        attrs = {}
        if label == "source":
            attrs = {"kind": rng.choice(KINDS)}
        elif label == "sentiment":
            attrs = {"polarity": rng.choice(POLARITIES)}
        spans.append((label, words[first][0], words[last][1], attrs))
    claims = [i for i, span in enumerate(spans) if span[0] == "claim"]
    sources = [i for i, span in enumerate(spans) if span[0] == "source"]
    links = set()
    for _ in range(2):
        if claims and sources:
            links.add((rng.choice(claims), rng.choice(sources)))
    return spans, sorted(links)


def seed_project(size: int, reseed: bool) -> str:
    """The slug of a project of ``size`` synthetic documents, written with COPY if needed."""
    from django.contrib.auth.models import User
    from django.db import connection

    from annotations.models import Document, LabelType, Membership, Project, Role
    from annotations.services.projects import create_project

    slug = f"bench-{size}"
    project = Project.objects.filter(slug=slug).first()
    if project is not None and not reseed and project.documents.count() == size:
        return slug
    if project is not None:
        with connection.cursor() as cursor:  # a cascade of millions of rows: let SQL do it
            cursor.execute(
                "DELETE FROM annotations_relation WHERE layer_id IN (SELECT l.id FROM "
                "annotations_layer l JOIN annotations_document d ON d.id = l.document_id "
                "WHERE d.project_id = %s)",
                [project.pk],
            )
            cursor.execute(
                "DELETE FROM annotations_span WHERE layer_id IN (SELECT l.id FROM "
                "annotations_layer l JOIN annotations_document d ON d.id = l.document_id "
                "WHERE d.project_id = %s)",
                [project.pk],
            )
        project.delete()
    started = time.monotonic()
    project = create_project(name=f"Bench {size}", slug=slug, guidelines="# Bench\n\nSynthetic.")
    users = {}
    for name in ANNOTATORS:
        users[name], _ = User.objects.get_or_create(username=name)
        Membership.objects.get_or_create(project=project, user=users[name], role=Role.ANNOTATOR)
    labels = dict(LabelType.objects.filter(project=project).values_list("name", "id"))

    def next_id(table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
            return int(cursor.fetchone()[0])

    ids = {
        table: next_id(table)
        for table in (
            "annotations_document",
            "annotations_layer",
            "annotations_span",
            "annotations_relation",
        )
    }
    rng = random.Random(size)
    now = datetime.now(UTC)
    raw = connection.connection  # psycopg's own connection, for COPY
    for batch_start in range(0, size, BATCH):
        rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in ids}
        for number in range(batch_start, min(size, batch_start + BATCH)):
            document_id = ids["annotations_document"]
            ids["annotations_document"] += 1
            text, words = make_text(rng)
            meta = json.dumps({"outlet": rng.choice(["TASS", "TOLOnews", "WION"]), "n": number})
            rows["annotations_document"].append(
                (document_id, project.pk, f"doc-{number:07d}", text, meta, now, 1)
            )
            # Adjudication covers a tenth of the documents: they get a gold layer too.
            owners = [*ANNOTATORS, None] if number % 10 == 0 else ANNOTATORS
            for owner in owners:
                layer_id = ids["annotations_layer"]
                ids["annotations_layer"] += 1
                rows["annotations_layer"].append(
                    (
                        layer_id,
                        document_id,
                        users[owner].pk if owner else None,
                        owner is None,
                        "submitted",
                        1,
                        now,
                        now,
                        "",
                    )
                )
                spans, links = make_layer(rng, text, words)
                span_ids = []
                for label, start, end, attrs in spans:
                    span_ids.append(ids["annotations_span"])
                    rows["annotations_span"].append(
                        (
                            ids["annotations_span"],
                            layer_id,
                            labels[label],
                            start,
                            end,
                            json.dumps(attrs),
                            text[start:end],
                            "",
                        )
                    )
                    ids["annotations_span"] += 1
                for head, tail in links:
                    rows["annotations_relation"].append(
                        (
                            ids["annotations_relation"],
                            layer_id,
                            labels["attributed_to"],
                            span_ids[head],
                            span_ids[tail],
                        )
                    )
                    ids["annotations_relation"] += 1
        with raw.cursor() as cursor:
            for table, table_rows in rows.items():
                columns = {
                    "annotations_document": "id, project_id, external_id, text, meta, created_at, "
                    "review_version",
                    "annotations_layer": "id, document_id, annotator_id, is_gold, status, "
                    "version, updated_at, submitted_at, final_reason",
                    "annotations_span": 'id, layer_id, label_id, start, "end", attributes, quote, '
                    "stance",
                    "annotations_relation": "id, layer_id, label_id, head_id, tail_id",
                }[table]
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in table_rows:
                        copy.write_row(row)
        raw.commit()
    with connection.cursor() as cursor:
        for table in ids:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
            cursor.execute(f"ANALYZE {table}")
    documents = Document.objects.filter(project=project).count()
    print(f"seeded {slug}: {documents} documents in {time.monotonic() - started:.1f} s")
    return slug


# --- one measured export, in its own process -------------------------------------------


def child(slug: str, format: str, out: Path) -> dict[str, Any]:
    from annotations.exporters import get_exporter
    from annotations.exporters.base import ExportOptions
    from annotations.models import Project
    from annotations.services.export_jobs import write_export

    get_exporter(format)  # the format's libraries count in the base, not in the export
    project = Project.objects.get(slug=slug)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.monotonic(), time.process_time()
    stats = write_export(project=project, format=format, options=ExportOptions(), target=out)
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "format": format,
        "documents": stats.documents,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "base_mb": round(base / 1024, 1),
        "peak_mb": round(peak / 1024, 1),
        "archive_mb": round(out.stat().st_size / 2**20, 1),
        "members": stats.members,
        "problems": sum(stats.problems.values()),
    }


def run_one(slug: str, format: str, url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        out = Path(folder) / f"{slug}-{format}.zip"
        done = subprocess.run(
            [sys.executable, __file__, "--child", slug, format, str(out), "--url", url],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"{format} on {slug} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the chunked job, on Celery workers of its own ----------------------------------------


def pool_peaks_mb(worker: subprocess.Popen[bytes]) -> list[float]:
    """The peak resident memory (VmHWM) of each pool process of a running worker."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    peaks = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        kilobytes = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
        peaks.append(round(int(kilobytes) / 1024, 1))
    return peaks


def pool_cpu_seconds(worker: subprocess.Popen[bytes]) -> float:
    """User + system CPU seconds of a running worker's pool processes, all their threads."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    return sum(sum(psutil.Process(int(pid)).cpu_times()[:2]) for pid in children)


def machine_cpu_seconds() -> float:
    """User + system CPU seconds of the whole machine, every core (busy time only)."""
    times = psutil.cpu_times()
    return float(times.user + times.system + times.nice + times.irq + times.softirq)


def run_chunked(slug: str, format: str, url: str, processes: int) -> dict[str, Any]:
    """One export job on a fresh worker with ``processes`` pool processes: its chunks
    written in parallel and joined, from the job's start to its success."""
    from annotations.models import ExportJob, JobStatus, Project
    from annotations.services import export_jobs
    from workbench.celery import app

    app.control.purge()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "MEDIA_ROOT": f"{folder}/media",
            "SCRATCH_DIR": folder,
        }
        command = [sys.executable, "-m", "celery", "-A", "workbench", "worker"]
        command += ["--pool", "prefork", "--concurrency", str(processes), "--loglevel", "WARNING"]
        command += ["--hostname", f"bench-{os.getpid()}@%h", "--without-gossip"]
        with open(f"{folder}/worker.log", "wb") as log:
            worker = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            while not app.control.ping(timeout=0.5):
                if worker.poll() is not None:
                    raise SystemExit(Path(f"{folder}/worker.log").read_text()[-3000:])
            project = Project.objects.get(slug=slug)
            pool_before, machine_before = pool_cpu_seconds(worker), machine_cpu_seconds()
            started = time.monotonic()
            job = export_jobs.start_export(project=project, actor=None, format=format)
            while not job.is_finished:
                time.sleep(0.1)
                job.refresh_from_db()
            seconds = time.monotonic() - started
            pool_cpu = pool_cpu_seconds(worker) - pool_before
            machine_cpu = machine_cpu_seconds() - machine_before
            peaks = pool_peaks_mb(worker)
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    if job.status != JobStatus.SUCCEEDED:
        raise SystemExit(f"{format} on {slug} failed: {job.error}")
    return {
        "format": format,
        "documents": project.documents.count(),
        "processes": processes,
        "chunks": len(export_jobs.plan_chunks(job)),
        "seconds": round(seconds, 2),
        "pool_cpu_seconds": round(pool_cpu, 1),
        "machine_cpu_seconds": round(machine_cpu, 1),
        "peak_mb": max(peaks),
        "peaks_mb": peaks,
        "archive_mb": round(ExportJob.objects.get(pk=job.pk).size / 2**20, 1),
    }


def chunked_table(results: list[dict[str, Any]]) -> Iterator[str]:
    yield (
        "| documents | format | processes | chunks | wall s | docs/s | CPU s (pool / machine) "
        "| archive MB | peak MB per process |"
    )
    yield "|---:|---|---:|---:|---:|---:|---|---:|---|"
    for r in results:
        peaks = " / ".join(f"{peak:.0f}" for peak in r["peaks_mb"])
        yield (
            f"| {r['documents']:,} | {r['format']} | {r['processes']} | {r['chunks']} | "
            f"{r['seconds']:.1f} | {r['documents'] / max(r['seconds'], 1e-9):,.0f} | "
            f"{r['pool_cpu_seconds']:.1f} / {r['machine_cpu_seconds']:.1f} | "
            f"{r['archive_mb']:.1f} | {peaks} |"
        )


def table(results: list[dict[str, Any]]) -> Iterator[str]:
    yield (
        "| documents | format | wall s | CPU s | docs/s | base MB | peak MB | archive MB "
        "| members |"
    )
    yield "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
    for r in results:
        yield (
            f"| {r['documents']:,} | {r['format']} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | "
            f"{r['documents'] / max(r['seconds'], 1e-9):,.0f} | {r['base_mb']:.0f} | "
            f"{r['peak_mb']:.0f} | {r['archive_mb']:.1f} | {r['members']:,} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--child", nargs=3, metavar=("SLUG", "FORMAT", "OUT"))
    parser.add_argument(
        "--workers",
        help="pool processes to time the chunked job with, e.g. 1,2 (CELERY_BROKER_URL "
        "names the broker; EXPORT_CHUNK_DOCUMENTS the chunk size)",
    )
    args = parser.parse_args()

    if args.child:
        setup_django(args.url)
        slug, format, out = args.child
        print(json.dumps(child(slug, format, Path(out))))
        return

    ensure_database(args.url)
    setup_django(args.url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, stdout=io.StringIO())
    sizes = [int(size) for size in args.sizes.split(",")]
    formats = args.formats.split(",")
    if args.workers:
        chunked = []
        for size in sizes:
            slug = seed_project(size, args.reseed)
            for format in formats:
                for processes in map(int, args.workers.split(",")):
                    chunked.append(run_chunked(slug, format, args.url, processes))
                    print(json.dumps(chunked[-1]), flush=True)
        print()
        for line in chunked_table(chunked):
            print(line)
        return
    results = []
    for size in sizes:
        slug = seed_project(size, args.reseed)
        for format in formats:
            result = run_one(slug, format, args.url)
            results.append(result)
            print(json.dumps(result), flush=True)
    print()
    for line in table(results):
        print(line)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print()
        print(f"| format | peak MB at {large:,} / at {small:,} |")
        print("|---|---:|")
        for format in formats:
            peaks = {r["documents"]: r["peak_mb"] for r in results if r["format"] == format}
            if small in peaks and large in peaks:
                print(f"| {format} | {peaks[large] / peaks[small]:.2f} |")


if __name__ == "__main__":
    main()
