"""The documents page (managers): upload, the import's outcome, the list and its filters."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations import selectors
from annotations.models import Assignment, AssignmentStatus, Document, ImportJob
from annotations.services.assignments import assign_documents
from annotations.services.workers import NO_WORKER_WARNING
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def url(project, **query):
    from urllib.parse import urlencode

    return f"/projects/{project.slug}/documents/" + (f"?{urlencode(query)}" if query else "")


def listed(response) -> list[str]:
    """The external ids of the documents table's rows, in order."""
    return re.findall(r'<tr data-document="([^"]*)">', response.content.decode())


@pytest.fixture
def manager(client, cast):
    client.force_login(cast.manager)
    return client


@pytest.fixture
def post(manager, cast, celery_eager, django_capture_on_commit_callbacks):
    """Upload files through the form; the import runs (eagerly) when its job commits."""

    def send(*files, assign_now=False):
        data = {"file": [SimpleUploadedFile(name, body) for name, body in files]}
        if assign_now:
            data["assign_now"] = "on"
        with django_capture_on_commit_callbacks(execute=True):
            response = manager.post(url(cast.project), data)
        assert response.status_code == 302, response.content[:500]
        return manager.get(response["Location"])

    return send


@pytest.mark.parametrize("who", ["reviewer", "alice", "outsider"])
def test_only_managers_reach_the_page(client, cast, who):
    client.force_login(getattr(cast, who))
    assert client.get(url(cast.project)).status_code == 404


def test_an_empty_project_shows_the_upload_form_and_each_format(manager, cast):
    response = manager.get(url(cast.project))

    page = response.content.decode()
    assert "Add the project's first documents" in page
    assert 'type="file"' in page
    assert "multiple" in page
    assert 'accept=".txt,.zip,.jsonl,.csv"' in page
    for suffix in (".txt", ".zip", ".jsonl", ".csv"):
        assert f"<strong>{suffix}</strong>:" in page
    assert 'aria-current="page">Documents</a>' in page


def test_uploading_txt_files_shows_the_counts_then_lists_them(post, cast):
    response = post(("a.txt", b"\nFirst title\nbody"), ("b.txt", b"Second"), assign_now=True)

    job = ImportJob.objects.get()
    assert response.request["QUERY_STRING"] == f"import={job.pk}"
    page = response.content.decode()
    assert "Imported 2 documents, 0 spans, 0 relations." in page
    assert "Assigned: 4 new assignments." in page
    assert listed(response) == ["a", "b"]
    assert "First title" in page
    assert "alice: assigned" in page
    assert 'id="recent-imports"' in page


def test_a_bad_line_is_listed_with_its_file_and_line(post):
    data = b'{"id": "a", "text": "fine"}\n{"id": "b", "text": 3}\n'

    response = post(("bad.jsonl", data))

    page = response.content.decode()
    assert "The import failed and wrote nothing" in page
    assert (
        '<tr><td>bad.jsonl</td><td class="num">2</td><td>text: must be a string</td></tr>' in page
    )
    assert not Document.objects.exists()


def test_an_upload_over_the_limit_is_refused_on_the_page_with_the_reason(manager, cast, settings):
    settings.UPLOAD_MAX_BYTES = 2**20
    big = SimpleUploadedFile("big.txt", b"Saleh " * 2**18)

    response = manager.post(url(cast.project), {"file": [big]})

    assert response.status_code == 413
    page = response.content.decode()
    assert "The upload is larger than the 1 MiB this server takes" in page
    assert 'type="file"' in page
    assert not ImportJob.objects.exists()
    assert not Document.objects.exists()


def test_more_than_a_hundred_bad_lines_say_how_many_more(post):
    data = "".join(json.dumps({"id": f"d{n}", "text": ""}) + "\n" for n in range(130)).encode()

    page = post(("empty.jsonl", data)).content.decode()

    assert page.count("the text is empty") == 101  # the job's error repeats the first
    assert "and 30 more" in page


def test_no_file_or_an_unknown_type_is_an_error_next_to_the_field(manager, cast):
    response = manager.post(url(cast.project), {})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()

    response = manager.post(url(cast.project), {"file": [SimpleUploadedFile("x.pdf", b"%")]})
    assert response.status_code == 400
    assert "unknown file type" in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.fixture
