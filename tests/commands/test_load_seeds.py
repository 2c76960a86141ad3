from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from annotations.models import Assignment, CatalogueEntry, Document, LabelType, Layer, Project

pytestmark = pytest.mark.django_db


def load() -> str:
    out = StringIO()
    call_command("load_seeds", stdout=out)
    return out.getvalue()


def test_demo_project_has_the_five_seeds_three_annotators_each_and_empty_layers():
    load()

    project = Project.objects.get(slug="demo")
    assert project.documents.count() == 5
    assert Assignment.objects.filter(document__project=project).count() == 15
    assert Layer.objects.filter(document__project=project, spans__isnull=True).count() == 15
    assert {m.user.username: m.role for m in project.memberships.select_related("user")} == {
        "manager": "manager",
        "reviewer": "reviewer",
        "annotator1": "annotator",
        "annotator2": "annotator",
        "annotator3": "annotator",
    }


def test_printed_passwords_log_the_demo_accounts_in(client):
    output = load()

    printed = dict(re.findall(r"^\s+\w+\s+(\w+)\s+(\S+)$", output, re.M))
    assert set(printed) == {"manager", "reviewer", "annotator1", "annotator2", "annotator3"}
    for username, password in printed.items():
        signed_in = client.post("/accounts/login/", {"username": username, "password": password})
        assert signed_in.status_code == 302, username
        client.logout()


def test_running_twice_changes_nothing():
    load()
    before = (Document.objects.count(), Assignment.objects.count(), Layer.objects.count())

    output = load()

    assert (Document.objects.count(), Assignment.objects.count(), Layer.objects.count()) == before
    assert "password unchanged" in output


def test_dateline_and_publication_time_are_parsed_into_meta():
    load()

    tass = Document.objects.get(external_id="002")
    assert tass.meta["outlet"] == "TASS"
    assert tass.meta["published"] == "2021-09-03"
    assert tass.meta["dateline"] == "Cairo"
    etv = Document.objects.get(external_id="001")
    assert etv.meta["published"] == "2021-09-04T06:41+05:30"
    assert etv.meta["headline"].startswith("Amrullah Saleh denies leaving Afghanistan")


def test_the_demo_manager_is_staff_who_can_only_look_in_the_admin(client):
    load()
    manager = User.objects.get(username="manager")

    assert manager.is_staff
    assert not manager.is_superuser
    assert manager.has_perm("annotations.view_document")
    assert not manager.has_perm("annotations.change_span")
    client.force_login(manager)
    assert client.get("/admin/annotations/document/").status_code == 200
    # API tokens are nobody's to browse: only their digests are stored, and no admin page
    # lists them.
    assert client.get("/admin/annotations/apitoken/").status_code == 404


def test_password_flag_resets_the_demo_accounts_and_prints_the_new_ones(client):
    load()
    out = StringIO()

    call_command("load_seeds", "--password", stdout=out)

    printed = dict(re.findall(r"^\s+\w+\s+(\w+)\s+(\S+)$", out.getvalue(), re.M))
    assert set(printed) == {"manager", "reviewer", "annotator1", "annotator2", "annotator3"}
    signed_in = client.post(
        "/accounts/login/", {"username": "annotator1", "password": printed["annotator1"]}
    )
    assert signed_in.status_code == 302


def test_password_flag_with_a_value_gives_every_demo_account_that_password():
    load()

    call_command("load_seeds", "--password", "demo-pass-123", stdout=StringIO())

    assert all(user.check_password("demo-pass-123") for user in User.objects.all())


def test_articles_without_a_dateline_are_dated_by_the_latest_date_they_mention():
    load()

    dates = dict(Document.objects.values_list("external_id", "meta__published"))
    # 000 embeds tweets of September 3, 2021; 004 reports what happened on September 23.
    assert dates == {
        "000": "2021-09-03",
        "001": "2021-09-04T06:41+05:30",
        "002": "2021-09-03",
        "003": "2021-09-03",
        "004": "2021-09-23",
    }
    assert Document.objects.get(external_id="004").meta["published_from"] == (
        "latest date in the text"
    )


def test_the_demo_links_claims_and_sources_to_a_starter_catalogue():
    load()
    project = Project.objects.get(slug="demo")
    claim = LabelType.objects.get(project=project, name="claim")
    source = LabelType.objects.get(project=project, name="source")
    assert (claim.catalogue, source.catalogue) == ("proposition", "source")
    assert claim.stance_values == ["asserts", "denies", "reports", "questions"]
    names = set(CatalogueEntry.objects.filter(project=project).values_list("name", flat=True))
    assert {"Amrullah Saleh fled to Tajikistan", "Amrullah Saleh is still in Panjshir"} <= names
    assert {"TASS", "TOLOnews", "An unnamed source in Kabul"} <= names
    assert set(
        CatalogueEntry.objects.filter(project=project, kind="source").values_list(
            "source_kind", flat=True
        )
    ) >= {"person", "agency", "outlet", "anonymous"}
