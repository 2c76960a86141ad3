"""A staff user starts a project from the projects page, sets it up and invites someone,
who opens the link in their own browser, chooses a password and lands in the project."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from annotations.models import Layer, Membership, Project, Role
from annotations.services import layers as layer_service
from tests.access import layer_access
from tests.browser.conftest import login, open_document
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

NEWCOMER_PASSWORD = "a long enough passphrase"


def test_staff_create_a_project_set_it_up_and_a_newcomer_joins_by_link(
    page, browser, live_server, celery_eager
):
    UserFactory(username="lead", is_staff=True)
    login(page, live_server, "lead")

    # New project: the address is suggested from the name as it is typed.
    page.fill("#id_name", "Kabul Claims 2021")
    expect(page.locator("#id_slug")).to_have_value("kabul-claims-2021")
    page.fill("#id_overlap", "3")
    page.click("#new-project button[type=submit]")
    page.wait_for_url(f"{live_server.url}/projects/kabul-claims-2021/settings/")

    # Settings: a guidelines preview first (nothing saved), then save.
    page.fill("#id_guidelines", "# Claims\n\nMark **every** claim.")
    page.click("button[value=preview]")
    expect(page.locator("#guidelines-preview h1")).to_have_text("Claims")
    expect(page.locator("#guidelines-preview strong")).to_have_text("every")
    assert Project.objects.get(slug="kabul-claims-2021").guidelines == ""
    page.fill("#id_description", "Who said Saleh fled")
    page.click("button[value=save]")
    expect(page.locator(".messages")).to_contain_text("Settings saved")
    project = Project.objects.get(slug="kabul-claims-2021")
    assert (project.overlap, project.description) == (3, "Who said Saleh fled")
    assert project.guidelines == "# Claims\n\nMark **every** claim."

    # Members: an invitation link for an annotator, shown once.
    page.click(".project-nav >> text=Members")
    page.select_option("#invitations select[name=role]", "annotator")
    page.click("button[value=invite]")
    link = page.locator("#invitation-link").inner_text()
    assert link.startswith(f"{live_server.url}/invite/")

    # The newcomer, in a browser of their own.
    context = browser.new_context()
    refused = []
    other = context.new_page()
    other.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    other.goto(link)
    expect(other.locator("h1")).to_have_text("Join Kabul Claims 2021")
    other.fill("#id_username", "dana")
    other.fill("#id_password", NEWCOMER_PASSWORD)
    other.fill("#id_password_again", NEWCOMER_PASSWORD)
    other.click("#join-form button[type=submit]")
    other.wait_for_url(f"{live_server.url}/projects/kabul-claims-2021/queue/")
    expect(other.locator(".messages")).to_contain_text("you joined as annotator")
    expect(other.locator(".topbar .who")).to_have_text("dana")
    context.close()

    assert Membership.objects.get(project=project, user__username="dana").role == Role.ANNOTATOR
    assert refused == []
    # The link is used up.
    page.goto(link)
    expect(page.locator(".error")).to_contain_text("used already")


def test_blind_off_bob_opens_alices_spans_beside_his_own_editor(
    page, live_server, cast, documents, celery_eager
):
    Project.objects.filter(pk=cast.project.pk).update(blind=False)
    seed = documents["seed"]
    layer = Layer.objects.get(document=seed, annotator=cast.alice)
    start = seed.text.index("Amrullah Saleh")
    layer_service.create_span(
        access=layer_access(cast.alice, layer), label="source", start=start, end=start + 14
    )
    login(page, live_server, "bob")
    open_document(page, live_server, cast.project, seed)

    page.click("#others-panel summary")

    expect(page.locator("#others-panel [data-annotator=alice]")).to_contain_text("“Amrullah Saleh”")
    expect(page.locator("#doc-text .seg")).to_have_count(0)  # his own layer stays empty
