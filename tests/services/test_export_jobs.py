from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from annotations.exporters.base import ExportOptions
from annotations.interchange import DocumentRecord
from annotations.models import (
    AgreementRun,
    DocumentLabel,
    ExportJob,
    JobStatus,
    Layer,
    LayerStatus,
)
from annotations.services import export_jobs, jobs
from annotations.services.imports import import_file
from annotations.services.jobs import Claim, ClaimLost
from tests.factories import DocumentLabelTypeFactory, ProjectFactory

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def export_jsonl(project, tmp_path: Path, name: str) -> bytes:
    target = tmp_path / f"{name}.zip"
    export_jobs.write_export(
        project=project, format="jsonl", options=ExportOptions(), target=target
    )
    return zipfile.ZipFile(target).read("documents.jsonl")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fixture", ["export_edge_cases.jsonl", "persian_and_emoji.jsonl", "gold_states.jsonl"]
)
def test_jsonl_export_import_export_is_byte_identical(tmp_path: Path, fixture: str) -> None:
    first_project = ProjectFactory(slug="first")
    data = (FIXTURES / fixture).read_bytes()
    import_file(project=first_project, filename=fixture, data=data)
    first = export_jsonl(first_project, tmp_path, "first")

    second_project = ProjectFactory(slug="second")
    import_file(project=second_project, filename="first.jsonl", data=first)
    second = export_jsonl(second_project, tmp_path, "second")

    assert first == second
    assert len(first.splitlines()) == len(data.splitlines())


def with_document_labels(slug: str):
    project = ProjectFactory(slug=slug)
    DocumentLabelTypeFactory(project=project)
    DocumentLabelTypeFactory(
        project=project, name="topics", choices=["security", "politics"], multiple=True
    )
    return project


@pytest.mark.django_db
def test_document_labels_survive_export_import_export_byte_identical(tmp_path: Path) -> None:
    data = (FIXTURES / "document_labels.jsonl").read_bytes()
    first_project = with_document_labels("first")
    import_file(project=first_project, filename="labels.jsonl", data=data)
    first = export_jsonl(first_project, tmp_path, "first")

    second_project = with_document_labels("second")
    import_file(project=second_project, filename="first.jsonl", data=first)
    second = export_jsonl(second_project, tmp_path, "second")

    assert first == second
    assert first == data  # the fixture is written in the canonical form
    assert DocumentLabel.objects.filter(layer__document__project=second_project).count() == 7


@pytest.mark.django_db
def test_gold_states_survive_import_export_import_byte_identical(tmp_path: Path) -> None:
    data = (FIXTURES / "gold_states.jsonl").read_bytes()
    first_project = ProjectFactory(slug="first")
    import_file(project=first_project, filename="gold_states.jsonl", data=data)
    first = export_jsonl(first_project, tmp_path, "first")
    second_project = ProjectFactory(slug="second")
    import_file(project=second_project, filename="first.jsonl", data=first)

    assert first == data  # never adjudicated, adjudicated empty and final kept apart
    assert export_jsonl(second_project, tmp_path, "second") == first
    gold = dict(
        Layer.objects.filter(document__project=second_project, is_gold=True).values_list(
            "document__external_id", "status"
        )
    )
    assert gold == {"adjudicated-empty": LayerStatus.OPEN, "final": LayerStatus.SUBMITTED}