def statuses(cast):
    """001 unassigned; 002 alice submitted, bob in progress; 003 both submitted;
    004 bob skipped; 005 both waiting."""
    texts = {
        "001": "Nobody has this one about Kabul.",
        "002": "Saleh said he is in Panjshir.",
        "003": "TASS reported that he left.",
        "004": "A report on the valley.",
        "005": "Another about Panjshir.",
    }
    for external_id, text in texts.items():
        DocumentFactory(project=cast.project, external_id=external_id, text=text)
    assign_documents(project=cast.project)
    Assignment.objects.filter(document__external_id="001").delete()
    mark = Assignment.objects.filter
    mark(document__external_id="002", annotator=cast.alice).update(status="submitted")
    mark(document__external_id="002", annotator=cast.bob).update(status="in_progress")
    mark(document__external_id="003").update(status=AssignmentStatus.SUBMITTED)
    mark(document__external_id="004", annotator=cast.bob).update(status="skipped")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["001", "002", "003", "004", "005"]),
        ({"q": "panjshir"}, ["002", "005"]),
        ({"q": "00"}, ["001", "002", "003", "004", "005"]),
        ({"q": "003"}, ["003"]),
        ({"q": "100%"}, []),
        ({"status": "unassigned"}, ["001"]),
        ({"status": "assigned"}, ["004", "005"]),
        ({"status": "in_progress"}, ["002"]),
        ({"status": "submitted"}, ["003"]),
        ({"status": "skipped"}, ["004"]),
        ({"status": "submitted", "annotator": "alice"}, ["002", "003"]),
        ({"status": "unassigned", "annotator": "bob"}, ["001"]),
        ({"annotator": "bob", "q": "panjshir"}, ["002", "005"]),
    ],
)
def test_search_and_filters_list_the_right_documents(manager, cast, statuses, query, expected):
    if "annotator" in query:
        query["annotator"] = getattr(cast, query["annotator"]).pk

    response = manager.get(url(cast.project, **query))

    assert response.status_code == 200
    assert listed(response) == expected


def test_search_finds_the_title_the_meta_gives(manager, cast):
    DocumentFactory(project=cast.project, external_id="m", meta={"title": "Valley news"})

    response = manager.get(url(cast.project, q="valley NEWS"))

    assert listed(response) == ["m"]
    assert "Valley news" in response.content.decode()


def test_a_thousand_documents_are_paged_with_a_bounded_number_of_queries(
    manager, cast, django_assert_max_num_queries
):
    Document.objects.bulk_create(
        Document(project=cast.project, external_id=f"d{n:04d}", text=f"Text {n}.")
        for n in range(1000)
    )
    assign_documents(project=cast.project)
    seen: list[str] = []
    next_url = url(cast.project)
    pages = 0
    while next_url:
        with django_assert_max_num_queries(12):
            response = manager.get(next_url.replace("&amp;", "&"))
        seen.extend(listed(response))
        found = re.search(r'<a href="([^"]*)" rel="next">', response.content.decode())
        next_url = found.group(1) if found else ""
        pages += 1
    assert pages == 20
    assert seen == [f"d{n:04d}" for n in range(1000)]
    assert "1000 documents" in response.content.decode()

    previous = re.search(r'<a href="([^"]*)" rel="prev">', response.content.decode())
    assert previous is not None
    back = manager.get(previous.group(1).replace("&amp;", "&"))
    assert listed(back) == [f"d{n:04d}" for n in range(900, 950)]
    assert "alice: assigned" in back.content.decode()


def test_a_search_matching_more_than_the_count_cap_pages_through_windows(
    manager, cast, monkeypatch, django_assert_max_num_queries
):
    """Past the count cap the page looks for matches in windows of ids; every match is
    still listed once, in order, forward and back."""
    monkeypatch.setattr(selectors, "COUNT_CAP", 100)
    monkeypatch.setattr(selectors, "SEARCH_WINDOW", 64)
    Document.objects.bulk_create(
        Document(project=cast.project, external_id=f"d{n:04d}", text=f"Text {n} {tag}.")
        for n in range(1000)
        for tag in ["Panjshir" if n % 3 else "Kabul"]
    )
    expected = [f"d{n:04d}" for n in range(1000) if n % 3]
    seen: list[str] = []
    next_url = url(cast.project, q="panjshir")
    while next_url:
        with django_assert_max_num_queries(20):
            response = manager.get(next_url.replace("&amp;", "&"))
        assert "More than 100 documents found" in response.content.decode()
        seen.extend(listed(response))
        found = re.search(r'<a href="([^"]*)" rel="next">', response.content.decode())
        next_url = found.group(1) if found else ""
    assert seen == expected

    previous = re.search(r'<a href="([^"]*)" rel="prev">', response.content.decode())
    back = manager.get(previous.group(1).replace("&amp;", "&"))
    assert listed(back) == expected[-len(listed(response)) - 50 : -len(listed(response))]


def test_a_queued_import_with_no_worker_says_so(manager, cast, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    job = ImportJob.objects.create(
        project=cast.project, requested_by=cast.manager, filename="a.txt", file="imports/a.txt"
    )

    page = manager.get(url(cast.project, **{"import": job.pk})).content.decode()

    assert NO_WORKER_WARNING in page
    assert "queued, 0%" in page
