"""The catalogue routes and the span link fields, through URLs with real auth."""

from __future__ import annotations

from annotations.models import CatalogueEntry, LabelType, Span


def _link_claims(project):
    LabelType.objects.filter(project=project, name="claim").update(
        catalogue="proposition", stance_values=["asserts", "denies", "reports", "questions"]
    )


def test_propose_list_approve_and_blindness(world, api):
    cast = world.cast
    base = f"/api/projects/{cast.project.slug}/catalogue/"
    made = api(cast.alice).post(
        base, {"kind": "proposition", "name": "Saleh fled to Tajikistan"}, format="json"
    )
    assert made.status_code == 201, made.json()
    key = made.json()["key"]
    assert made.json()["status"] == "proposed"
    assert [e["key"] for e in api(cast.bob).get(base).json()] == []
    assert api(cast.bob).get(f"{base}{key}/").status_code == 404
    listed = api(cast.reviewer).get(base, {"kind": "proposition"}).json()
    assert [(e["key"], e["mentions"]) for e in listed] == [(key, 0)]
    assert api(cast.alice).get(base).json()[0]["mentions"] is None  # counts tell on others
    assert api(cast.alice).post(f"{base}{key}/approve/").status_code == 403
    assert api(cast.reviewer).post(f"{base}{key}/approve/").json()["status"] == "approved"
    assert [e["key"] for e in api(cast.bob).get(base).json()] == [key]
    assert api(cast.outsider).get(base).status_code == 404


def test_list_ranks_by_similarity_and_bad_query_names_the_field(world, api):
    cast = world.cast
    base = f"/api/projects/{cast.project.slug}/catalogue/"
    for name in ("The resistance leaders fled Afghanistan", "Saleh is still in Panjshir"):
        api(cast.reviewer).post(base, {"kind": "proposition", "name": name}, format="json")
    ranked = api(cast.alice).get(base, {"q": "he is still in Panjshir valley"}).json()
    assert ranked[0]["name"] == "Saleh is still in Panjshir"
    assert ranked[0]["score"] > ranked[1]["score"]
    bad = api(cast.alice).get(base, {"kind": "person"})
    assert bad.status_code == 400 and "kind" in bad.json()


def test_span_write_takes_entry_and_stance_validated_against_the_label(world, api):
    cast = world.cast
    _link_claims(cast.project)
    base = f"/api/projects/{cast.project.slug}/catalogue/"
    key = api(cast.reviewer).post(
        base, {"kind": "proposition", "name": "Saleh is still in Panjshir"}, format="json"
    ).json()["key"]
    spans = f"/api/layers/{world.alice_layer.pk}/spans/"
    client = api(cast.alice)
    made = client.post(
        spans,
        {"label": "claim", "start": 0, "end": 10, "entry": key, "stance": "asserts"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert (made.json()["span"]["entry"], made.json()["span"]["stance"]) == (key, "asserts")
    span_id = made.json()["span"]["id"]
    bad = client.patch(f"{spans}{span_id}/", {"stance": "believes"}, format="json")
    assert bad.status_code == 400 and "stance" in bad.json()
    bad = client.patch(f"{spans}{span_id}/", {"entry": "nothing-here"}, format="json")
    assert bad.status_code == 400 and "entry" in bad.json()
    unlinked = client.patch(f"{spans}{span_id}/", {"entry": None}, format="json")
    assert unlinked.json()["span"]["entry"] is None
    body = client.get(f"/api/layers/{world.alice_layer.pk}/").json()
    assert body["spans"][0]["entry"] is None and body["spans"][0]["stance"] == ""


def test_merge_split_and_delete_routes(world, api):
    cast = world.cast
    _link_claims(cast.project)
    base = f"/api/projects/{cast.project.slug}/catalogue/"
    reviewer = api(cast.reviewer)
    keep = reviewer.post(base, {"kind": "proposition", "name": "Saleh fled"}, format="json")
    gone = api(cast.alice).post(base, {"kind": "proposition", "name": "Saleh left"}, format="json")
    keep_key, gone_key = keep.json()["key"], gone.json()["key"]
    spans = f"/api/layers/{world.alice_layer.pk}/spans/"
    span = api(cast.alice).post(
        spans, {"label": "claim", "start": 0, "end": 10, "entry": gone_key}, format="json"
    )
    assert reviewer.delete(f"{base}{gone_key}/").status_code == 400
    merged = reviewer.post(f"{base}{gone_key}/merge/", {"into": keep_key}, format="json")
    assert merged.status_code == 200 and merged.json()["mentions"] == 1
    assert not CatalogueEntry.objects.filter(key=gone_key).exists()
    span_id = span.json()["span"]["id"]
    assert Span.objects.get(pk=span_id).entry.key == keep_key
    split = reviewer.post(
        f"{base}{keep_key}/split/", {"name": "Saleh fled north", "spans": [span_id]}, format="json"
    )
    assert split.status_code == 201 and split.json()["mentions"] == 1
    assert reviewer.post(f"{base}{keep_key}/merge/", {"into": "zzz"}, format="json").json() == {
        "into": ["no such entry in this project"]
    }
    renamed = reviewer.patch(f"{base}{keep_key}/", {"name": "Saleh fled abroad"}, format="json")
    assert renamed.json()["name"] == "Saleh fled abroad" and renamed.json()["key"] == keep_key
    assert reviewer.delete(f"{base}{keep_key}/").status_code == 204