@pytest.mark.django_db
def test_run_export_publishes_the_archive_with_its_checksum_and_size(cast) -> None:
    import_file(
        project=cast.project,
        filename="edge.jsonl",
        data=(FIXTURES / "export_edge_cases.jsonl").read_bytes(),
    )
    job = ExportJob.objects.create(project=cast.project, format="conll")
    export_jobs.run_export(job, jobs.claim(ExportJob, job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress == 1.0
    data = job.file.read()
    assert job.checksum == hashlib.sha256(data).hexdigest()
    assert job.size == len(data)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "conll/gold.conll" in names
    assert "README.md" in names
    folder = Path(job.file.path).parent
    assert [p.name for p in folder.iterdir()] == [Path(job.file.name).name]
    assert not list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir())  # no .part left


@pytest.mark.django_db
def test_card_carries_the_latest_succeeded_agreement_run(cast, tmp_path: Path) -> None:
    now = timezone.now()
    AgreementRun.objects.create(
        project=cast.project,
        status=JobStatus.SUCCEEDED,
        finished_at=now - timedelta(hours=1),
        result={"documents": 3, "annotators": ["alice", "bob"], "overall": {"m": 0.25}},
    )
    AgreementRun.objects.create(
        project=cast.project, status=JobStatus.FAILED, finished_at=now, error="boom"
    )
    card = export_jobs.card_data(cast.project)
    assert card.agreement is not None
    assert card.agreement["overall"] == {"m": 0.25}
    assert [label.name for label in card.labels] == [
        "claim",
        "source",
        "sentiment",
        "attributed_to",
    ]
    assert card.labels[1].attributes == {"kind": ["person", "organisation", "media", "anonymous"]}
    assert card.annotators == ["alice", "bob"]
    target = tmp_path / "card.zip"
    export_jobs.write_export(
        project=cast.project, format="jsonl", options=ExportOptions(), target=target
    )
    readme = zipfile.ZipFile(target).read("README.md").decode()
    assert "| m | 0.250 |" in readme


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("format", "options", "field"),
    [
        ("csv", {}, "format"),
        ("jsonl", {"layers": "mine"}, "options.layers"),
        ("jsonl", {"split": {"seed": 1, "train": 0.9, "dev": 0.9, "test": 0}}, "options.split"),
    ],
)
def test_start_export_refuses_bad_format_or_options(cast, format, options, field) -> None:
    with pytest.raises(ValidationError) as caught:
        export_jobs.start_export(
            project=cast.project, actor=cast.manager, format=format, options=options
        )
    assert field in caught.value.message_dict
    assert not ExportJob.objects.exists()


@dataclass
class WatchedClaim(Claim):
    """A real claim that also remembers every progress it was told."""

    reported: list[float] = field(default_factory=list)

    def report(self, fraction: float) -> None:
        self.reported.append(fraction)
        super().report(fraction)


@pytest.mark.django_db
def test_progress_goes_to_the_claim_while_the_export_runs(cast, monkeypatch) -> None:
    import_file(
        project=cast.project,
        filename="edge.jsonl",
        data=(FIXTURES / "export_edge_cases.jsonl").read_bytes(),
    )
    monkeypatch.setattr(export_jobs, "PROGRESS_EVERY", 1)
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    claim = WatchedClaim(**vars(jobs.claim(ExportJob, job.pk)))
    export_jobs.run_export(job, claim)
    assert claim.reported == [0.5, 1.0]
    job.refresh_from_db()
    assert job.progress == 1.0


@pytest.mark.django_db
def test_an_attempt_removes_the_part_files_of_earlier_ones(cast) -> None:
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR)
    (folder / f".export-{job.pk}-1.zip.part").write_bytes(b"half an archive")
    other_job = folder / ".export-999999-1.zip.part"
    other_job.write_bytes(b"another job's")
    jobs.claim(ExportJob, job.pk)  # the attempt that died mid-write
    taken_over = jobs.claim(ExportJob, job.pk, take_over=True)

    export_jobs.run_export(job, taken_over)

    job.refresh_from_db()
    assert [p.name for p in folder.iterdir()] == [other_job.name]
    assert job.file.read()  # published from there to storage


@pytest.mark.django_db
def test_a_superseded_attempt_publishes_nothing(cast) -> None:
    job = ExportJob.objects.create(project=cast.project, format="jsonl")
    superseded = jobs.claim(ExportJob, job.pk)
    jobs.claim(ExportJob, job.pk, take_over=True)

    with pytest.raises(ClaimLost):
        export_jobs.run_export(job, superseded)

    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert not job.file
    for folder in (settings.MEDIA_ROOT, settings.FILE_UPLOAD_TEMP_DIR):
        assert not [p for p in Path(folder).rglob("*") if p.is_file()]


def test_read_ahead_yields_every_record_in_order_and_passes_errors_on() -> None:
    records = [DocumentRecord(id=str(n), text="x") for n in range(50)]
    assert [r.id for r in export_jobs.read_ahead(iter(records), depth=3)] == [
        str(n) for n in range(50)
    ]

    def broken():
        yield records[0]
        raise OSError("disk gone")

    reader = export_jobs.read_ahead(broken(), depth=3)
    assert next(reader).id == "0"
    with pytest.raises(OSError, match="disk gone"):
        next(reader)


def test_read_ahead_stops_its_thread_when_the_export_stops_early() -> None:
    def endless():
        n = 0
        while True:
            n += 1
            yield DocumentRecord(id=str(n), text="x")

    reader = export_jobs.read_ahead(endless(), depth=2)
    assert next(reader).id == "1"
    reader.close()  # what a failing exporter does to its input
    assert not any(t.name == "export-read-ahead" for t in threading.enumerate())
