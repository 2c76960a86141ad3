"""UIMA CAS XMI for INCEpTION and DKPro: the type system from dkpro-cassis, the CAS files ours.

One CAS file per layer and document, ``xmi/<split>/<layer>/<document id>.xmi``, like INCEpTION's
one annotation document per user, with ``xmi/TypeSystem.xml`` beside them. ``xmi/<split>/gold``
holds only the documents with a gold layer (a CAS with no spans: adjudicated, nothing to
mark). The type system declares two custom layers in INCEpTION's naming:

- ``webanno.custom.WorkbenchSpan``: ``label`` plus one string feature per attribute in the
  schema (``kind``, ``polarity``...); attributes outside the schema are reported; when a
  label links to a catalogue, ``catalogueEntry`` (the entry's key) and ``catalogueStance``;
- ``webanno.custom.WorkbenchRelation``: ``Governor`` (the head, e.g. the claim),
  ``Dependent`` (the tail, the source) and ``label``, as INCEpTION relation layers are built;
- ``webanno.custom.WorkbenchDocumentLabel``: ``label`` and ``value``, one annotation over the
  whole text per value the layer gives the document for a document-level label (stance);

and DKPro's ``DocumentMetaData`` with the document id. Offsets: UIMA is Java and counts UTF-16
code units, while Python (and the workbench) count code points, so every ``begin`` and
``end`` is converted on writing: an emoji before a span shifts it by two, as Java expects.

``TypeSystem.xml`` is written by dkpro-cassis, the CAS files here: building a cassis ``Cas``
per document and serialising it with ``to_xmi()`` (a generic walk over its feature
structures) took 14 s of CPU for 5,000 documents, writing the same files as strings takes
about 3. They are the very bytes ``to_xmi()`` gives for the same CAS (tests compare the two
on generated documents). A file holds, in this order: ``cas:NULL`` (xmi:id 0); the
``DocumentMetaData`` (2, its ``collectionId`` the layer's key); the layer's spans, relations
and document labels; the ``cas:Sofa`` (1) with the text; the ``cas:View`` listing the ids of
all but the sofa. Ids are numbered from 3 in that order and go on across the layers of a
document, as in one CAS emptied between layers. Each element's attributes are ``xmi:id``,
``sofa``, ``begin``, ``end``, then the type's features in the type system's order, an unset
feature left out; the ``custom`` namespace is declared only in a file that uses it. Values
escape ``& < > "``, tab, newline and carriage return; a character that XML 1.0 cannot hold
(the other C0 controls, U+FFFE, U+FFFF) fails the export with ``ValueError``, as lxml made
cassis do.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence

from cassis import TypeSystem

from annotations.exporters import DESCRIPTIONS
from annotations.exporters.base import (
    ArchiveWriter,
    ExportOptions,
    LabelInfo,
    Layer,
    layers_of,
    part_prefix,
    parts,
    safe_name,
)
from annotations.interchange import DocumentRecord, Span

SPAN_TYPE = "webanno.custom.WorkbenchSpan"
# A span's catalogue link: features of the span type, reserved from attribute names.
LINK_FEATURES = ("catalogueEntry", "catalogueStance")
RELATION_TYPE = "webanno.custom.WorkbenchRelation"
DOCUMENT_LABEL_TYPE = "webanno.custom.WorkbenchDocumentLabel"
METADATA_TYPE = "de.tudarmstadt.ukp.dkpro.core.api.metadata.type.DocumentMetaData"
_RESERVED = {
    "label",
    "begin",
    "end",
    "sofa",
    "self",
    "type",
    "Governor",
    "Dependent",
    *LINK_FEATURES,
}


def feature_name(attribute: str) -> str:
    """A UIMA feature name for an attribute: a Java identifier that clashes with nothing."""
    name = re.sub(r"\W", "_", attribute, flags=re.ASCII)
    if not name or name[0].isdigit() or name in _RESERVED:
        name = f"attr_{name}"
    return name


def build_typesystem(schema: Sequence[LabelInfo]) -> tuple[TypeSystem, dict[str, str]]:
    """The export's type system, and the feature that holds each schema attribute."""
    typesystem = TypeSystem()
    span_type = typesystem.create_type(SPAN_TYPE, description="A span of the workbench")
    typesystem.create_feature(span_type, "label", "uima.cas.String")
    features: dict[str, str] = {}
    for label in schema:
        for attribute in label.attributes:
            if attribute not in features:
                features[attribute] = feature_name(attribute)
                typesystem.create_feature(span_type, features[attribute], "uima.cas.String")
    if any(label.catalogue for label in schema):
        for feature in LINK_FEATURES:
            typesystem.create_feature(span_type, feature, "uima.cas.String")
    relation_type = typesystem.create_type(RELATION_TYPE, description="A link between spans")
    typesystem.create_feature(relation_type, "Governor", SPAN_TYPE)
    typesystem.create_feature(relation_type, "Dependent", SPAN_TYPE)
    typesystem.create_feature(relation_type, "label", "uima.cas.String")
    document_label_type = typesystem.create_type(
        DOCUMENT_LABEL_TYPE, description="A value the layer gives the whole document"
    )
    typesystem.create_feature(document_label_type, "label", "uima.cas.String")
    typesystem.create_feature(document_label_type, "value", "uima.cas.String")
    metadata = typesystem.create_type(METADATA_TYPE, "uima.tcas.DocumentAnnotation")
    for name in ("documentTitle", "documentId", "documentUri", "collectionId"):
        typesystem.create_feature(metadata, name, "uima.cas.String")
    return typesystem, features


