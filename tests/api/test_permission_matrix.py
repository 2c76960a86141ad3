"""The access policy in one table: every route of the URL conf, API and pages, against
every role, with the status each one gets. A route without a rule fails the test.

Roles: ``anon`` (not signed in), ``out`` (signed in, not a member), ``alice`` (the
annotator whose layer is at stake), ``bob`` (another annotator of the same document),
``rev`` (reviewer), ``mgr`` (manager). Outsiders get 404 for everything in the project;
hidden objects (another annotator's layer, gold for annotators, documents not assigned,
routes a role never uses) are 404 too; 403 means "you may see this but not do that".
Anonymous callers get 403 from the API and the login page (302) from the pages. Each cell
runs on a fresh world where alice's layer holds a claim linked to a source (``state`` says
whether she has submitted it), the document has a gold layer (except in state ``unreviewed``:
submitted, and review has not started), and the project has an
agreement run and an export job (neither finished; in state ``exported`` the export has
succeeded and its archive is in a bucket, as with STORAGE_BACKEND=s3).
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from annotations.models import AgreementRun, CatalogueEntry, ExportJob, ImportJob, JobStatus
from annotations.services import layers
from tests.access import layer_access, project_access
from tests.factories import DocumentFactory, DocumentLabelTypeFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("anon", "out", "alice", "bob", "rev", "mgr")
P = "/api/projects/panjshir"
L = "/api/layers/{alice_layer}"
G = "/api/layers/{gold}"
D = f"{P}/documents/{{doc}}"
UNSTARTED = f"{P}/documents/{{unassigned}}"  # no gold layer: nobody started adjudicating
UNSTARTED = f"{P}/documents/{{unassigned}}"  # no gold layer: nobody started adjudicating
PAGE = "/projects/panjshir"

# Routes that are Django's own, not the workbench's: the admin site (its own staff-only
# permissions) and the auth views' sign-in and sign-out pages. No static route: static
# files are not served through the URL conf.
EXCLUDED_NAMESPACES = {"admin"}
EXCLUDED_NAMES = {"login", "logout"}

# route name -> (method, path, state, status for: anon  out  alice bob  rev  mgr)
RULES = {
    "project-list": [
        ("GET", "/api/projects/", "open", (403, 200, 200, 200, 200, 200)),
        ("POST", "/api/projects/", "open", (403, 403, 403, 403, 403, 403)),
        ("GET", "/", "open", (302, 200, 200, 200, 200, 200)),
    ],
    "project-detail": [
        ("GET", f"{P}/", "open", (403, 404, 200, 200, 200, 200)),
        ("PATCH", f"{P}/", "open", (403, 404, 403, 403, 403, 200)),
    ],
    "project-settings": [
        ("GET", f"{PAGE}/settings/", "open", (302, 404, 404, 404, 404, 200)),
    ],
    "members": [
        ("GET", f"{PAGE}/members/", "open", (302, 404, 404, 404, 404, 200)),
    ],
    "invitation": [
        ("GET", "/invite/no-such-key/", "open", (404, 404, 404, 404, 404, 404)),
    ],
    "password_change": [
        ("GET", "/accounts/password/change/", "open", (302, 200, 200, 200, 200, 200)),
    ],
    "password_change_done": [
        ("GET", "/accounts/password/change/done/", "open", (302, 200, 200, 200, 200, 200)),
    ],
    "password_reset": [
        ("GET", "/accounts/password/reset/", "open", (200, 200, 200, 200, 200, 200)),
    ],
    "password_reset_done": [
        ("GET", "/accounts/password/reset/sent/", "open", (200, 200, 200, 200, 200, 200)),
    ],
    "password_reset_confirm": [
        # An unknown user and token: the page says the link does not work.
        ("GET", "/accounts/password/reset/MQ/bad-token/", "open", (200, 200, 200, 200, 200, 200)),
    ],
    "password_reset_complete": [
        ("GET", "/accounts/password/reset/done/", "open", (200, 200, 200, 200, 200, 200)),
    ],
    "member-list": [
        ("GET", f"{P}/members/", "open", (403, 404, 403, 403, 403, 200)),
        ("POST", f"{P}/members/", "open", (403, 404, 403, 403, 403, 201)),
    ],
    "member-detail": [
        ("PATCH", f"{P}/members/bob/", "open", (403, 404, 403, 403, 403, 200)),
        ("DELETE", f"{P}/members/bob/", "open", (403, 404, 403, 403, 403, 204)),
    ],
    "label-list": [
        ("GET", f"{P}/labels/", "open", (403, 404, 200, 200, 200, 200)),
        ("POST", f"{P}/labels/", "open", (403, 404, 403, 403, 403, 201)),
    ],
    "label-detail": [
        ("PATCH", f"{P}/labels/{{sentiment}}/", "open", (403, 404, 403, 403, 403, 200)),
        ("DELETE", f"{P}/labels/{{sentiment}}/", "open", (403, 404, 403, 403, 403, 204)),
    ],
    "document-list": [
        ("GET", f"{P}/documents/", "open", (403, 404, 200, 200, 200, 200)),
    ],
    "document-detail": [
        ("GET", f"{D}/", "open", (403, 404, 200, 200, 200, 200)),
        ("GET", f"{P}/documents/{{unassigned}}/", "open", (403, 404, 404, 404, 200, 200)),
    ],
    "document-layers": [
        ("GET", f"{D}/layers/", "open", (403, 404, 200, 200, 200, 200)),
    ],
    "document-mine": [
        ("GET", f"{D}/layers/mine/", "open", (403, 404, 200, 200, 404, 404)),
    ],
    "document-gold": [
        ("GET", f"{D}/layers/gold/", "open", (403, 404, 404, 404, 200, 200)),
        ("GET", f"{UNSTARTED}/layers/gold/", "open", (403, 404, 404, 404, 404, 404)),
        ("POST", f"{D}/layers/gold/", "open", (403, 404, 404, 404, 200, 200)),
        ("POST", f"{UNSTARTED}/layers/gold/", "open", (403, 404, 404, 404, 201, 201)),
    ],
    "gold-merge": [
        ("POST", f"{D}/layers/gold/merge/", "submitted", (403, 404, 404, 404, 200, 200)),
    ],
    "review-decisions": [
        ("GET", f"{D}/decisions/", "submitted", (403, 404, 404, 404, 200, 200)),
        ("POST", f"{D}/decisions/", "submitted", (403, 404, 404, 404, 200, 200)),
    ],
    # Nothing was decided in the fresh world: staff get past access to "no decision" (400).
    "review-decision-undo": [
        ("POST", f"{D}/decisions/undo/", "submitted", (403, 404, 404, 404, 400, 400)),
    ],
    "document-skip": [
        ("POST", f"{D}/skip/", "open", (403, 404, 200, 200, 403, 403)),
    ],
    "queue-next": [
        ("GET", f"{P}/queue/next/", "open", (403, 404, 200, 200, 200, 200)),
    ],
    "import": [
        ("POST", f"{P}/imports/", "open", (403, 404, 403, 403, 403, 202)),
    ],
    "import-detail": [
        ("GET", f"{P}/imports/{{import_job}}/", "open", (403, 404, 403, 403, 403, 200)),
    ],
    "assignment-plan": [
        ("GET", f"{P}/assignment/", "open", (403, 404, 403, 403, 403, 200)),
        ("POST", f"{P}/assignment/", "open", (403, 404, 403, 403, 403, 200)),
    ],
    "assignment-reassign": [
        # bob is on the document already: the manager passes the gate and gets the 400.
        ("POST", f"{P}/assignment/reassign/", "open", (403, 404, 403, 403, 403, 400)),
    ],
    "layer-activity": [
        ("POST", f"{L}/activity/", "open", (403, 404, 200, 404, 404, 403)),
        ("POST", f"{L}/activity/", "submitted", (403, 404, 200, 404, 403, 403)),
        ("POST", f"{G}/activity/", "open", (403, 404, 404, 404, 403, 403)),
    ],
    "agreement-run-list": [
        ("GET", f"{P}/agreement-runs/", "open", (403, 404, 404, 404, 200, 200)),
    ],
    "agreement-run-detail": [
        ("GET", f"{P}/agreement-runs/{{run}}/", "open", (403, 404, 404, 404, 200, 200)),
    ],
    "export-list": [
        ("GET", f"{P}/exports/", "open", (403, 404, 403, 403, 403, 200)),
    ],
    "export-detail": [
        ("GET", f"{P}/exports/{{export}}/", "open", (403, 404, 403, 403, 403, 200)),
    ],
    "export-download": [
        ("GET", f"{P}/exports/{{export}}/download/", "open", (403, 404, 403, 403, 403, 409)),
        # Finished, its archive in a bucket: only a manager is sent on to a signed link.
        ("GET", f"{P}/exports/{{export}}/download/", "exported", (403, 404, 403, 403, 403, 302)),
    ],
    "layer-detail": [
        ("GET", f"{L}/", "open", (403, 404, 200, 404, 404, 200)),
        ("GET", f"{L}/", "submitted", (403, 404, 200, 404, 200, 200)),
        ("GET", f"{G}/", "open", (403, 404, 404, 404, 200, 200)),
    ],
    "span-list": [
        ("POST", f"{L}/spans/", "open", (403, 404, 201, 404, 404, 201)),
        ("POST", f"{L}/spans/", "submitted", (403, 404, 403, 404, 403, 403)),
        ("POST", f"{G}/spans/", "open", (403, 404, 404, 404, 201, 201)),
    ],
    "span-detail": [
        ("PATCH", f"{L}/spans/{{claim}}/", "open", (403, 404, 200, 404, 404, 200)),
        ("PATCH", f"{L}/spans/{{claim}}/", "submitted", (403, 404, 403, 404, 403, 403)),
        ("DELETE", f"{L}/spans/{{claim}}/", "open", (403, 404, 200, 404, 404, 200)),
    ],
    "relation-list": [
        ("POST", f"{L}/relations/", "open", (403, 404, 201, 404, 404, 201)),
    ],
    "relation-detail": [
        ("DELETE", f"{L}/relations/{{link}}/", "open", (403, 404, 200, 404, 404, 200)),
    ],
    "layer-content": [
        ("PUT", f"{L}/content/", "open", (403, 404, 200, 404, 404, 200)),
        ("PUT", f"{L}/content/", "submitted", (403, 404, 403, 404, 403, 403)),
        ("PUT", f"{G}/content/", "open", (403, 404, 404, 404, 200, 200)),
    ],
    "layer-operations": [
        ("POST", f"{L}/operations/", "open", (403, 404, 200, 404, 404, 200)),
        ("POST", f"{L}/operations/", "submitted", (403, 404, 403, 404, 403, 403)),
        ("POST", f"{G}/operations/", "open", (403, 404, 404, 404, 200, 200)),
    ],
    "layer-document-label": [
        ("PUT", f"{L}/document-labels/stance/", "open", (403, 404, 200, 404, 404, 200)),
        ("PUT", f"{L}/document-labels/stance/", "submitted", (403, 404, 403, 404, 403, 403)),
        ("PUT", f"{G}/document-labels/stance/", "open", (403, 404, 404, 404, 200, 200)),
    ],
    "layer-submit": [
        ("POST", f"{L}/submit/", "open", (403, 404, 200, 404, 404, 200)),
        ("POST", f"{G}/submit/", "open", (403, 404, 404, 404, 200, 200)),
    ],
    "layer-reopen": [
        ("POST", f"{L}/reopen/", "submitted", (403, 404, 403, 404, 200, 200)),
    ],
    "layer-unsubmit": [
        ("POST", f"{L}/unsubmit/", "unreviewed", (403, 404, 200, 404, 403, 403)),
        ("POST", f"{L}/unsubmit/", "submitted", (403, 404, 403, 404, 403, 403)),
    ],
    "api-token": [
        ("POST", "/api/auth/token/", "open", (400, 400, 400, 400, 400, 400)),
    ],
    "api-schema": [
        ("GET", "/api/schema/", "open", (200, 200, 200, 200, 200, 200)),
    ],
    "api-docs": [
        ("GET", "/api/docs/", "open", (200, 200, 200, 200, 200, 200)),
    ],
    "api-not-found": [
        ("GET", "/api/no/such/thing/", "open", (404, 404, 404, 404, 404, 404)),
    ],
    "account": [
        ("GET", "/account/", "open", (302, 200, 200, 200, 200, 200)),
    ],
    "healthz": [
        ("GET", "/healthz", "open", (200, 200, 200, 200, 200, 200)),
    ],
    "project-home": [
        ("GET", f"{PAGE}/", "open", (302, 404, 302, 302, 302, 302)),
    ],
    "project-queue": [
        ("GET", f"{PAGE}/queue/", "open", (302, 404, 200, 200, 200, 200)),
    ],
    "annotate": [
        ("GET", f"{PAGE}/documents/{{doc}}/annotate/", "open", (302, 404, 200, 200, 404, 404)),
        (
            "GET",
            f"{PAGE}/documents/{{unassigned}}/annotate/",
            "open",
            (302, 404, 404, 404, 404, 404),
        ),
    ],
    "annotate-next": [
        ("GET", f"{PAGE}/next/", "open", (302, 404, 302, 302, 302, 302)),
    ],
    "guidelines": [
        ("GET", f"{PAGE}/guidelines/", "open", (302, 404, 200, 200, 200, 200)),
    ],
    "dashboard": [
        ("GET", f"{PAGE}/dashboard/", "open", (302, 404, 404, 404, 200, 200)),
    ],
    "agreement": [
        ("GET", f"{PAGE}/agreement/", "open", (302, 404, 404, 404, 200, 200)),
    ],
    "claims": [
        ("GET", f"{PAGE}/claims/", "open", (302, 404, 200, 200, 200, 200)),
    ],
    "review-list": [
        ("GET", f"{PAGE}/review/", "open", (302, 404, 404, 404, 200, 200)),
    ],
    "review": [
        ("GET", f"{PAGE}/documents/{{doc}}/review/", "open", (302, 404, 404, 404, 200, 200)),
    ],
    "documents": [
        ("GET", f"{PAGE}/documents/", "open", (302, 404, 404, 404, 404, 200)),
    ],
    "schema": [
        ("GET", f"{PAGE}/schema/", "open", (302, 404, 404, 404, 404, 200)),
    ],
    "assignment": [
        ("GET", f"{PAGE}/assignment/", "open", (302, 404, 404, 404, 404, 200)),
    ],
    # saleh-left is alice's proposal (hidden from bob), saleh-fled an approved entry.
    "catalogue": [
        ("GET", f"{P}/catalogue/", "open", (403, 404, 200, 200, 200, 200)),
        ("POST", f"{P}/catalogue/", "open", (403, 404, 201, 201, 201, 201)),
    ],
    "catalogue-entry": [
        ("GET", f"{P}/catalogue/saleh-left/", "open", (403, 404, 200, 404, 200, 200)),
        ("PATCH", f"{P}/catalogue/saleh-left/", "open", (403, 404, 200, 404, 200, 200)),
        ("PATCH", f"{P}/catalogue/saleh-fled/", "open", (403, 404, 403, 403, 200, 200)),
        ("DELETE", f"{P}/catalogue/saleh-left/", "open", (403, 404, 204, 404, 204, 204)),
    ],
    "catalogue-approve": [
        ("POST", f"{P}/catalogue/saleh-left/approve/", "open", (403, 404, 403, 404, 200, 200)),
    ],
    "catalogue-merge": [
        ("POST", f"{P}/catalogue/saleh-left/merge/", "open", (403, 404, 403, 404, 200, 200)),
    ],
    "catalogue-split": [
        # No mention chosen: reviewers and managers pass the gate and get the 400.
        ("POST", f"{P}/catalogue/saleh-fled/split/", "open", (403, 404, 403, 403, 400, 400)),
    ],
    "catalogue-mentions": [
        ("GET", f"{P}/catalogue/saleh-fled/mentions/", "open", (403, 404, 404, 404, 200, 200)),
    ],
    "catalogue-page": [
        ("GET", f"{PAGE}/catalogue/", "open", (302, 404, 404, 404, 200, 200)),
    ],
}

# The body each write sends; {name} is an id from the world.
BODIES = {
    ("POST", "/api/projects/"): {"name": "Another", "slug": "another"},
    ("POST", f"{P}/members/"): {"username": "carol", "role": "annotator"},
    ("POST", f"{P}/labels/"): {"kind": "span", "name": "event", "colour": "#00aa00"},
    ("PATCH", f"{P}/labels/{{sentiment}}/"): {"description": "Tone, with its polarity."},
    ("PATCH", f"{P}/members/bob/"): {"role": "reviewer"},
    ("PATCH", f"{P}/"): {"description": "Claims about Saleh's whereabouts."},
    ("POST", f"{P}/documents/{{doc}}/skip/"): {"reason": "off topic"},
    ("POST", f"{L}/spans/"): {"label": "claim", "start": 0, "end": 5},
    ("PATCH", f"{L}/spans/{{claim}}/"): {"end": 59},
    ("POST", f"{L}/relations/"): {"type": "attributed_to", "head": "{claim2}", "tail": "{source}"},
    ("PUT", f"{L}/content/"): {"spans": []},
    ("POST", f"{L}/operations/"): {"operations": [{"op": "delete_span", "id": "{claim2}"}]},
    ("POST", f"{G}/operations/"): {
        "operations": [{"op": "create_span", "label": "claim", "start": 0, "end": 5}]
    },
    ("POST", f"{G}/spans/"): {"label": "claim", "start": 0, "end": 5},
    ("PUT", f"{G}/content/"): {"spans": []},
    ("PUT", f"{L}/document-labels/stance/"): {"values": ["refutes"]},
    ("PUT", f"{G}/document-labels/stance/"): {"values": ["refutes"]},
    ("POST", f"{P}/assignment/"): {},
    ("POST", f"{D}/decisions/"): {"key": "0:60:claim", "decision": "reject"},
    ("POST", f"{D}/decisions/undo/"): {"key": "0:60:claim"},
    ("POST", f"{P}/assignment/reassign/"): {
        "document": "000",
        "from_user": "alice",
        "to_user": "bob",
    },
    ("POST", f"{L}/activity/"): {"seconds": 5},
    ("POST", f"{G}/activity/"): {"seconds": 5},
    ("POST", f"{P}/catalogue/"): {"kind": "proposition", "name": "Saleh is in Dushanbe"},
    ("PATCH", f"{P}/catalogue/saleh-left/"): {"name": "Saleh left Panjshir"},
    ("PATCH", f"{P}/catalogue/saleh-fled/"): {"name": "Saleh fled to Tajikistan"},
    ("POST", f"{P}/catalogue/saleh-left/merge/"): {"into": "saleh-fled"},
    ("POST", f"{P}/catalogue/saleh-fled/split/"): {"name": "Saleh fled north", "spans": []},
}

CELLS = [
    pytest.param(method, path, state, role, expected, id=f"{method} {path} [{state}] as {role}")
    for rules in RULES.values()
    for method, path, state, statuses in rules
    for role, expected in zip(ROLES, statuses, strict=True)
]


def build(world, state):
    """Alice's layer with claim -> source and a spare claim, the gold layer, an
    unassigned document, a document label, an agreement run and an export job; the ids
    the table's paths and bodies name."""
    cast = world.cast
    DocumentLabelTypeFactory(project=world.project)
    layer = world.alice_layer
    alice = layer_access(cast.alice, layer)
    claim = layers.create_span(access=alice, label="claim", start=0, end=60)
    claim2 = layers.create_span(access=alice, label="claim", start=100, end=120)
    source = layers.create_span(access=alice, label="source", start=61, end=70)
    link = layers.create_relation(access=alice, type="attributed_to", head=claim.pk, tail=source.pk)
    gold = None
    if state != "unreviewed":  # submitted, and no review started: no gold layer yet
        gold = layers.ensure_gold_layer(
            access=project_access(cast.reviewer, world.project), document=world.document
        )
    if state in ("submitted", "unreviewed"):
        layers.submit_layer(access=alice)
    UserFactory(username="carol")
    CatalogueEntry.objects.create(
        project=world.project, kind="proposition", key="saleh-fled", name="Saleh fled"
    )
    CatalogueEntry.objects.create(
        project=world.project,
        kind="proposition",
        key="saleh-left",
        name="Saleh left",
        status="proposed",
        proposed_by=cast.alice,
    )
    return {
        "doc": world.document.pk,
        "unassigned": DocumentFactory(project=world.project, external_id="late").pk,
        "alice_layer": layer.pk,
        "gold": gold.pk if gold else None,
        "claim": claim.pk,
        "claim2": claim2.pk,
        "source": source.pk,
        "link": link.pk,
        "sentiment": world.project.label_types.get(name="sentiment").pk,
        "run": AgreementRun.objects.create(project=world.project, requested_by=cast.manager).pk,
        "export": export_job(world, finished=state == "exported"),
        "import_job": ImportJob.objects.create(
            project=world.project, requested_by=cast.manager, file="imports/corpus.jsonl"
        ).pk,
    }


