from __future__ import annotations

import pytest
from django.core.management import call_command

from annotations.models import Layer

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("load_seeds", password="demo-pass-123", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_login_then_the_project_list_shows_the_demo_with_the_annotators_queue(client, demo):
    response = client.post(
        "/accounts/login/", {"username": "annotator1", "password": "demo-pass-123"}, follow=True
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Panjshir, September 2021 (demo)" in page
    assert "annotator" in page
    assert response.context["memberships"][0].my_open == 5


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_wrong_password_says_so(client, demo):
    response = client.post("/accounts/login/", {"username": "manager", "password": "nope"})

    assert "didn't match" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/annotations/document/",
        "/admin/annotations/assignment/",
        "/admin/annotations/layer/",
        "/admin/annotations/project/",
        "/admin/annotations/auditevent/",
        "/admin/annotations/span/",
    ],
)
def test_demo_manager_sees_the_demo_data_in_the_admin(client, demo, path):
    client.post("/accounts/login/", {"username": "manager", "password": "demo-pass-123"})

    response = client.get(path)

    assert response.status_code == 200


def test_admin_shows_a_layer_with_its_spans_inline(admin_client, demo):
    layer = Layer.objects.filter(annotator__username="annotator1").first()

    response = admin_client.get(f"/admin/annotations/layer/{layer.pk}/change/")

    assert response.status_code == 200
    assert "Spans" in response.content.decode()


def test_admin_search_finds_documents_by_text(admin_client, demo):
    response = admin_client.get("/admin/annotations/document/", {"q": "TASS"})

    assert response.context["cl"].result_count == 2
