from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotations.exporters import EXPORTERS, UnknownFormatError, get_exporter

ROOT = Path(__file__).resolve().parents[2]


def test_unknown_format_error_lists_the_valid_names() -> None:
    with pytest.raises(UnknownFormatError) as caught:
        get_exporter("csv")
    for name in ("jsonl", "conll", "spacy", "brat", "xmi", "parquet"):
        assert name in str(caught.value)


@pytest.mark.parametrize("name", sorted(EXPORTERS))
def test_each_registered_format_resolves_to_an_exporter_of_that_name(name: str) -> None:
    exporter = get_exporter(name)
    assert exporter.name == name
    assert exporter.extension.startswith(".")
    assert "/" in exporter.media_type


def test_importing_the_registry_loads_no_django_and_no_heavy_library() -> None:
    code = (
        "import sys, json; import annotations.exporters, annotations.exporters.archive; "
        "print(json.dumps(sorted(m for m in ('django', 'spacy', 'pyarrow', 'cassis') "
        "if m in sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []
