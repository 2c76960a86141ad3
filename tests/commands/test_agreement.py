"""`manage.py agreement`: a researcher's JSONL to agreement figures in two commands."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotations.agreement import compute
from annotations.interchange import dump_record
from annotations.models import AgreementRun, JobStatus
from tests.agreement.corpus import corpus


@pytest.mark.django_db
def test_import_then_agreement_prints_the_report_and_keeps_the_run(tmp_path: Path) -> None:
    records = corpus(10, ["ana", "ben", "cleo"], seed=12)
    path = tmp_path / "study.jsonl"
    path.write_text("".join(dump_record(record) for record in records), encoding="utf-8")
    call_command("import_documents", str(path), project="study", create=True, stdout=StringIO())

    out = StringIO()
    call_command("agreement", "study", "--json", "--resamples", "0", stdout=out)
    result = json.loads(out.getvalue())
    expected = compute(records, {**result["params"]})
    assert {k: v for k, v in result.items() if k != "run"} == expected
    run = AgreementRun.objects.get()
    assert run.status == JobStatus.SUCCEEDED

    text = StringIO()
    call_command("agreement", "study", "--resamples", "50", stdout=text)
    report = text.getvalue()
    assert "annotators: ana, ben, cleo" in report
    assert "alpha_char_macro" in report
    assert "Label confusion" in report
    assert "percentile bootstrap over documents, 50 resamples" in report
    assert AgreementRun.objects.filter(status=JobStatus.SUCCEEDED).count() == 2


@pytest.mark.django_db
def test_unknown_project_is_an_error() -> None:
    with pytest.raises(CommandError, match="no project 'nope'"):
        call_command("agreement", "nope")


@pytest.mark.django_db
def test_json_and_text_carry_the_link_figures(tmp_path: Path) -> None:
    from annotations.models import Project
    from tests.links import link_claims

    records = corpus(8, ["ana", "ben"], seed=3)
    path = tmp_path / "study.jsonl"
    path.write_text("".join(dump_record(record) for record in records), encoding="utf-8")
    call_command("import_documents", str(path), project="study", create=True, stdout=StringIO())
    link_claims(Project.objects.get(slug="study"))

    out = StringIO()
    call_command("agreement", "study", "--json", "--resamples", "0", stdout=out)
    result = json.loads(out.getvalue())
    assert result["params"]["links"] == {
        "claim": {"catalogue": "proposition", "stances": ["asserts", "denies"]},
        "source": {"catalogue": "source", "stances": []},
    }
    claim = result["links"]["claim"]
    assert set(claim) >= {"catalogue", "spans", "linked", "entry", "stance", "clustering"}
    pair = claim["pairs"][0]
    assert (pair["a"], pair["b"]) == ("ana", "ben")
    assert set(pair["muc"]) >= {"recall", "precision", "f1"}

    text = StringIO()
    call_command("agreement", "study", "--resamples", "0", stdout=text)
    assert "Links: claim -> proposition" in text.getvalue()
    assert "clustering (means over pairs): muc" in text.getvalue()
