from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotations.interchange import (
    TOP_LEVEL_KEYS,
    DocumentRecord,
    InterchangeError,
    Relation,
    Span,
    dump_catalogue_record,
    dump_record,
    parse_catalogue_line,
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
    assert list(decoded) == ["id", "text", "meta", "annotations", "relations"]
    assert list(decoded["meta"]) == ["a", "z"]
    # Spans sorted by offset; the relation follows its spans to their new indexes.
    assert [s["start"] for s in decoded["annotations"]["bob"]] == [0, 7]
    assert decoded["relations"]["bob"] == [{"type": "attributed_to", "head": 1, "tail": 0}]


def test_fixture_file_dumps_back_to_itself_after_one_canonical_pass():
    lines = (FIXTURES / "persian_and_emoji.jsonl").read_text(encoding="utf-8").splitlines()
    canonical = [dump_record(parse_line(line)) for line in lines]

    assert [dump_record(parse_line(line)) for line in canonical] == canonical


def test_document_labels_keep_their_place_in_the_canonical_form_and_are_left_out_when_empty():
    line = json.dumps(
        {
            "id": "1",
            "text": "abc",
            "annotations": {"bob": [], "alice": []},
            "gold": [],
            "gold_document_labels": {"stance": ["refutes"], "topics": []},
            "document_labels": {"bob": {"topics": ["security", "politics"]}, "alice": {}},
        }
    )

    record = parse_line(line)
    decoded = json.loads(dump_record(record))

    assert record.document_labels == {"bob": {"topics": ["politics", "security"]}}
    assert list(decoded) == list(TOP_LEVEL_KEYS)  # every key, in the fixed order
    assert decoded["document_labels"] == {"bob": {"topics": ["politics", "security"]}}
    assert decoded["gold_document_labels"] == {"stance": ["refutes"]}
    assert parse_line(dump_record(record)) == record
    assert "document_labels" not in json.loads(dump_record(DocumentRecord(id="2", text="x")))


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        (
            {"id": "1", "text": "x", "document_labels": {"ghost": {"stance": ["refutes"]}}},
            "document_labels.ghost",
            "names an annotator with no annotations",
        ),
        (
            {
                "id": "1",
                "text": "x",
                "annotations": {"bob": []},
                "document_labels": {"bob": {"stance": "refutes"}},
            },
            "document_labels.bob.stance",
            "must be a list of non-empty strings",
        ),
        (
            {"id": "1", "text": "x", "gold": [], "gold_document_labels": {"stance": ["a", "a"]}},
            "gold_document_labels.stance",
            "the same value appears twice",
        ),
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
        (
            {"id": "1", "text": "x", "gold": [], "gold_state": "done"},
            "gold_state",
            "must be one of in_progress, final",
        ),
        (
            {"id": "1", "text": "x", "gold_state": "final"},
            "gold_state",
            "is given but the line has no gold key",
        ),
        (
            {"id": "1", "text": "x", "gold_document_labels": {"stance": ["refutes"]}},
            "gold_document_labels",
            "is given but the line has no gold key",
        ),
    ],
)
def test_malformed_records_name_the_field_and_reason(raw, field, reason):
    with pytest.raises(InterchangeError) as raised:
        parse_line(json.dumps(raw), 7)

    assert (raised.value.line, raised.value.field, raised.value.reason) == (7, field, reason)


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        (
            '{"id": "1", "text": "x\\u0000y"}',
            "text",
            "holds a NUL character (U+0000) at position 1",
        ),
        ('{"id": "1\\u0000", "text": "x"}', "id", "holds a NUL character (U+0000) at position 1"),
        (
            '{"id": "1", "text": "x", "meta": {"k\\u0000": 1}}',
            "meta",
            "a key holds a NUL character (U+0000) at position 1",
        ),
        (
            '{"id": "1", "text": "x", "meta": {"k": "v\\u0000"}}',
            "meta.k",
            "holds a NUL character (U+0000) at position 1",
        ),
        (
            '{"id": "1", "text": "\\ud800"}',
            "text",
            "holds a lone surrogate (U+D800) at position 0",
        ),
        (
            '{"id": "\\udfff", "text": "x"}',
            "id",
            "holds a lone surrogate (U+DFFF) at position 0",
        ),
        (
            '{"id": "1", "text": "x", "meta": {"k": "\\udfff"}}',
            "meta.k",
            "holds a lone surrogate (U+DFFF) at position 0",
        ),
        (
            '{"id": "1", "text": "x", "annotations": {"al\\u0000ice": []}}',
            "annotations",
            "holds a NUL character (U+0000) at position 2",
        ),
        (
            '{"id": "1", "text": "x", "meta": {"v": NaN}}',
            None,
            "not valid JSON (NaN is not a JSON number)",
        ),
        (
            '{"id": "1", "text": "x", "meta": {"v": -Infinity}}',
            None,
            "not valid JSON (-Infinity is not a JSON number)",
        ),
        (
            '{"id": "1", "text": "x", "meta": {"v": ' + "9" * 5001 + "}}",
            None,
            "not valid JSON (a number has more than 4300 digits)",
        ),
        (
            '{"id": "1", "text": "x", "meta": ' + nested(100_000) + "}",
            None,
            "not valid JSON (nested too deeply)",
        ),
        (
            '{"id": "1", "text": "x", "meta": ' + nested(40) + "}",
            "meta" + ".a" * 33,
            "nested deeper than 32 levels",
        ),
        (
            '{"id": "' + "x" * 201 + '", "text": "x"}',
            "id",
            "must be at most 200 characters (it has 201)",
        ),
    ],
)
def test_what_no_database_can_store_is_refused_with_the_field_and_reason(line, field, reason):
    with pytest.raises(InterchangeError) as raised:
        parse_line(line, 3)

    assert (raised.value.line, raised.value.field, raised.value.reason) == (3, field, reason)


