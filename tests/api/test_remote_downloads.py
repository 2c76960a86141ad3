"""Export archives kept in a bucket (STORAGE_BACKEND=s3): a manager's download is a
redirect to a short-lived signed link; nobody else gets a link, signed or not, and the
bucket itself refuses the archive to anyone without one."""

from __future__ import annotations

import hashlib
import io
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from annotations import storage
from annotations.models import ExportJob, JobStatus
from annotations.services import export_jobs, jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def archive(world, remote_storage) -> ExportJob:
    """A succeeded JSONL export whose archive the worker published to the bucket."""
    job = ExportJob.objects.create(
        project=world.project, format="jsonl", requested_by=world.cast.manager
    )
    export_jobs.run_export(job, jobs.claim(ExportJob, job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert remote_storage.keys() == [f"{remote_storage.prefix}{job.file.name}"]
    return job


@pytest.fixture
def links_made(monkeypatch) -> list[str]:
    """Every signed link the web process makes."""
    made: list[str] = []
    make = storage.signed_url

    def watched(*args, **kwargs):
        url = make(*args, **kwargs)
        made.append(url)
        return url

    monkeypatch.setattr(storage, "signed_url", watched)
    return made


def download_path(job: ExportJob) -> str:
    return reverse("export-download", args=[job.project.slug, job.pk])


def test_a_manager_is_sent_to_a_short_lived_signed_link_to_the_archive(
    world, api, archive, settings, links_made
):
    response = api(world.cast.manager).get(download_path(archive))

    assert response.status_code == 302
    link = response["Location"]
    assert links_made == [link]
    query = parse_qs(urlsplit(link).query)
    assert query["X-Amz-Expires"] == [str(settings.S3_URL_EXPIRE_SECONDS)]
    assert "X-Amz-Signature" in query
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Checksum-SHA256"] == archive.checksum

    fetched = requests.get(link, timeout=10)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == archive.checksum
    assert fetched.headers["Content-Type"] == "application/zip"
    assert fetched.headers["Content-Disposition"] == (
        f'attachment; filename="panjshir-jsonl-{archive.pk}.zip"'
    )
    names = zipfile.ZipFile(io.BytesIO(fetched.content)).namelist()
    assert "README.md" in names


def test_the_bucket_refuses_the_archive_without_a_signature(world, api, archive, remote_storage):
    link = api(world.cast.manager).get(download_path(archive))["Location"]
    unsigned = link.split("?")[0]
    assert unsigned.endswith(f"{remote_storage.prefix}{archive.file.name}")

    assert requests.get(unsigned, timeout=10).status_code == 403


@pytest.mark.parametrize(
    ("role", "status"),
    [("alice", 403), ("bob", 403), ("reviewer", 403), ("outsider", 404), (None, 403)],
)
def test_nobody_but_a_manager_gets_a_link(world, api, archive, links_made, role, status):
    user = getattr(world.cast, role) if role else None

    response = api(user).get(download_path(archive))

    assert response.status_code == status
    assert "Location" not in response
    assert links_made == []


def test_an_annotators_session_gets_no_link_from_the_api_nor_the_pages(world, archive, links_made):
    client = Client()
    client.force_login(world.cast.alice)
    slug = world.project.slug

    assert client.get(download_path(archive)).status_code == 403
    assert client.get(f"/api/projects/{slug}/exports/{archive.pk}/").status_code == 403
    assert client.get(reverse("dashboard", args=[slug])).status_code == 404
    assert links_made == []


def test_the_managers_pages_and_job_point_at_the_checked_download_not_the_bucket(
    world, api, archive, links_made
):
    client = Client()
    client.force_login(world.cast.manager)

    page = client.get(reverse("dashboard", args=[world.project.slug])).content.decode()
    job = api(world.cast.manager).get(f"/api/projects/{world.project.slug}/exports/{archive.pk}/")

    assert f'href="{download_path(archive)}"' in page
    assert job.json()["download_url"].endswith(download_path(archive))
    assert "X-Amz-Signature" not in page + job.content.decode()
    assert links_made == []


def test_behind_a_custom_domain_the_link_is_signed_by_cloudfront(world, api, archive, settings):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    default = settings.STORAGES["default"]
    options = {
        **default["OPTIONS"],
        "custom_domain": "files.example.org",
        "cloudfront_key_id": "K2JCJMDEHXQW5F",
        "cloudfront_key": key,
    }
    settings.STORAGES = {**settings.STORAGES, "default": {**default, "OPTIONS": options}}

    response = api(world.cast.manager).get(download_path(archive))

    assert response.status_code == 302
    link = urlsplit(response["Location"])
    assert (link.scheme, link.netloc) == ("https", "files.example.org")
    query = parse_qs(link.query)
    assert query["Key-Pair-Id"] == ["K2JCJMDEHXQW5F"]
    assert {"Signature", "Expires"} <= set(query)
