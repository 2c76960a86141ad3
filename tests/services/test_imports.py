from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from annotations.models import (
    Assignment,
    AssignmentStatus,
    AuditEvent,
    Document,
    DocumentLabel,
    LabelType,
    Layer,
    LayerStatus,
    Relation,
    Span,
)
from annotations.services.imports import ImportRejected, import_file
from tests.conftest import FIXTURES, SEEDS
from tests.factories import DocumentLabelTypeFactory

pytestmark = pytest.mark.django_db

PERSIAN = "اینجا اسم مستعار همه ی ما مقاومت است"


def jsonl(*records: dict) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def test_persian_seed_imports_with_its_length_in_code_points(cast, seed_text):
    seed = next(SEEDS.glob("000_*.txt"))
    import_file(project=cast.project, filename=seed.name, data=seed.read_bytes())

    document = Document.objects.get(project=cast.project)
    assert document.external_id == seed.stem
    assert document.text == seed_text
    assert len(document.text) == 3528
    assert len(document.text.encode()) == 3609  # bytes would be the wrong unit


def test_interchange_import_creates_annotators_layers_spans_relations_and_gold(cast, seed_text):
    data = (FIXTURES / "persian_and_emoji.jsonl").read_bytes()
    summary = import_file(project=cast.project, filename="corpus.jsonl", data=data)

    assert summary.documents == 2
    assert summary.annotators == {"alice", "bob"}
    # alice and bob existed already (the cast); nobody new was made.
    assert summary.created_users == []
    document = Document.objects.get(project=cast.project, external_id="000")
    layers = Layer.objects.filter(document=document)
    assert {(layer.annotator and layer.annotator.username, layer.is_gold) for layer in layers} == {
        ("alice", False),
        ("bob", False),
        (None, True),
    }
    assert all(layer.status == LayerStatus.SUBMITTED for layer in layers.filter(is_gold=False))
    assert (
        Assignment.objects.filter(document=document, status=AssignmentStatus.SUBMITTED).count() == 2
    )
    gold = layers.get(is_gold=True)
    assert Relation.objects.get(layer=gold).head.label.name == "claim"


def test_persian_span_keeps_its_code_point_offsets(cast, seed_text):
    data = (FIXTURES / "persian_and_emoji.jsonl").read_bytes()
    import_file(project=cast.project, filename="corpus.jsonl", data=data)

    start = seed_text.index(PERSIAN)
    span = Span.objects.get(
        layer__annotator__username="alice",
        layer__document__external_id="000",
        label__name="sentiment",
    )
    assert (span.start, span.end) == (start, start + len(PERSIAN))
    assert span.quote == PERSIAN == seed_text[span.start : span.end]
    assert span.attributes == {"polarity": "positive"}


def test_annotator_with_empty_list_gets_an_empty_submitted_layer_and_absent_one_none(cast):
    data = (FIXTURES / "persian_and_emoji.jsonl").read_bytes()
    import_file(project=cast.project, filename="corpus.jsonl", data=data)

    layers = Layer.objects.filter(document__external_id="emoji-1", is_gold=False)
    bob = layers.get(annotator__username="bob")
    assert bob.status == LayerStatus.SUBMITTED
    assert not bob.spans.exists()
    assert not layers.filter(annotator__username="reviewer").exists()


def test_unknown_annotators_become_accounts_without_a_usable_password(cast):
    record = {"id": "x", "text": "Saleh said so.", "annotations": {"carol": []}}
    summary = import_file(project=cast.project, filename="a.jsonl", data=jsonl(record))

    carol = get_user_model().objects.get(username="carol")
    assert summary.created_users == ["carol"]
    assert not carol.has_usable_password()
    assert carol.memberships.get(project=cast.project).role == "annotator"


def test_csv_import_takes_text_id_and_meta_columns(cast):
    data = b'id,text,outlet\n001,"Saleh said, ""I am here.""",TASS\n002,"Two\nlines",\n'
    import_file(project=cast.project, filename="news.csv", data=data)

    first, second = Document.objects.filter(project=cast.project).order_by("external_id")
    assert (first.external_id, first.text, first.meta) == (
        "001",
        'Saleh said, "I am here."',
        {"outlet": "TASS"},
    )
    assert (second.text, second.meta) == ("Two\nlines", {})


