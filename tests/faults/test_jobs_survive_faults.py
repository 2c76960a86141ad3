"""Every kind of job ends once, succeeded, after each fault an operator meets: a worker or
its pool process killed, PostgreSQL restarted or away for ten seconds, Redis restarted,
away or frozen. No test here starts anything by hand after the fault: the workbench
recovers by itself (take-over by a starting worker, the sweep of jobs whose heartbeat
stopped, retries of transient errors) or not at all.
"""

from __future__ import annotations

import hashlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from tests.faults.conftest import Stack, write_corpus

pytestmark = pytest.mark.faults

# Enough for the import to run for several seconds: the fault must find it running.
IMPORT_DOCUMENTS = 20_000
# A job that has not ended this long after its fault was not recovered.
RECOVERY_SECONDS = 120


def running(body: dict) -> bool:
    return body["status"] == "running" and body["progress"] > 0


def ended(body: dict) -> bool:
    return body["status"] in ("succeeded", "failed")


def audit_events(stack: Stack, action: str, object_id: int) -> int:
    rows = stack.sql(
        "SELECT count(*) FROM annotations_auditevent WHERE action = %s AND object_id = %s",
        (action, str(object_id)),
    )
    return rows[0][0]


@dataclass(frozen=True)
class Kind:
    name: str
    start: Callable[[Stack, str], str]  # starts the job, returns its URL
    check: Callable[[Stack, str, dict], None]  # the job's outcome was stored once


def import_project(stack: Stack) -> str:
    """A project of the imports' own, so that their documents do not grow the corpus the
    agreement and export jobs measure."""
    if stack.api("GET", "projects/imports/").status_code == 404:
        created = stack.api("POST", "projects/", json={"name": "Imports", "slug": "imports"})
        assert created.status_code == 201, created.text
    return "imports"


def start_import(stack: Stack, tag: str) -> str:
    path = write_corpus(stack.folder / f"{tag}.jsonl", IMPORT_DOCUMENTS, tag)
    project = import_project(stack)
    with path.open("rb") as upload:
        response = stack.api("POST", f"projects/{project}/imports/", files={"file": upload})
    assert response.status_code == 202, response.text
    return response.json()["url"]


def check_import(stack: Stack, tag: str, body: dict) -> None:
    rows = stack.sql(
        "SELECT count(*) FROM annotations_document WHERE external_id LIKE %s", (f"{tag}-%",)
    )
    assert rows[0][0] == IMPORT_DOCUMENTS


def start_agreement(stack: Stack, tag: str) -> str:
    response = stack.api(
        "POST", "projects/demo/agreement-runs/", json={"parameters": {"bootstrap_resamples": 0}}
    )
    assert response.status_code == 201, response.text
    return response.json()["url"]


def check_agreement(stack: Stack, tag: str, body: dict) -> None:
    assert audit_events(stack, "agreement_finish", body["id"]) == 1
    measured = stack.sql(
        "SELECT count(*) FROM (SELECT l.document_id FROM annotations_layer l "
        "JOIN annotations_document d ON d.id = l.document_id "
        "JOIN annotations_project p ON p.id = d.project_id "
        "WHERE p.slug = 'demo' AND NOT l.is_gold AND l.status = 'submitted' "
        "GROUP BY l.document_id HAVING count(*) >= 2) AS documents"
    )[0][0]
    assert body["result"]["documents"] == measured  # every chunk counted, none twice


def start_export(stack: Stack, tag: str) -> str:
    # spaCy, the slowest format to write: the job runs for seconds, so the fault lands in it.
    response = stack.api("POST", "projects/demo/exports/", json={"format": "spacy"})
    assert response.status_code == 201, response.text
    return f"projects/demo/exports/{response.json()['id']}/"


def check_export(stack: Stack, tag: str, body: dict) -> None:
    assert audit_events(stack, "export_finish", body["id"]) == 1
    archive = stack.api("GET", body["download_url"], timeout=60)
    assert archive.status_code == 200
    assert hashlib.sha256(archive.content).hexdigest() == body["checksum"]
    assert list(stack.folder.rglob("*.part")) == []  # no half-written file left


KINDS = [
    Kind("import", start_import, check_import),
    Kind("agreement", start_agreement, check_agreement),
    Kind("export", start_export, check_export),
]


# --- the faults: each happens while the job is visibly running --------------------------


def kill_the_worker(stack: Stack) -> None:
    stack.kill("w1")
    stack.start_worker("w2")


def kill_the_busy_pool_process(stack: Stack) -> None:
    stack.busy_pool_child("w1").send_signal(signal.SIGKILL)


