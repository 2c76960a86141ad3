"""The import endpoint: the upload is stored and queued (202), the job says how it went."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations.models import Assignment, Document, ImportJob, Layer

pytestmark = pytest.mark.django_db

IMPORTS = "/api/projects/panjshir/imports/"


def jsonl(*records):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


@pytest.fixture
def upload(api, celery_eager, django_capture_on_commit_callbacks):
    """POST a file as ``user``; the job runs (eagerly) when its row commits."""

    def post(name: str, data: bytes, *, user, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            return api(user).post(
                IMPORTS, {"file": SimpleUploadedFile(name, data), **fields}, format="multipart"
            )

    return post


def test_manager_imports_a_jsonl_file_with_annotations(cast, api, upload):
    text = "Saleh said he is in Panjshir."
    data = jsonl(
        {
            "id": "a1",
            "text": text,
            "annotations": {"carol": [{"start": 0, "end": 5, "label": "source", "attrs": {}}]},
        },
        {"id": "a2", "text": "کتاب خوب است"},
    )

    response = upload("corpus.jsonl", data, user=cast.manager)

    assert response.status_code == 202, response.json()
    job_url = response.json()["url"]
    assert response["Location"] == job_url
    job = api(cast.manager).get(job_url).json()
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0
    assert job["result"] == {
        "documents": 2,
        "spans": 1,
        "relations": 0,
        "annotators": ["carol"],
        "created_users": ["carol"],
    }
    assert job["line_errors"] == []
    assert Layer.objects.get(document__external_id="a1").status == "submitted"
    stored = ImportJob.objects.get().file
    assert Path(stored.path).is_relative_to(Path(settings.MEDIA_ROOT))
    assert stored.read() == data  # the upload is kept as it came


def test_bad_lines_fail_the_job_naming_each_line_and_write_nothing(cast, api, upload):
    data = jsonl(
        {"id": "a1", "text": "fine"},
        {"id": "a2", "text": "short", "gold": [{"start": 0, "end": 9, "label": "claim"}]},
        {"id": "a3", "text": 3},
    )

    response = upload("bad.jsonl", data, user=cast.manager)

    assert response.status_code == 202
    job = api(cast.manager).get(response.json()["url"]).json()
    assert job["status"] == "failed"
    assert job["line_error_count"] == 2
    first, second = job["line_errors"]
    assert first["file"] == "bad.jsonl"
    assert first["line"] == 2
    assert "at most the text's length (5 code points)" in first["reason"]
    assert (second["line"], second["reason"]) == (3, "text: must be a string")
    assert job["error"].startswith("2 bad lines; the first: bad.jsonl, line 2: ")
    assert not Document.objects.exists()


def test_only_the_first_hundred_bad_lines_are_listed_but_all_are_counted(cast, api, upload):
    data = jsonl(*({"id": f"d{n}", "text": ""} for n in range(150)))

    job = api(cast.manager).get(upload("empty.jsonl", data, user=cast.manager).json()["url"]).json()

    assert job["status"] == "failed"
    assert job["line_error_count"] == 150
    assert len(job["line_errors"]) == 100
    assert job["line_errors"][99]["line"] == 100


def test_format_field_overrides_the_extension(cast, api, upload):
    response = upload(
        "notes.data", b"id,text\nn1,Saleh stays.\n", file_format="csv", user=cast.manager
    )

    assert response.status_code == 202, response.json()
    assert api(cast.manager).get(response.json()["url"]).json()["status"] == "succeeded"
    assert Document.objects.get().external_id == "n1"


def test_an_unknown_file_type_is_refused_before_anything_is_stored(cast, upload):
    response = upload("paper.pdf", b"%PDF", user=cast.manager)

    assert response.status_code == 400
    assert "unknown file type" in response.json()["file"][0]
    assert not ImportJob.objects.exists()


def test_a_request_without_a_file_is_refused(cast, api):
    response = api(cast.manager).post(IMPORTS, {}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()


def test_only_managers_import_and_read_import_jobs(cast, api, upload):
    assert upload("one.txt", b"Saleh stays.", user=cast.reviewer).status_code == 403
    assert not Document.objects.exists()

    job_url = upload("one.txt", b"Saleh stays.", user=cast.manager).json()["url"]
    assert api(cast.reviewer).get(job_url).status_code == 403
    assert api(cast.alice).get(job_url).status_code == 403
    assert api(cast.outsider).get(job_url).status_code == 404
    assert api(cast.manager).get(f"{IMPORTS}999999/").status_code == 404


def test_an_upload_past_the_memory_threshold_is_stored_from_its_temporary_file(
    cast, api, upload, settings
):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # larger uploads are spooled to disk
    data = jsonl(*({"id": f"d{n}", "text": "Saleh stays in Panjshir. " * 4} for n in range(300)))
    assert len(data) > 20 * settings.FILE_UPLOAD_MAX_MEMORY_SIZE

    job = api(cast.manager).get(upload("big.jsonl", data, user=cast.manager).json()["url"]).json()

    assert job["status"] == "succeeded", job
    assert job["result"]["documents"] == 300
    assert ImportJob.objects.get().file.read() == data


def test_several_files_in_one_request_are_one_job(
    cast, api, celery_eager, django_capture_on_commit_callbacks
):
    files = [
        SimpleUploadedFile("a.txt", b"Saleh stays in Panjshir."),
        SimpleUploadedFile("b.txt", "کتاب خوب است".encode()),
        SimpleUploadedFile("c.jsonl", jsonl({"id": "c", "text": "TASS said so."})),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = api(cast.manager).post(IMPORTS, {"file": files}, format="multipart")

    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == body["url"]
    assert body["format"] == "zip"
    assert body["options"]["files"] == ["a.txt", "b.txt", "c.jsonl"]
    job = api(cast.manager).get(body["url"]).json()
    assert job["status"] == "succeeded", job
    assert job["result"]["documents"] == 3
    assert sorted(Document.objects.values_list("external_id", flat=True)) == ["a", "b", "c"]


def test_assign_now_over_the_api(cast, api, upload):
    response = upload("a.txt", b"Saleh stays.", assign_now="true", user=cast.manager)

    assert response.status_code == 202
    job = api(cast.manager).get(response.json()["url"]).json()
    assert job["options"] == {"assign_now": True}
    assert job["result"]["assignment"] == {"assigned": 2}
    assert Assignment.objects.filter(document__external_id="a").count() == 2
