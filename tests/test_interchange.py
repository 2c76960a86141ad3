from __future__ import annotations

import json
import subprocess
import sys

import pytest

from annotations.interchange import (
    DocumentRecord,
    InterchangeError,
    Relation,
    Span,
    dump_record,
    parse_line,
)
from tests.conftest import FIXTURES


def test_absent_and_empty_annotators_survive_a_round_trip():
    line = json.dumps({"id": "1", "text": "abc", "annotations": {"bob": []}})

    record = parse_line(line)

    assert record.annotations == {"bob": []}
    assert "alice" not in record.annotations
    assert parse_line(dump_record(record)) == record


def test_dump_is_canonical_fixed_keys_sorted_spans_unescaped_utf8():
    record = DocumentRecord(
        id="fa",
        text="مقاومت 😀",
        meta={"z": 1, "a": 2},
        annotations={"bob": [Span(7, 8, "claim"), Span(0, 6, "source", {"kind": "person"})]},
        relations={"bob": [Relation("attributed_to", 0, 1)]},
    )

    line = dump_record(record)

    assert line.endswith("\n")
    assert "مقاومت 😀" in line  # not \u escapes
    decoded = json.loads(line)
    assert list(decoded) == [
        "id",
        "text",
        "meta",
        "annotations",
        "relations",
        "gold",
        "gold_relations",
    ]
    assert list(decoded["meta"]) == ["a", "z"]
    # Spans sorted by offset; the relation follows its spans to their new indexes.
    assert [s["start"] for s in decoded["annotations"]["bob"]] == [0, 7]
    assert decoded["relations"]["bob"] == [{"type": "attributed_to", "head": 1, "tail": 0}]


def test_fixture_file_dumps_back_to_itself_after_one_canonical_pass():
    lines = (FIXTURES / "persian_and_emoji.jsonl").read_text(encoding="utf-8").splitlines()
    canonical = [dump_record(parse_line(line)) for line in lines]

    assert [dump_record(parse_line(line)) for line in canonical] == canonical


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        ({"id": "", "text": "x"}, "id", "must be a non-empty string"),
        (
            {
                "id": "1",
                "text": "x",
                "annotations": {"a": [{"start": True, "end": 1, "label": "c"}]},
            },
            "annotations.a[0].start",
            "must be an integer",
        ),
        (
            {
                "id": "1",
                "text": "ab",
                "annotations": {"a": [{"start": 0, "end": 1, "label": "c"}]},
                "relations": {"a": [{"type": "t", "head": 0, "tail": 1}]},
            },
            "relations.a[0].tail",
            "must be the index of one of the 1 spans",
        ),
        (
            {"id": "1", "text": "x", "relations": {"ghost": []}},
            "relations.ghost",
            "relations name an annotator with no annotations",
        ),
        ({"id": "1", "text": "x", "colour": "red"}, None, "unknown keys ['colour']"),
    ],
)
def test_malformed_records_name_the_field_and_reason(raw, field, reason):
    with pytest.raises(InterchangeError) as raised:
        parse_line(json.dumps(raw), 7)

    assert (raised.value.line, raised.value.field, raised.value.reason) == (7, field, reason)


def test_interchange_module_does_not_import_django():
    code = "import sys, annotations.interchange; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"
