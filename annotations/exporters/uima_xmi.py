"""UIMA CAS XMI for INCEpTION and DKPro, written with dkpro-cassis.

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
code units, while Python (and the workbench) count code points. cassis maps code points to
UTF-16 when it writes XMI and back when it reads it (``Utf16CodepointOffsetConverter``), so
the spans are set here in code points and an emoji before a span shifts the XMI ``begin`` by
two, as Java expects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from cassis import Cas, TypeSystem

from annotations.exporters import DESCRIPTIONS
from annotations.exporters.base import (
    ArchiveWriter,
    ExportOptions,
    LabelInfo,
    layers_of,
    part_prefix,
    parts,
    safe_name,
)
from annotations.interchange import DocumentRecord

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


def _string(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


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
        span_type = typesystem.get_type(SPAN_TYPE)
        links_declared = any(label.catalogue for label in schema)
        relation_type = typesystem.get_type(RELATION_TYPE)
        metadata_type = typesystem.get_type(METADATA_TYPE)
        document_label_type = typesystem.get_type(DOCUMENT_LABEL_TYPE)
        for split, record in parts(records, options):
            # One CAS per document, emptied between layers: cassis maps the offsets of a
            # text once per CAS, which would otherwise be a quarter of the time.
            cas = Cas(typesystem=typesystem)
            cas.sofa_string = record.text
            cas.sofa_mime = "text/plain"
            metadata = metadata_type(
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
                            annotation.set(features[attribute], _string(value))
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
                cas.add_all(links)
                document_labels = [
                    document_label_type(begin=0, end=len(record.text), label=label, value=value)
                    for label in sorted(layer.document_labels)
                    for value in sorted(layer.document_labels[label])
                ]
                cas.add_all(document_labels)
                name = f"xmi/{part_prefix(split)}{layer.key}/{safe_name(record.id)}.xmi"
                archive.write_bytes(name, cas.to_xmi().encode())
                for annotation in [*links, *placed, *document_labels]:
                    cas.remove(annotation)
