"""Two hosts that share nothing but PostgreSQL, Redis and a bucket.

The web process (gunicorn) and the worker (a real `celery worker`) run as separate
processes, each with a MEDIA_ROOT and a scratch folder of its own, as on two machines;
files go to a bucket on an S3-compatible server on this machine (moto). An import
uploaded to the web process is run by the worker, the worker measures agreement and
writes an export in every format, and each archive is downloaded through the web
process (a redirect to a signed link) with the bytes the worker recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings

from annotations.exporters import EXPORTERS
from annotations.interchange import dump_record
from annotations.services import export_jobs
from annotations.services.tokens import create_token
from tests.agreement.corpus import corpus
from tests.faults.services import free_port, port_answers, wait_for
from tests.workers import database_url, deployed_settings, kill, spawn, start_worker, tail

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DOCUMENTS = 40


@dataclass
class Web:
    url: str
    token: str
    log: Path

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else f"{self.url}/api/{path}"
        headers = {"Authorization": f"Token {self.token}"}
        return requests.request(method, url, headers=headers, timeout=30, **kwargs)

    def finished(self, url: str, seconds: float, worker_log: Path) -> dict:
        """The job at ``url`` once it has succeeded or failed."""
        deadline = time.monotonic() + seconds
        while True:
            body = self.api("GET", url).json()
            if body["status"] in ("succeeded", "failed"):
                return body
            assert time.monotonic() < deadline, f"{body}\n{tail(worker_log)}\n{tail(self.log)}"
            time.sleep(0.2)


def host(folder: Path) -> dict[str, str]:
    """What sets one host apart from the other: its own disk."""
    return {"MEDIA_ROOT": str(folder / "media"), "SCRATCH_DIR": str(folder / "scratch")}


@contextlib.contextmanager
def gunicorn(environment: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "workbench.wsgi:application"]
    command += [f"--bind=127.0.0.1:{port}", "--workers=2", "--timeout=60", "--preload"]
    env = {
        **deployed_settings(),
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # A loaded test machine may take more than the default second to hand a job over.
        "CELERY_BROKER_TIMEOUT": "10",
        **environment,
    }
    process = spawn(command, env, log)
    try:
        wait_for(lambda: port_answers(port), timeout=60, what="gunicorn did not start")
        for _ in range(4):  # past each web process's first request, as in service
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        kill(process)


def members(archive: zipfile.ZipFile) -> dict[str, bytes]:
    return {name: archive.read(name) for name in archive.namelist() if name != "README.md"}


def files_in(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def test_import_agreement_and_every_export_run_across_hosts_that_share_only_a_bucket(
    cast, s3_server, tmp_path
) -> None:
    from workbench.celery import app

    app.control.purge()
    bucket = s3_server.new_bucket()
    web_host, worker_host = tmp_path / "web-host", tmp_path / "worker-host"
    worker_log, web_log = tmp_path / "worker.log", tmp_path / "web.log"
    _, token = create_token(user=cast.manager, name="multi-host test")
    records = corpus(DOCUMENTS, ["alice", "bob"], seed=7)
    upload = "".join(dump_record(record) for record in records)
    both_annotated = sum(len(record.annotations) == 2 for record in records)
    slug = cast.project.slug

    worker = start_worker(
        worker_log, "far", environment={**s3_server.environment(bucket), **host(worker_host)}
    )
    try:
        with gunicorn({**s3_server.environment(bucket), **host(web_host)}, web_log) as url:
            web = Web(url=url, token=token, log=web_log)

            started = web.api(
                "POST",
                f"projects/{slug}/imports/",
                files={"file": ("corpus.jsonl", upload.encode())},
            )
            assert started.status_code == 202, started.text
            imported = web.finished(started.json()["url"], 120, worker_log)
            assert imported["status"] == "succeeded", imported
            assert imported["result"]["documents"] == DOCUMENTS

            started = web.api("POST", f"projects/{slug}/agreement-runs/", json={})
            assert started.status_code == 201, started.text
            run = web.finished(started.json()["url"], 120, worker_log)
            assert run["status"] == "succeeded", run
            assert run["result"]["documents"] == both_annotated

            archives = {}
            for format in EXPORTERS:
                started = web.api("POST", f"projects/{slug}/exports/", json={"format": format})
                assert started.status_code == 201, started.text
                job_url = f"projects/{slug}/exports/{started.json()['id']}/"
                job = web.finished(job_url, 300, worker_log)
                assert job["status"] == "succeeded", job

                sent_on = web.api("GET", job["download_url"], allow_redirects=False)
                assert sent_on.status_code == 302, sent_on.text
                archive = requests.get(sent_on.headers["Location"], timeout=30)
                assert archive.status_code == 200
                assert hashlib.sha256(archive.content).hexdigest() == job["checksum"]
                assert len(archive.content) == job["size"]
                archives[format] = zipfile.ZipFile(io.BytesIO(archive.content))
    finally:
        kill(worker)

    # Each archive holds what an export made here, from the same database, holds (the
    # dataset card aside: it carries the time it was made).
    for format, archive in archives.items():
        here = io.BytesIO()
        export_jobs.write_export(
            project=cast.project,
            format=format,
            options=export_jobs.parse_options(format, {}),
            target=here,
        )
        assert members(archive) == members(zipfile.ZipFile(here)), format
        assert "README.md" in archive.namelist(), format
    exported = archives["jsonl"]
    jsonl = [name for name in exported.namelist() if name.endswith(".jsonl")]
    assert b"".join(exported.read(name) for name in jsonl) == upload.encode()
    # Everything went through the bucket: neither host kept a file on its own disk.
    for folder in (web_host, worker_host):
        assert files_in(folder) == [], folder
    keys = s3_server.keys(bucket)
    assert sum(key.startswith(f"imports/{slug}/") for key in keys) == 1, keys
    assert sum(key.startswith(f"exports/{slug}/") for key in keys) == len(EXPORTERS), keys
