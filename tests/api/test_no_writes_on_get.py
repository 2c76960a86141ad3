"""Reading never writes: every GET route (the OpenAPI schema's and the pages'), with real ids,
as an annotator, a reviewer and a manager, leaves the row count of every table as it was.

The paths and ids are the permission matrix's, whose table has a rule for every route.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from django.apps import apps
from django.test import Client
from django.urls import resolve

from annotations.models import Layer
from tests.api.test_permission_matrix import RULES, build

pytestmark = pytest.mark.django_db

GET_PATHS = sorted(
    {path for rules in RULES.values() for method, path, *_ in rules if method == "GET"}
)


def route_name(path: str) -> str | None:
    return resolve(path.format_map(defaultdict(lambda: 1))).url_name


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_every_get_route_of_the_api_schema_is_walked():
    schema = Client().get("/api/schema/?format=json", HTTP_HOST="localhost").json()
    schema_routes = {
        route_name(re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in schema["paths"].items()
        if "get" in operations
    }

    assert schema_routes - {route_name(path) for path in GET_PATHS} == set()


@pytest.mark.parametrize("state", ["open", "submitted"])
@pytest.mark.parametrize("role", ["alice", "reviewer", "manager"])
def test_no_get_changes_a_row(world, api, settings, role, state):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the health check needs no worker then
    ids = build(world, state)
    user = getattr(world.cast, role)
    client = api(user)
    browser = Client()
    browser.force_login(user)
    before = row_counts()

    answered = []
    for path in GET_PATHS:
        url = path.format(**ids)
        response = (client if path.startswith("/api/") else browser).get(url)
        answered.append(response.status_code)

    assert row_counts() == before
    assert 200 in answered
    # The document nobody started adjudicating still has no gold layer.
    assert not Layer.objects.filter(document_id=ids["unassigned"]).exists()
