"""doccano's own import of one JSONL file, timed; run with doccano's Python by bench/import.py.

    /tmp/doccano-venv/bin/python bench/_doccano_import.py FILE [--broker redis://...]

doccano (``pip install doccano psycopg2-binary redis`` into a separate venv) gets a scratch
PostgreSQL database of its own (``doccano_bench``, made again each run), a sequence
labelling project, and the file as a finished upload (the row its upload widget leaves).
Then, as its upload view does, ``import_dataset.delay`` queues its import task for a
worker of its own (``celery --app=config worker``, prefork, one process); the clock runs
from that call until the task's result arrives. The last line printed is the seconds.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import shortuuid

SERVER = "postgres://postgres@127.0.0.1:5432"
DATABASE = "doccano_bench"


def recreate_database() -> None:
    connection = psycopg2.connect(f"{SERVER}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        cursor.execute(f"CREATE DATABASE \"{DATABASE}\" ENCODING 'UTF8' TEMPLATE template0")
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    import backend  # doccano's Django project, as its own command line finds it

    base = Path(backend.__file__).parent
    sys.path.insert(0, str(base))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DATABASE_URL=f"{SERVER}/{DATABASE}?sslmode=disable",
        CELERY_BROKER_URL=args.broker,
        MEDIA_ROOT="/tmp/doccano-bench-media",
    )
    recreate_database()
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django_drf_filepond.models import TemporaryUpload

    call_command("migrate", verbosity=0)
    call_command("create_roles", stdout=io.StringIO())
    from data_import.celery_tasks import import_dataset
    from examples.models import Example
    from projects.models import ProjectType, SequenceLabelingProject

    user = get_user_model().objects.create_superuser("bench", "bench@example.org", "bench")
    project = SequenceLabelingProject.objects.create(
        name="bench", description="bench", project_type=ProjectType.SEQUENCE_LABELING
    )
    upload_id, file_id = shortuuid.uuid()[:22], shortuuid.uuid()[:22]  # filepond's id format
    folder = Path(settings.DJANGO_DRF_FILEPOND_UPLOAD_TMP) / upload_id
    folder.mkdir(parents=True)
    shutil.copyfile(args.file, folder / file_id)
    TemporaryUpload.objects.create(
        upload_id=upload_id,
        file_id=file_id,
        file=f"{upload_id}/{file_id}",
        upload_name=args.file.name,
        upload_type=TemporaryUpload.FILE_DATA,
        uploaded_by=user,
    )

    from config.celery import app

    name = f"doccano-bench-{os.getpid()}"
    command = [sys.executable, "-m", "celery", "--app=config", f"--workdir={base}", "worker"]
    command += ["--concurrency=1", "--pool=prefork", "--loglevel=WARNING", f"--hostname={name}@%h"]
    worker = subprocess.Popen(
        command,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=open(f"/tmp/{name}.log", "wb"),  # noqa: SIM115
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not any(name in w for reply in app.control.ping(timeout=1.0) for w in reply):
            if time.monotonic() > deadline:
                raise SystemExit("doccano's worker did not answer")
        started = time.perf_counter()
        result = import_dataset.delay(
            user_id=user.pk,
            project_id=project.pk,
            file_format="JSONL",
            upload_ids=[upload_id],
            task=ProjectType.SEQUENCE_LABELING,
        )
        outcome = result.get(timeout=1800)
        seconds = time.perf_counter() - started
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    examples = Example.objects.filter(project=project).count()
    print(f"doccano {examples} examples, errors {outcome['error'][:3]}", file=sys.stderr)
    print(f"{seconds:.3f}")


if __name__ == "__main__":
    main()
