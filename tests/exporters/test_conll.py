from __future__ import annotations

import json
import zipfile

import pytest

from annotations.exporters.base import ExportOptions
from annotations.exporters.tokens import document_tokens, tokenize
from annotations.interchange import DocumentRecord
from tests.exporters.conftest import Export, all_layers, labelled_card, layer_spans


def read_conll(text: str) -> dict[str, list[tuple[int, int, str]]]:
    """A CoNLL BIO reader: rebuilds each document's spans from B-/I- runs per column."""
    columns: list[str] = []
    spans: dict[str, list[tuple[int, int, str]]] = {}
    doc_id = None
    open_spans: dict[int, list[int]] = {}

    def close(column: int) -> None:
        start, end = open_spans.pop(column)
        assert doc_id is not None
        spans[doc_id].append((start, end, columns[column]))

    for line in text.split("\n"):
        if line.startswith("# columns = "):
            columns = line.removeprefix("# columns = ").split()[3:]
        elif line.startswith("# doc_id = "):
            doc_id = line.removeprefix("# doc_id = ")
            spans[doc_id] = []
        elif line.startswith("#"):
            continue
        elif not line:
            for column in list(open_spans):
                close(column)
        else:
            _token, start, end, *tags = line.split("\t")
            assert len(tags) == len(columns)
            for column, tag in enumerate(tags):
                if tag.startswith("I-") and column in open_spans:
                    open_spans[column][1] = int(end)
                    continue
                if column in open_spans:
                    close(column)
                if tag.startswith("B-"):
                    assert tag[2:] == columns[column]
                    open_spans[column] = [int(start), int(end)]
    return {doc: sorted(found) for doc, found in spans.items()}


def report(archive: zipfile.ZipFile) -> list[dict]:
    if "report.jsonl" not in archive.namelist():
        return []
    return [json.loads(line) for line in archive.read("report.jsonl").decode().splitlines()]


def test_conll_spans_read_back_cover_the_same_characters(
    export: Export, records: list[DocumentRecord]
) -> None:
    archive, _ = export("conll")
    left_out = {
        (entry["document"], entry["layer"], entry["start"], entry["end"])
        for entry in report(archive)
        if "start" in entry
    }
    for key in all_layers(records[0]):
        read = read_conll(archive.read(f"conll/{key}.conll").decode())
        for record in records:
            if key != "gold" and key.split("/")[1] not in record.annotations:
                assert record.id not in read  # absent annotator: no block at all
                continue
            name = key.split("/")[-1]
            expected = [
                span
                for span in layer_spans(record, key)
                if (record.id, name, span[0], span[1]) not in left_out
            ]
            assert read[record.id] == expected
            for start, end, _label in read[record.id]:
                assert record.text[start:end]  # code points, straight from Python
    # The only spans left out are same-label overlaps, and they are reported.
    assert {entry["kind"] for entry in report(archive)} == {"token_split", "overlaps_same_label"}


def test_conll_tokens_are_the_document_characters(
    export: Export, records: list[DocumentRecord]
) -> None:
    archive, _ = export("conll", ExportOptions(alignment="strict"))
    text = archive.read("conll/gold.conll").decode()
    by_doc = {r.id: r for r in records}
    doc = None
    tokens = []
    for line in text.split("\n"):
        if line.startswith("# doc_id = "):
            doc = by_doc[line.removeprefix("# doc_id = ")]
        elif line and not line.startswith("#"):
            token, start, end, *_ = line.split("\t")
            assert doc is not None
            assert doc.text[int(start) : int(end)] == token
            tokens.append(token)
    assert "🇦🇫" in tokens
    assert "👩\u200d👩\u200d👧" in tokens
    assert "مستعار" in tokens


def test_strict_alignment_reports_a_span_inside_a_token_instead_of_moving_it(
    export: Export, records: list[DocumentRecord]
) -> None:
    archive, _ = export("conll", ExportOptions(alignment="strict"))
    entries = [e for e in report(archive) if e["kind"] == "span_not_on_token_edges"]
    talib = [e for e in entries if e["document"] == "000" and e["layer"] == "gold"]
    assert len(talib) == 1
    assert records[0].text[talib[0]["start"] : talib[0]["end"]] == "Talib"
    read = read_conll(archive.read("conll/gold.conll").decode())
    assert (talib[0]["start"], talib[0]["end"], "source") not in read["000"]
    assert all(not (start < talib[0]["end"] < end) for start, end, _ in read["000"])