# The namespace of a type's package is declared only when the file holds one of its types.
_HEADER = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    '<xmi:XMI xmlns:xmi="http://www.omg.org/XMI" xmlns:cas="http:///uima/cas.ecore"'
    ' xmlns:type="http:///de/tudarmstadt/ukp/dkpro/core/api/metadata/type.ecore"{custom}'
    ' xmi:version="2.0"><cas:NULL xmi:id="0"/>'
)
_HEADER_WITHOUT_CUSTOM = _HEADER.format(custom="")
_HEADER_WITH_CUSTOM = _HEADER.format(custom=' xmlns:custom="http:///webanno/custom.ecore"')
_ESCAPES = (
    ("&", "&amp;"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ('"', "&quot;"),
    ("\t", "&#9;"),
    ("\n", "&#10;"),
    ("\r", "&#13;"),
)
# Characters that XML 1.0 cannot hold, even as references (lxml refuses them too).
_NOT_XML_CHARACTERS = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
_NOT_XML = re.compile(f"[{_NOT_XML_CHARACTERS}]")
# What an attribute value cannot hold as it is: the characters to escape, and those.
_SPECIAL = re.compile(f'[&<>"\t\n\r{_NOT_XML_CHARACTERS}]')
# Characters outside the Basic Multilingual Plane: two UTF-16 code units each.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _attribute(value: str) -> str:
    """``value`` as it goes between the quotes of an XML attribute."""
    if _SPECIAL.search(value) is None:
        return value
    found = _NOT_XML.search(value)
    if found:
        raise ValueError(
            f"U+{ord(found.group()):04X} at position {found.start()} cannot be written in XML"
        )
    for character, reference in _ESCAPES:
        value = value.replace(character, reference)
    return value


def _utf16_offsets(text: str) -> Callable[[int], int]:
    """Maps a code-point offset of ``text`` to UTF-16 code units."""
    astral = [found.start() for found in _ASTRAL.finditer(text)]
    if not astral:
        return lambda offset: offset
    # Every astral character before the offset takes one unit more.
    return lambda offset: offset + bisect_left(astral, offset)


def _string(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class _SpanFeatures:
    """Writes a span's features after its label, in the order the span type declares them."""

    def __init__(self, features: dict[str, str], links_declared: bool):
        self.features = features
        self.links_declared = links_declared
        declared = [*features.values(), *(LINK_FEATURES if links_declared else ())]
        self.position = {name: index for index, name in enumerate(dict.fromkeys(declared))}

    def render(self, span: Span, document_id: str, layer_name: str, archive: ArchiveWriter) -> str:
        if not span.attrs and (span.entry is None or not self.links_declared):
            return ""
        values = {}
        for attribute, value in span.attrs.items():
            if attribute in self.features:
                values[self.features[attribute]] = _string(value)
            else:
                archive.problem(
                    "attribute_not_in_schema",
                    document_id,
                    layer_name,
                    start=span.start,
                    end=span.end,
                    attribute=attribute,
                )
        if span.entry is not None and self.links_declared:
            values["catalogueEntry"] = span.entry
            if span.stance:
                values["catalogueStance"] = span.stance
        return "".join(
            f' {name}="{_attribute(values[name])}"'
            for name in sorted(values, key=self.position.__getitem__)
        )


class _DocumentXmi:
    """The CAS files of one document's layers, numbered as one CAS emptied between layers."""

    def __init__(self, record: DocumentRecord, span_features: _SpanFeatures):
        self.record = record
        self.span_features = span_features
        self.utf16 = _utf16_offsets(record.text)
        self.text_end = self.utf16(len(record.text))
        document_id = _attribute(record.id)
        self.metadata = (
            f'<type:DocumentMetaData xmi:id="2" sofa="1" begin="0" end="{self.text_end}"'
            f' documentTitle="{document_id}" documentId="{document_id}" collectionId="'
        )
        self.sofa = (
            '<cas:Sofa xmi:id="1" sofaNum="1" sofaID="_InitialView" mimeType="text/plain"'
            f' sofaString="{_attribute(record.text)}"/>'
        )
        self.next_id = 3

    def layer(self, layer: Layer, archive: ArchiveWriter) -> str:
        """The XMI of one layer; attributes outside the schema go to the archive's report."""
        utf16 = self.utf16
        elements = [_HEADER_WITHOUT_CUSTOM, self.metadata, _attribute(layer.key), '"/>']
        first_id = self.next_id
        span_ids = []
        for span in layer.spans:
            span_ids.append(self.next_id)
            elements.append(
                f'<custom:WorkbenchSpan xmi:id="{self.next_id}" sofa="1"'
                f' begin="{utf16(span.start)}" end="{utf16(span.end)}"'
                f' label="{_attribute(span.label)}"'
                f"{self.span_features.render(span, self.record.id, layer.name, archive)}/>"
            )
            self.next_id += 1
        for relation in layer.relations:
            tail = layer.spans[relation.tail]
            elements.append(
                f'<custom:WorkbenchRelation xmi:id="{self.next_id}" sofa="1"'
                f' begin="{utf16(tail.start)}" end="{utf16(tail.end)}"'
                f' Governor="{span_ids[relation.head]}" Dependent="{span_ids[relation.tail]}"'
                f' label="{_attribute(relation.type)}"/>'
            )
            self.next_id += 1
        for label in sorted(layer.document_labels):
            for value in sorted(layer.document_labels[label]):
                elements.append(
                    f'<custom:WorkbenchDocumentLabel xmi:id="{self.next_id}" sofa="1"'
                    f' begin="0" end="{self.text_end}"'
                    f' label="{_attribute(label)}" value="{_attribute(value)}"/>'
                )
                self.next_id += 1
        if self.next_id > first_id:
            elements[0] = _HEADER_WITH_CUSTOM
        members = " ".join(["2", *map(str, range(first_id, self.next_id))])
        elements += [self.sofa, f'<cas:View sofa="1" members="{members}"/></xmi:XMI>']
        return "".join(elements)


class XmiExporter:
    name = "xmi"
    extension = ".xmi"
    media_type = "application/vnd.xmi+xml"
    description = DESCRIPTIONS["xmi"]

    def write(
        self,
        records: Iterable[DocumentRecord],
        archive: ArchiveWriter,
        options: ExportOptions,
        schema: Sequence[LabelInfo],
    ) -> None:
        typesystem, features = build_typesystem(schema)
        archive.write_bytes("xmi/TypeSystem.xml", typesystem.to_xml().encode())
        span_features = _SpanFeatures(features, any(label.catalogue for label in schema))
        for split, record in parts(records, options):
            layers = layers_of(record, options)
            if not layers:
                continue
            document = _DocumentXmi(record, span_features)
            for layer in layers:
                name = f"xmi/{part_prefix(split)}{layer.key}/{safe_name(record.id)}.xmi"
                archive.write_bytes(name, document.layer(layer, archive).encode())
