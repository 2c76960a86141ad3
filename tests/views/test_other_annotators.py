"""The annotation page in a project that is not blind lists the other annotators' spans,
read-only; in a blind project it shows nothing of theirs; in an archived one it says the
project is read-only."""

from __future__ import annotations

import pytest
from django.utils import timezone

from annotations.models import Layer, Project
from annotations.services import layers
from tests.access import layer_access

pytestmark = pytest.mark.django_db


def alice_marks(cast, document) -> None:
    layer = Layer.objects.get(document=document, annotator=cast.alice)
    layers.create_span(
        access=layer_access(cast.alice, layer),
        label="claim",
        start=0,
        end=14,
    )


def test_blind_off_bob_sees_alices_spans_quoted_on_the_page(client, cast, corpus):
    Project.objects.filter(pk=cast.project.pk).update(blind=False)
    alice_marks(cast, corpus[0])
    client.force_login(cast.bob)

    page = client.get(f"/projects/panjshir/documents/{corpus[0].pk}/annotate/").content.decode()

    assert 'id="others-panel"' in page
    assert 'data-annotator="alice"' in page
    assert "“Saleh tweeted:”" in page
    # His own editing is untouched: the page still edits his layer only.
    assert '"annotator": "bob"' in page


def test_blind_on_the_page_shows_nothing_of_the_others(client, cast, corpus):
    alice_marks(cast, corpus[0])
    client.force_login(cast.bob)

    page = client.get(f"/projects/panjshir/documents/{corpus[0].pk}/annotate/").content.decode()

    assert 'id="others-panel"' not in page
    assert "alice" not in page


def test_the_annotation_page_of_an_archived_project_says_it_is_read_only(client, cast, corpus):
    Project.objects.filter(pk=cast.project.pk).update(archived_at=timezone.now())
    client.force_login(cast.bob)

    page = client.get(f"/projects/panjshir/documents/{corpus[0].pk}/annotate/").content.decode()

    assert 'id="archived-banner"' in page
