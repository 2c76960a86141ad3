"""One export, start to end: select what the options ask for, run a format, add the card.

``write_archive`` is what the Celery job, the management command and ``bench/`` call. It reads
the records once, as a stream: each record is filtered (layers, labels, meta), its annotators
renamed when pseudonymised, counted for the card, then handed to the format. The dataset card
(README.md) is written last, when the counts are known.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path
from typing import IO

from annotations.exporters import get_exporter
from annotations.exporters.base import (
    GOLD_NOT_STARTED,
    ArchiveWriter,
    Exporter,
    ExportOptions,
    UsesCatalogue,
    layers_of,
)
from annotations.exporters.dataset_card import CardData, render_card
from annotations.interchange import (
    CATALOGUES_FILE,
    GOLD_FINAL,
    DocumentRecord,
    Relation,
    Span,
    dump_catalogue_record,
)


@dataclass
class ExportStats:
    """What the card and the job row need to know about one export."""

    documents: int = 0
    documents_per_split: Counter[str] = field(default_factory=Counter)
    # (layer key, label) -> spans; the key is "gold" or "annotators/<name>" (Layer.key)
    spans: Counter[tuple[str, str]] = field(default_factory=Counter)
    relations: Counter[tuple[str, str]] = field(default_factory=Counter)
    documents_per_layer: Counter[str] = field(default_factory=Counter)
    # Exported documents by the state of their gold in the workbench: "not_started" (no
    # gold layer), "in_progress" or "final", whether or not the options export that gold.
    documents_per_gold_state: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    members: int = 0


class Pseudonyms:
    """Stable stand-ins for usernames: ``annotator_01``... in the order of the known names.

    Names met later that were not known up front get the next numbers in order of appearance.
    """

    def __init__(self, known: Sequence[str]):
        self._names: dict[str, str] = {}
        width = max(2, len(str(len(known))))
        self._width = width
        for name in sorted(known):
            self.get(name)

    def get(self, name: str) -> str:
        if name not in self._names:
            self._names[name] = f"annotator_{len(self._names) + 1:0{self._width}d}"
        return self._names[name]


def _keep_spans(
    spans: list[Span], relations: list[Relation], labels: frozenset[str] | None
) -> tuple[list[Span], list[Relation]]:
    if labels is None:
        return spans, relations
    kept = [index for index, span in enumerate(spans) if span.label in labels]
    if len(kept) == len(spans):
        return spans, relations
    new_index = {old: new for new, old in enumerate(kept)}
    return [spans[index] for index in kept], [
        Relation(rel.type, new_index[rel.head], new_index[rel.tail])
        for rel in relations
        if rel.head in new_index and rel.tail in new_index
    ]


def select(
    record: DocumentRecord, options: ExportOptions, rename: Pseudonyms | None
) -> DocumentRecord:
    """The part of a record the options export (layers, labels, meta), annotators renamed."""
    annotations: dict[str, list[Span]] = {}
    relations: dict[str, list[Relation]] = {}
    document_labels: dict[str, dict[str, list[str]]] = {}
    if options.layers in ("annotators", "all"):
        for name, spans in record.annotations.items():
            new_name = rename.get(name) if rename else name
            kept, kept_relations = _keep_spans(
                spans, record.relations.get(name, []), options.labels
            )
            annotations[new_name] = kept
            if kept_relations:
                relations[new_name] = kept_relations
            if name in record.document_labels:
                document_labels[new_name] = record.document_labels[name]
    gold: list[Span] = []
    gold_relations: list[Relation] = []
    gold_state = record.gold_state if options.layers in ("gold", "all") else None
    if options.final_gold_only and gold_state != GOLD_FINAL:
        gold_state = None
    if gold_state is not None:
        gold, gold_relations = _keep_spans(record.gold, record.gold_relations, options.labels)
    return replace(
        record,
        meta=record.meta if options.include_meta else {},
        annotations=annotations,
        relations=relations,
        document_labels=document_labels,
        gold_state=gold_state,
        gold=gold,
        gold_relations=gold_relations,
        gold_document_labels=record.gold_document_labels if gold_state is not None else {},
    )


_label_of = itemgetter(2)  # a Span's label


def selection(
    records: Iterable[DocumentRecord],
    options: ExportOptions,
    rename: Pseudonyms | None,
    stats: ExportStats,
) -> Iterator[DocumentRecord]:
    unfiltered = (
        options.layers == "all"
        and options.labels is None
        and options.include_meta
        and not rename
        and not options.final_gold_only
    )
    for record in records:
        chosen = record if unfiltered else select(record, options, rename)
        stats.documents += 1
        stats.documents_per_gold_state[record.gold_state or GOLD_NOT_STARTED] += 1
        if options.split:
            stats.documents_per_split[options.split.split_of(chosen.id)] += 1
        for layer in layers_of(chosen, options):
            key = layer.key
            stats.documents_per_layer[key] += 1
            for label, count in Counter(map(_label_of, layer.spans)).items():
                stats.spans[key, label] += count
            for relation in layer.relations:
                stats.relations[key, relation.type] += 1
        yield chosen


def prepare(
    format: str, options: ExportOptions, card: CardData
) -> tuple[Exporter, Pseudonyms | None]:
    """The format's exporter, handed the catalogue if it uses it, and the annotators'
    pseudonyms when the options ask for them."""
    exporter: Exporter = get_exporter(format)
    if isinstance(exporter, UsesCatalogue):
        exporter.use_catalogue(card.catalogue)
    return exporter, Pseudonyms(card.annotators) if options.pseudonymise else None


def write_archive(
    records: Iterable[DocumentRecord],
    target: str | Path | IO[bytes],
    *,
    format: str,
    options: ExportOptions,
    card: CardData,
) -> ExportStats:
    """Write one zip archive of ``records`` in ``format`` to ``target``; return its figures.

    ``card`` carries the project's metadata as plain data (names, schema, guidelines,
    agreement); the counts come from the stream itself.
    """
    exporter, rename = prepare(format, options, card)
    stats = ExportStats()
    with ArchiveWriter(target) as archive:
        if card.catalogue:
            # First in the archive: an import of the archive reads the entries before the
            # spans that name them.
            archive.write_bytes(
                CATALOGUES_FILE,
                "".join(dump_catalogue_record(entry) for entry in card.catalogue).encode(),
            )
        exporter.write(selection(records, options, rename, stats), archive, options, card.labels)
        stats.problems = Counter(archive.problem_counts)
        readme = render_card(card, exporter, options, stats, rename)
        archive.write_bytes("README.md", readme.encode())
    stats.members = archive.member_count
    return stats
