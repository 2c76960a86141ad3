"""Private PostgreSQL and Redis servers that a fault test (or a benchmark) may restart,
stop or freeze without touching the machine's own, which other work shares.

Each runs on a free loopback port from a temporary folder and goes away with it. Both are
real servers started from the machine's binaries: what a test does to them (a fast
restart, a ten-second outage, SIGSTOP) is what an operator's machine does.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def wait_for(check, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout} s")
        time.sleep(0.05)


def _postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not versions:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return versions[-1]


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (trust auth, user postgres, UTF-8) in ``folder``,
    which the postgres user must be able to reach (a folder of its own under /tmp)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.bin = _postgres_bin()
        # The server refuses to run as root: the folder belongs to postgres.
        shutil.chown(folder, "postgres", "postgres")
        self._as_postgres(
            "initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "UTF8",
            "--locale=C.UTF-8",
        )  # fmt: skip

    @property
    def server_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def _as_postgres(self, program: str, *args: str) -> None:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / program), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"{program} failed: {done.stderr or done.stdout}")

    def _pg_ctl(self, *args: str) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            # Durability is not under test: the data dies with the folder.
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"),
            "-w", *args,
        )  # fmt: skip

    def start(self) -> None:
        self._pg_ctl("start")

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def restart(self) -> None:
        """What `pg_ctl restart -m fast` does: every connection is cut, then it is back."""
        self._pg_ctl("-m", "fast", "restart")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(f"{self.server_url}/postgres", autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        return f"{self.server_url}/{name}"


class PrivateRedis:
    """A Redis server that keeps nothing on disk, as the machine's own."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.folder),
                "--logfile", str(self.folder / "redis.log"),
            ],
        )  # fmt: skip
        wait_for(lambda: port_answers(self.port), timeout=10, what="Redis did not start")

    def stop(self) -> None:
        """Gone at once, with everything it held (as `redis-cli shutdown nosave`)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def freeze(self) -> None:
        """It keeps taking connections and answers nothing (SIGSTOP)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)