def export_job(world, *, finished: bool) -> int:
    job = ExportJob.objects.create(
        project=world.project, format="jsonl", requested_by=world.cast.manager
    )
    if finished:
        job.file.save(f"exports/{world.project.slug}/archive.zip", ContentFile(b"PK"), save=False)
        job.status = JobStatus.SUCCEEDED
        job.save()
    return job.pk


def fill(value, ids):
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


@pytest.mark.parametrize(("method", "path", "state", "role", "expected"), CELLS)
def test_permission_matrix(world, api, settings, request, method, path, state, role, expected):
    # The health check asks the broker for workers unless tasks run eagerly: not the
    # point here, and a second per request.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    if state == "exported":
        request.getfixturevalue("remote_storage")
    ids = build(world, state)
    users = {
        "anon": None,
        "out": world.cast.outsider,
        "alice": world.cast.alice,
        "bob": world.cast.bob,
        "rev": world.cast.reviewer,
        "mgr": world.cast.manager,
    }
    url = path.format(**ids)
    if not path.startswith("/api/"):
        # Pages: the browser's session.
        client = Client()
        if users[role] is not None:
            client.force_login(users[role])
        response = client.get(url)
    elif path.endswith("/imports/"):
        upload = SimpleUploadedFile("new.txt", b"Saleh stays in Panjshir.")
        response = api(users[role]).post(url, {"file": upload}, format="multipart")
    elif method == "GET":
        response = api(users[role]).get(url)
    else:
        body = fill(BODIES.get((method, path)), ids)
        response = getattr(api(users[role]), method.lower())(url, body, format="json")

    assert response.status_code == expected, response.content[:300]


def _join(prefix: str, route: str) -> str:
    # As Django joins the routes of nested patterns into ResolverMatch.route.
    return prefix + route.removeprefix("^") if prefix else route


def url_conf_routes(patterns=None, prefix="", namespace=None):
    """(namespace, name, route) for every route of the project's URL conf."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = _join(prefix, str(entry.pattern))
        if isinstance(entry, URLResolver):
            yield from url_conf_routes(entry.url_patterns, route, entry.namespace or namespace)
        else:
            assert isinstance(entry, URLPattern)
            yield namespace, entry.name, route


def test_every_route_of_the_url_conf_has_a_rule():
    ruled = set()
    for name, rules in RULES.items():
        for method, path, *_ in rules:
            # Any id finds the route; the name checks the table's keys.
            match = resolve(path.format_map(defaultdict(lambda: 1)))
            assert match.url_name == name, f"{method} {path} is {match.url_name!r}, not {name!r}"
            ruled.add((match.namespace or None, match.url_name, match.route))

    routes = {
        route
        for route in url_conf_routes()
        if route[0] not in EXCLUDED_NAMESPACES and route[1] not in EXCLUDED_NAMES
    }

    assert routes - ruled == set(), "routes without a rule in RULES"
