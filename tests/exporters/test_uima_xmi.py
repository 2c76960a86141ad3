from __future__ import annotations

import re

from cassis import load_cas_from_xmi, load_typesystem

from annotations.exporters.base import safe_name
from annotations.exporters.uima_xmi import DOCUMENT_LABEL_TYPE, RELATION_TYPE, SPAN_TYPE
from annotations.interchange import DocumentRecord
from tests.exporters.conftest import Export, all_layers, labelled_card, layer_spans


def test_xmi_spans_load_back_with_cassis_on_the_same_characters(
    export: Export, records: list[DocumentRecord]
) -> None:
    archive, _ = export("xmi")
    typesystem = load_typesystem(archive.read("xmi/TypeSystem.xml").decode())
    for record in records:
        for key in all_layers(record):
            xml = archive.read(f"xmi/{key}/{safe_name(record.id)}.xmi").decode()
            cas = load_cas_from_xmi(xml, typesystem=typesystem)
            assert cas.sofa_string == record.text
            spans = cas.select(SPAN_TYPE)
            assert sorted((s.begin, s.end, s.label) for s in spans) == layer_spans(record, key)
            for span in spans:
                assert span.get_covered_text() == record.text[span.begin : span.end]


def test_xmi_offsets_count_utf16_units_as_java_does(
    export: Export, records: list[DocumentRecord]
) -> None:
    archive, _ = export("xmi")
    record = records[1]
    xml = archive.read(f"xmi/gold/{safe_name(record.id)}.xmi").decode()
    written = sorted(
        (int(b), int(e))
        for b, e in re.findall(r'<custom:WorkbenchSpan[^>]* begin="(\d+)" end="(\d+)"', xml)
    )

    def utf16(offset: int) -> int:
        return len(record.text[:offset].encode("utf-16-le")) // 2

    expected = sorted((utf16(s.start), utf16(s.end)) for s in record.gold)
    assert written == expected
    assert written != sorted((s.start, s.end) for s in record.gold)


def test_xmi_keeps_attributes_and_relations(export: Export, records: list) -> None:
    archive, _ = export("xmi")
    typesystem = load_typesystem(archive.read("xmi/TypeSystem.xml").decode())
    xml = archive.read(f"xmi/gold/{safe_name('emoji/flags 1')}.xmi").decode()
    cas = load_cas_from_xmi(xml, typesystem=typesystem)
    (relation,) = cas.select(RELATION_TYPE)
    assert relation.label == "attributed_to"
    assert relation.Governor.label == "claim"
    assert relation.Dependent.get_covered_text() == "@source 👩\u200d👩\u200d👧"
    assert relation.Dependent.kind == "anonymous"


def test_xmi_document_labels_load_with_cassis(export: Export, labelled: list[DocumentRecord]):
    archive, _ = export("xmi", card=labelled_card(), source=labelled)
    typesystem = load_typesystem(archive.read("xmi/TypeSystem.xml").decode())
    for record in labelled:
        layers = {"gold": record.gold_document_labels}
        layers |= {f"annotators/{name}": {} for name in record.annotations}
        layers |= {f"annotators/{name}": found for name, found in record.document_labels.items()}
        for key, labels in layers.items():
            xml = archive.read(f"xmi/{key}/{safe_name(record.id)}.xmi").decode()
            cas = load_cas_from_xmi(xml, typesystem=typesystem)
            found = cas.select(DOCUMENT_LABEL_TYPE)
            assert sorted((a.label, a.value) for a in found) == sorted(
                (label, value) for label, values in labels.items() for value in values
            )
            assert all((a.begin, a.end) == (0, len(record.text)) for a in found)


def test_xmi_gold_cas_exists_only_for_documents_with_gold(export: Export, gold_states) -> None:
    archive, _ = export("xmi", source=gold_states)
    typesystem = load_typesystem(archive.read("xmi/TypeSystem.xml").decode())

    assert "xmi/gold/never-adjudicated.xmi" not in archive.namelist()
    empty = load_cas_from_xmi(
        archive.read("xmi/gold/adjudicated-empty.xmi").decode(), typesystem=typesystem
    )
    final = load_cas_from_xmi(archive.read("xmi/gold/final.xmi").decode(), typesystem=typesystem)
    assert empty.select(SPAN_TYPE) == []
    assert sorted(span.label for span in final.select(SPAN_TYPE)) == ["claim", "source"]
