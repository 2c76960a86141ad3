from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotations.models import Document, Project
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db


def test_create_makes_the_project_and_imports_the_annotators_spans():
    out = StringIO()
    call_command(
        "import_documents",
        str(FIXTURES / "persian_and_emoji.jsonl"),
        project="study",
        create=True,
        stdout=out,
    )

    assert Project.objects.get(slug="study").documents.count() == 2
    assert "Imported 2 documents" in out.getvalue()
    assert "New annotator accounts: alice, bob." in out.getvalue()


def test_unknown_project_without_create_is_refused():
    with pytest.raises(CommandError, match="no project 'nope': pass --create"):
        call_command("import_documents", str(FIXTURES / "persian_and_emoji.jsonl"), project="nope")


def test_bad_line_is_reported_with_file_and_line_and_nothing_is_written(tmp_path, cast):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "fine"}\n{"id": "b", "text": 3}\n', encoding="utf-8")

    with pytest.raises(CommandError, match=r"bad\.jsonl, line 2: text: must be a string"):
        call_command("import_documents", str(bad), project=cast.project.slug)
    assert not Document.objects.exists()


def test_missing_file_is_named():
    with pytest.raises(CommandError, match=r"missing\.jsonl: No such file"):
        call_command("import_documents", "missing.jsonl", project="x", create=True)
