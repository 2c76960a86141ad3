from __future__ import annotations

import re

from annotations.exporters.base import safe_name
from annotations.interchange import DocumentRecord
from tests.exporters.conftest import Export, all_layers, labelled_card, layer_spans


def parse_ann(text: str, *, normalisations: bool = False) -> tuple[dict, list, list]:
    """A parser of brat .ann lines: T (with fragments), A, R and (when asked) N, whose
    reference must name an entity line."""
    entities: dict[str, tuple[str, list[tuple[int, int]], str]] = {}
    attributes = []
    relations = []
    for line in text.splitlines():
        ident, body, *rest = line.split("\t")
        if ident.startswith("T"):
            label, offsets = body.split(" ", 1)
            fragments = [tuple(map(int, part.split())) for part in offsets.split(";")]
            entities[ident] = (label, fragments, rest[0])
        elif ident.startswith("A"):
            attributes.append(tuple(body.split(" ")))
        elif ident.startswith("R"):
            match = re.fullmatch(r"(\S+) Arg1:(T\d+) Arg2:(T\d+)", body)
            assert match, line
            relations.append(match.groups())
        elif normalisations and ident.startswith("N"):
            match = re.fullmatch(r"Reference (T\d+) catalogue:(\S+)", body)
            assert match, line
            assert match[1] in entities, line
            assert rest == [match[2]], line
        else:
            raise AssertionError(f"unexpected line {line!r}")
    return entities, attributes, relations


def test_brat_spans_cover_the_same_characters(
    export: Export, records: list[DocumentRecord]
) -> None:
    archive, stats = export("brat")
    assert not stats.problems
    for record in records:
        for key in all_layers(record):
            base = f"brat/{key}/{safe_name(record.id)}"
            # newline="" : brat's offsets count every character of the file as Python reads it
            text = archive.read(f"{base}.txt").decode("utf-8")
            assert text == record.text
            entities, _, _ = parse_ann(archive.read(f"{base}.ann").decode("utf-8"))
            read = []
            for label, fragments, covered in entities.values():
                assert covered == " ".join(text[s:e] for s, e in fragments)
                read.append((fragments[0][0], fragments[-1][1], label))
            assert sorted(read) == layer_spans(record, key)


def test_brat_writes_line_breaks_as_fragments(export: Export, records: list) -> None:
    archive, _ = export("brat")
    entities, _, _ = parse_ann(archive.read("brat/gold/000.ann").decode())
    (multi,) = [fragments for _l, fragments, _c in entities.values() if len(fragments) > 1]
    for start, end in multi:
        assert "\n" not in records[0].text[start:end]


def test_brat_keeps_attributes_and_relations(export: Export) -> None:
    archive, _ = export("brat")
    entities, attributes, relations = parse_ann(
        archive.read(f"brat/gold/{safe_name('emoji/flags 1')}.ann").decode()
    )
    assert ("kind", "T3", "anonymous") in attributes or any(
        a[0] == "kind" and entities[a[1]][0] == "source" and a[2] == "anonymous" for a in attributes
    )
    ((kind, head, tail),) = relations
    assert kind == "attributed_to"
    assert entities[head][0] == "claim"
    assert entities[tail][0] == "source"
    conf = archive.read("brat/annotation.conf").decode()
    assert "[entities]\nclaim\nsource\nsentiment\n" in conf
    assert "attributed_to\tArg1:<ENTITY>, Arg2:<ENTITY>" in conf
    assert "polarity\tArg:sentiment, Value:positive|negative|neutral" in conf


def test_brat_reports_carriage_returns(export: Export) -> None:
    record = DocumentRecord(id="cr", text="one\r\ntwo", gold=[])
    _archive, stats = export("brat", source=[record])
    assert stats.problems["carriage_return"] == 1


def test_brat_writes_document_labels_to_a_side_file(
    export: Export, labelled: list[DocumentRecord]
) -> None:
    archive, _ = export("brat", card=labelled_card(), source=labelled)
    rows = archive.read("brat/gold/document_labels.tsv").decode().splitlines()
    assert rows[0] == "document\tlabel\tvalue"
    assert sorted(rows[1:]) == sorted(f"{record.id}\tstance\trefutes" for record in labelled)
    for record in labelled:
        # The .ann files stay what brat parses: no line for a document label.
        ann = archive.read(f"brat/gold/{safe_name(record.id)}.ann").decode()
        assert "stance" not in ann
        parse_ann(ann)


def test_brat_gold_folder_holds_only_documents_with_gold(export: Export, gold_states) -> None:
    archive, _ = export("brat", source=gold_states)
    gold_files = sorted(n for n in archive.namelist() if n.startswith("brat/gold/"))

    assert gold_files == [
        "brat/gold/adjudicated-empty.ann",
        "brat/gold/adjudicated-empty.txt",
        "brat/gold/final.ann",
        "brat/gold/final.txt",
    ]
    assert parse_ann(archive.read("brat/gold/adjudicated-empty.ann").decode()) == ({}, [], [])
    entities, attributes, relations = parse_ann(archive.read("brat/gold/final.ann").decode())
    assert sorted(label for label, _, _ in entities.values()) == ["claim", "source"]
    assert (attributes, len(relations)) == ([("kind", "T1", "person")], 1)
    assert "brat/annotators/alice/never-adjudicated.ann" in archive.namelist()
