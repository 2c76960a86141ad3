"""The assignment page: the plan's preview, applying it, moving one document."""

from __future__ import annotations

import pytest

from annotations.models import Assignment, Role
from annotations.services.projects import add_member
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(project):
    return f"/projects/{project.slug}/assignment/"


@pytest.fixture
def unassigned(cast):
    return DocumentFactory.create_batch(4, project=cast.project)


def test_the_page_previews_the_plan_per_annotator(client, cast, unassigned):
    client.force_login(cast.manager)

    response = client.get(url(cast.project))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="pool-unassigned">4<' in html
    rows = {row.username: row for row in response.context["plan"].annotators}
    assert (rows["alice"].added, rows["bob"].added) == (4, 4)
    assert "Assign unassigned documents" in html
    assert 'aria-current="page">Assignment<' in html
    assert not Assignment.objects.exists()


def test_another_k_is_previewed_without_saving(client, cast, unassigned):
    client.force_login(cast.manager)

    response = client.get(url(cast.project), {"k": 1})

    assert response.context["plan"].added == 4
    assert "Set k to 1 and assign" in response.content.decode()
    cast.project.refresh_from_db()
    assert cast.project.overlap == 2


def test_a_bad_k_is_shown_next_to_the_field(client, cast, unassigned):
    client.force_login(cast.manager)

    response = client.get(url(cast.project), {"k": 0})

    assert response.status_code == 400
    assert 'id="k-errors"' in response.content.decode()


def test_applying_assigns_and_says_what_it_did(client, cast, unassigned):
    client.force_login(cast.manager)

    response = client.post(url(cast.project), {"action": "apply", "k": 2}, follow=True)

    assert Assignment.objects.count() == 8
    assert "Assigned: 8 new assignments on 4 documents" in response.content.decode()


def test_moving_one_document_by_hand(client, cast, unassigned):
    add_member(project=cast.project, user=UserFactory(username="carol"), role=Role.ANNOTATOR)
    client.force_login(cast.manager)
    client.post(url(cast.project), {"action": "apply", "k": 2})
    document = unassigned[0]
    holder = Assignment.objects.filter(document=document).first().annotator.username
    other = next(
        name
        for name in ("alice", "bob", "carol")
        if not Assignment.objects.filter(document=document, annotator__username=name)
    )

    moved = client.post(
        url(cast.project),
        {
            "action": "reassign",
            "document": document.external_id,
            "from_user": holder,
            "to_user": other,
        },
    )
    refused = client.post(
        url(cast.project),
        {"action": "reassign", "document": "nope", "from_user": holder, "to_user": other},
    )

    assert moved.status_code == 302
    assert Assignment.objects.filter(document=document, annotator__username=other).exists()
    assert refused.status_code == 400
    assert refused.context["reassign_form"].errors["document"] == [
        "no document 'nope' in this project"
    ]
    assert 'id="id_document-errors"' in refused.content.decode()


@pytest.mark.parametrize("who", ["alice", "reviewer", "outsider"])
def test_only_managers_reach_the_page(client, cast, who):
    client.force_login(getattr(cast, who))

    assert client.get(url(cast.project)).status_code == 404
    assert client.post(url(cast.project), {"action": "apply", "k": 2}).status_code == 404


def test_the_nav_links_the_page_for_managers_only(client, cast, unassigned):
    client.force_login(cast.reviewer)

    html = client.get(f"/projects/{cast.project.slug}/dashboard/").content.decode()

    assert url(cast.project) not in html
    client.force_login(cast.manager)
    assert (
        url(cast.project)
        in client.get(f"/projects/{cast.project.slug}/dashboard/").content.decode()
    )
