from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_django(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "workbench.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_secret_key_is_required_when_debug_is_off():
    result = run_django({"DEBUG": "false", "SECRET_KEY": ""}, "")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_with_nothing_configured_the_demo_uses_sqlite_and_eager_tasks():
    result = run_django(
        {},
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)",
    )

    assert result.stdout.split() == ["django.db.backends.sqlite3", "True"]


def test_celery_is_configured_for_reliability():
    result = run_django(
        {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/15"},
        "from workbench.celery import app; c = app.conf; "
        "print(c.task_always_eager, c.task_acks_late, c.task_serializer, c.accept_content, "
        "c.task_time_limit, c.result_backend)",
    )

    assert result.stdout.split() == [
        "False",
        "True",
        "json",
        "['json']",
        "1800",
        "redis://127.0.0.1:6379/15",
    ]
