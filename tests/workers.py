"""Real `celery worker` processes for the tests that kill them, and polling with deadlines."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.conf import settings
from django.db import connection

from annotations.models import Job, JobStatus

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
J = TypeVar("J", bound=Job)

# Fast clocks for the worker under test: a beat every 0.2 s, a job stale after 2 s, a
# sweep every second, and a dead worker's messages handed back one second after delivery.
FAST_LIFECYCLE = {
    "JOB_HEARTBEAT_SECONDS": "0.2",
    "JOB_STALE_SECONDS": "2",
    "JOB_SWEEP_SECONDS": "1",
    "CELERY_VISIBILITY_TIMEOUT": "1",
}


def database_url() -> str:
    """The test database, for a process of its own."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(
    log: Path,
    name: str,
    *,
    beat_schedule: Path | None = None,
    environment: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """A `celery worker` on the test database, in its own process group.

    With ``beat_schedule`` (a file for beat's state) it runs the beat schedule too (-B).
    ``environment``: variables of its own, over the test run's settings (MEDIA_ROOT...).
    """
    env = {
        **os.environ,
        **FAST_LIFECYCLE,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SCRATCH_DIR": str(settings.FILE_UPLOAD_TEMP_DIR),
        **(environment or {}),
    }
    command = [sys.executable, "-m", "celery", "-A", "workbench", "worker"]
    command += ["--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO"]
    command += ["--hostname", f"{name}@%h", "--without-gossip", "--without-mingle"]
    if beat_schedule is not None:
        command += ["--beat", "--schedule", str(beat_schedule)]
    return spawn(command, env, log)


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``command`` run from the repository in a process group of its own (``kill`` ends
    it whole), its output appended to ``log``."""
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def deployed_settings() -> dict[str, str]:
    """The environment of a deployment (DEBUG off, a secret key of its own), served over
    plain HTTP on 127.0.0.1, with nothing of the test run's own (pytest, async ORM)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_ALLOW"))},
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
    }


def kill(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool children (any spawned process group) at once: no
    shutdown, no acknowledgement."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def kill_pool_children(worker: subprocess.Popen[bytes]) -> list[int]:
    """SIGKILL the worker's pool processes only; its main process lives on."""
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    for pid in map(int, children):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return list(map(int, children))


def kill_pool_process_running(
    worker_name: str, task_name: str, job: Job, seconds: float, log: Path
) -> None:
    """SIGKILL the pool process running a ``task_name`` task of the named worker, and wait
    until the worker reports the task lost. The task may end between the question and the
    signal, the process then being idle: the next one running is killed instead."""
    from workbench.celery import app

    hostname = f"{worker_name}@{socket.gethostname()}"

    def lost() -> bool:
        job.refresh_from_db()
        assert not job.is_finished, f"{job} finished before a task could be lost"
        text = log.read_text()
        if "WorkerLostError" in text or "Restarting a new one" in text:
            return True
        active = app.control.inspect(destination=[hostname], timeout=1).active() or {}
        for task in active.get(hostname, []):
            if task["name"] == task_name:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(task["worker_pid"], signal.SIGKILL)
        return False

    wait_for(lost, seconds, lambda: f"no {task_name} task was lost\n{tail(log)}")


def wait_for(check: Callable[[], T], seconds: float, what: Callable[[], str]) -> T:
    """Poll ``check`` until it returns something true; fail with ``what()`` at the deadline."""
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, what()
        time.sleep(0.05)
    return result


def finished(job: J, seconds: float, log: Path | None = None) -> J:
    """The job once it succeeded or failed, read again from the database."""

    def done() -> bool:
        job.refresh_from_db()
        return job.is_finished

    wait_for(done, seconds, lambda: f"{job} at {job.progress:.0%}\n{tail(log)}")
    return job


def finished_by_a_new_worker(job: J, seconds: float, log: Path) -> J:
    """Start a fresh worker (as an operator would after a crash), wait until ``job`` has
    ended, then stop that worker."""
    rescuer = start_worker(log, "rescuer")
    try:
        return finished(job, seconds, log)
    finally:
        kill(rescuer)


def running_with_progress(job: Job, seconds: float, log: Path) -> None:
    """Wait until a worker is visibly working on the job: running, progress above 0."""

    def progressing() -> bool:
        job.refresh_from_db()
        assert not job.is_finished, f"{job} finished before it could be interrupted"
        return job.status == JobStatus.RUNNING and job.progress > 0

    wait_for(progressing, seconds, lambda: f"{job} never progressed\n{tail(log)}")


def ready(name: str, seconds: float, log: Path) -> None:
    """Wait until the named worker has started: its ``worker_ready`` handlers have run."""
    # Celery logs "<name>@<host> ready." right after sending worker_ready.
    wait_for(
        lambda: any(
            line.split("] ")[-1].startswith(f"{name}@") and line.endswith(" ready.")
            for line in tail_lines(log)
        ),
        seconds,
        lambda: f"worker {name} never got ready\n{tail(log)}",
    )


def tail_lines(log: Path) -> list[str]:
    return log.read_text(errors="replace").splitlines() if log.exists() else []


def tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-3000:] if log and log.exists() else "(no log)"
