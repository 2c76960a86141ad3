from __future__ import annotations

import json

from annotations.exporters.base import ExportOptions, SplitSpec
from annotations.interchange import dump_record, iter_records
from tests.exporters.conftest import FIXTURE, Export


def test_jsonl_export_writes_the_canonical_lines_byte_for_byte(export: Export) -> None:
    archive, stats = export("jsonl")
    assert archive.read("documents.jsonl") == FIXTURE.read_bytes()
    assert stats.documents == 2


def test_jsonl_reads_back_as_the_same_records(export: Export, records: list) -> None:
    archive, _ = export("jsonl")
    lines = archive.read("documents.jsonl").decode().splitlines(keepends=True)
    assert [dump_record(record) for _n, record in iter_records(lines)] == [
        dump_record(record) for record in records
    ]


def test_gold_only_jsonl_has_no_annotator_layers(export: Export) -> None:
    archive, _ = export("jsonl", ExportOptions(layers="gold"))
    lines = archive.read("documents.jsonl").decode().splitlines()
    for _n, record in iter_records(lines):
        assert record.annotations == {}
        assert record.gold


def test_split_jsonl_puts_every_document_in_exactly_one_part(export: Export) -> None:
    options = ExportOptions(split=SplitSpec(seed=3, train=0.5, dev=0.25, test=0.25))
    archive, stats = export("jsonl", options)
    ids = []
    for part in ("train", "dev", "test"):
        if f"{part}.jsonl" not in archive.namelist():
            assert stats.documents_per_split[part] == 0
            continue
        lines = archive.read(f"{part}.jsonl").decode().splitlines()
        for _n, record in iter_records(lines):
            assert options.split is not None
            assert options.split.split_of(record.id) == part
            ids.append(record.id)
    assert sorted(ids) == ["000", "emoji/flags 1"]
    assert sum(stats.documents_per_split.values()) == 2


def test_jsonl_writes_gold_only_where_it_exists_with_its_state(export: Export, gold_states) -> None:
    archive, _ = export("jsonl", source=gold_states)
    lines = archive.read("documents.jsonl").decode().splitlines()
    read = {record.id: record for _n, record in iter_records(lines)}

    assert "gold" not in json.loads(lines[0])  # never adjudicated: no gold key at all
    assert read["never-adjudicated"].gold_state is None
    assert (read["adjudicated-empty"].gold_state, read["adjudicated-empty"].gold) == (
        "in_progress",
        [],
    )
    assert read["final"].gold_state == "final"
    assert len(read["final"].gold) == 2


def test_final_gold_only_leaves_gold_in_progress_out(export: Export, gold_states) -> None:
    archive, stats = export("jsonl", ExportOptions(final_gold_only=True), source=gold_states)
    lines = archive.read("documents.jsonl").decode().splitlines()

    assert [record.gold_state for _n, record in iter_records(lines)] == [None, None, "final"]
    assert stats.documents_per_gold_state == {"not_started": 1, "in_progress": 1, "final": 1}
    assert "(final gold only: gold in progress is left out)" in archive.read("README.md").decode()
