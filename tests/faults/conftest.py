"""The whole workbench as an operator runs it, for the fault tests: a private PostgreSQL
and Redis (tests/faults/services.py), gunicorn, Celery beat and workers, each a real
process the tests may kill, restart or freeze. The tests talk to it as its users do,
over HTTP with an API token, and read the database only to count what was stored.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
import pytest
import requests

from annotations.interchange import dump_record
from tests.agreement.corpus import corpus
from tests.faults.services import PrivatePostgres, PrivateRedis, free_port, port_answers, wait_for
from tests.workers import deployed_settings

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
# Documents in the demo project besides the seeds: enough that every kind of job runs
# for seconds, so that a fault lands in the middle of it.
CORPUS_DOCUMENTS = 3000


@dataclass
class Stack:
    folder: Path
    postgres: PrivatePostgres
    redis: PrivateRedis
    env: dict[str, str]
    base_url: str = ""
    token: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # --- processes ---------------------------------------------------------------------

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one
        )
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "celery", "-A", "workbench", "worker"]
        command += ["--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO"]
        command += ["--hostname", f"{name}@%h", "--without-gossip", "--without-mingle"]
        return self.spawn(name, command)

    def start_beat(self) -> None:
        schedule = self.folder / "beat-schedule"
        command = [sys.executable, "-m", "celery", "-A", "workbench", "beat"]
        command += ["--loglevel", "INFO", "--schedule", str(schedule)]
        self.spawn("beat", command)

    def start_web(self) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "gunicorn", "workbench.wsgi:application"]
        command += [f"--bind=127.0.0.1:{port}", "--workers=2", "--timeout=30", "--preload"]
        self.spawn("web", command)
        wait_for(lambda: port_answers(port), timeout=30, what="gunicorn did not start")
        # Past each web process's first request (connections, lazy imports), as in service.
        for _ in range(6):
            requests.get(f"{self.base_url}/api/projects/", timeout=10)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def busy_pool_child(self, name: str) -> psutil.Process:
        """The worker's pool process that is running a task (the busiest one)."""
        children = psutil.Process(self.processes[name].pid).children()
        assert children, self.log(name)
        return max(children, key=lambda child: sum(child.cpu_times()[:2]))

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.kill(name)

    # --- the API, as a manager ---------------------------------------------------------

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base_url}/api/{path}"
        return requests.request(
            method,
            url,
            headers={"Authorization": f"Token {self.token}"},
            timeout=kwargs.pop("timeout", 10),
            **kwargs,
        )

    def wait_until(self, url: str, done, *, timeout: float) -> dict:
        """Poll the job at ``url`` until ``done(body)``; a failed request is tried again."""
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                response = self.api("GET", url)
                if response.status_code == 200:
                    body = response.json()
                    if done(body):
                        return body
            time.sleep(0.2)
        raise AssertionError(f"not reached in {timeout} s; last seen {body}\n{self.log('w1')}")

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.env["DATABASE_URL"], connect_timeout=5) as connection:
            return connection.execute(query, params).fetchall()

    def ensure_services(self) -> None:
        """PostgreSQL and Redis up again, whatever the last test did to them."""
        if not port_answers(self.postgres.port):
            self.postgres.start()
        if self.redis.process is None:
            self.redis.start()
        else:
            self.redis.thaw()


def write_corpus(path: Path, documents: int, prefix: str) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for record in corpus(documents, ["alice", "bob", "carol"], seed=len(prefix)):
            record.id = f"{prefix}-{record.id}"
            out.write(dump_record(record))
    return path


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("faults")
    # pytest's own folders are root's alone; the server runs as postgres.
    postgres_folder = Path(tempfile.mkdtemp(prefix="wb-faults-pg-"))
    postgres = PrivatePostgres(postgres_folder)
    postgres.start()
    redis = PrivateRedis(folder)
    redis.start()
    env = {
        **deployed_settings(),
        "DATABASE_URL": postgres.create_database("workbench"),
        "CELERY_BROKER_URL": redis.url,
        "MEDIA_ROOT": str(folder / "media"),
        "SCRATCH_DIR": str(folder / "scratch"),
        "LOG_LEVEL": "INFO",
        # Faults are found in seconds here, not minutes: a heartbeat every second, the
        # sweep every two, a job stale after five.
        "JOB_HEARTBEAT_SECONDS": "1",
        "JOB_SWEEP_SECONDS": "2",
        "JOB_STALE_SECONDS": "5",
        "AGREEMENT_CHUNK_DOCUMENTS": "100",
    }
    made = Stack(folder=folder, postgres=postgres, redis=redis, env=env)
    try:
        made.manage("migrate", "--noinput")
        made.manage("load_seeds", "--password", PASSWORD)
        made.manage(
            "import_documents",
            str(write_corpus(folder / "corpus.jsonl", CORPUS_DOCUMENTS, "corpus")),
            "--project",
            "demo",
        )
        made.token = made.manage("create_token", "manager").strip()
        made.start_web()
        made.start_beat()
        yield made
    finally:
        made.stop_all()
        redis.stop()
        with contextlib.suppress(RuntimeError):
            postgres.stop()
        shutil.rmtree(postgres_folder, ignore_errors=True)


@pytest.fixture
def operator(stack) -> Iterator[Stack]:
    """The stack with its services up and no worker yet; workers are gone afterwards."""
    stack.ensure_services()
    yield stack
    for name in [name for name in stack.processes if name not in ("web", "beat")]:
        stack.kill(name)
