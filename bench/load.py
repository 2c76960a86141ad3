"""Annotators writing through a PostgreSQL restart: is any acknowledged write lost?

Starts a private PostgreSQL cluster (so that restarting it disturbs nothing else on the
machine), seeds a project where each simulated annotator has a document of their own,
serves it with gunicorn, and lets N annotators write spans as the annotation page does:
each POST carries the layer version the annotator last saw, pauses between writes (an
exponential think time), a 409 reloads the version, and a 5xx or a dropped connection is
retried after 1, 2, 4... seconds. Halfway through, PostgreSQL is restarted
(`pg_ctl restart -m fast`: every connection cut).

Prints acknowledged writes, lost writes (acknowledged, not stored: must be 0), writes
stored whose answer never arrived, 5xx and transport errors around the restart, and
latency percentiles before and after it.

    .venv/bin/python bench/load.py                        # 32 annotators, 60 s
    .venv/bin/python bench/load.py --clients 8 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from api_write import Seat, free_port, machine, percentile, seed, start_gunicorn, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.services import PrivatePostgres  # noqa: E402  (needs ROOT on the path)

RETRY_DELAYS = [1.0, 2.0, 4.0, 8.0]
# Writes this close to the restart count as "around" it.
AROUND_SECONDS = 5.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="simulated annotators")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they write")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between writes, s")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument(
        "--warmup",
        type=float,
        default=3.0,
        help="seconds at the start left out of the latencies (each gunicorn process's first "
        "requests pay for lazy imports and connections); their writes still count",
    )
    return parser.parse_args()


@dataclass
class Outcome:
    at: float  # seconds since the start
    latency: float
    status: int  # 0: the connection failed


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: dict[int, int] = field(default_factory=dict)  # layer id -> 201s


async def annotator(
    seat: Seat, base_url: str, began: float, until: float, think: float, tally: Tally, rng
) -> None:
    url = f"/api/layers/{seat.layer_id}/spans/"
    async with aiohttp.ClientSession(
        base_url,
        headers={"Authorization": f"Token {seat.token}"},
        timeout=aiohttp.ClientTimeout(total=10.0),
        connector=aiohttp.TCPConnector(limit=1),
    ) as http:

        async def current_version() -> int:
            while True:
                try:
                    async with http.get(f"/api/layers/{seat.layer_id}/") as response:
                        if response.status == 200:
                            return int((await response.json())["version"])
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(1.0)

        version = await current_version()
        tally.acknowledged[seat.layer_id] = 0
        while time.monotonic() < until:
            start = rng.randrange(0, len(seat.text) - 40)
            end = start + rng.randrange(1, 40)
            body = {"label": "claim", "start": start, "end": end, "quote": seat.text[start:end]}
            for delay in [*RETRY_DELAYS, None]:
                sent = time.perf_counter()
                status = 0
                try:
                    async with http.post(url, json={**body, "version": version}) as response:
                        status = response.status
                        content = await response.read()
                except (aiohttp.ClientError, TimeoutError):
                    pass
                tally.outcomes.append(
                    Outcome(time.monotonic() - began, time.perf_counter() - sent, status)
                )
                if status == 201:
                    tally.acknowledged[seat.layer_id] += 1
                    version = json.loads(content)["version"]
                    break
                if status == 409:  # an earlier try went through after all: reload
                    version = await current_version()
                    break
                if (status and status < 500) or delay is None:
                    break
                await asyncio.sleep(delay)
            await asyncio.sleep(rng.expovariate(1 / think))


async def drive(seats: list[Seat], base_url: str, seconds: float, think: float, restart) -> Tally:
    tally = Tally()
    began = time.monotonic()
    until = began + seconds
    rng = random.Random(11)
    writers = [
        annotator(seat, base_url, began, until, think, tally, random.Random(rng.random()))
        for seat in seats
    ]
    await asyncio.gather(*writers, restart(began + seconds / 2))
    return tally


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="wb-load-") as folder:
        postgres = PrivatePostgres(Path(folder))
        postgres.start()
        try:
            run(args, postgres)
        finally:
            postgres.stop()


def run(args: argparse.Namespace, postgres: PrivatePostgres) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": postgres.create_database("load"),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": "workbench.settings",
    }
    env.pop("CELERY_BROKER_URL", None)
    os.environ.update(env)
    seats = seed(args.clients)
    from django.db import connections

    connections.close_all()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = start_gunicorn(port, args.workers, "sync", 1, env)
    restarted_at: list[float] = []

    async def restart(when: float) -> None:
        await asyncio.sleep(max(0.0, when - time.monotonic()))
        done = threading.Event()

        def cut() -> None:
            postgres.restart()
            done.set()

        began = time.monotonic()
        threading.Thread(target=cut, daemon=True).start()
        while not done.is_set():
            await asyncio.sleep(0.05)
        restarted_at.append(began)

    try:
        wait_until_up(base_url, server)
        start = time.monotonic()
        tally = asyncio.run(drive(seats, base_url, args.seconds, args.think, restart))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    from django.db.models import Count

    from annotations.models import Layer

    rows = dict(
        Layer.objects.filter(pk__in=[seat.layer_id for seat in seats])
        .annotate(n=Count("spans"))
        .values_list("pk", "n")
    )
    connections.close_all()
    acknowledged = sum(tally.acknowledged.values())
    lost = sum(max(0, tally.acknowledged[pk] - rows.get(pk, 0)) for pk in tally.acknowledged)
    unanswered = sum(max(0, rows.get(pk, 0) - tally.acknowledged[pk]) for pk in tally.acknowledged)
    cut = restarted_at[0] - start
    around = [o for o in tally.outcomes if abs(o.at - cut) <= AROUND_SECONDS]
    before = [
        o.latency * 1000 for o in tally.outcomes if args.warmup <= o.at < cut - AROUND_SECONDS
    ]
    after = [o.latency * 1000 for o in tally.outcomes if o.at > cut + AROUND_SECONDS]
    failed = [o for o in tally.outcomes if o.status == 0 or o.status >= 500]

    print(f"machine         {machine()}")
    print(
        f"load            {args.clients} annotators, mean think {args.think:g} s, "
        f"{args.seconds:g} s (latencies after {args.warmup:g} s of warm-up); "
        f"gunicorn sync x {args.workers}, CONN_MAX_AGE=60"
    )
    print(f"restart         PostgreSQL restarted (-m fast) at {cut:.1f} s")
    print(f"requests        {len(tally.outcomes)}")
    print(
        f"acknowledged    {acknowledged}  stored {sum(rows.values())}  lost writes {lost}  "
        f"stored but unanswered {unanswered}"
    )
    print(
        f"failures        {len(failed)} 5xx or dropped in all, "
        f"{sum(1 for o in around if o.status == 0 or o.status >= 500)} within "
        f"{AROUND_SECONDS:g} s of the restart"
    )
    for name, values in (("before", before), ("after", after)):
        if values:
            print(
                f"latency {name:6}  p50 {percentile(values, 0.5):.1f}  "
                f"p99 {percentile(values, 0.99):.1f} ms  ({len(values)} requests)"
            )


if __name__ == "__main__":
    main()
