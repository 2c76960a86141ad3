"""Each rule of docs/offsets.md refuses a bad span with 400, the field and the reason,
and writes nothing."""

from __future__ import annotations

import pytest

from annotations.models import Layer, Span

pytestmark = pytest.mark.django_db

LENGTH = 3528  # code points in seed 000 (3609 bytes)

C, SRC, SENT = "claim", "source", "sentiment"

# label           start   end         attrs                 quote           field, reason (part)
CASES = [
    (C,               -1,     5,          None,                 None,           "start",
     "must be 0 or more"),
    (C,               5,      5,          None,                 None,           "end",
     "must be greater than start"),
    (C,               9,      5,          None,                 None,           "end",
     "must be greater than start"),
    (C,               0,      LENGTH + 1, None,                 None,           "end",
     f"must be at most the text's length ({LENGTH} code points)"),
    (C,               3609,   3610,       None,                 None,           "end",
     "must be at most the text's length"),
    ("rumour",        0,      5,          None,                 None,           "label",
     "unknown label 'rumour'"),
    ("attributed_to", 0,      5,          None,                 None,           "label",
     "unknown label 'attributed_to'"),
    (SRC,             0,      5,          {"colour": "red"},    None,           "attrs.colour",
     "is not an attribute of this label"),
    (SENT,            0,      5,          {"polarity": "bad"},  None,           "attrs.polarity",
     "'bad' is not one of: positive, negative, neutral"),
    (C,               0,      11,         None,                 "Afghanistan’", "quote",
     "does not match the text at [0, 11): expected 'Afghanistan'"),
    (C,               "zero", 5,          None,                 None,           "start",
     "must be a whole number"),
    (C,               0,      5,          ["x"],                None,           "attrs",
     "dictionary"),
    (None,            0,      5,          None,                 None,           "label",
     "required"),
]  # fmt: skip


def span_body(label, start, end, attrs, quote):
    body = {"label": label, "start": start, "end": end, "attrs": attrs, "quote": quote}
    return {key: value for key, value in body.items() if value is not None}


@pytest.mark.parametrize(("label", "start", "end", "attrs", "quote", "field", "reason"), CASES)
def test_bad_span_is_refused_with_the_field_and_the_reason(
    world, api, label, start, end, attrs, quote, field, reason
):
    body = span_body(label, start, end, attrs, quote)
    response = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/", body, format="json"
    )

    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert any(reason in message for message in errors[field]), errors
    assert not Span.objects.exists()
    assert Layer.objects.get(pk=world.alice_layer.pk).version == 1


def test_version_below_one_is_refused(world, api):
    response = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "claim", "start": 0, "end": 5, "version": 0},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["version"]


@pytest.mark.parametrize(("label", "start", "end", "attrs", "quote", "field", "reason"), CASES[:10])
def test_bad_change_to_a_span_is_refused_and_the_span_stays(
    world, api, label, start, end, attrs, quote, field, reason
):
    body = span_body(label, start, end, attrs, quote)
    client = api(world.cast.alice)
    url = f"/api/layers/{world.alice_layer.pk}/spans/"
    span = client.post(url, {"label": "claim", "start": 0, "end": 11}, format="json").json()["span"]

    response = client.patch(f"{url}{span['id']}/", body, format="json")

    assert response.status_code == 400
    assert any(reason in message for message in response.json()[field]), response.json()
    stored = Span.objects.get(pk=span["id"])
    assert (stored.label.name, stored.start, stored.end) == ("claim", 0, 11)


def test_the_quote_of_an_unchanged_span_is_checked_against_its_offsets(world, api):
    client = api(world.cast.alice)
    url = f"/api/layers/{world.alice_layer.pk}/spans/"
    span = client.post(url, {"label": "claim", "start": 0, "end": 11}, format="json").json()["span"]

    response = client.patch(f"{url}{span['id']}/", {"quote": "Saleh"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "quote": ["does not match the text at [0, 11): expected 'Afghanistan'"]
    }


def test_a_long_expected_quote_is_shortened_in_the_message(world, api):
    response = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "claim", "start": 0, "end": 500, "quote": "x"},
        format="json",
    )

    (message,) = response.json()["quote"]
    assert message.endswith("…'")
    assert len(message) < 160


def test_every_problem_of_a_span_is_reported_at_once(world, api):
    response = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {
            "label": "source",
            "start": 0,
            "end": 11,
            "attrs": {"kind": "alien", "x": "y"},
            "quote": "nope",
        },
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()) == {"attrs.kind", "attrs.x", "quote"}


def test_bad_offsets_and_an_unknown_label_are_reported_together(world, api):
    response = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/",
        {"label": "rumour", "start": 0, "end": LENGTH + 1},
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"end", "label"}
    assert errors["label"][0].startswith("unknown label 'rumour'")


def test_a_body_that_is_not_json_is_a_400_with_a_reason(world, api):
    response = api(world.cast.alice).post(
        f"/api/layers/{world.alice_layer.pk}/spans/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"][0]
