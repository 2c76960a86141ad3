from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# What the test run sets for itself: a deployment sets none of it.
TEST_ONLY = ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in TEST_ONLY}


def run_django(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    clean = clean_environment()
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


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**clean_environment(), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "annotate.example.org",
}


def test_production_settings_pass_the_deployment_checklist_without_a_warning():
    result = manage(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_plain_http_intranet_can_switch_https_off_and_is_warned():
    result = manage(
        {**PRODUCTION, "SECURE_SSL_REDIRECT": "false", "SECURE_COOKIES": "false"},
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )

    assert result.returncode != 0
    warned = {"security.W008", "security.W012", "security.W016"}
    assert warned <= {word.strip("():") for word in result.stderr.split()}


def test_the_demo_keeps_its_generated_secret_key_beside_the_sqlite_database(tmp_path):
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "SECRET_KEY": ""}
    show_key = "from django.conf import settings as s; print(s.SECRET_KEY)"

    first = run_django(database, show_key)
    second = run_django(database, show_key)

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == second.stdout.strip() != ""
    assert (tmp_path / "demo-secret-key").read_text().strip() == first.stdout.strip()
    assert (tmp_path / "demo-secret-key").stat().st_mode & 0o077 == 0


def test_email_url_configures_smtp():
    result = run_django(
        {"EMAIL_URL": "smtp+tls://mailer:p%40ss@mail.example.org:587"},
        "from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, "
        "s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS)",
    )

    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.org",
        "587",
        "mailer",
        "p@ss",
        "True",
    ]


def test_without_email_url_mail_goes_to_the_console():
    result = run_django({}, "from django.conf import settings as s; print(s.EMAIL_BACKEND)")

    assert result.stdout.strip() == "django.core.mail.backends.console.EmailBackend"


STORAGE = (
    "from django.conf import settings as s; d = s.STORAGES['default']; "
    "print(d['BACKEND'], *sorted(f'{k}={v}' for k, v in d.get('OPTIONS', {}).items() "
    "if k in ('bucket_name', 'endpoint_url', 'querystring_expire', 'file_overwrite')))"
)


def test_files_stay_on_the_local_disk_unless_a_bucket_is_named():
    result = run_django({}, STORAGE)

    assert result.stdout.split() == ["django.core.files.storage.FileSystemStorage"]


def test_a_bucket_is_chosen_by_the_environment():
    result = run_django(
        {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": "exports",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "S3_URL_EXPIRE_SECONDS": "30",
        },
        STORAGE,
    )

    assert result.stdout.split() == [
        "storages.backends.s3.S3Storage",
        "bucket_name=exports",
        "endpoint_url=http://127.0.0.1:9000",
        "file_overwrite=False",
        "querystring_expire=30",
    ]


def test_storage_settings_that_cannot_work_are_refused():
    cases = [
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND must be local or s3"),
        ({"STORAGE_BACKEND": "s3"}, "S3_BUCKET must be set"),
        (
            {"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_URL_EXPIRE_SECONDS": "0"},
            "S3_URL_EXPIRE_SECONDS must be at least 1",
        ),
        (
            {"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_CUSTOM_DOMAIN": "files.example.org"},
            "S3_CUSTOM_DOMAIN needs S3_CLOUDFRONT_KEY_ID and S3_CLOUDFRONT_KEY",
        ),
    ]
    for env, message in cases:
        result = run_django(env, "")
        assert result.returncode != 0, env
        assert message in result.stderr, result.stderr[-500:]


def test_log_level_holds_for_djangos_own_loggers_too():
    # django.request logs every 404 as a warning, from a logger with a level of its own.
    warn = "import logging; logging.getLogger('django.request').warning('Not Found: /api/x/')"

    quiet = run_django({"LOG_LEVEL": "ERROR"}, warn)
    told = run_django({"LOG_LEVEL": "WARNING"}, warn)

    assert "Not Found" not in quiet.stderr
    assert told.stderr.count("Not Found: /api/x/") == 1
