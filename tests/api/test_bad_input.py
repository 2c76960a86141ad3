"""Inputs that once gave a 500 (or were quietly accepted) get a clear refusal naming the
field and the reason, and write nothing: the row counts do not move."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations.models import AgreementRun, Document, ImportJob, Layer, Span

pytestmark = pytest.mark.django_db

IMPORTS = "/api/projects/panjshir/imports/"
RUNS = "/api/projects/panjshir/agreement-runs/"


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Document, Layer, Span, AgreementRun, ImportJob)
    }


@pytest.fixture
def counted(world):
    """The row counts before the test's request; the test checks they did not move."""
    return row_counts()


@pytest.fixture
def import_file(api, world, celery_eager, django_capture_on_commit_callbacks):
    """Upload a file as the manager; its job runs (eagerly) once its row commits; return
    the job as the API shows it."""

    def post(name: str, data: bytes) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            started = api(world.cast.manager).post(
                IMPORTS, {"file": SimpleUploadedFile(name, data)}, format="multipart"
            )
        assert started.status_code == 202, started.content
        return api(world.cast.manager).get(started.json()["url"]).json()

    return post


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_nested_past_any_limit_in_span_attrs_is_a_400(api, world, counted):
    body = '{"label": "claim", "start": 0, "end": 5, "attrs": {"x": ' + nested(100_000) + "}}"

    response = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": ["JSON parse error - nested too deeply"]}
    assert row_counts() == counted


@pytest.mark.parametrize(
    ("start", "reason"),
    [("1", 'must be a whole number, e.g. 12 (not "12" or 12.0)'), (1.0, "must be a whole")],
)
def test_an_offset_that_is_not_a_json_integer_is_a_400(api, world, counted, start, reason):
    response = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "claim", "start": start, "end": 5},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["start"][0].startswith(reason)
    assert row_counts() == counted


def test_an_empty_patch_is_a_400_and_leaves_the_version(api, world):
    client = api(world.cast.alice)
    made = client.post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "claim", "start": 0, "end": 5},
        format="json",
    ).json()

    response = client.patch(
        f"/api/layers/{world.alice_layer.pk}/spans/{made['span']['id']}/", {}, format="json"
    )

    assert response.status_code == 400
    assert client.get(f"/api/layers/{world.alice_layer.pk}/").json()["version"] == made["version"]


def test_agreement_parameters_that_are_not_an_object_are_a_400(api, world, counted):
    response = api(world.cast.manager).post(RUNS, {"parameters": "x"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"parameters": ["must be an object"]}
    assert row_counts() == counted


def test_bootstrap_resamples_past_the_bound_are_a_400(api, world, counted):
    response = api(world.cast.manager).post(
        RUNS, {"parameters": {"bootstrap_resamples": 1_000_000_000}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["parameters"] == [
        "bootstrap_resamples must be an integer of at most 10000"
    ]
    assert row_counts() == counted


def test_a_nul_in_a_status_filter_is_a_400(api, world):
    response = api(world.cast.manager).get(RUNS, {"status": "\x00"})

    assert response.status_code == 400
    assert response.json()["status"][0].startswith("must be one of: queued, running")


LINE = {"id": "doc", "text": "Saleh said he is in Panjshir.", "meta": {"outlet": "WION"}}


def line_with(**changes) -> bytes:
    return (json.dumps({**LINE, **changes}) + "\n").encode()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (line_with(text="Saleh\u0000 said"), "text: holds a NUL character (U+0000)"),
        (line_with(id="doc\u0000"), "id: holds a NUL character (U+0000)"),
        (line_with(meta={"out\u0000let": "x"}), "meta: a key holds a NUL character"),
        (line_with(meta={"outlet": "WI\u0000ON"}), "meta.outlet: holds a NUL character"),
        (b'{"id": "doc", "text": "\\ud800 Saleh"}\n', "text: holds a lone surrogate (U+D800)"),
        (b'{"id": "\\udfff", "text": "Saleh"}\n', "id: holds a lone surrogate (U+DFFF)"),
        (
            b'{"id": "doc", "text": "x", "meta": {"m": "\\ud800"}}\n',
            "meta.m: holds a lone surrogate (U+D800)",
        ),
        (b'{"id": "doc", "text": "x", "meta": {"m": NaN}}\n', "NaN is not a JSON number"),
        (
            b'{"id": "doc", "text": "x", "meta": {"m": ' + b"9" * 5001 + b"}}\n",
            "a number has more than 4300 digits",
        ),
        (
            b'{"id": "doc", "text": "x", "meta": ' + nested(100_000).encode() + b"}\n",
            "nested too deeply",
        ),
        (line_with(id="x" * 201), "id: must be at most 200 characters (it has 201)"),
    ],
)
def test_an_import_line_no_database_can_store_fails_the_job_naming_the_line(
    import_file, counted, line, reason
):
    job = import_file("corpus.jsonl", line_with(id="fine") + line)

    assert job["status"] == "failed"
    assert [error["line"] for error in job["line_errors"]] == [2]
    assert reason in job["line_errors"][0]["reason"]
    assert {**row_counts(), "ImportJob": counted["ImportJob"]} == counted


def csv_file(*rows: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_a_csv_text_longer_than_128_kib_is_imported_whole(import_file):
    long_text = "Saleh is still in Panjshir. " * 10_000  # 280,000 characters

    job = import_file("long.csv", csv_file({"id": "long", "text": long_text}))

    assert job["status"] == "succeeded", job
    assert Document.objects.get(external_id="long").text == long_text


def test_a_csv_with_a_nul_in_its_text_fails_the_job_naming_the_line(import_file, counted):
    data = csv_file({"id": "a", "text": "fine"}, {"id": "b", "text": "Saleh\x00 said"})

    job = import_file("nul.csv", data)

    assert job["status"] == "failed"
    assert job["line_errors"][0]["line"] == 3
    assert "text: holds a NUL character (U+0000)" in job["line_errors"][0]["reason"]
    assert {**row_counts(), "ImportJob": counted["ImportJob"]} == counted


def test_a_text_file_with_a_nul_fails_the_job(import_file, counted):
    job = import_file("nul.txt", b"Saleh\x00 said he is in Panjshir.")

    assert job["status"] == "failed"
    assert "text: holds a NUL character (U+0000)" in job["line_errors"][0]["reason"]


def test_an_upload_over_the_limit_is_refused_before_it_is_read(api, world, counted, settings):
    settings.UPLOAD_MAX_BYTES = 100 * 2**20
    big = SimpleUploadedFile("big.jsonl", b"x" * (120 * 2**20))

    response = api(world.cast.manager).post(IMPORTS, {"file": big}, format="multipart")

    assert response.status_code == 413
    assert "larger than the 100 MiB this server takes" in response.json()["detail"]
    assert row_counts() == counted


@pytest.mark.parametrize("path", ["/api/nothing/here/", "/api/projects/a\nb/imports/"])
def test_an_unknown_api_address_is_a_json_404_even_with_a_line_feed(api, world, path):
    response = api(world.cast.manager).post(path, {}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
