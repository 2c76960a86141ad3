"""An export written in chunks and joined holds the very bytes of one written in one go:
every member of every format, with options that filter, split, rename and shard."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.utils import timezone

from annotations.exporters import EXPORTERS
from annotations.exporters.base import ExportOptions
from annotations.exporters.chunked import CHUNKED_FORMATS, chunk_size
from annotations.models import ExportJob
from annotations.services import export_jobs, jobs
from annotations.services.imports import import_file
from tests.claims import document, layer, link_schema, mention, proposition, source_entity
from tests.factories import DocumentLabelTypeFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MOMENT = datetime(2021, 9, 6, 12, 0, tzinfo=UTC)
OPTIONS = {
    "everything": {},
    "split, renamed, final gold, shards of two": {
        "split": {"seed": 3, "train": 0.5, "dev": 0.25, "test": 0.25},
        "pseudonymise": True,
        "final_gold_only": True,
        "shard_size": 2,
    },
    "gold of some labels, no meta, shards of three": {
        "layers": "gold",
        "labels": ["claim"],
        "include_meta": False,
        "shard_size": 3,
    },
    "shards of one": {"layers": "annotators", "shard_size": 1, "alignment": "strict"},
}


@pytest.fixture
def seeded(cast):
    """Eleven documents: edge cases of text and offsets, gold in every state, document
    labels, and claims linked to catalogue entries with stances and sources."""
    DocumentLabelTypeFactory(project=cast.project)
    DocumentLabelTypeFactory(
        project=cast.project, name="topics", choices=["security", "politics"], multiple=True
    )
    for name in ("export_edge_cases", "document_labels", "gold_states"):
        path = FIXTURES / f"{name}.jsonl"
        import_file(project=cast.project, filename=path.name, data=path.read_bytes())
    schema = link_schema(cast.project)
    fled = proposition(cast.project, "saleh-fled", "Saleh fled to Tajikistan")
    tass = source_entity(cast.project, "tass", "TASS", source_kind="agency")
    saleh = source_entity(cast.project, "saleh", "Amrullah Saleh")
    for number, (stance, source) in enumerate([("asserts", tass), ("denies", saleh)] * 2):
        doc = document(cast.project, f"claims-{number}", f"2021-09-0{number + 1}")
        mention(schema, layer(doc), fled, stance, source)
        mention(schema, layer(doc, cast.alice), fled, stance, source, reverse=True)
    return cast.project


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def chunked_export(job: ExportJob, size: int) -> ExportJob:
    claim = jobs.claim(ExportJob, job.pk)
    assert claim is not None
    chunks = export_jobs.plan_chunks(job, size)
    figures = {chunk.index: export_jobs.write_chunk_part(job, claim, chunk) for chunk in chunks}
    return export_jobs.finish_chunks(job, claim, chunks, figures)


@pytest.mark.parametrize("options", OPTIONS.values(), ids=OPTIONS.keys())
@pytest.mark.parametrize("format", sorted(CHUNKED_FORMATS))
def test_chunks_of_two_documents_join_into_the_archive_of_one_process(
    seeded, tmp_path, format, options, monkeypatch
) -> None:
    # The card says when the archive was written: the same moment for both.
    monkeypatch.setattr(timezone, "now", lambda: MOMENT)
    single = tmp_path / "single.zip"
    export_jobs.write_export(
        project=seeded,
        format=format,
        options=ExportOptions.from_json(options),
        target=single,
    )
    job = ExportJob.objects.create(project=seeded, format=format, options=options)

    chunks = export_jobs.plan_chunks(job, 2)
    job = chunked_export(job, 2)

    # A spaCy chunk holds whole shards: at least one, of however many documents.
    size = max(2, ExportOptions.from_json(options).shard_size) if format == "spacy" else 2
    assert [chunk.start for chunk in chunks] == list(range(0, seeded.documents.count(), size))
    expected = members(single)
    joined = members(Path(job.file.path))
    assert sorted(joined) == sorted(expected)
    assert [name for name in expected if joined[name] != expected[name]] == []
    # The parts are gone once the archive is published.
    assert not (Path(job.file.path).parent / ".chunks" / f"{job.pk}-1").exists()


@pytest.mark.parametrize("format", sorted(set(EXPORTERS) - CHUNKED_FORMATS))
def test_formats_that_span_the_corpus_are_written_in_one_chunk(seeded, format) -> None:
    job = ExportJob.objects.create(project=seeded, format=format)
    assert len(export_jobs.plan_chunks(job, 2)) == 1


@pytest.mark.parametrize(
    ("shard_size", "size", "expected"), [(2, 5, 4), (3, 6, 6), (3, 2, 3), (1000, 5000, 5000)]
)
def test_spacy_chunks_hold_whole_shards(shard_size, size, expected) -> None:
    options = ExportOptions(shard_size=shard_size)
    assert chunk_size("spacy", options, size) == expected
    assert chunk_size("jsonl", options, size) == size


def test_a_chunk_without_its_part_is_written_by_the_join(seeded) -> None:
    job = ExportJob.objects.create(project=seeded, format="jsonl")
    claim = jobs.claim(ExportJob, job.pk)
    assert claim is not None
    chunks = export_jobs.plan_chunks(job, 4)
    figures = {chunk.index: export_jobs.write_chunk_part(job, claim, chunk) for chunk in chunks}
    del figures[1]  # its task was lost with its worker

    job = export_jobs.finish_chunks(job, claim, chunks, figures)

    lines = members(Path(job.file.path))["documents.jsonl"].splitlines()
    assert len(lines) == seeded.documents.count()
    assert job.progress == 1.0


def test_chunks_stored_in_a_bucket_join_into_the_same_archive(
    seeded, tmp_path, remote_storage, monkeypatch
) -> None:
    monkeypatch.setattr(timezone, "now", lambda: MOMENT)
    single = tmp_path / "single.zip"
    export_jobs.write_export(project=seeded, format="brat", options=ExportOptions(), target=single)
    job = ExportJob.objects.create(project=seeded, format="brat")

    job = chunked_export(job, 3)

    with job.file.open("rb") as stored:
        joined = stored.read()
    (tmp_path / "joined.zip").write_bytes(joined)
    assert members(tmp_path / "joined.zip") == members(single)
    # Only the archive is left in the bucket: the parts went once joined.
    assert remote_storage.keys() == [f"{remote_storage.prefix}{job.file.name}"]
