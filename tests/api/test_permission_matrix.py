"""The access policy of the API in one table: every endpoint and method against every
role, with the status each one gets.

Roles: ``anon`` (not signed in), ``out`` (signed in, not a member), ``alice`` (the
annotator whose layer is at stake), ``bob`` (another annotator of the same document),
``rev`` (reviewer), ``mgr`` (manager). Outsiders get 404 for everything in the project;
hidden objects (another annotator's layer, gold for annotators, documents not assigned)
are 404 too; 403 means "you may see this but not do that". Each cell runs on a fresh
world where alice's layer holds a claim linked to a source (``state`` says whether she
has submitted it) and the document has a gold layer.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotations.services import layers
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("anon", "out", "alice", "bob", "rev", "mgr")
P = "/api/projects/panjshir"
L = "/api/layers/{alice_layer}"
G = "/api/layers/{gold}"

# method  path                                     state         anon out  alice bob  rev  mgr
MATRIX = [
    ("GET",    "/api/projects/",                   "open",       403, 200, 200, 200, 200, 200),
    ("POST",   "/api/projects/",                   "open",       403, 403, 403, 403, 403, 403),
    ("GET",    f"{P}/",                            "open",       403, 404, 200, 200, 200, 200),
    ("GET",    f"{P}/members/",                    "open",       403, 404, 403, 403, 403, 200),
    ("POST",   f"{P}/members/",                    "open",       403, 404, 403, 403, 403, 201),
    ("PATCH",  f"{P}/members/bob/",                "open",       403, 404, 403, 403, 403, 200),
    ("DELETE", f"{P}/members/bob/",                "open",       403, 404, 403, 403, 403, 204),
    ("GET",    f"{P}/labels/",                     "open",       403, 404, 200, 200, 200, 200),
    ("GET",    f"{P}/documents/",                  "open",       403, 404, 200, 200, 200, 200),
    ("GET",    f"{P}/documents/{{doc}}/",          "open",       403, 404, 200, 200, 200, 200),
    ("GET",    f"{P}/documents/{{unassigned}}/",   "open",       403, 404, 404, 404, 200, 200),
    ("GET",    f"{P}/documents/{{doc}}/layers/",   "open",       403, 404, 200, 200, 200, 200),
    ("GET",    f"{P}/documents/{{doc}}/layers/mine/", "open",    403, 404, 200, 200, 404, 404),
    ("GET",    f"{P}/documents/{{doc}}/layers/gold/", "open",    403, 404, 404, 404, 200, 200),
    ("POST",   f"{P}/documents/{{doc}}/skip/",     "open",       403, 404, 200, 200, 403, 403),
    ("GET",    f"{P}/queue/next/",                 "open",       403, 404, 200, 200, 200, 200),
    ("POST",   f"{P}/imports/",                    "open",       403, 404, 403, 403, 403, 202),
    ("GET",    f"{L}/",                            "open",       403, 404, 200, 404, 404, 200),
    ("GET",    f"{L}/",                            "submitted",  403, 404, 200, 404, 200, 200),
    ("POST",   f"{L}/spans/",                      "open",       403, 404, 201, 404, 404, 201),
    ("POST",   f"{L}/spans/",                      "submitted",  403, 404, 403, 404, 403, 403),
    ("PATCH",  f"{L}/spans/{{claim}}/",            "open",       403, 404, 200, 404, 404, 200),
    ("PATCH",  f"{L}/spans/{{claim}}/",            "submitted",  403, 404, 403, 404, 403, 403),
    ("DELETE", f"{L}/spans/{{claim}}/",            "open",       403, 404, 200, 404, 404, 200),
    ("POST",   f"{L}/relations/",                  "open",       403, 404, 201, 404, 404, 201),
    ("DELETE", f"{L}/relations/{{link}}/",         "open",       403, 404, 200, 404, 404, 200),
    ("PUT",    f"{L}/content/",                    "open",       403, 404, 200, 404, 404, 200),
    ("PUT",    f"{L}/content/",                    "submitted",  403, 404, 403, 404, 403, 403),
    ("POST",   f"{L}/submit/",                     "open",       403, 404, 200, 404, 404, 200),
    ("POST",   f"{L}/reopen/",                     "submitted",  403, 404, 403, 404, 200, 200),
    ("GET",    f"{G}/",                            "open",       403, 404, 404, 404, 200, 200),
    ("POST",   f"{G}/spans/",                      "open",       403, 404, 404, 404, 201, 201),
    ("PUT",    f"{G}/content/",                    "open",       403, 404, 404, 404, 200, 200),
    ("POST",   f"{G}/submit/",                     "open",       403, 404, 404, 404, 200, 200),
]  # fmt: skip

# The body each write sends; {name} is an id from the world.
BODIES = {
    ("POST", "/api/projects/"): {"name": "Another", "slug": "another"},
    ("POST", f"{P}/members/"): {"username": "carol", "role": "annotator"},
    ("PATCH", f"{P}/members/bob/"): {"role": "reviewer"},
    ("POST", f"{P}/documents/{{doc}}/skip/"): {"reason": "off topic"},
    ("POST", f"{L}/spans/"): {"label": "claim", "start": 0, "end": 5},
    ("PATCH", f"{L}/spans/{{claim}}/"): {"end": 59},
    ("POST", f"{L}/relations/"): {"type": "attributed_to", "head": "{claim2}", "tail": "{source}"},
    ("PUT", f"{L}/content/"): {"spans": []},
    ("POST", f"{G}/spans/"): {"label": "claim", "start": 0, "end": 5},
    ("PUT", f"{G}/content/"): {"spans": []},
}

CELLS = [
    pytest.param(method, path, state, role, expected, id=f"{method} {path} [{state}] as {role}")
    for method, path, state, *statuses in MATRIX
    for role, expected in zip(ROLES, statuses, strict=True)
]


def build(world, state):
    """Alice's layer with claim -> source and a spare claim, the gold layer, an
    unassigned document; the ids the table's paths and bodies name."""
    cast = world.cast
    layer = world.alice_layer
    claim = layers.create_span(layer=layer, actor=cast.alice, label="claim", start=0, end=60)
    claim2 = layers.create_span(layer=layer, actor=cast.alice, label="claim", start=100, end=120)
    source = layers.create_span(layer=layer, actor=cast.alice, label="source", start=61, end=70)
    link = layers.create_relation(
        layer=layer, actor=cast.alice, type="attributed_to", head=claim.pk, tail=source.pk
    )
    gold = layers.ensure_gold_layer(document=world.document, actor=cast.reviewer)
    if state == "submitted":
        layers.submit_layer(layer=layer, actor=cast.alice)
    UserFactory(username="carol")
    return {
        "doc": world.document.pk,
        "unassigned": DocumentFactory(project=world.project, external_id="late").pk,
        "alice_layer": layer.pk,
        "gold": gold.pk,
        "claim": claim.pk,
        "claim2": claim2.pk,
        "source": source.pk,
        "link": link.pk,
    }


def fill(value, ids):
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


@pytest.mark.parametrize(("method", "path", "state", "role", "expected"), CELLS)
def test_permission_matrix(world, api, method, path, state, role, expected):
    ids = build(world, state)
    users = {
        "anon": None,
        "out": world.cast.outsider,
        "alice": world.cast.alice,
        "bob": world.cast.bob,
        "rev": world.cast.reviewer,
        "mgr": world.cast.manager,
    }
    client = api(users[role])
    url = path.format(**ids)
    if path.endswith("/imports/"):
        upload = SimpleUploadedFile("new.txt", b"Saleh stays in Panjshir.")
        response = client.post(url, {"file": upload}, format="multipart")
    elif method == "GET":
        response = client.get(url)
    else:
        body = fill(BODIES.get((method, path)), ids)
        response = getattr(client, method.lower())(url, body, format="json")

    assert response.status_code == expected, response.content[:300]
