from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotations.models import Assignment, AuditEvent
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("assign", *args, stdout=out)
    return out.getvalue()


def test_assign_hands_out_every_document(cast):
    DocumentFactory.create_batch(3, project=cast.project)

    output = run("panjshir")

    assert Assignment.objects.count() == 6
    assert "6 assignments made on 3 documents, 0 unstarted taken back" in output
    assert "alice                            0       3        0           3" in output


def test_preview_writes_nothing(cast):
    DocumentFactory.create_batch(3, project=cast.project)

    output = run("panjshir", "--preview", "--k", "1")

    assert "3 assignments would be made on 3 documents" in output
    assert not Assignment.objects.exists()
    cast.project.refresh_from_db()
    assert cast.project.overlap == 2


def test_k_is_changed_first_and_audited(cast):
    DocumentFactory.create_batch(3, project=cast.project)

    run("panjshir", "--k", "1")

    cast.project.refresh_from_db()
    assert cast.project.overlap == 1
    assert Assignment.objects.count() == 3
    assert AuditEvent.objects.filter(action="update", object_type="project").exists()


def test_unknown_project_and_bad_k_are_errors(cast):
    with pytest.raises(CommandError, match="no project"):
        run("nope")
    with pytest.raises(CommandError, match="between 1 and"):
        run("panjshir", "--k", "0")
