"""Records, schema and card for the exporter tests (no database)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from annotations.exporters.archive import ExportStats, write_archive
from annotations.exporters.base import ExportOptions, LabelInfo
from annotations.exporters.dataset_card import CardData
from annotations.interchange import DocumentRecord, iter_records

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "export_edge_cases.jsonl"
GOLD_STATES_FIXTURE = FIXTURE.with_name("gold_states.jsonl")

SCHEMA = (
    LabelInfo("claim", description="A statement asserted as fact"),
    LabelInfo(
        "source",
        description="Who a claim is attributed to",
        attributes={"kind": ["person", "organisation", "media", "anonymous"]},
    ),
    LabelInfo(
        "sentiment",
        description="Evaluative tone",
        attributes={"polarity": ["positive", "negative", "neutral"]},
    ),
    LabelInfo("attributed_to", kind="relation", description="Claim to its source"),
)


DOCUMENT_LABELS = (
    LabelInfo("stance", kind="document", choices=["supports", "refutes", "neutral"]),
    LabelInfo("topics", kind="document", choices=["security", "politics"], multiple=True),
)


def load_records() -> list[DocumentRecord]:
    """Seed 000 (English with Persian and curly quotes) and a document of emoji and flags."""
    with FIXTURE.open(encoding="utf-8") as lines:
        return [record for _number, record in iter_records(lines)]


@pytest.fixture
def records() -> list[DocumentRecord]:
    return load_records()


@pytest.fixture
def gold_states() -> list[DocumentRecord]:
    """Three documents: never adjudicated, adjudicated with nothing to mark (in progress), final."""
    with GOLD_STATES_FIXTURE.open(encoding="utf-8") as lines:
        return [record for _number, record in iter_records(lines)]


def make_card(**changes: object) -> CardData:
    values: dict[str, object] = {
        "project_name": "Panjshir",
        "project_slug": "panjshir",
        "exported_at": datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
        "workbench_version": "0.1.0",
        "guidelines": "# Claims\n\nMark every claim.",
        "labels": SCHEMA,
        "annotators": ["alice", "bob", "carol"],
    }
    values.update(changes)
    return CardData(**values)  # type: ignore[arg-type]


Export = Callable[..., tuple[zipfile.ZipFile, ExportStats]]


@pytest.fixture
def export(tmp_path: Path, records: list[DocumentRecord]) -> Export:
    """Run one export of the fixture records; returns the opened archive and its figures."""

    def run(
        format: str,
        options: ExportOptions | None = None,
        card: CardData | None = None,
        source: list[DocumentRecord] | None = None,
    ) -> tuple[zipfile.ZipFile, ExportStats]:
        path = tmp_path / f"{format}.zip"
        stats = write_archive(
            iter(source if source is not None else records),
            path,
            format=format,
            options=options or ExportOptions(),
            card=card or make_card(),
        )
        return zipfile.ZipFile(path), stats

    return run


@pytest.fixture
def labelled(records: list[DocumentRecord]) -> list[DocumentRecord]:
    """The fixture records with document labels: gold and the first annotator of each."""
    labelled = []
    for record in records:
        first = sorted(record.annotations)[:1]
        labelled.append(
            replace(
                record,
                document_labels={name: {"topics": ["politics", "security"]} for name in first},
                gold_document_labels={"stance": ["refutes"]},
            )
        )
    return labelled


def labelled_card(**changes: object) -> CardData:
    return make_card(labels=(*SCHEMA, *DOCUMENT_LABELS), **changes)


def layer_spans(record: DocumentRecord, key: str) -> list[tuple[int, int, str]]:
    """The spans of one layer of a record, by layer key ("gold" or "annotators/<name>")."""
    spans = record.gold if key == "gold" else record.annotations[key.split("/", 1)[1]]
    return sorted((span.start, span.end, span.label) for span in spans)


def all_layers(record: DocumentRecord) -> list[str]:
    gold = ["gold"] if record.gold_state is not None else []
    return [*gold, *(f"annotators/{name}" for name in sorted(record.annotations))]
