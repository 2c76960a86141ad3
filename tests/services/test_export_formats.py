"""Every format, exported from the database, read back by its consumer: the spans cover the
same characters as the Span rows, on seed 000 (Persian, curly quotes) and on a document of
emoji and flags."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from cassis import load_cas_from_xmi, load_typesystem
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from annotations.exporters.base import ExportOptions, safe_name
from annotations.exporters.uima_xmi import SPAN_TYPE
from annotations.interchange import iter_records
from annotations.models import Span
from annotations.services.export_jobs import write_export
from annotations.services.imports import import_file
from tests.exporters.test_brat import parse_ann
from tests.exporters.test_conll import read_conll

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "export_edge_cases.jsonl"
Spans = dict[tuple[str, str], list[tuple[int, int, str]]]  # (document, layer key) -> spans


def database_spans(project) -> Spans:
    found: Spans = {}
    rows = Span.objects.filter(layer__document__project=project).values_list(
        "layer__document__external_id",
        "layer__is_gold",
        "layer__annotator__username",
        "start",
        "end",
        "label__name",
    )
    for document, is_gold, username, start, end, label in rows:
        key = "gold" if is_gold else f"annotators/{username}"
        found.setdefault((document, key), []).append((start, end, label))
    return {key: sorted(spans) for key, spans in found.items()}


def read_jsonl(archive: zipfile.ZipFile, tmp_path: Path) -> Spans:
    found: Spans = {}
    lines = archive.read("documents.jsonl").decode().splitlines()
    for _n, record in iter_records(lines):
        found[(record.id, "gold")] = [(s.start, s.end, s.label) for s in record.gold]
        for name, spans in record.annotations.items():
            found[(record.id, f"annotators/{name}")] = [(s.start, s.end, s.label) for s in spans]
    return found


def read_spacy(archive: zipfile.ZipFile, tmp_path: Path) -> Spans:
    found: Spans = {}
    for name in archive.namelist():
        if name.endswith(".spacy"):
            path = tmp_path / Path(name).name
            path.write_bytes(archive.read(name))
            for doc in DocBin().from_disk(path).get_docs(Vocab()):
                for key, group in doc.spans.items():
                    found[(doc.user_data["id"], key)] = [
                        (span.start_char, span.end_char, span.label_) for span in group
                    ]
    return found


def read_brat(archive: zipfile.ZipFile, tmp_path: Path) -> Spans:
    found: Spans = {}
    for name in archive.namelist():
        if name.endswith(".ann"):
            folder, file = name.removeprefix("brat/").rsplit("/", 1)
            entities, _, _ = parse_ann(archive.read(name).decode())
            found[(file.removesuffix(".ann"), folder)] = [
                (pieces[0][0], pieces[-1][1], label) for label, pieces, _ in entities.values()
            ]
    return found


def read_xmi(archive: zipfile.ZipFile, tmp_path: Path) -> Spans:
    typesystem = load_typesystem(archive.read("xmi/TypeSystem.xml").decode())
    found: Spans = {}
    for name in archive.namelist():
        if name.endswith(".xmi"):
            folder, file = name.removeprefix("xmi/").rsplit("/", 1)
            cas = load_cas_from_xmi(archive.read(name).decode(), typesystem=typesystem)
            found[(file.removesuffix(".xmi"), folder)] = [
                (a.begin, a.end, a.label) for a in cas.select(SPAN_TYPE)
            ]
    return found


def read_parquet(archive: zipfile.ZipFile, tmp_path: Path) -> Spans:
    found: Spans = {}
    for row in pq.read_table(io.BytesIO(archive.read("data/corpus.parquet"))).to_pylist():
        found[(row["id"], "gold")] = [(s["start"], s["end"], s["label"]) for s in row["gold"]]
        for layer in row["annotations"]:
            found[(row["id"], f"annotators/{layer['annotator']}")] = [
                (s["start"], s["end"], s["label"]) for s in layer["spans"]
            ]
    return found


def read_conll_files(archive: zipfile.ZipFile, tmp_path: Path) -> Spans:
    found: Spans = {}
    for name in archive.namelist():
        if name.endswith(".conll"):
            key = name.removeprefix("conll/").removesuffix(".conll")
            for document, spans in read_conll(archive.read(name).decode()).items():
                found[(document, key)] = spans
    # Spans CoNLL cannot hold (a second overlapping span of one label) are reported.
    if "report.jsonl" in archive.namelist():
        for line in archive.read("report.jsonl").decode().splitlines():
            entry = json.loads(line)
            if "start" in entry:
                key = "gold" if entry["layer"] == "gold" else f"annotators/{entry['layer']}"
                found[(entry["document"], key)].append(
                    (entry["start"], entry["end"], entry["label"])
                )
    return found


READERS = {
    "jsonl": read_jsonl,
    "conll": read_conll_files,
    "spacy": read_spacy,
    "brat": read_brat,
    "xmi": read_xmi,
    "parquet": read_parquet,
}
FILE_NAMED = {"brat", "xmi"}  # formats that name documents by their escaped id


@pytest.mark.django_db
@pytest.mark.parametrize("format", sorted(READERS))
def test_each_format_reads_back_the_spans_stored_in_the_database(
    cast, tmp_path: Path, format: str
) -> None:
    import_file(project=cast.project, filename="edge.jsonl", data=FIXTURE.read_bytes())
    target = tmp_path / "export.zip"
    write_export(project=cast.project, format=format, options=ExportOptions(), target=target)
    read = READERS[format](zipfile.ZipFile(target), tmp_path)
    expected = database_spans(cast.project)
    if format in FILE_NAMED:
        expected = {(safe_name(doc), key): spans for (doc, key), spans in expected.items()}
    assert {key: sorted(spans) for key, spans in read.items() if spans} == expected
    assert any(doc.startswith("emoji") for doc, _key in read)
