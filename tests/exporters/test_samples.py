"""The samples in tests/exporters/samples/ show each text format's output for one document.

They are the gold layer of the emoji-and-flags fixture document. This test fails when an
exporter's output changes; if the change is meant, rewrite them with
``UPDATE_SAMPLES=1 pytest tests/exporters/test_samples.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from annotations.exporters.base import ExportOptions, safe_name
from tests.exporters.conftest import Export

SAMPLES = Path(__file__).resolve().parent / "samples"
DOCUMENT = safe_name("emoji/flags 1")
MEMBERS = {
    "jsonl": {"documents.jsonl": "sample.jsonl"},
    "conll": {"conll/gold.conll": "sample.conll"},
    "brat": {
        f"brat/gold/{DOCUMENT}.txt": "sample-brat.txt",
        f"brat/gold/{DOCUMENT}.ann": "sample-brat.ann",
        "brat/annotation.conf": "sample-brat-annotation.conf",
    },
    "xmi": {f"xmi/gold/{DOCUMENT}.xmi": "sample.xmi", "xmi/TypeSystem.xml": "TypeSystem.xml"},
}


@pytest.mark.parametrize("format", sorted(MEMBERS))
def test_text_formats_match_their_samples(export: Export, records: list, format: str) -> None:
    archive, _ = export(format, ExportOptions(layers="gold"), source=[records[1]])
    for member, sample in MEMBERS[format].items():
        data = archive.read(member)
        if os.environ.get("UPDATE_SAMPLES"):
            SAMPLES.mkdir(exist_ok=True)
            (SAMPLES / sample).write_bytes(data)
        assert data == (SAMPLES / sample).read_bytes(), member