def test_import_is_written_to_the_audit_trail(cast):
    import_file(project=cast.project, filename="one.txt", data=b"Saleh spoke.", actor=cast.manager)

    event = AuditEvent.objects.get(project=cast.project, action="import")
    assert event.actor == cast.manager
    assert event.after["documents"] == 1


GOOD = {"id": "ok", "text": "Saleh said he is in Panjshir."}


def span(start, end, label="claim", attrs=None):
    return {"start": start, "end": end, "label": label, "attrs": attrs or {}}


BAD_INPUTS = [
    pytest.param(
        "c.jsonl", jsonl(GOOD) + b"{not json\n", "c.jsonl, line 2: not valid JSON", id="not-json"
    ),
    pytest.param(
        "c.jsonl",
        jsonl(GOOD, {"id": "b", "text": "abc", "annotations": {"alice": [span(0, 4)]}}),
        "line 2: annotations.alice[0].end: must be at most the text's length (3 code points)",
        id="end-past-text",
    ),
    pytest.param(
        "c.jsonl",
        jsonl({"id": "b", "text": "abc", "annotations": {"alice": [span(2, 2)]}}),
        "line 1: annotations.alice[0].end: must be greater than start",
        id="empty-span",
    ),
    pytest.param(
        "c.jsonl",
        jsonl({"id": "b", "text": "abc", "gold": [span(-1, 2)]}),
        "line 1: gold[0].start: must be 0 or more",
        id="negative-start",
    ),
    pytest.param(
        "c.jsonl",
        jsonl({"id": "b", "text": "abc", "annotations": {"alice": [span(0, 2, "rumour")]}}),
        "line 1: document 'b': annotations.alice[0].label: unknown label 'rumour'",
        id="unknown-label",
    ),
    pytest.param(
        "c.jsonl",
        jsonl(
            {
                "id": "b",
                "text": "abc",
                "annotations": {"alice": [span(0, 2, "sentiment", {"polarity": "angry"})]},
            }
        ),
        "line 1: document 'b': annotations.alice[0].attrs.polarity: 'angry' is not one of",
        id="unknown-attribute-value",
    ),
    pytest.param(
        "c.jsonl",
        jsonl(
            {"id": "b", "text": "abc", "annotations": {"alice": [span(0, 2, "claim", {"x": 1})]}}
        ),
        "annotations.alice[0].attrs.x: is not an attribute of this label",
        id="unknown-attribute",
    ),
    pytest.param(
        "c.jsonl",
        jsonl(
            {
                "id": "b",
                "text": "abcdef",
                "annotations": {"alice": [span(0, 2, "source"), span(3, 5, "claim")]},
                "relations": {"alice": [{"type": "attributed_to", "head": 0, "tail": 1}]},
            }
        ),
        "relations.alice[0].head: attributed_to takes a claim as its head, not a source",
        id="relation-wrong-way-round",
    ),
    pytest.param(
        "c.txt",
        b"Saleh\n" + b"\xff\xfe oops",
        "c.txt, line 2: not UTF-8 (byte 0xff",
        id="not-utf8",
    ),
    pytest.param("c.jsonl", b"  \n\n", "c.jsonl: the file is empty", id="empty-file"),
    pytest.param(
        "c.csv", b"body,outlet\nhello,TASS\n", "c.csv, line 1: no 'text' column", id="csv-no-text"
    ),
    pytest.param(
        "c.jsonl",
        jsonl(GOOD, GOOD),
        "c.jsonl, line 2: document 'ok': the id appears twice",
        id="duplicate-id-in-file",
    ),
    pytest.param("c.pdf", b"%PDF", "c.pdf: unknown file type", id="unknown-type"),
]


@pytest.mark.parametrize(("filename", "data", "message"), BAD_INPUTS)
def test_bad_import_names_file_line_and_reason_and_writes_nothing(cast, filename, data, message):
    users_before = get_user_model().objects.count()

    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename=filename, data=data)

    assert message in raised.value.messages[0]
    assert not Document.objects.filter(project=cast.project).exists()
    assert get_user_model().objects.count() == users_before
    assert not AuditEvent.objects.filter(action="import").exists()


