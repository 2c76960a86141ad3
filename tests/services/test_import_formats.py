"""The formats an import reads: several .txt files at once, zips, CSV, and the bad inputs
each can hold (paths out of a zip, zip bombs, NUL, invalid UTF-8, duplicate ids)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations.models import Assignment, Document, ImportJob, JobStatus
from annotations.services import import_jobs
from annotations.services.imports import ImportRejected, import_file
from tests.conftest import SEEDS
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def a_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def reasons(raised: pytest.ExceptionInfo[ImportRejected]) -> list[tuple[str, int | None, str]]:
    return [(error.file, error.line, error.reason) for error in raised.value.errors]


@pytest.fixture
def start(cast, celery_eager, django_capture_on_commit_callbacks):
    """Start an import job as the manager; it runs (eagerly) once its row commits."""

    def run(*files: tuple[str, bytes], assign_now: bool = False) -> ImportJob:
        uploads = [SimpleUploadedFile(name, data) for name, data in files]
        with django_capture_on_commit_callbacks(execute=True):
            job = import_jobs.start_import(
                project=cast.project,
                actor=cast.manager,
                upload=uploads if len(uploads) > 1 else uploads[0],
                assign_now=assign_now,
            )
        job.refresh_from_db()
        return job

    return run


def test_several_txt_files_are_one_job_with_one_document_each(cast, start):
    seeds = sorted(SEEDS.glob("*.txt"))

    job = start(*[(seed.name, seed.read_bytes()) for seed in seeds])

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["documents"] == len(seeds) == 5
    assert job.options["files"] == [seed.name for seed in seeds]
    stored = dict(Document.objects.filter(project=cast.project).values_list("external_id", "text"))
    assert stored == {seed.stem: seed.read_text(encoding="utf-8") for seed in seeds}


def test_one_bad_file_among_several_writes_none_and_names_the_file(cast, start):
    job = start(("a.txt", b"Saleh spoke."), ("b.txt", b"ok\n\xff\xfe broken"), ("c.txt", b"More."))

    assert job.status == JobStatus.FAILED
    assert job.line_errors == [
        {"file": "b.txt", "line": 2, "reason": "not UTF-8 (byte 0xff cannot be decoded)"}
    ]
    assert not Document.objects.filter(project=cast.project).exists()


def test_a_zip_of_txt_files_in_folders(cast):
    data = a_zip({"news/a.txt": b"Saleh\nsaid", "news/b.txt": "کتاب".encode(), "news/": b""})

    summary = import_file(project=cast.project, filename="news.zip", data=data)

    assert summary.documents == 2
    assert set(Document.objects.values_list("external_id", "text")) == {
        ("a", "Saleh\nsaid"),
        ("b", "کتاب"),
    }


def test_a_zip_holding_jsonl_and_csv_reports_lines_in_each_member(cast):
    data = a_zip(
        {
            "one.jsonl": jsonl({"id": "j1", "text": "x"}) + b"{broken\n",
            "two.csv": b"id,text\nc1,fine\nc2,\n",
        }
    )

    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename="mixed.zip", data=data)

    assert reasons(raised) == [
        ("one.jsonl", 2, "not valid JSON (Expecting property name enclosed in double quotes)"),
        ("two.csv", 3, "the text is empty"),
    ]


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil.txt", "a/../../evil.txt"])
def test_a_zip_path_out_of_the_archive_is_refused(cast, name):
    with pytest.raises(ImportRejected, match="a path outside the archive is refused"):
        import_file(project=cast.project, filename="x.zip", data=a_zip({name: b"text"}))
    assert not Document.objects.exists()


def test_a_zip_bomb_is_refused_before_it_is_read(cast, settings):
    bomb = a_zip({"zeros.txt": b"a" * (50 * 2**20)})
    assert len(bomb) < 2**20  # a small upload

    with pytest.raises(ImportRejected, match="refused as a zip bomb"):
        import_file(project=cast.project, filename="bomb.zip", data=bomb)

    settings.IMPORT_MAX_UNZIPPED_BYTES = 1000
    with pytest.raises(ImportRejected, match="more than the 1,000 this server takes"):
        import_file(project=cast.project, filename="big.zip", data=a_zip({"a.txt": b"a" * 2000}))


def test_not_a_zip_and_a_zip_inside_a_zip(cast):
    with pytest.raises(ImportRejected, match="not a zip archive"):
        import_file(project=cast.project, filename="x.zip", data=b"plain text")
    inner = a_zip({"a.txt": b"text"})
    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename="x.zip", data=a_zip({"inner.zip": inner}))
    assert reasons(raised) == [("inner.zip", None, "a zip inside the zip is not read")]


def test_csv_metadata_columns_are_kept_and_rows_without_id_are_named_by_file(cast):
    data = b"title,text,outlet,date\nHeadline,Saleh spoke.,TASS,2021-08-17\n,Second.,,\n"

    import_file(project=cast.project, filename="news.csv", data=data)

    rows = dict(Document.objects.values_list("external_id", "meta"))
    assert rows == {
        "news-1": {"title": "Headline", "outlet": "TASS", "date": "2021-08-17"},
        "news-2": {},
    }


def test_csv_field_longer_than_128_kib(cast):
    long_text = "Saleh spoke. " * 20_000  # 260 KB, twice the csv module's default limit
    data = f'external_id,text\nlong,"{long_text}"\n'.encode()

    import_file(project=cast.project, filename="long.csv", data=data)

    assert Document.objects.get(external_id="long").text == long_text


def test_csv_without_a_text_column_names_its_header(cast):
    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename="c.csv", data=b"id,body\n1,hello\n")
    assert reasons(raised) == [("c.csv", 1, "no 'text' column in the header (columns: id, body)")]


@pytest.mark.parametrize(
    ("filename", "data", "line"),
    [
        ("n.txt", b"Saleh\x00spoke", None),
        ("n.csv", b"id,text\nn1,Saleh\x00spoke\n", 2),
        ("n.jsonl", jsonl({"id": "n1", "text": "Saleh\u0000spoke"}), 1),
    ],
)
def test_nul_in_text_is_a_line_error_not_a_database_error(cast, filename, data, line):
    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename=filename, data=data)

    ((file, where, reason),) = reasons(raised)
    assert (file, where) == (filename, line)
    assert "NUL character (U+0000) at position 5" in reason
    assert not Document.objects.exists()


def test_invalid_utf8_is_a_line_error(cast):
    data = jsonl({"id": "a", "text": "fine"}) + b'{"id": "b", "text": "caf\xe9"}\n'
    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename="l.jsonl", data=data)
    assert reasons(raised) == [("l.jsonl", 2, "not UTF-8 (byte 0xe9 cannot be decoded)")]


def test_duplicate_ids_name_both_lines_in_a_file_and_both_files_in_an_upload(cast):
    data = jsonl({"id": "a", "text": "x"}, {"id": "b", "text": "y"}, {"id": "a", "text": "z"})
    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename="d.jsonl", data=data)
    assert reasons(raised) == [
        ("d.jsonl", 3, "document 'a': the id appears twice, first at line 1")
    ]

    data = a_zip({"one/a.txt": b"first", "two/a.txt": b"second"})
    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename="d.zip", data=data)
    assert reasons(raised) == [
        ("two/a.txt", None, "document 'a': the id appears twice, first at one/a.txt")
    ]

    data = a_zip({"one.jsonl": jsonl({"id": "x", "text": "a"}), "two.csv": b"id,text\nx,b\n"})
    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename="d.zip", data=data)
    assert reasons(raised) == [
        ("two.csv", 2, "document 'x': the id appears twice, first at one.jsonl, line 1")
    ]
    assert not Document.objects.exists()


def test_a_document_already_in_the_project_is_reported_not_merged(cast):
    DocumentFactory(project=cast.project, external_id="a", text="the original")

    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename="a.txt", data=b"a new text")

    assert reasons(raised) == [("a.txt", None, "document 'a' is already in the project")]
    assert Document.objects.get(external_id="a").text == "the original"


def test_assign_now_hands_the_new_documents_out(cast, start):
    job = start(("a.txt", b"One."), ("b.txt", b"Two."), assign_now=True)

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["assignment"] == {"assigned": 4}  # k = 2, alice and bob
    assert set(Assignment.objects.values_list("document__external_id", "annotator__username")) == {
        ("a", "alice"),
        ("a", "bob"),
        ("b", "alice"),
        ("b", "bob"),
    }


def test_assign_now_with_too_few_annotators_imports_fills_what_it_can_and_says_why(cast, start):
    cast.project.overlap = 3
    cast.project.save()

    job = start(("a.txt", b"One."), assign_now=True)

    assert job.status == JobStatus.SUCCEEDED
    assert job.result["documents"] == 1
    assert job.result["assignment"] == {
        "assigned": 2,
        "reason": "1 document short of k=3 annotators: the project has 2",
    }
    assert Document.objects.filter(project=cast.project).count() == 1
    assert Assignment.objects.count() == 2


def test_files_with_the_same_name_or_a_zip_among_others_are_refused_before_storing(cast, start):
    from django.core.exceptions import ValidationError

    for files in ([("a.txt", b"1"), ("a.txt", b"2")], [("a.txt", b"1"), ("b.zip", b"PK")]):
        with pytest.raises(ValidationError) as raised:
            start(*files)
        assert "file" in raised.value.message_dict
    assert not ImportJob.objects.exists()
