"""Catalogue links in every format that can hold them, each read back by its consumer, and
the catalogue itself beside the documents (catalogues.jsonl, the card)."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq
from cassis import load_cas_from_xmi, load_typesystem

from annotations.exporters.base import LabelInfo, safe_name
from annotations.interchange import CatalogueRecord, DocumentRecord, Span, parse_catalogue_line
from tests.exporters.conftest import Export, make_card
from tests.exporters.test_brat import parse_ann
from tests.exporters.test_spacy_docbin import load_docs

TEXT = "TASS said Saleh fled to Tajikistan. Saleh denied it."
CLAIM = Span(10, 34, "claim", {}, "saleh-fled", "reports")
SOURCE = Span(0, 4, "source", {"kind": "media"}, "tass")
PLAIN = Span(36, 41, "sentiment", {"polarity": "neutral"})
SCHEMA = (
    LabelInfo("claim", catalogue="proposition", stance_values=("asserts", "denies", "reports")),
    LabelInfo(
        "source", attributes={"kind": ["person", "media"]}, catalogue="source", link_required=True
    ),
    LabelInfo("sentiment", attributes={"polarity": ["positive", "negative", "neutral"]}),
)
CATALOGUE = (
    CatalogueRecord("saleh-fled", "proposition", "Saleh fled to Tajikistan"),
    CatalogueRecord("tass", "source", "TASS", source_kind="agency", status="proposed"),
)


def linked(export: Export, format: str):
    record = DocumentRecord(id="d1", text=TEXT, annotations={"alice": [SOURCE, CLAIM, PLAIN]})
    card = make_card(labels=SCHEMA, catalogue=CATALOGUE, annotators=["alice"])
    return export(format, card=card, source=[record])


def test_the_archive_carries_the_catalogue_and_the_card_describes_it(export: Export) -> None:
    archive, _ = linked(export, "jsonl")
    assert archive.namelist()[0] == "catalogues.jsonl"
    lines = archive.read("catalogues.jsonl").decode().splitlines()
    assert [parse_catalogue_line(line) for line in lines] == list(CATALOGUE)
    assert '"entry": "saleh-fled", "stance": "reports"' in archive.read("documents.jsonl").decode()
    card = archive.read("README.md").decode()
    assert "proposition entries (asserts, denies, reports)" in card
    assert "source entries, required" in card
    assert "| proposition | approved | 1 |" in card


def test_brat_writes_a_normalisation_and_a_stance(export: Export) -> None:
    archive, _ = linked(export, "brat")
    entities, attributes, _ = parse_ann(
        archive.read(f"brat/annotators/alice/{safe_name('d1')}.ann").decode(), normalisations=True
    )
    claim = next(ident for ident, (label, _, _) in entities.items() if label == "claim")
    assert ("stance", claim, "reports") in attributes
    conf = archive.read("brat/annotation.conf").decode()
    assert "stance\tArg:claim, Value:asserts|denies|reports" in conf


def test_xmi_spans_carry_their_entry_and_stance(export: Export) -> None:
    archive, _ = linked(export, "xmi")
    typesystem = load_typesystem(archive.read("xmi/TypeSystem.xml").decode())
    cas = load_cas_from_xmi(
        archive.read("xmi/annotators/alice/d1.xmi").decode(), typesystem=typesystem
    )
    found = {
        (span.label, span.catalogueEntry, span.catalogueStance)
        for span in cas.select("webanno.custom.WorkbenchSpan")
    }
    assert found == {
        ("claim", "saleh-fled", "reports"),
        ("source", "tass", None),
        ("sentiment", None, None),
    }


def test_parquet_spans_carry_their_entry_and_stance(export: Export) -> None:
    archive, _ = linked(export, "parquet")
    table = pq.read_table(io.BytesIO(archive.read("data/corpus.parquet")))
    spans = table.to_pylist()[0]["annotations"][0]["spans"]
    assert [(s["label"], s["entry"], s["stance"]) for s in spans] == [
        ("source", "tass", None),
        ("claim", "saleh-fled", "reports"),
        ("sentiment", None, None),
    ]


def test_spacy_spans_name_their_entry_as_kb_id(export: Export, tmp_path: Path) -> None:
    archive, _ = linked(export, "spacy")
    doc = load_docs(archive, tmp_path)["d1"]
    spans = doc.spans["annotators/alice"]
    assert [(span.label_, span.kb_id_) for span in spans] == [
        ("source", "tass"),
        ("claim", "saleh-fled"),
        ("sentiment", ""),
    ]
    assert list(doc.user_data["stances"]["annotators/alice"]) == ["", "reports", ""]


def test_conll_comments_name_each_link(export: Export) -> None:
    archive, _ = linked(export, "conll")
    text = archive.read("conll/annotators/alice.conll").decode()
    assert "# link = source 0 4 tass\n# link = claim 10 34 saleh-fled reports\n" in text