def test_an_emoji_written_as_a_surrogate_pair_escape_is_text_like_any_other():
    record = parse_line('{"id": "1", "text": "\\ud83d\\ude00", "meta": {"m": "\\ud83c\\udde6"}}')

    assert record.text == "😀"
    assert record.meta == {"m": "🇦"}


def test_interchange_module_does_not_import_django():
    code = "import sys, annotations.interchange; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


def test_gold_absent_empty_and_final_are_three_records_and_dump_back_to_themselves():
    lines = (FIXTURES / "gold_states.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)

    records = [parse_line(line) for line in lines]

    assert [record.gold_state for record in records] == [None, "in_progress", "final"]
    assert [len(record.gold) for record in records] == [0, 0, 2]
    assert [dump_record(record) for record in records] == lines
    assert "gold" not in json.loads(lines[0])


def test_a_gold_key_without_a_state_is_gold_in_progress():
    record = parse_line(json.dumps({"id": "1", "text": "x", "gold": []}))

    assert record.gold_state == "in_progress"
    assert json.loads(dump_record(record))["gold_state"] == "in_progress"


def test_links_and_catalogue_entries_survive_a_round_trip():
    line = (
        '{"id": "a", "text": "Saleh fled", "meta": {}, "annotations": {"alice": ['
        '{"start": 0, "end": 5, "label": "source", "attrs": {}, "entry": "saleh"}, '
        '{"start": 0, "end": 10, "label": "claim", "attrs": {}, "entry": "saleh-fled", '
        '"stance": "asserts"}]}, "relations": {}}\n'
    )
    assert dump_record(parse_line(line)) == line
    entry = (
        '{"key": "saleh", "kind": "source", "name": "Amrullah Saleh", '
        '"source_kind": "person", "description": "", "status": "approved"}\n'
    )
    assert dump_catalogue_record(parse_catalogue_line(entry)) == entry
    with pytest.raises(InterchangeError) as error:
        parse_line(line.replace('"entry": "saleh-fled", ', ""))
    assert error.value.field == "annotations.alice[1].stance"
    with pytest.raises(InterchangeError) as error:
        parse_catalogue_line(entry.replace('"source"', '"person"', 1), 3)
    assert (error.value.line, error.value.field) == (3, "kind")


# What a database can store: no NUL, no lone surrogate.
_characters = st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")
_texts = st.text(_characters)
_names = st.text(_characters, min_size=1, max_size=20).filter(str.strip)
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_texts, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def _records(draw: st.DrawFn) -> DocumentRecord:
    text = draw(st.text(_characters, min_size=1, max_size=12))
    shared_attrs = draw(st.dictionaries(_texts, _values, max_size=3))

    def spans() -> list[Span]:
        found = []
        for _ in range(draw(st.integers(0, 5))):
            start = draw(st.integers(0, len(text) - 1))
            end = draw(st.integers(start + 1, len(text)))
            label = draw(st.sampled_from(["claim", "source", "çé 😀", 'a"b']))
            # Records share attribute dicts, as the selector's do; some are their own.
            attrs = draw(st.sampled_from([{}, shared_attrs]) | st.dictionaries(_texts, _values))
            entry = draw(st.none() | st.sampled_from(["saleh", "fled"]))
            stance = draw(st.sampled_from(["", "asserts"])) if entry else ""
            found.append(Span(start, end, label, attrs, entry, stance))
        return found

    def relations(count: int) -> list[Relation]:
        if count < 2:
            return []
        pairs = st.tuples(st.integers(0, count - 1), st.integers(0, count - 1))
        chosen = draw(st.lists(pairs.filter(lambda pair: pair[0] != pair[1]), max_size=2))
        return [Relation("attributed_to", head, tail) for head, tail in chosen]

    annotations = {name: spans() for name in draw(st.sets(st.sampled_from(["bob", "alice", "é"])))}
    record = DocumentRecord(
        id=draw(_names),
        text=text,
        meta=draw(st.dictionaries(_texts, _values, max_size=3)),
        annotations=annotations,
        relations={name: relations(len(found)) for name, found in annotations.items()},
        document_labels={
            name: draw(
                st.dictionaries(st.sampled_from(["stance", "topic"]), st.lists(_names, unique=True))
            )
            for name in annotations
        },
    )
    if draw(st.booleans()):
        record.gold_state = draw(st.sampled_from(["in_progress", "final"]))
        record.gold = spans()
        record.gold_relations = relations(len(record.gold))
        record.gold_document_labels = draw(
            st.dictionaries(st.sampled_from(["stance"]), st.lists(_names, unique=True))
        )
    return record


@settings(max_examples=300)
@given(_records())
def test_a_dumped_line_is_what_json_writes_for_it_and_reads_back_to_itself(record):
    line = dump_record(record)

    assert line == json.dumps(json.loads(line), ensure_ascii=False) + "\n"
    decoded = json.loads(line)
    assert list(decoded) == [key for key in TOP_LEVEL_KEYS if key in decoded]
    for spans in [*decoded["annotations"].values(), decoded.get("gold", [])]:
        assert [(s["start"], s["end"], s["label"]) for s in spans] == sorted(
            (s["start"], s["end"], s["label"]) for s in spans
        )
        for span in spans:
            assert list(span) == ["start", "end", "label", "attrs", "entry", "stance"][: len(span)]
            assert list(span["attrs"]) == sorted(span["attrs"]) or len(span["attrs"]) < 2
    assert dump_record(parse_line(line)) == line
