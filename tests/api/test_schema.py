"""The OpenAPI 3 schema at /api/schema/ describes every endpoint, and a property-based run
(schemathesis, bounded) finds no 5xx and no response that breaks the schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotations.services import layers
from annotations.services.tokens import create_token
from tests.access import layer_access, project_access

pytestmark = pytest.mark.django_db

# Agreement runs and exports belong to their own modules and test suites (and start jobs).
OTHER_MODULES = r"/(agreement-runs|exports)/"
MAX_EXAMPLES = 25


def served_schema() -> dict:
    """The document /api/schema/ serves (fetched at import: the cases are made from it)."""
    return Client().get("/api/schema/?format=json", HTTP_HOST="localhost").json()


schema = schemathesis.openapi.from_dict(
    served_schema(),
    config=schemathesis.Config.from_dict(
        {"generation": {"max-examples": MAX_EXAMPLES, "deterministic": True}}
    ),
).exclude(path_regex=OTHER_MODULES)

# Real ids of the seeded world, filled by the ``seeded`` fixture; generated path
# parameters are swapped for one of them half of the time so that cases reach objects.
REAL: dict[str, list[object]] = {}


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    if not path_parameters:
        return st.just(path_parameters)
    real = {name: st.sampled_from(REAL[name]) for name in path_parameters if name in REAL}
    generated = {name: st.just(value) for name, value in path_parameters.items()}
    return st.fixed_dictionaries({**generated, **real}) | st.just(path_parameters)


@pytest.fixture
def wsgi_app():
    """The real WSGI application, kept from closing the test's database connection at the
    end of each request (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(world):
    """Alice's layer with a linked claim and source, a gold layer; the manager's token."""
    cast = world.cast
    claim = layers.create_span(
        access=layer_access(cast.alice, world.alice_layer), label="claim", start=0, end=60
    )
    source = layers.create_span(
        access=layer_access(cast.alice, world.alice_layer), label="source", start=61, end=70
    )
    link = layers.create_relation(
        access=layer_access(cast.alice, world.alice_layer),
        type="attributed_to",
        head=claim.pk,
        tail=source.pk,
    )
    gold = layers.ensure_gold_layer(
        access=project_access(cast.manager, world.document.project), document=world.document
    )
    REAL.clear()
    REAL.update(
        slug=["panjshir"],
        doc_id=[world.document.pk, world.emoji.pk],
        layer_id=[world.alice_layer.pk, world.bob_layer.pk, gold.pk],
        span_id=[claim.pk, source.pk],
        rel_id=[link.pk],
        username=["alice", "bob", "reviewer"],
    )
    return create_token(user=cast.manager, name="schemathesis")[1]


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_api_answers_every_generated_request_within_its_schema(case, seeded, wsgi_app):
    case.call_and_validate(
        app=wsgi_app,
        headers={"Authorization": f"Token {seeded}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )


def test_schema_is_openapi_3_and_lists_every_endpoint(world):
    response = APIClient().get("/api/schema/?format=json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert {
        "/api/projects/",
        "/api/projects/{slug}/members/{username}/",
        "/api/projects/{slug}/labels/",
        "/api/projects/{slug}/documents/{doc_id}/layers/mine/",
        "/api/projects/{slug}/documents/{doc_id}/layers/gold/",
        "/api/projects/{slug}/documents/{doc_id}/skip/",
        "/api/projects/{slug}/queue/next/",
        "/api/projects/{slug}/imports/",
        "/api/projects/{slug}/imports/{id}/",
        "/api/layers/{layer_id}/",
        "/api/layers/{layer_id}/spans/{span_id}/",
        "/api/layers/{layer_id}/relations/{rel_id}/",
        "/api/layers/{layer_id}/content/",
        "/api/layers/{layer_id}/submit/",
        "/api/layers/{layer_id}/reopen/",
    } <= set(document["paths"])


def test_every_layer_write_documents_its_errors_and_the_etag(world):
    paths = APIClient().get("/api/schema/?format=json").json()["paths"]
    writes = [
        paths["/api/layers/{layer_id}/spans/"]["post"],
        paths["/api/layers/{layer_id}/spans/{span_id}/"]["patch"],
        paths["/api/layers/{layer_id}/spans/{span_id}/"]["delete"],
        paths["/api/layers/{layer_id}/relations/"]["post"],
        paths["/api/layers/{layer_id}/content/"]["put"],
        paths["/api/layers/{layer_id}/submit/"]["post"],
    ]
    for operation in writes:
        assert {"400", "403", "404", "409"} <= set(operation["responses"]), operation["operationId"]
        success = next(code for code in operation["responses"] if code.startswith("2"))
        assert "ETag" in operation["responses"][success]["headers"]
        assert any(p["name"] == "If-Match" for p in operation["parameters"])


def test_interactive_docs_page_is_served(world):
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
