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
