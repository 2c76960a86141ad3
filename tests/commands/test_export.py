from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotations.interchange import iter_records
from annotations.services.imports import import_file

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "export_edge_cases.jsonl"


@pytest.mark.django_db
def test_export_command_writes_the_zip_with_a_progress_bar(cast, tmp_path: Path) -> None:
    import_file(project=cast.project, filename="edge.jsonl", data=FIXTURE.read_bytes())
    out = tmp_path / "corpus.zip"
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(
        "export",
        "panjshir",
        "--format",
        "jsonl",
        "--out",
        str(out),
        "--split",
        "0.5,0.25,0.25",
        "--seed",
        "4",
        "--pseudonymise",
        stdout=stdout,
        stderr=stderr,
    )
    archive = zipfile.ZipFile(out)
    parts = [name for name in archive.namelist() if name.endswith(".jsonl")]
    ids = []
    for name in parts:
        lines = archive.read(name).decode().splitlines()
        for _n, record in iter_records(lines):
            ids.append(record.id)
            assert set(record.annotations) <= {"annotator_01", "annotator_02", "annotator_03"}
    assert sorted(ids) == ["000", "emoji/flags 1"]
    assert "100.0%" in stderr.getvalue()
    assert "2/2 documents" in stderr.getvalue()
    assert hashlib.sha256(out.read_bytes()).hexdigest() in stdout.getvalue()
    # Nothing else written beside the archive, and no part file left in the scratch folder.
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["corpus.zip"]
    assert list(tmp_path.rglob("*.part")) == []


@pytest.mark.django_db
def test_export_command_names_a_bad_option(cast, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="add up to 1"):
        call_command(
            "export",
            "panjshir",
            "--format",
            "conll",
            "--out",
            str(tmp_path / "x.zip"),
            "--split",
            "0.5,0.5,0.5",
        )
    with pytest.raises(CommandError, match="no project"):
        call_command("export", "nope", "--format", "conll", "--out", str(tmp_path / "x.zip"))


@pytest.mark.django_db
def test_export_command_final_gold_only(cast, tmp_path: Path) -> None:
    data = (FIXTURE.with_name("gold_states.jsonl")).read_bytes()
    import_file(project=cast.project, filename="gold_states.jsonl", data=data)
    out = tmp_path / "corpus.zip"

    arguments = ["panjshir", "--format", "jsonl", "--out", str(out), "--final-gold-only"]
    call_command("export", *arguments, stdout=io.StringIO(), stderr=io.StringIO())

    archive = zipfile.ZipFile(out)
    lines = archive.read("documents.jsonl").decode().splitlines()
    states = {record.id: record.gold_state for _n, record in iter_records(lines)}
    assert states == {"never-adjudicated": None, "adjudicated-empty": None, "final": "final"}
    assert "final gold only" in archive.read("README.md").decode()
