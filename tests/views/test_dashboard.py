from __future__ import annotations

import pytest

from annotations.models import AssignmentStatus, LabelType, Layer, Span

pytestmark = pytest.mark.django_db


def url(project):
    return f"/projects/{project.slug}/dashboard/"


def add_span(layer, start, end):
    label = LabelType.objects.get(project=layer.document.project, name="claim")
    Span.objects.create(
        layer=layer, label=label, start=start, end=end, quote=layer.document.text[start:end]
    )


@pytest.fixture
def progress(cast, corpus):
    """alice: 001 submitted, 002 in progress; bob: 003 skipped."""
    alice, bob = cast.alice.assignments, cast.bob.assignments
    alice.filter(document=corpus[0]).update(status=AssignmentStatus.SUBMITTED)
    alice.filter(document=corpus[1]).update(status=AssignmentStatus.IN_PROGRESS)
    bob.filter(document=corpus[2]).update(status=AssignmentStatus.SKIPPED)
    add_span(Layer.objects.get(document=corpus[0], annotator=cast.alice), 0, 5)
    add_span(Layer.objects.get(document=corpus[0], annotator=cast.alice), 6, 9)
    add_span(Layer.objects.get(document=corpus[1], annotator=cast.bob), 0, 5)
    return corpus


@pytest.mark.parametrize("who", ["manager", "reviewer"])
def test_managers_and_reviewers_see_the_dashboard(client, cast, progress, who):
    client.force_login(getattr(cast, who))

    response = client.get(url(cast.project))

    assert response.status_code == 200
    assert f'href="/projects/{cast.project.slug}/agreement/"' in response.content.decode()


def test_annotators_get_404_for_the_dashboard(client, cast, progress):
    client.force_login(cast.alice)

    assert client.get(url(cast.project)).status_code == 404


def test_dashboard_counts_progress_per_annotator(client, cast, progress):
    client.force_login(cast.manager)

    rows = {row["username"]: row for row in client.get(url(cast.project)).context["annotators"]}

    assert rows["alice"]["total"] == 3
    assert rows["alice"]["counts"] == {
        "submitted": 1,
        "in_progress": 1,
        "assigned": 1,
        "skipped": 0,
    }
    assert rows["alice"]["spans"] == 2
    assert rows["alice"]["percent_done"] == pytest.approx(33.3)
    assert rows["bob"]["counts"]["skipped"] == 1
    assert rows["bob"]["spans"] == 1
    assert rows["bob"]["percent_done"] == pytest.approx(33.3)


def test_dashboard_counts_progress_per_document(client, cast, progress):
    client.force_login(cast.reviewer)

    response = client.get(url(cast.project))

    rows = {row["document"].external_id: row for row in response.context["documents"]}
    assert rows["001"]["counts"]["submitted"] == 1
    assert rows["001"]["wanted"] == 2
    assert rows["001"]["spans"] == 2
    assert rows["003"]["counts"]["skipped"] == 1
    assert not rows["001"]["complete"]
    totals = response.context["totals"]
    assert totals["documents"] == 3
    assert totals["assignments"] == 6
    assert totals["counts"]["submitted"] == 1


def test_a_document_with_k_submitted_layers_counts_as_complete(client, cast, progress):
    cast.bob.assignments.filter(document=progress[0]).update(status=AssignmentStatus.SUBMITTED)
    client.force_login(cast.manager)

    response = client.get(url(cast.project))

    rows = {row["document"].external_id: row for row in response.context["documents"]}
    assert rows["001"]["complete"]
    assert response.context["totals"]["complete"] == 1
    assert 'aria-label="2 submitted"' in response.content.decode()