def test_a_bad_line_after_many_good_ones_rolls_back_the_earlier_batches(cast):
    good = [{"id": f"d{i}", "text": "text", "annotations": {"newcomer": []}} for i in range(1200)]
    data = jsonl(*good) + jsonl({"id": "bad", "text": "abc", "gold": [span(0, 9)]})

    with pytest.raises(ImportRejected, match="line 1201"):
        import_file(project=cast.project, filename="big.jsonl", data=data)

    assert not Document.objects.exists()
    assert not get_user_model().objects.filter(username="newcomer").exists()


def test_duplicate_of_a_document_already_in_the_project_is_rejected(cast):
    import_file(project=cast.project, filename="first.jsonl", data=jsonl(GOOD))

    with pytest.raises(ImportRejected, match=r"second.jsonl, line 2: document 'ok' is already"):
        import_file(
            project=cast.project,
            filename="second.jsonl",
            data=jsonl({"id": "new", "text": "x"}, GOOD),
        )
    assert list(Document.objects.values_list("external_id", flat=True)) == ["ok"]


def test_every_bad_line_is_named_not_only_the_first(cast):
    import_file(project=cast.project, filename="first.jsonl", data=jsonl(GOOD))
    data = (
        jsonl({"id": "a", "text": "fine"}, {"id": "b", "text": ""})
        + b"{not json\n"
        + jsonl(GOOD, {"id": "c", "text": "fine too"})
    )

    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename="second.jsonl", data=data)

    assert [(error.line, error.reason) for error in raised.value.errors] == [
        (2, "document 'b': the text is empty"),
        (3, "not valid JSON (Expecting property name enclosed in double quotes)"),
        (4, "document 'ok' is already in the project"),
    ]
    assert raised.value.total == 3
    assert list(Document.objects.values_list("external_id", flat=True)) == ["ok"]


def test_a_csv_is_read_from_a_stream_with_its_byte_order_mark_and_quoted_line_breaks(
    cast, tmp_path
):
    path = tmp_path / "news.csv"
    path.write_bytes(
        b'\xef\xbb\xbfid,text,outlet\r\nn1,"Saleh said:\r\n""I stay.""",TASS\r\nn2,Fled.,\r\n'
    )

    with path.open("rb") as stream:
        summary = import_file(project=cast.project, filename=path.name, data=stream)

    assert summary.documents == 2
    first = Document.objects.get(external_id="n1")
    assert first.text == 'Saleh said:\r\n"I stay."'
    assert first.meta == {"outlet": "TASS"}


@pytest.fixture
def stance(cast) -> LabelType:
    return DocumentLabelTypeFactory(project=cast.project)


def test_document_labels_of_annotators_and_gold_are_imported(cast, stance):
    record = {
        "id": "d",
        "text": "Saleh said so.",
        "annotations": {"alice": [], "bob": []},
        "document_labels": {"alice": {"stance": ["refutes"]}},
        "gold": [],
        "gold_document_labels": {"stance": ["neutral"]},
    }

    import_file(project=cast.project, filename="a.jsonl", data=jsonl(record))

    rows = DocumentLabel.objects.order_by("value").values_list(
        "layer__annotator__username", "layer__is_gold", "label__name", "value"
    )
    assert list(rows) == [(None, True, "stance", "neutral"), ("alice", False, "stance", "refutes")]


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        ({"stance": ["maybe"]}, "document_labels.alice.stance: 'maybe' is not one of"),
        ({"stance": ["refutes", "neutral"]}, "document_labels.alice.stance: takes a single value"),
        ({"mood": ["calm"]}, "document_labels.alice.mood: unknown document label 'mood'"),
        ({"claim": ["x"]}, "document_labels.alice.claim: unknown document label 'claim'"),
    ],
)
def test_document_labels_outside_the_schema_reject_the_file(cast, stance, labels, reason):
    record = {
        "id": "d",
        "text": "Saleh said so.",
        "annotations": {"alice": []},
        "document_labels": {"alice": labels},
    }

    with pytest.raises(ImportRejected) as raised:
        import_file(project=cast.project, filename="a.jsonl", data=jsonl(record))

    assert reason in raised.value.messages[0]
    assert not DocumentLabel.objects.exists()
    assert not Document.objects.filter(project=cast.project).exists()
