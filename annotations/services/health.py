"""Whether the parts a job needs answer: the database, the broker and the workers.

Each part is asked in its own thread and the answer waited for until one shared deadline,
so that a part that hangs (a frozen Redis accepts connections and never replies) makes
the check say so in time instead of hanging the web process with it. A probe still
stuck at the deadline is left to finish on its own: its thread is a daemon and holds
nothing the request needs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from annotations.services.workers import workers_answering
from workbench.celery import app

# The whole check answers within this many seconds, whatever hangs.
DEADLINE_SECONDS = 1.5


@dataclass(frozen=True)
class Health:
    parts: dict[str, str]  # part -> "ok" or what is wrong with it
    healthy: bool


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        # The probe's thread has a connection of its own: close it, not leak it.
        connection.close()
    return "ok"


def _broker() -> str:
    with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
        conn.ensure_connection(max_retries=1, timeout=DEADLINE_SECONDS)
    return "ok"


def _workers() -> str:
    workers = workers_answering(timeout=DEADLINE_SECONDS * 2 / 3)
    if not workers:
        raise RuntimeError("no worker answering: jobs wait in the queue until one starts")
    return f"{len(workers)} answering: {', '.join(workers)}"


class _Probe(threading.Thread):
    def __init__(self, check: Callable[[], str]):
        super().__init__(daemon=True)
        self.check = check
        self.answer: str | None = None
        self.healthy = False

    def run(self) -> None:
        try:
            self.answer = self.check()
            self.healthy = True
        except Exception as exc:  # Whatever a driver raises, the part is down.
            self.answer = f"down: {exc}"


def check_health() -> Health:
    """Ask every part at once; each gets an answer, or "no answer" at the deadline."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        probes = {"database": _Probe(_database)}
        fixed = {
            "broker": "none configured: tasks run eagerly in the web process",
            "workers": "not needed (eager mode)",
        }
    else:
        probes = {
            "database": _Probe(_database),
            "broker": _Probe(_broker),
            "workers": _Probe(_workers),
        }
        fixed = {}
    for probe in probes.values():
        probe.start()
    deadline = time.monotonic() + DEADLINE_SECONDS
    parts: dict[str, str] = {}
    healthy = True
    for name, probe in probes.items():
        probe.join(max(0.0, deadline - time.monotonic()))
        if probe.is_alive():
            parts[name] = f"down: no answer within {DEADLINE_SECONDS} s"
        else:
            parts[name] = probe.answer or ""
        healthy = healthy and probe.healthy and not probe.is_alive()
    return Health(parts={**parts, **fixed}, healthy=healthy)
