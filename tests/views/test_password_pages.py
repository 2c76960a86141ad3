"""Password change and reset (Django's own views), and the demo's sign-in hint."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

OLD, NEW = "correct horse battery", "a brand new passphrase"


def test_the_login_page_links_to_the_password_reset(client):
    assert 'href="/accounts/password/reset/"' in client.get("/accounts/login/").content.decode()


def test_the_account_page_links_to_the_password_change(client):
    client.force_login(UserFactory())

    assert 'href="/accounts/password/change/"' in client.get("/account/").content.decode()


def test_a_signed_in_person_changes_their_password(client):
    person = UserFactory(username="dana", password=OLD)
    client.force_login(person)

    response = client.post(
        "/accounts/password/change/",
        {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 302
    assert User.objects.get(pk=person.pk).check_password(NEW)


def test_a_reset_mail_carries_a_link_that_sets_a_new_password(client):
    person = UserFactory(username="dana", email="dana@example.org", password=OLD)

    sent = client.post("/accounts/password/reset/", {"email": "dana@example.org"})
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    form = client.get(link.group(1), follow=True)
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW})

    assert sent.status_code == 302
    assert mail.outbox[0].to == ["dana@example.org"]
    assert done.status_code == 302
    assert User.objects.get(pk=person.pk).check_password(NEW)


def test_the_demo_login_page_says_where_the_passwords_were_printed(client, settings):
    settings.DEBUG = True
    UserFactory(username="annotator1")

    page = client.get("/accounts/login/").content.decode()

    assert "make demo" in page
    assert "load_seeds --password" in page


def test_outside_the_demo_the_hint_is_absent(client, settings):
    settings.DEBUG = False
    UserFactory(username="annotator1")

    assert "make demo" not in client.get("/accounts/login/").content.decode()