def restart_postgres(stack: Stack) -> None:
    stack.postgres.restart()


def postgres_away_ten_seconds(stack: Stack) -> None:
    stack.postgres.stop()
    time.sleep(10)
    stack.postgres.start()


def restart_redis(stack: Stack) -> None:
    stack.redis.stop()
    stack.redis.start()


def redis_away_ten_seconds(stack: Stack) -> None:
    stack.redis.stop()
    time.sleep(10)
    stack.redis.start()


def freeze_redis_ten_seconds(stack: Stack) -> None:
    stack.redis.freeze()
    began = time.monotonic()
    health = stack.api("GET", f"{stack.base_url}/healthz", timeout=5)
    assert time.monotonic() - began < 2
    assert health.status_code == 503
    assert health.json()["broker"].startswith("down")
    time.sleep(max(0.0, 10 - (time.monotonic() - began)))
    stack.redis.thaw()


FAULTS = [
    kill_the_worker,
    kill_the_busy_pool_process,
    restart_postgres,
    postgres_away_ten_seconds,
    restart_redis,
    redis_away_ten_seconds,
    freeze_redis_ten_seconds,
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.__name__)
@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_the_job_ends_succeeded_once_after_the_fault(operator: Stack, kind: Kind, fault) -> None:
    tag = f"{kind.name}-{fault.__name__}"
    operator.start_worker("w1")
    url = kind.start(operator, tag)
    operator.wait_until(url, running, timeout=60)

    fault(operator)

    body = operator.wait_until(url, ended, timeout=RECOVERY_SECONDS)
    assert body["status"] == "succeeded", body.get("error")
    assert body["progress"] == 1.0
    kind.check(operator, tag, body)
    if "w1" in operator.processes:  # it was not the fault: it stayed up through it
        assert operator.processes["w1"].poll() is None, operator.log("w1")


@pytest.mark.parametrize("broker", ["frozen", "down"])
def test_a_job_started_while_the_broker_does_not_answer_is_refused_at_once_and_runs_later(
    operator: Stack, broker: str
) -> None:
    operator.start_worker("w1")
    operator.redis.freeze() if broker == "frozen" else operator.redis.stop()
    try:
        began = time.monotonic()
        response = operator.api(
            "POST", "projects/demo/agreement-runs/", json={"parameters": {"bootstrap_resamples": 0}}
        )
        took = time.monotonic() - began
    finally:
        operator.redis.thaw() if broker == "frozen" else operator.redis.start()

    assert took < 2, f"the answer took {took:.1f} s"
    assert response.status_code == 503, response.text
    assert "starts by itself once the queue answers again" in response.json()["detail"]
    assert response.json()["status"] == "queued"
    # The sweep publishes it once Redis answers: it runs, once, with no one starting it again.
    url = f"projects/demo/agreement-runs/{response.json()['id']}/"
    body = operator.wait_until(url, ended, timeout=RECOVERY_SECONDS)
    assert body["status"] == "succeeded", body.get("error")
    check_agreement(operator, "", body)


def test_no_acknowledged_span_write_is_lost_through_a_postgres_restart(operator: Stack) -> None:
    # annotator1's layer of a seed article (every seed is longer than 55 characters).
    layer_id = operator.sql(
        "SELECT l.id FROM annotations_layer l JOIN auth_user u ON u.id = l.annotator_id "
        "WHERE u.username = 'annotator1' ORDER BY l.id LIMIT 1"
    )[0][0]
    token = operator.manage("create_token", "annotator1").strip()
    url = f"{operator.base_url}/api/layers/{layer_id}/spans/"
    before = operator.sql("SELECT count(*) FROM annotations_span WHERE layer_id = %s", (layer_id,))
    acknowledged = 0
    failed = 0
    for number in range(300):
        if number == 100:
            operator.postgres.restart()
        try:
            response = requests.post(
                url,
                json={"label": "claim", "start": number % 50, "end": number % 50 + 5},
                headers={"Authorization": f"Token {token}"},
                timeout=10,
            )
        except requests.RequestException:
            failed += 1
            continue
        if response.status_code == 201:
            acknowledged += 1
        else:
            assert response.status_code >= 500, response.text  # nothing else but the cut
            failed += 1

    stored = operator.sql("SELECT count(*) FROM annotations_span WHERE layer_id = %s", (layer_id,))
    assert stored[0][0] - before[0][0] == acknowledged  # every acknowledged write is there
    # Only the writes in flight at the cut failed (the page retries those).
    assert acknowledged >= 290
    assert failed <= 10