def test_split_alignment_cuts_the_token_and_keeps_the_span(
    export: Export, records: list[DocumentRecord]
) -> None:
    archive, _ = export("conll", ExportOptions(alignment="split"))
    (cut,) = [e for e in report(archive) if e["kind"] == "token_split"]
    assert records[0].text[cut["offset"] - 5 : cut["offset"] + 1] == "Talibs"
    read = read_conll(archive.read("conll/gold.conll").decode())
    assert any(records[0].text[s:e] == "Talib" for s, e, _ in read["000"])


@pytest.mark.parametrize(
    ("mode", "kind", "covered"),
    [("expand", "span_moved", "Talibs"), ("contract", "span_not_on_token_edges", None)],
)
def test_moving_alignments_report_each_span_they_move_or_drop(
    export: Export, records: list[DocumentRecord], mode: str, kind: str, covered: str | None
) -> None:
    archive, _ = export("conll", ExportOptions(alignment=mode))
    (entry,) = [e for e in report(archive) if e["kind"] == kind and e["layer"] == "gold"]
    assert records[0].text[entry["start"] : entry["end"]] == "Talib"
    read = read_conll(archive.read("conll/gold.conll").decode())
    if covered:
        start, end = entry["moved_to"]
        assert records[0].text[start:end] == covered
        assert (start, end, "source") in read["000"]


def test_tokeniser_keeps_graphemes_and_persian_words_whole() -> None:
    text = "a🇦🇫b می‌خواهم e\u0301!"
    assert [text[s:e] for s, e in tokenize(text)] == [
        "a",
        "🇦🇫",
        "b",
        "می\u200cخواهم",
        "e\u0301",
        "!",
    ]


def test_conll_starts_each_document_with_its_document_labels(
    export: Export, labelled: list[DocumentRecord]
) -> None:
    archive, _ = export("conll", card=labelled_card(), source=labelled)
    for key in ("gold", *(f"annotators/{name}" for name in labelled[0].document_labels)):
        text = archive.read(f"conll/{key}.conll").decode()
        comments: dict[str, list[str]] = {}
        doc_id = ""
        for line in text.split("\n"):
            if line.startswith("# doc_id = "):
                doc_id = line.removeprefix("# doc_id = ")
                comments[doc_id] = []
            elif line.startswith("# ") and doc_id:
                comments[doc_id].append(line)
            elif line:
                doc_id = ""  # past the block's first token: no comment belongs to it
        if key == "gold":
            assert all(found == ["# stance = refutes"] for found in comments.values())
        else:
            first = labelled[0].id
            assert comments[first] == ["# topics = politics", "# topics = security"]


def test_tokeniser_splits_a_clitic_after_an_inner_apostrophe_as_spacy_does() -> None:
    text = "Afghanistan’s 'quoted' don't rock'n'roll’ x"
    assert [text[s:e] for s, e in tokenize(text)] == [
        "Afghanistan",
        "’s",
        "'",
        "quoted",
        "'",
        "don",
        "'t",
        "rock",
        "'n",
        "'roll",
        "’",
        "x",
    ]


@pytest.mark.parametrize("mode", ["strict", "split", "expand", "contract"])
def test_a_span_ending_before_the_apostrophe_is_on_token_edges(mode: str) -> None:
    text = "Afghanistan’s capital"
    index, cuts = document_tokens(text, [0, 11], mode)
    assert cuts == []
    assert index.align(0, 11, mode) == (0, 1)


def test_conll_gold_file_holds_only_documents_with_gold(export: Export, gold_states) -> None:
    archive, _ = export("conll", source=gold_states)

    gold = read_conll(archive.read("conll/gold.conll").decode())

    assert gold["adjudicated-empty"] == []  # adjudicated, nothing to mark: all O
    assert gold["final"] == [(0, 5, "source"), (11, 40, "claim")]
    assert "never-adjudicated" not in gold
    assert "never-adjudicated" in read_conll(archive.read("conll/annotators/alice.conll").decode())
