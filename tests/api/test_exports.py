from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from annotations.models import ExportJob
from annotations.services.imports import import_file

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "export_edge_cases.jsonl"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url(slug: str, *rest: object) -> str:
    return "/api/projects/" + "/".join([slug, "exports", *map(str, rest)]) + "/"


@pytest.fixture
def finished_job(cast) -> ExportJob:
    import_file(project=cast.project, filename="edge.jsonl", data=FIXTURE.read_bytes())
    from annotations.services import jobs
    from annotations.services.export_jobs import run_export

    job = ExportJob.objects.create(project=cast.project, format="brat")
    return run_export(job, jobs.claim(ExportJob, job.pk))


@pytest.mark.django_db
def test_manager_starts_an_export_and_downloads_the_archive(
    cast, celery_eager, django_capture_on_commit_callbacks
) -> None:
    import_file(project=cast.project, filename="edge.jsonl", data=FIXTURE.read_bytes())
    client = client_for(cast.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("panjshir"), {"format": "xmi", "options": {"layers": "gold"}}, format="json"
        )
    assert response.status_code == 201, response.data
    assert "warning" not in response.data  # eager mode: the web process is the worker
    job_url = url("panjshir", response.data["id"])
    detail = client.get(job_url).data
    assert detail["status"] == "succeeded"
    assert detail["options"]["layers"] == "gold"
    download = client.get(detail["download_url"])
    assert download.status_code == 200
    data = b"".join(download.streaming_content)
    assert hashlib.sha256(data).hexdigest() == detail["checksum"] == download["X-Checksum-SHA256"]
    assert download["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "xmi/TypeSystem.xml" in names
    assert not any(name.startswith("xmi/annotators/") for name in names)
    assert client.get(url("panjshir")).data[0]["id"] == detail["id"]


@pytest.mark.django_db
def test_bad_options_get_400_naming_the_option(cast) -> None:
    response = client_for(cast.manager).post(
        url("panjshir"), {"format": "jsonl", "options": {"alignment": "snap"}}, format="json"
    )
    assert response.status_code == 400
    assert "options.alignment" in response.data


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["reviewer", "alice"])
def test_members_who_are_not_managers_get_403_everywhere(cast, finished_job, who) -> None:
    client = client_for(getattr(cast, who))
    for path in (url("panjshir"), url("panjshir", finished_job.pk)):
        assert client.get(path).status_code == 403
    assert client.get(url("panjshir", finished_job.pk, "download")).status_code == 403
    # The same answer for a job that does not exist: no id is revealed.
    assert client.get(url("panjshir", finished_job.pk + 1000, "download")).status_code == 403
    assert client.post(url("panjshir"), {"format": "jsonl"}, format="json").status_code == 403


@pytest.mark.django_db
def test_outsider_gets_404_for_the_exports_and_the_archive(cast, finished_job) -> None:
    client = client_for(cast.outsider)
    assert client.get(url("panjshir")).status_code == 404
    assert client.get(url("panjshir", finished_job.pk)).status_code == 404
    assert client.get(url("panjshir", finished_job.pk, "download")).status_code == 404
    assert client.post(url("panjshir"), {"format": "jsonl"}, format="json").status_code == 404


@pytest.mark.django_db
def test_anonymous_caller_cannot_download(cast, finished_job) -> None:
    response = APIClient().get(url("panjshir", finished_job.pk, "download"))
    assert response.status_code in (401, 403)


@pytest.mark.django_db
def test_download_of_an_unfinished_export_is_a_conflict(cast) -> None:
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    response = client_for(cast.manager).get(url("panjshir", job.pk, "download"))
    assert response.status_code == 409
    assert "queued" in response.data["detail"]


@pytest.mark.django_db
def test_a_job_of_another_project_is_not_found_through_this_one(cast, finished_job) -> None:
    from tests.factories import ProjectFactory

    other = ProjectFactory(slug="other", created_by=cast.manager)
    from annotations.models import Role
    from annotations.services.projects import add_member

    add_member(project=other, user=cast.manager, role=Role.MANAGER)
    response = client_for(cast.manager).get(url("other", finished_job.pk, "download"))
    assert response.status_code == 404
