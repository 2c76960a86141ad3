from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations.models import Document, Layer

pytestmark = pytest.mark.django_db

IMPORTS = "/api/projects/panjshir/imports/"


def jsonl(*records):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def test_manager_imports_a_jsonl_file_with_annotations(cast, api):
    text = "Saleh said he is in Panjshir."
    data = jsonl(
        {
            "id": "a1",
            "text": text,
            "annotations": {"carol": [{"start": 0, "end": 5, "label": "source", "attrs": {}}]},
        },
        {"id": "a2", "text": "کتاب خوب است"},
    )

    response = api(cast.manager).post(
        IMPORTS, {"file": SimpleUploadedFile("corpus.jsonl", data)}, format="multipart"
    )

    assert response.status_code == 201, response.json()
    assert response.json() == {
        "documents": 2,
        "spans": 1,
        "relations": 0,
        "annotators": ["carol"],
        "created_users": ["carol"],
    }
    assert Layer.objects.get(document__external_id="a1").status == "submitted"


def test_a_bad_line_rejects_the_file_naming_the_line(cast, api):
    data = jsonl(
        {"id": "a1", "text": "fine"},
        {"id": "a2", "text": "short", "gold": [{"start": 0, "end": 9, "label": "claim"}]},
    )

    response = api(cast.manager).post(
        IMPORTS, {"file": SimpleUploadedFile("bad.jsonl", data)}, format="multipart"
    )

    assert response.status_code == 400
    (message,) = response.json()["file"]
    assert message.startswith("bad.jsonl, line 2: ")
    assert "at most the text's length (5 code points)" in message
    assert not Document.objects.exists()


def test_format_field_overrides_the_extension(cast, api):
    response = api(cast.manager).post(
        IMPORTS,
        {
            "file": SimpleUploadedFile("notes.data", b"id,text\nn1,Saleh stays.\n"),
            "file_format": "csv",
        },
        format="multipart",
    )

    assert response.status_code == 201, response.json()
    assert Document.objects.get().external_id == "n1"


def test_a_request_without_a_file_is_refused(cast, api):
    response = api(cast.manager).post(IMPORTS, {}, format="multipart")

    assert response.status_code == 400
    assert "file" in response.json()


def test_only_managers_import(cast, api):
    upload = SimpleUploadedFile("one.txt", b"Saleh stays.")

    response = api(cast.reviewer).post(IMPORTS, {"file": upload}, format="multipart")

    assert response.status_code == 403
    assert not Document.objects.exists()
