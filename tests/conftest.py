"""Shared fixtures: the cast of one project, test-only settings, Chromium for Playwright."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

# Playwright's sync API keeps an event loop running in the main thread; the ORM calls in
# browser tests are still synchronous. Tests only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Drive Debian's Chromium; Playwright's own download is not available here."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path: Path) -> None:
    from django.core.cache import caches

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "scratch").mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "scratch")  # SCRATCH_DIR
    # A submission starts agreement by itself (at once when eager): only in the tests of
    # that, which turn it on, so no other test's rows and audit trail gain a run.
    settings.AGREEMENT_RERUN_AFTER_SECONDS = 0
    # Throttle counts and cached reads of one test are not the next one's.
    caches["default"].clear()


@pytest.fixture
def celery_eager(settings) -> None:
    """Run tasks in-process for tests that are not about the worker."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True


@dataclass
class Cast:
    """A project with a manager, a reviewer, two annotators and an outsider."""

    project: object
    manager: object
    reviewer: object
    alice: object
    bob: object
    outsider: object


@pytest.fixture
def cast(db) -> Cast:
    from annotations.models import Role
    from annotations.services.projects import add_member
    from tests.factories import ProjectFactory, UserFactory

    manager = UserFactory(username="manager")
    project = ProjectFactory(name="Panjshir", slug="panjshir", created_by=manager)
    people = {}
    for username, role in (
        ("reviewer", Role.REVIEWER),
        ("alice", Role.ANNOTATOR),
        ("bob", Role.ANNOTATOR),
    ):
        people[username] = UserFactory(username=username)
        add_member(project=project, user=people[username], role=role)
    return Cast(
        project=project,
        manager=manager,
        reviewer=people["reviewer"],
        alice=people["alice"],
        bob=people["bob"],
        outsider=UserFactory(username="outsider"),
    )


@pytest.fixture
def seed_text() -> str:
    """Seed 000: Persian text and curly quotes, where bytes and code points differ."""
    return next(SEEDS.glob("000_*.txt")).read_text(encoding="utf-8")


@pytest.fixture
def live_worker(transactional_db):
    """A real Celery worker (a thread, solo pool) consuming the test broker in Redis.

    Needs committed rows, hence ``transactional_db``: the worker has its own connection.
    """
    import celery.contrib.testing.tasks  # noqa: F401  registers celery.ping for the ping check
    from celery.contrib.testing.worker import start_worker

    from workbench.celery import app

    if app.conf.task_always_eager:
        pytest.fail("live_worker needs CELERY_BROKER_URL (run the suite with `make test`)")
    app.control.purge()  # messages left by earlier runs would run against the wrong rows
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=10) as worker:
        yield worker


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """An S3-compatible server (moto) on a free port of this machine, for the session."""
    from tests.s3 import S3Server

    with S3Server.running(tmp_path_factory.mktemp("s3") / "moto.log") as server:
        yield server


@pytest.fixture(scope="session")
def _s3_bucket(s3_server) -> tuple[str, dict]:
    """A bucket of the session, and the storage settings that name it."""
    from tests.s3 import storage_settings

    bucket = s3_server.new_bucket()
    return bucket, storage_settings(s3_server.environment(bucket))


@dataclass
class RemoteStorage:
    server: object
    bucket: str
    prefix: str

    def keys(self) -> list[str]:
        return [key for key in self.server.keys(self.bucket) if key.startswith(self.prefix)]


@pytest.fixture
def remote_storage(s3_server, _s3_bucket, settings) -> RemoteStorage:
    """Files go to a bucket (a prefix of its own per test), as with STORAGE_BACKEND=s3."""
    import secrets

    bucket, default = _s3_bucket
    prefix = f"test-{secrets.token_hex(6)}"
    options = {**default["OPTIONS"], "location": prefix}
    settings.STORAGES = {**settings.STORAGES, "default": {**default, "OPTIONS": options}}
    return RemoteStorage(server=s3_server, bucket=bucket, prefix=f"{prefix}/")
