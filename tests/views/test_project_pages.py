"""The project list's "New project" form and the settings page (managers only)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from annotations.models import AuditEvent, Membership, Project, Role
from annotations.services.projects import update_project_settings
from tests.access import project_access
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SETTINGS = "/projects/panjshir/settings/"
FORM = {"name": "Kabul claims", "slug": "kabul", "description": "", "overlap": "2", "blind": "on"}


def test_staff_see_the_new_project_form_and_create_a_project(client):
    staff = UserFactory(username="lead", is_staff=True)
    client.force_login(staff)

    page = client.get("/")
    created = client.post("/", {**FORM, "overlap": "3"})

    assert 'id="new-project"' in page.content.decode()
    assert created.status_code == 302
    assert created["Location"] == "/projects/kabul/settings/"
    project = Project.objects.get(slug="kabul")
    assert (project.overlap, project.blind) == (3, True)
    assert Membership.objects.get(project=project).role == Role.MANAGER


def test_a_project_started_empty_has_no_labels_and_says_so(client):
    client.force_login(UserFactory(username="lead", is_staff=True))

    created = client.post("/", {**FORM, "schema": "empty"}, follow=True)

    assert not Project.objects.get(slug="kabul").label_types.exists()
    assert "with an empty schema" in created.content.decode()


def test_a_user_granted_can_create_projects_sees_the_form(client):
    person = UserFactory()
    person.user_permissions.add(Permission.objects.get(codename="add_project"))
    client.force_login(person)

    assert 'id="new-project"' in client.get("/").content.decode()


def test_others_see_no_form_and_their_post_is_refused(client, cast):
    client.force_login(cast.manager)

    page = client.get("/")
    refused = client.post("/", FORM)

    assert 'id="new-project"' not in page.content.decode()
    assert refused.status_code == 403
    assert not Project.objects.filter(slug="kabul").exists()


def test_an_empty_slug_is_made_from_the_name(client):
    client.force_login(UserFactory(is_staff=True))

    client.post("/", {**FORM, "name": "Saleh's whereabouts", "slug": ""})

    assert Project.objects.filter(slug="salehs-whereabouts").exists()


def test_a_taken_slug_is_shown_next_to_the_field(client, cast):
    client.force_login(UserFactory(is_staff=True))

    response = client.post("/", {**FORM, "slug": "panjshir"})

    assert response.status_code == 400
    assert 'id="id_slug-error"' in response.content.decode()
    assert "exists already" in response.content.decode()


def test_archived_projects_are_listed_apart(client, cast):
    update_project_settings(access=project_access(cast.manager, cast.project), archived=True)
    client.force_login(cast.alice)

    page = client.get("/").content.decode()

    assert 'id="archived-projects"' in page
    assert page.index("Panjshir") > page.index('id="archived-projects"')


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [("outsider", 404, 404), ("alice", 404, 404), ("reviewer", 404, 404), ("manager", 200, 302)],
)
def test_only_managers_reach_the_settings_page(client, cast, who, read, write):
    client.force_login(getattr(cast, who))

    assert client.get(SETTINGS).status_code == read
    assert client.post(SETTINGS, {"action": "archive"}).status_code == write


def settings_form(**changes: str | list[str]) -> dict[str, str | list[str]]:
    """The settings form as the page posts it, with the project's values and ``changes``."""
    return {
        "name": "Panjshir",
        "description": "",
        "overlap": "2",
        "blind": "on",
        "guidelines": "",
        "submit_checks": ["empty", "unlinked"],
        "action": "save",
        **changes,
    }


def test_saving_settings_is_audited(client, cast):
    client.force_login(cast.manager)

    response = client.post(SETTINGS, settings_form(overlap="3", blind=""))

    assert response.status_code == 302
    project = Project.objects.get(pk=cast.project.pk)
    assert (project.overlap, project.blind) == (3, False)
    assert AuditEvent.objects.get(action="settings").after == {"overlap": 3, "blind": False}


def test_a_bad_k_is_shown_next_to_its_field(client, cast):
    client.force_login(cast.manager)

    response = client.post(SETTINGS, settings_form(overlap="0"))

    assert response.status_code == 400
    assert 'id="id_overlap-error"' in response.content.decode()
    assert Project.objects.get(pk=cast.project.pk).overlap == 2


def test_the_preview_renders_the_guidelines_as_the_guidelines_page_does_without_saving(
    client, cast
):
    client.force_login(cast.manager)
    markdown = "# Claims\n\nMark **every** claim.<script>alert(1)</script>"

    response = client.post(SETTINGS, settings_form(guidelines=markdown, action="preview"))

    page = response.content.decode()
    assert "<h1>Claims</h1>" in page
    assert "<strong>every</strong>" in page
    assert "<script>alert(1)" not in page
    assert Project.objects.get(pk=cast.project.pk).guidelines == ""


def test_archive_then_unarchive_from_the_settings_page(client, cast):
    client.force_login(cast.manager)

    client.post(SETTINGS, {"action": "archive"})
    archived = Project.objects.get(pk=cast.project.pk).archived_at
    refused = client.post(SETTINGS, settings_form(name="Renamed"))
    client.post(SETTINGS, {"action": "unarchive"})

    assert archived is not None
    assert refused.status_code == 403
    assert "A manager can unarchive it" in refused.content.decode()
    assert Project.objects.get(pk=cast.project.pk).archived_at is None


def test_managers_see_members_and_settings_in_the_project_navigation(client, cast, corpus):
    client.force_login(cast.manager)
    page = client.get("/projects/panjshir/dashboard/").content.decode()
    client.force_login(cast.alice)
    annotator_page = client.get("/projects/panjshir/queue/").content.decode()

    assert 'href="/projects/panjshir/members/"' in page
    assert 'href="/projects/panjshir/settings/"' in page
    assert "/members/" not in annotator_page
    assert "/settings/" not in annotator_page
