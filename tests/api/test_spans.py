from __future__ import annotations

import pytest

from annotations.models import Assignment, AssignmentStatus, Layer, Span

pytestmark = pytest.mark.django_db


def spans_url(layer):
    return f"/api/layers/{layer.pk}/spans/"


def test_annotator_adds_a_span_and_the_version_goes_up_by_one(world, api):
    text = world.document.text
    body = {"label": "claim", "start": 0, "end": 17, "quote": text[0:17], "version": 1}

    response = api(world.cast.alice).post(spans_url(world.alice_layer), body, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["version"] == 2
    assert response["ETag"] == '"2"'
    assert data["span"] == {
        "id": data["span"]["id"],
        "label": "claim",
        "start": 0,
        "end": 17,
        "attrs": {},
        "quote": text[0:17],
        "entry": None,
        "stance": "",
    }
    stored = Span.objects.get(pk=data["span"]["id"])
    assert (stored.layer_id, stored.quote) == (world.alice_layer.pk, text[0:17])


def test_first_span_puts_the_assignment_in_progress(world, api):
    api(world.cast.alice).post(
        spans_url(world.alice_layer), {"label": "claim", "start": 0, "end": 5}, format="json"
    )

    assignment = Assignment.objects.get(document=world.document, annotator=world.cast.alice)
    assert assignment.status == AssignmentStatus.IN_PROGRESS
    assert assignment.started_at is not None


def test_persian_span_offsets_are_code_points_not_bytes(world, api):
    text = world.document.text
    start = text.index("مقاومت")
    end = start + len("مقاومت")
    assert len(text[:start].encode()) != start  # bytes and code points differ here

    response = api(world.cast.alice).post(
        spans_url(world.alice_layer),
        {
            "label": "sentiment",
            "start": start,
            "end": end,
            "attrs": {"polarity": "positive"},
            "quote": "مقاومت",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["span"]["quote"] == "مقاومت"
    byte_start = len(text[:start].encode())
    wrong = api(world.cast.alice).post(
        spans_url(world.alice_layer),
        {"label": "claim", "start": byte_start, "end": byte_start + 6, "quote": "مقاومت"},
        format="json",
    )
    assert wrong.status_code == 400
    assert list(wrong.json()) == ["quote"]


def test_curly_quotes_in_the_persian_seed_are_one_code_point_each(world, api):
    text = world.document.text
    start = text.index("’")
    response = api(world.cast.alice).post(
        spans_url(world.alice_layer),
        {"label": "claim", "start": 0, "end": start + 2, "quote": text[: start + 2]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["span"]["quote"] == "Afghanistan’s"


def test_span_after_an_emoji_and_a_flag_is_counted_in_code_points(world, api):
    text = world.emoji.text
    layer = world.emoji.layers.get(annotator=world.cast.alice)
    start = text.index("کتاب")
    utf16_start = len(text[:start].encode("utf-16-le")) // 2
    assert utf16_start == start + 3  # the emoji and the flag's two code points

    response = api(world.cast.alice).post(
        spans_url(layer),
        {"label": "claim", "start": start, "end": start + 4, "quote": "کتاب"},
        format="json",
    )
    emoji_span = api(world.cast.alice).post(
        spans_url(layer),
        {"label": "claim", "start": 6, "end": 7, "quote": "😀"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert emoji_span.status_code == 201, emoji_span.json()
    layer_body = api(world.cast.alice).get(f"/api/layers/{layer.pk}/").json()
    assert sorted(s["quote"] for s in layer_body["spans"]) == sorted(["کتاب", "😀"])


def test_a_quote_with_surrounding_whitespace_is_kept_as_sent(world, api):
    text = world.document.text
    start = text.index(" President")
    response = api(world.cast.alice).post(
        spans_url(world.alice_layer),
        {"label": "claim", "start": start, "end": start + 10, "quote": " President"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["span"]["quote"] == " President"


def test_annotator_changes_a_span_label_offsets_and_attributes(world, api):
    client = api(world.cast.alice)
    created = client.post(
        spans_url(world.alice_layer), {"label": "claim", "start": 0, "end": 11}, format="json"
    ).json()
    span_id = created["span"]["id"]

    response = client.patch(
        f"{spans_url(world.alice_layer)}{span_id}/",
        {"label": "source", "end": 12, "attrs": {"kind": "media"}, "version": created["version"]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["version"] == created["version"] + 1
    span = response.json()["span"]
    assert (span["label"], span["start"], span["end"], span["attrs"]) == (
        "source",
        0,
        12,
        {"kind": "media"},
    )
    assert span["quote"] == world.document.text[0:12]


def test_annotator_deletes_a_span_with_the_version_in_the_query(world, api):
    client = api(world.cast.alice)
    created = client.post(
        spans_url(world.alice_layer), {"label": "claim", "start": 0, "end": 11}, format="json"
    ).json()

    response = client.delete(
        f"{spans_url(world.alice_layer)}{created['span']['id']}/?version={created['version']}"
    )

    assert response.status_code == 200
    assert response.json() == {"version": created["version"] + 1}
    assert not Span.objects.filter(pk=created["span"]["id"]).exists()


def test_a_span_of_another_layer_is_not_found_through_this_one(world, api):
    bob_span = (
        api(world.cast.bob)
        .post(spans_url(world.bob_layer), {"label": "claim", "start": 0, "end": 11}, format="json")
        .json()["span"]
    )

    response = api(world.cast.alice).delete(f"{spans_url(world.alice_layer)}{bob_span['id']}/")

    assert response.status_code == 404
    assert Span.objects.filter(pk=bob_span["id"]).exists()


@pytest.mark.parametrize("body", [{}, {"version": 2}])
def test_a_patch_that_changes_nothing_is_400_and_leaves_the_version(world, api, body):
    client = api(world.cast.alice)
    created = client.post(
        spans_url(world.alice_layer), {"label": "claim", "start": 0, "end": 11}, format="json"
    ).json()

    response = client.patch(
        f"{spans_url(world.alice_layer)}{created['span']['id']}/", body, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": ["nothing to change"]}
    assert Layer.objects.get(pk=world.alice_layer.pk).version == created["version"]
