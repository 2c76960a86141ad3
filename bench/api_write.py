"""Span writes through the REST API under concurrency: latency, throughput, lost writes.

Creates (or recreates) a dedicated PostgreSQL database, migrates it, seeds a project
where each client is an annotator with one document of its own, starts gunicorn on a
free loopback port, then runs N concurrent clients that POST spans (with the version
they last saw, as the page does) for a fixed time. Prints p50/p95/p99 latency, writes
per second and lost writes: acknowledged writes (201) minus the span rows found in the
database afterwards. Stops gunicorn and drops the database at the end.

It also prints the CPU time spent per measured write by gunicorn (master and workers),
the PostgreSQL server processes and the clients themselves (this process). On a 2-core
machine the server and PostgreSQL share the cores, so CPU per write is what sets
throughput. The clients use aiohttp because it costs about a tenth of httpx's CPU per
request, which would otherwise be taken from the server being measured.

    .venv/bin/python bench/api_write.py                     # 16 clients, 30 s
    .venv/bin/python bench/api_write.py --seconds 5 --clients 4 --think 0.5
    .venv/bin/python bench/api_write.py --mode batch:10     # 10 spans a request

``--mode batch:K`` sends K span creates a request to the batch endpoint (operations/),
as the annotation page does with what queued while a save was in flight; the figures
are then per span as well as per request.

``--mode floor`` writes nothing: each request is a GET, with the client's token, of an
address under /api/ that no route takes. DRF authenticates the token and answers 404,
so the request costs what every API request costs before its view does any work. Its
latency flat out is a floor for any endpoint on the same machine and server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
from _scratch_db import drop_database, recreate_database  # bench/ is on sys.path when run

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long clients write")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean pause between a client's writes, seconds"
    )
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="seconds of writes before measuring starts"
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument(
        "--worker-class",
        choices=["gthread", "sync"],
        default="sync",
        help="gunicorn worker class; sync (its default) takes one request per connection, "
        "so a free worker always takes the next one",
    )
    parser.add_argument(
        "--mode",
        default="single",
        type=parse_mode,
        help="single (one span a POST to spans/), batch:K (K spans a POST to operations/) "
        "or floor (a GET that authenticates and finds no route)",
    )
    parser.add_argument("--database", default="wb_bench_api", help="PostgreSQL database name")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL")
    parser.add_argument("--keep-db", action="store_true", help="leave the database behind")
    return parser.parse_args()


@dataclass(frozen=True)
class Mode:
    kind: str  # single, batch or floor
    size: int = 1  # spans a request (none for floor)

    def describe(self) -> str:
        if self.kind == "batch":
            return f"batch of {self.size} spans a request"
        if self.kind == "floor":
            return "floor, an authenticated GET that no route takes (404), no writes"
        return "single, one span a request"


def parse_mode(mode: str) -> Mode:
    if mode in ("single", "floor"):
        return Mode(mode, 0 if mode == "floor" else 1)
    kind, _, size = mode.partition(":")
    if kind != "batch" or not size.isdigit() or int(size) < 1:
        raise argparse.ArgumentTypeError("single, floor, or batch:K with K at least 1")
    return Mode("batch", int(size))


@dataclass
class Seat:
    """One client: an annotator, their token, their layer and its document's text."""

    username: str
    token: str
    layer_id: int
    text: str


