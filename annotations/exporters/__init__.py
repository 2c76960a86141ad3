"""Research exports: one module per format behind one explicit registry.

``EXPORTERS`` maps each format name to the dotted path of its class. The class is imported
only when asked for, so importing this package never loads spaCy, pyarrow or cassis (nor
Django: the package works on plain interchange records). ``archive.write_archive`` runs a
whole export.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from annotations.exporters.base import Exporter

EXPORTERS: dict[str, str] = {
    "jsonl": "annotations.exporters.jsonl.JsonlExporter",
    "conll": "annotations.exporters.conll.ConllExporter",
    "spacy": "annotations.exporters.spacy_docbin.SpacyExporter",
    "brat": "annotations.exporters.brat.BratExporter",
    "xmi": "annotations.exporters.uima_xmi.XmiExporter",
    "parquet": "annotations.exporters.parquet.ParquetExporter",
    "graph": "annotations.exporters.graph.GraphExporter",
}

# One line on each format, for the dataset card and the export form: kept here, beside the
# names, so that describing the formats imports none of them.
DESCRIPTIONS: dict[str, str] = {
    "jsonl": (
        "The workbench's interchange format: one JSON object per document with its text, "
        "meta, every exported layer's spans (code-point offsets) and relations."
    ),
    "conll": (
        "CoNLL-style BIO for sequence labelling: one file per layer, one token per line with "
        "its code-point offsets, one BIO column per span label."
    ),
    "spacy": (
        "spaCy DocBin shards: one Doc per document, each layer a span group "
        "(doc.spans), attributes and relations in doc.user_data."
    ),
    "brat": (
        "brat standoff: a .txt and an .ann file per layer and document, with spans (T), "
        "attributes (A) and relations (R), and an annotation.conf for the collection."
    ),
    "xmi": (
        "UIMA CAS XMI (one CAS per layer and document) with its TypeSystem.xml, for "
        "INCEpTION and DKPro; offsets in UTF-16 code units as UIMA counts them."
    ),
    "parquet": (
        "Parquet, one row per document with list-of-struct spans per layer, one file per "
        "split: loads in Hugging Face datasets, pandas and polars."
    ),
    "graph": (
        "Who claims what: source entity -> proposition edges per stance, with their "
        "mentions as evidence, as GraphML and CSV node and edge lists (networkx, Gephi)."
    ),
}


class UnknownFormatError(ValueError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"unknown export format {name!r}; valid formats: {', '.join(EXPORTERS)}")


def get_exporter(name: str) -> Exporter:
    """An instance of the exporter registered as ``name``, or UnknownFormatError."""
    try:
        path = EXPORTERS[name]
    except KeyError:
        raise UnknownFormatError(name) from None
    module_name, class_name = path.rsplit(".", 1)
    exporter: Exporter = getattr(import_module(module_name), class_name)()
    return exporter
