from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import datasets
import pyarrow.parquet as pq

from annotations.exporters.base import ExportOptions, SplitSpec
from annotations.interchange import DocumentRecord
from tests.exporters.conftest import labelled_card


def test_parquet_rows_hold_each_layer_on_the_same_characters(export, records) -> None:
    archive, _ = export("parquet")
    table = pq.read_table(io.BytesIO(archive.read("data/corpus.parquet")))
    rows = {row["id"]: row for row in table.to_pylist()}
    for record in records:
        row = rows[record.id]
        assert row["text"] == record.text
        assert json.loads(row["meta"]) == record.meta
        assert [(s["start"], s["end"], s["label"]) for s in row["gold"]] == [
            (s.start, s.end, s.label) for s in record.gold
        ]
        for span in row["gold"]:
            assert span["text"] == record.text[span["start"] : span["end"]]
        layers = {layer["annotator"]: layer for layer in row["annotations"]}
        assert set(layers) == set(record.annotations)  # absent annotators stay absent
        for name, spans in record.annotations.items():
            got = [
                (s["start"], s["end"], s["label"], json.loads(s["attrs"]))
                for s in layers[name]["spans"]
            ]
            assert got == [(s.start, s.end, s.label, dict(s.attrs)) for s in spans]


def test_parquet_split_loads_with_hugging_face_datasets(
    export, records: list[DocumentRecord], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    copies = [replace(records[0], id=f"copy-{i}") for i in range(10)]
    options = ExportOptions(split=SplitSpec(seed=1, train=0.5, dev=0.25, test=0.25))
    archive, stats = export("parquet", options, source=[*records, *copies])
    assert all(stats.documents_per_split[s] for s in ("train", "dev", "test"))
    archive.extractall(tmp_path / "out")
    files = {
        split: str(tmp_path / "out" / "data" / f"{split}.parquet")
        for split in ("train", "dev", "test")
    }
    loaded = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "cache"))
    seen = {}
    for split in files:
        for row in loaded[split]:
            assert options.split is not None
            assert options.split.split_of(row["id"]) == split
            seen[row["id"]] = row
    assert set(seen) == {record.id for record in [*records, *copies]}
    emoji = seen["emoji/flags 1"]
    text = emoji["text"]
    assert [text[s["start"] : s["end"]] for s in emoji["gold"]] == [
        s["text"] for s in emoji["gold"]
    ]
    assert "🇺🇸" in [s["text"] for s in emoji["gold"]]
    card = archive.read("README.md").decode()
    assert card.startswith("---\nconfigs:")
    assert "path: data/dev.parquet" in card


def test_gold_only_parquet_has_no_annotator_column(export) -> None:
    archive, _ = export("parquet", ExportOptions(layers="gold"))
    table = pq.read_table(io.BytesIO(archive.read("data/corpus.parquet")))
    assert "annotations" not in table.column_names
    assert "gold" in table.column_names


def test_a_split_with_no_documents_has_no_file(export, records) -> None:
    options = ExportOptions(split=SplitSpec(seed=1, train=1.0, dev=0.0, test=0.0))
    archive, _ = export("parquet", options)
    assert [n for n in archive.namelist() if n.endswith(".parquet")] == ["data/train.parquet"]
    assert "dev" not in archive.read("README.md").decode().split("---")[1]


def test_parquet_holds_document_labels_per_layer(export, labelled: list[DocumentRecord]) -> None:
    archive, _ = export("parquet", card=labelled_card(), source=labelled)
    table = pq.read_table(io.BytesIO(archive.read("data/corpus.parquet")))
    for row in table.to_pylist():
        assert row["gold_document_labels"] == [{"label": "stance", "values": ["refutes"]}]
        given = {
            layer["annotator"]: layer["document_labels"]
            for layer in row["annotations"]
            if layer["document_labels"]
        }
        record = next(record for record in labelled if record.id == row["id"])
        assert given == {
            name: [{"label": "topics", "values": ["politics", "security"]}]
            for name in record.document_labels
        }


def test_parquet_gold_is_null_without_gold_and_empty_when_adjudicated_empty(
    export, gold_states, tmp_path: Path
) -> None:
    archive, _ = export("parquet", source=gold_states)
    (tmp_path / "corpus.parquet").write_bytes(archive.read("data/corpus.parquet"))

    loaded = datasets.load_dataset(
        "parquet",
        data_files=str(tmp_path / "corpus.parquet"),
        cache_dir=str(tmp_path / "cache"),
    )["train"]

    rows = {row["id"]: row for row in loaded}
    assert (rows["never-adjudicated"]["gold_state"], rows["never-adjudicated"]["gold"]) == (
        None,
        None,
    )
    assert rows["adjudicated-empty"]["gold_state"] == "in_progress"
    assert rows["adjudicated-empty"]["gold"] == []
    assert rows["final"]["gold_state"] == "final"
    assert [span["label"] for span in rows["final"]["gold"]] == ["source", "claim"]
