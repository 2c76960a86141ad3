"""The agreement report page: figures, heatmaps, documents worst first, confusion, trend."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from annotations.models import AgreementRun, Document, JobStatus
from annotations.services import agreement_runs, jobs
from annotations.services.imports import import_documents
from tests.agreement.corpus import corpus
from tests.factories import DocumentLabelTypeFactory
from tests.links import link_claims

PAGE = "/projects/panjshir/agreement/"


def run_now(project) -> AgreementRun:
    run = AgreementRun.objects.create(project=project, parameters={"bootstrap_resamples": 20})
    claim = jobs.claim(AgreementRun, run.pk)
    run.refresh_from_db()
    agreement_runs.run_inline(run, claim)
    run.refresh_from_db()
    return run


def page_for(user) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_the_report_shows_the_latest_run_with_charts_and_links(cast) -> None:
    import_documents(project=cast.project, records=corpus(12, ["alice", "bob", "carol"], seed=5))
    run_now(cast.project)
    latest = run_now(cast.project)
    html = page_for(cast.reviewer)
    assert f"Run #{latest.pk}" in html
    assert 'id="overall"' in html
    assert "Krippendorff" in html
    assert html.count('class="chart heatmap"') == 2 + 3  # F1 exact, overlap, kappa per label
    assert 'class="chart trend"' in html  # two runs: a trend
    worst = latest.result["per_document"][0]
    doc = Document.objects.get(project=cast.project, external_id=worst["id"])
    first_row = re.search(
        r'<table class="table" id="documents">.*?<tbody>\s*<tr>(.*?)</tr>', html, re.S
    )
    assert first_row
    assert f"/projects/panjshir/documents/{doc.pk}/review/" in first_row.group(1)
    assert 'id="confusion"' in html
    assert "(none)" in html
    assert "agreement.js" in html


@pytest.mark.django_db
def test_a_run_under_way_shows_a_progress_bar(cast, monkeypatch) -> None:
    monkeypatch.setattr("annotations.views.agreement.a_worker_answers", lambda: False)
    run = AgreementRun.objects.create(project=cast.project, parameters={})
    html = page_for(cast.manager)
    assert "No agreement run has finished" in html
    assert f'data-run-url="/api/projects/panjshir/agreement-runs/{run.pk}/"' in html
    assert '<progress id="run-bar"' in html
    assert "No Celery worker is answering" in html  # queued, and nobody to run it
    AgreementRun.objects.filter(pk=run.pk).update(status=JobStatus.FAILED, error="it broke")
    assert "failed: it broke" in page_for(cast.manager)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "outsider"])
def test_annotators_and_outsiders_get_404(cast, who) -> None:
    client = Client()
    client.force_login(getattr(cast, who))
    assert client.get(PAGE).status_code == 404


@pytest.mark.django_db
def test_the_report_shows_document_label_agreement(cast) -> None:
    DocumentLabelTypeFactory(project=cast.project)
    DocumentLabelTypeFactory(
        project=cast.project, name="topics", choices=["security", "politics"], multiple=True
    )
    records = corpus(10, ["alice", "bob"], seed=3)
    for number, record in enumerate(records):
        for name in record.annotations:
            record.document_labels[name] = {
                "stance": [["supports", "refutes", "neutral"][(number + (name == "bob")) % 3]],
                "topics": ["security"],
            }
    import_documents(project=cast.project, records=records)
    parameters = agreement_runs.parse_parameters(cast.project, {"bootstrap_resamples": 0})
    run = AgreementRun.objects.create(project=cast.project, parameters=parameters.to_json())
    agreement_runs.run_inline(run, jobs.claim(AgreementRun, run.pk))

    html = page_for(cast.reviewer)

    table = re.search(r'<table class="table" id="document-labels">(.*?)</table>', html, re.S)
    assert table
    rows = re.findall(r"<tr[^>]*><td>([^<]*)</td>", table.group(1))
    assert rows == ["stance", "topics", "topics = politics", "topics = security"]
    assert "alice–bob" in table.group(1)
    assert 'title="no variation' in table.group(1)  # everybody said "security"


@pytest.mark.django_db
def test_the_report_shows_link_agreement_per_catalogue_label(cast) -> None:
    import_documents(project=cast.project, records=corpus(12, ["alice", "bob", "carol"], seed=5))
    link_claims(cast.project)
    params = agreement_runs.parse_parameters(cast.project, {"bootstrap_resamples": 0})
    run = AgreementRun.objects.create(project=cast.project, parameters=params.to_json())
    claim = jobs.claim(AgreementRun, run.pk)
    run.refresh_from_db()
    agreement_runs.run_inline(run, claim)
    run.refresh_from_db()
    links = run.result["links"]
    assert set(links) == {"claim", "source"}
    assert "stance" in links["claim"]
    assert "stance" not in links["source"]

    html = page_for(cast.reviewer)
    assert "Links: claim → proposition entries" in html
    assert "Links: source → source entries" in html
    table = re.search(r'id="links-claim-table">(.*?)</table>', html, re.S)
    assert table
    assert "alice / bob" in table.group(1)
    conll = links["claim"]["clustering"]["conll_f1_mean"]
    shown = "–" if conll is None else f"{conll:.3f}"
    summary = re.search(r'<tr class="link-summary">(.*?)</tr>', table.group(1), re.S)
    assert summary
    assert summary.group(1).count("<td") == 1 + 8
    assert shown in summary.group(1)
    assert f"{links['claim']['linked']} of {links['claim']['spans']} spans linked" in html


@pytest.mark.django_db
def test_a_project_without_catalogue_labels_has_no_link_section(cast) -> None:
    import_documents(project=cast.project, records=corpus(3, ["alice", "bob"], seed=2))
    latest = run_now(cast.project)
    assert "links" not in latest.result
    assert "Links:" not in page_for(cast.reviewer)
