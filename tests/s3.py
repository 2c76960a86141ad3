"""An S3-compatible server on this machine (moto in server mode), for the tests that keep
files in a bucket instead of MEDIA_ROOT, as a deployment over several hosts does."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.faults.services import free_port, port_answers, wait_for
from tests.workers import ROOT, kill, spawn

REGION = "eu-west-1"


@dataclass
class S3Server:
    url: str
    process: subprocess.Popen[bytes]

    @classmethod
    @contextlib.contextmanager
    def running(cls, log: Path) -> Iterator[S3Server]:
        port = free_port()
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        process = spawn(command, dict(os.environ), log)
        try:
            wait_for(lambda: port_answers(port), timeout=60, what="moto did not start")
            yield cls(url=f"http://127.0.0.1:{port}", process=process)
        finally:
            kill(process)

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="workbench-tests",
            aws_secret_access_key="workbench-tests-secret",
        )

    def new_bucket(self) -> str:
        name = f"workbench-{secrets.token_hex(6)}"
        self.client().create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return name

    def environment(self, bucket: str) -> dict[str, str]:
        """The variables that point a workbench process at ``bucket``."""
        return {
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT_URL": self.url,
            "S3_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": "workbench-tests",
            "S3_SECRET_ACCESS_KEY": "workbench-tests-secret",
            "S3_REGION": REGION,
            "S3_ADDRESSING_STYLE": "path",
        }

    def keys(self, bucket: str) -> list[str]:
        """Every object's key in ``bucket``."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))


def storage_settings(environment: dict[str, str]) -> dict[str, Any]:
    """``STORAGES["default"]`` as the settings module makes it from ``environment``."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, django; django.setup(); from django.conf import settings; "
            "print(json.dumps(settings.STORAGES['default'], default=str))",
        ],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "workbench.settings", **environment},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(done.stdout))
