"""Every write leaves an audit event: who, when, what, before and after."""

from __future__ import annotations

import pytest

from annotations.models import AuditEvent

pytestmark = pytest.mark.django_db


def events():
    return list(AuditEvent.objects.order_by("id"))


def test_span_writes_are_audited_with_before_and_after(world, api):
    client = api(world.cast.alice)
    url = f"/api/layers/{world.alice_layer.pk}/spans/"
    already = AuditEvent.objects.count()
    span = client.post(url, {"label": "claim", "start": 0, "end": 11}, format="json").json()["span"]
    client.patch(f"{url}{span['id']}/", {"end": 5}, format="json")
    client.delete(f"{url}{span['id']}/")

    created, updated, deleted = events()[already:]
    for event in (created, updated, deleted):
        assert (event.actor, event.project, event.object_type, event.object_id) == (
            world.cast.alice,
            world.project,
            "span",
            str(span["id"]),
        )
        assert event.at is not None
    assert (created.action, created.before) == ("create", None)
    assert created.after == {**span, "layer": world.alice_layer.pk, "version": 2}
    assert updated.action == "update"
    assert (updated.before["end"], updated.after["end"], updated.after["version"]) == (11, 5, 3)
    assert updated.after["quote"] == world.document.text[0:5]
    assert (deleted.action, deleted.before["end"], deleted.before["relations"]) == ("delete", 5, [])
    assert deleted.after == {"layer": world.alice_layer.pk, "version": 4}


def test_relation_replace_submit_reopen_and_skip_are_audited(world, api):
    alice = api(world.cast.alice)
    layer_url = f"/api/layers/{world.alice_layer.pk}/"
    content = alice.put(
        f"{layer_url}content/",
        {
            "spans": [
                {"label": "claim", "start": 0, "end": 60},
                {"label": "source", "start": 61, "end": 70},
            ]
        },
        format="json",
    ).json()
    claim, source = (s["id"] for s in content["spans"])
    link = alice.post(
        f"{layer_url}relations/",
        {"type": "attributed_to", "head": claim, "tail": source},
        format="json",
    ).json()["relation"]
    alice.delete(f"{layer_url}relations/{link['id']}/")
    alice.post(f"{layer_url}submit/", {}, format="json")
    api(world.cast.reviewer).post(f"{layer_url}reopen/", {}, format="json")
    api(world.cast.bob).post(
        f"/api/projects/panjshir/documents/{world.document.pk}/skip/",
        {"reason": "duplicate"},
        format="json",
    )

    trail = [
        (e.actor.username, e.action, e.object_type)
        for e in events()
        if e.object_type in ("layer", "relation", "assignment") and e.actor
    ]
    assert trail[-6:] == [
        ("alice", "replace", "layer"),
        ("alice", "create", "relation"),
        ("alice", "delete", "relation"),
        ("alice", "submit", "layer"),
        ("reviewer", "reopen", "layer"),
        ("bob", "skip", "assignment"),
    ]
    replace = AuditEvent.objects.get(action="replace")
    assert replace.before == {"spans": [], "relations": []}
    assert [s["label"] for s in replace.after["spans"]] == ["claim", "source"]
    submit = AuditEvent.objects.get(action="submit")
    assert (submit.before, submit.after["status"]) == ({"status": "open"}, "submitted")
    skip = AuditEvent.objects.get(action="skip")
    assert (skip.before["status"], skip.after) == (
        "assigned",
        {"status": "skipped", "skip_reason": "duplicate"},
    )


def test_a_refused_write_leaves_no_audit_event(world, api):
    alice = api(world.cast.alice)
    already = AuditEvent.objects.count()

    alice.post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "claim", "start": 0, "end": 5, "version": 9},
        format="json",
    )

    assert AuditEvent.objects.count() == already
