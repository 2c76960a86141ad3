"""The XMI exporter writes its CAS files itself: they must be the bytes dkpro-cassis writes.

``cassis_export`` builds the same CAS with cassis (as the exporter did before it wrote the XMI
itself) and serialises it with ``Cas.to_xmi()``; generated documents go through both.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Sequence

import pytest
from cassis import Cas, load_cas_from_xmi, load_typesystem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotations.exporters.base import (
    ArchiveWriter,
    ExportOptions,
    LabelInfo,
    layers_of,
    part_prefix,
    parts,
    safe_name,
)
from annotations.exporters.uima_xmi import (
    DOCUMENT_LABEL_TYPE,
    METADATA_TYPE,
    RELATION_TYPE,
    SPAN_TYPE,
    XmiExporter,
    build_typesystem,
)
from annotations.interchange import GOLD_FINAL, GOLD_IN_PROGRESS, DocumentRecord, Relation, Span
from tests.exporters.conftest import SCHEMA

# cassis warns of the feature "a_b" declared twice: "a-b" and "a_b" of LINKED_SCHEMA share it.
pytestmark = pytest.mark.filterwarnings("ignore:Feature with name")

LINKED_SCHEMA = (
    *SCHEMA,
    LabelInfo("person", catalogue="entities", stance_values=("asserts", "denies")),
    LabelInfo("odd", attributes={"a-b": [], "a_b": [], "label": [], "1st": [], "x.y": []}),
)
# Characters that stress the writer: XML's specials, the whitespace it escapes, controls XML
# keeps, line separators, combining marks, and astral characters (two UTF-16 units each).
TRICKY = list("&<>\"'\t\n\r\x7f\x85\xa0\u2028\u0301\ufffd\U0001f600\U0001f1e6\U0010ffff]")
# The characters XML 1.0 cannot hold (NUL and surrogates cannot be stored at all).
NOT_XML = [chr(code) for code in (*range(1, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF)]

characters = st.sampled_from(TRICKY) | st.characters(
    exclude_categories=("Cs",), exclude_characters=["\x00", *NOT_XML]
)
strings = st.text(characters, max_size=12)
names = st.sampled_from(["claim", "source", "sentiment", "person", "odd"]) | strings
json_values = st.none() | st.booleans() | st.integers() | strings | st.lists(strings, max_size=2)
attributes = st.dictionaries(
    st.sampled_from(["kind", "polarity", "a-b", "a_b", "label", "1st", "x.y", "unknown"]),
    json_values,
    max_size=3,
)


@st.composite
def layers(draw: st.DrawFn, text: str) -> tuple[list[Span], list[Relation]]:
    spans = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, len(text)))
        entry = draw(st.none() | strings)
        stance = draw(st.sampled_from(["", "asserts"]) | strings)
        spans.append(Span(start, end, draw(names), draw(attributes), entry, stance))
    relations = []
    if spans:
        ends = st.integers(0, len(spans) - 1)
        for _ in range(draw(st.integers(0, 2))):
            relations.append(Relation(draw(names), draw(ends), draw(ends)))
    return spans, relations


document_labels = st.dictionaries(names, st.lists(strings, max_size=2), max_size=2)


@st.composite
def records(draw: st.DrawFn) -> DocumentRecord:
    text = draw(st.text(characters, max_size=40))
    record = DocumentRecord(id=draw(strings.filter(bool)), text=text)
    if draw(st.booleans()):
        record.gold_state = draw(st.sampled_from([GOLD_IN_PROGRESS, GOLD_FINAL]))
        record.gold, record.gold_relations = draw(layers(text))
        record.gold_document_labels = draw(document_labels)
    for name in draw(st.lists(strings, max_size=2, unique=True)):
        record.annotations[name], record.relations[name] = draw(layers(text))
        record.document_labels[name] = draw(document_labels)
    return record


def cassis_export(
    records: list[DocumentRecord],
    archive: ArchiveWriter,
    options: ExportOptions,
    schema: Sequence[LabelInfo],
) -> None:
    """The CAS files as cassis writes them, one CAS per document emptied between layers
    (not the type system, which cassis writes for both)."""
    typesystem, features = build_typesystem(schema)
    links_declared = any(label.catalogue for label in schema)
    span_type = typesystem.get_type(SPAN_TYPE)
    relation_type = typesystem.get_type(RELATION_TYPE)
    label_type = typesystem.get_type(DOCUMENT_LABEL_TYPE)
    for split, record in parts(records, options):
        cas = Cas(typesystem=typesystem)
        cas.sofa_string = record.text
        cas.sofa_mime = "text/plain"
        metadata = typesystem.get_type(METADATA_TYPE)(
            begin=0, end=len(record.text), documentId=record.id, documentTitle=record.id
        )
        cas.add(metadata)
        for layer in layers_of(record, options):
            metadata.collectionId = layer.key
            placed = []
            for span in layer.spans:
                annotation = span_type(begin=span.start, end=span.end, label=span.label)
                if span.entry is not None and links_declared:
                    annotation.set("catalogueEntry", span.entry)
                    if span.stance:
                        annotation.set("catalogueStance", span.stance)
                for attribute, value in span.attrs.items():
                    if attribute in features:
                        annotation.set(features[attribute], as_string(value))
                    else:
                        archive.problem(
                            "attribute_not_in_schema",
                            record.id,
                            layer.name,
                            start=span.start,
                            end=span.end,
                            attribute=attribute,
                        )
                cas.add(annotation)
                placed.append(annotation)
            links = [
                relation_type(
                    begin=placed[relation.tail].begin,
                    end=placed[relation.tail].end,
                    Governor=placed[relation.head],
                    Dependent=placed[relation.tail],
                    label=relation.type,
                )
                for relation in layer.relations
            ]
            labels = [
                label_type(begin=0, end=len(record.text), label=label, value=value)
                for label in sorted(layer.document_labels)
                for value in sorted(layer.document_labels[label])
            ]
            cas.add_all([*links, *labels])
            name = f"xmi/{part_prefix(split)}{layer.key}/{safe_name(record.id)}.xmi"
            archive.write_bytes(name, cas.to_xmi().encode())
            for annotation in [*links, *placed, *labels]:
                cas.remove(annotation)


def as_string(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


Write = Callable[[list[DocumentRecord], ArchiveWriter, ExportOptions, Sequence[LabelInfo]], None]


def members(
    write: Write,
    records: list[DocumentRecord],
    schema: Sequence[LabelInfo] = LINKED_SCHEMA,
    options: ExportOptions | None = None,
) -> dict[str, bytes]:
    """Every member of the archive ``write`` makes, the problem report included."""
    target = io.BytesIO()
    archive = ArchiveWriter(target)
    try:
        write(records, archive, options or ExportOptions(), schema)
    except BaseException:
        archive.abort()
        raise
    archive.close()
    with zipfile.ZipFile(target) as written:
        return {name: written.read(name) for name in written.namelist()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(records(), min_size=1, max_size=3, unique_by=lambda record: record.id),
    st.sampled_from([SCHEMA, LINKED_SCHEMA, ()]),
)
def test_our_xmi_is_the_bytes_cassis_writes(
    documents: list[DocumentRecord], schema: Sequence[LabelInfo]
) -> None:
    ours = members(XmiExporter().write, documents, schema)
    del ours["xmi/TypeSystem.xml"]
    assert ours == members(cassis_export, documents, schema)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_cassis_reads_our_xmi_back_to_the_same_annotations(record: DocumentRecord) -> None:
    written = members(XmiExporter().write, [record])
    typesystem = load_typesystem(written["xmi/TypeSystem.xml"].decode())
    for layer in layers_of(record, ExportOptions()):
        xml = written[f"xmi/{layer.key}/{safe_name(record.id)}.xmi"].decode()
        cas = load_cas_from_xmi(xml, typesystem=typesystem)
        assert cas.sofa_string == record.text
        (metadata,) = cas.select(METADATA_TYPE)
        assert (metadata.documentId, metadata.collectionId) == (record.id, layer.key)
        # Sorted by repr: an entry may be None.
        assert sorted(
            ((s.begin, s.end, s.label, s.catalogueEntry) for s in cas.select(SPAN_TYPE)), key=repr
        ) == sorted(((s.start, s.end, s.label, s.entry) for s in layer.spans), key=repr)
        assert sorted(
            (r.Governor.begin, r.Governor.end, r.Dependent.begin, r.Dependent.end, r.label)
            for r in cas.select(RELATION_TYPE)
        ) == sorted(
            (*ends(layer.spans[r.head]), *ends(layer.spans[r.tail]), r.type)
            for r in layer.relations
        )
        assert sorted(
            (a.begin, a.end, a.label, a.value) for a in cas.select(DOCUMENT_LABEL_TYPE)
        ) == sorted(
            (0, len(record.text), label, value)
            for label, values in layer.document_labels.items()
            for value in values
        )


def ends(span: Span) -> tuple[int, int]:
    return span.start, span.end


def test_characters_xml_cannot_hold_fail_both_writers() -> None:
    for character in NOT_XML:
        record = DocumentRecord(id="d", text=f"a{character}b", gold_state=GOLD_FINAL)
        for write in (XmiExporter().write, cassis_export):
            with pytest.raises(ValueError, match="XML"):
                members(write, [record])