def seed(clients: int) -> list[Seat]:
    """Migrate, then make a project where each of ``clients`` annotators has one document."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from annotations.models import Document, Layer, Role
    from annotations.services.assignments import assign_documents
    from annotations.services.projects import add_member, create_project
    from annotations.services.tokens import create_token

    call_command("migrate", verbosity=0)
    users = get_user_model()
    manager = users.objects.create_user("bench-manager")
    project = create_project(name="Bench", slug=SLUG, created_by=manager, overlap=1)
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    for index in range(clients):
        add_member(
            project=project,
            user=users.objects.create_user(f"annotator{index:02d}"),
            role=Role.ANNOTATOR,
        )
        Document.objects.create(
            project=project,
            external_id=f"doc{index:02d}",
            text=seeds[index % len(seeds)].read_text(encoding="utf-8"),
        )
    assign_documents(project=project, actor=manager)
    seats = []
    for layer in Layer.objects.filter(document__project=project).select_related(
        "annotator", "document"
    ):
        _, key = create_token(user=layer.annotator, name="bench")
        seats.append(Seat(layer.annotator.username, key, layer.pk, layer.document.text))
    return sorted(seats, key=lambda seat: seat.username)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_gunicorn(
    port: int, workers: int, worker_class: str, threads: int, env: dict[str, str]
) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "workbench.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        f"--worker-class={worker_class}",
        # Given more than one thread, gunicorn turns a sync worker into a gthread one.
        f"--threads={threads if worker_class == 'gthread' else 1}",
        "--log-level=warning",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_until_up(base_url: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=1.0) as response:
                if response.status == 200:
                    return
        except OSError:  # refused, timed out, or an HTTP error status
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    acknowledged: dict[int, int] = field(default_factory=dict)  # layer id -> spans written
    measured_writes: int = 0  # spans written after the warm-up
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # while measuring, by group


async def client(
    seat: Seat,
    base_url: str,
    measure_from: float,
    until: float,
    think: float,
    tally: Tally,
    rng: random.Random,
    mode: Mode,
) -> None:
    headers = {"Authorization": f"Token {seat.token}"}
    url = f"/api/layers/{seat.layer_id}/{'operations' if mode.kind == 'batch' else 'spans'}/"
    acknowledged = 200 if mode.kind == "batch" else 201
    async with aiohttp.ClientSession(
        base_url,
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=10.0),
        connector=aiohttp.TCPConnector(limit=1),  # one keep-alive connection per client
    ) as http:
        async with http.get(f"/api/layers/{seat.layer_id}/") as response:
            version = (await response.json())["version"]
        tally.acknowledged[seat.layer_id] = 0
        while time.monotonic() < until:
            spans = [random_span(seat.text, rng) for _ in range(mode.size)]
            if mode.kind == "floor":
                request = http.get("/api/no-such-endpoint/")
            elif mode.kind == "batch":
                operations = [
                    {"op": "create_span", "ref": f"s{n}", **span} for n, span in enumerate(spans)
                ]
                request = http.post(url, json={"version": version, "operations": operations})
            else:
                request = http.post(url, json={**spans[0], "version": version})
            began = time.perf_counter()
            try:
                async with request as response:
                    status = response.status
                    content = await response.read()
            except (aiohttp.ClientError, TimeoutError):
                tally.transport_errors += 1
                continue
            # Each server process's first writes pay for lazy imports and connections:
            # only steady-state latencies count. Every write counts for lost writes.
            measured = time.monotonic() >= measure_from
            if measured:
                tally.latencies.append(time.perf_counter() - began)
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
            if status == acknowledged:
                tally.acknowledged[seat.layer_id] += len(spans)
                tally.measured_writes += len(spans) * measured
                version = json.loads(content)["version"]
            elif status == 409:
                version = json.loads(content)["current_version"]
            if think:
                # Exponential pauses: clients that start together do not stay in step.
                pause = rng.expovariate(1 / think)
                await asyncio.sleep(max(0.0, min(pause, until - time.monotonic())))


def random_span(text: str, rng: random.Random) -> dict[str, object]:
    start = rng.randrange(0, len(text) - 40)
    end = start + rng.randrange(1, 40)
    return {"label": "claim", "start": start, "end": end, "quote": text[start:end]}


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    """User + system CPU seconds by pid, for those of ``processes`` still running."""
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


async def meter_cpu(gunicorn_pid: int, measure_from: float, until: float) -> dict[str, float]:
    """CPU seconds each group spends between ``measure_from`` and ``until``.

    Only the processes running at ``measure_from`` count; one that exits before
    ``until`` is left out.
    """
    await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
    master = psutil.Process(gunicorn_pid)
    groups = {
        "gunicorn": [master, *master.children(recursive=True)],
        "postgres": [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"],
        "clients": [psutil.Process()],
    }
    before = {name: cpu_seconds(processes) for name, processes in groups.items()}
    await asyncio.sleep(max(0.0, until - time.monotonic()))
    after = {name: cpu_seconds(processes) for name, processes in groups.items()}
    return {
        name: sum(
            after[name][pid] - seconds
            for pid, seconds in before[name].items()
            if pid in after[name]
        )
        for name in groups
    }


async def drive(
    seats: list[Seat],
    base_url: str,
    gunicorn_pid: int,
    warmup: float,
    seconds: float,
    think: float,
    mode: Mode,
) -> Tally:
    tally = Tally()
    measure_from = time.monotonic() + warmup
    until = measure_from + seconds
    rng = random.Random(7)
    meter = asyncio.create_task(meter_cpu(gunicorn_pid, measure_from, until))
    await asyncio.gather(
        *(
            client(
                seat,
                base_url,
                measure_from,
                until,
                think,
                tally,
                random.Random(rng.random()),
                mode,
            )
            for seat in seats
        )
    )
    tally.cpu_seconds = await meter
    return tally


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def main() -> None:
    args = parse_args()
    database_url = f"{args.pg}/{args.database}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback, no proxy in front
        # Persistent connections: one per gunicorn thread, reused across requests.
        "CONN_MAX_AGE": "60",
        # The floor's 404s are warnings of django.request: a log line each is not the
        # request's cost.
        "LOG_LEVEL": "ERROR" if args.mode.kind == "floor" else "WARNING",
        "DJANGO_SETTINGS_MODULE": "workbench.settings",
    }
    env.pop("CELERY_BROKER_URL", None)  # span writes enqueue nothing
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    recreate_database(args.pg, args.database)
    seats = seed(args.clients)
    from django.db import connections

    connections.close_all()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = start_gunicorn(port, args.workers, args.worker_class, args.threads, env)
    load_before = os.getloadavg()
    try:
        wait_until_up(base_url, server)
        tally = asyncio.run(
            drive(seats, base_url, server.pid, args.warmup, args.seconds, args.think, args.mode)
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    load_after = os.getloadavg()

    from django.db.models import Count

    from annotations.models import Layer

    rows = dict(
        Layer.objects.filter(pk__in=[seat.layer_id for seat in seats])
        .annotate(n=Count("spans"))
        .values_list("pk", "n")
    )
    versions = dict(
        Layer.objects.filter(pk__in=[seat.layer_id for seat in seats]).values_list("pk", "version")
    )
    acknowledged = sum(tally.acknowledged.values())
    stored = sum(rows.values())
    lost = sum(max(0, tally.acknowledged[pk] - rows.get(pk, 0)) for pk in tally.acknowledged)
    # Each acknowledged request bumped the version once and wrote its spans.
    per_request = args.mode.size
    version_gaps = sum(1 for pk, n in rows.items() if n != per_request * (versions[pk] - 1))
    connections.close_all()
    if not args.keep_db:
        drop_database(args.pg, args.database)

    ms = [value * 1000 for value in tally.latencies]
    print(f"machine         {machine()}")
    print(f"load average    {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    shape = f"{args.workers} workers"
    if args.worker_class == "gthread":
        shape += f" x {args.threads} threads"
    print(
        f"server          gunicorn {args.worker_class}, {shape}, "
        "CONN_MAX_AGE=60, DEBUG off, PostgreSQL"
    )
    print(
        f"clients         {args.clients}, mean think time {args.think:g} s, "
        f"{args.seconds:g} s measured after {args.warmup:g} s of warm-up"
    )
    print(f"mode            {args.mode.describe()}")
    print(f"requests        {len(ms)}  statuses {dict(sorted(tally.statuses.items()))}")
    if ms:
        print(
            f"latency ms      p50 {percentile(ms, 0.50):.1f}  p95 {percentile(ms, 0.95):.1f}  "
            f"p99 {percentile(ms, 0.99):.1f}  max {max(ms):.1f}  mean {statistics.fmean(ms):.1f}"
        )
    print(f"requests/s      {len(ms) / args.seconds:.1f}")
    print(f"spans/s         {tally.measured_writes / args.seconds:.1f}")
    for unit, count in (("request", len(ms)), ("span", tally.measured_writes)):
        if count:
            per_unit = {name: seconds / count * 1000 for name, seconds in tally.cpu_seconds.items()}
            groups = "  ".join(f"{name} {value:.2f}" for name, value in per_unit.items())
            print(f"CPU ms/{unit:<9}{groups}  (total {sum(per_unit.values()):.2f})")
    print(f"acknowledged    {acknowledged} spans  rows {stored}  lost writes {lost}")
    print(f"versions        {version_gaps} layers whose rows are not {per_request} per version")
    print(f"transport errs  {tally.transport_errors}")


if __name__ == "__main__":
    main()
