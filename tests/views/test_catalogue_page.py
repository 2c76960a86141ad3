"""The reviewers' catalogue page: counts, approve, merge and split through its forms."""

from __future__ import annotations

import pytest

from annotations.models import CatalogueEntry, LabelType, Layer, Span
from annotations.services import catalogues, layers
from annotations.services.assignments import assign_documents
from tests.access import layer_access, project_access
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def test_reviewers_approve_merge_and_split_on_the_page(cast, client):
    LabelType.objects.filter(project=cast.project, name="claim").update(catalogue="proposition")
    document = DocumentFactory(project=cast.project)
    assign_documents(project=cast.project)
    keep = catalogues.propose_entry(
        access=project_access(cast.reviewer, cast.project), kind="proposition", name="Saleh fled"
    )
    proposal = catalogues.propose_entry(
        access=project_access(cast.alice, cast.project), kind="proposition", name="Saleh left"
    )
    layer = Layer.objects.get(document=document, annotator=cast.alice)
    span = layers.create_span(
        access=layer_access(cast.alice, layer), label="claim", start=0, end=5, entry=proposal.key
    )
    url = f"/projects/{cast.project.slug}/catalogue/"

    client.force_login(cast.alice)
    assert client.get(url).status_code == 404
    client.force_login(cast.reviewer)
    page = client.get(url).content.decode()
    assert "Saleh left" in page and "Approve" in page and "Catalogue</a>" in page

    client.post(url, {"action": "approve", "key": proposal.key})
    assert CatalogueEntry.objects.get(pk=proposal.pk).status == "approved"
    client.post(url, {"action": "merge", "key": proposal.key, "into": keep.key})
    assert Span.objects.get(pk=span.pk).entry_id == keep.pk
    response = client.post(
        url, {"action": "split", "key": keep.key, "spans": [span.pk], "name": "Saleh went north"}
    )
    assert "Split 1 mentions" in client.get(response.url).content.decode()
    assert Span.objects.get(pk=span.pk).entry.name == "Saleh went north"
    refused = client.post(url, {"action": "merge", "key": keep.key, "into": keep.key}, follow=True)
    assert "Not done: merge: an entry cannot be merged into itself" in refused.content.decode()


def test_the_page_works_on_an_empty_project(cast, client):
    client.force_login(cast.manager)
    page = client.get(f"/projects/{cast.project.slug}/catalogue/").content.decode()
    assert "No entries yet" in page
