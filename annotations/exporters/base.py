"""What every exporter shares: options, the layers of a record, and the archive they fill.

An exporter is a class with a ``name``, the ``extension`` and ``media_type`` of the files it
writes, and ``write(records, archive, options, schema)``. It reads interchange records one at a
time and writes members into an :class:`ArchiveWriter` (a zip opened for writing), so memory
does not grow with the corpus. Members that must be written side by side (one file per layer,
one per split) are spooled to temporary files on disk and copied into the zip at the end.

Offsets are Unicode code points into ``record.text`` (docs/offsets.md); each format converts
where its consumer counts differently, and whatever a format cannot represent exactly is
written to the archive's ``report.jsonl`` through :meth:`ArchiveWriter.problem`, never moved
silently.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Protocol, get_args, runtime_checkable
from urllib.parse import quote

from annotations.exporters.zipstream import MemberWriter, StreamingZip
from annotations.interchange import CatalogueRecord, DocumentRecord, Relation, Span

LayerChoice = Literal["gold", "annotators", "all"]
Alignment = Literal["split", "strict", "expand", "contract"]
SPLIT_NAMES = ("train", "dev", "test")
# The card's name for documents exported without gold (``DocumentRecord.gold_state`` None).
GOLD_NOT_STARTED = "not_started"


class OptionsError(ValueError):
    """Export options that cannot be used; ``field`` names the bad option."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


@dataclass(frozen=True)
class SplitSpec:
    """A train/dev/test split decided by a hash of the seed and the document id.

    The same document lands in the same split whatever the order or size of the corpus, so the
    split needs no pass over the data; the ratios are therefore met on average, not exactly.
    """

    seed: int = 0
    train: float = 0.8
    dev: float = 0.1
    test: float = 0.1

    def __post_init__(self) -> None:
        ratios = (self.train, self.dev, self.test)
        if any(ratio < 0 for ratio in ratios):
            raise OptionsError("split", "ratios cannot be negative")
        if abs(sum(ratios) - 1.0) > 1e-6:
            raise OptionsError("split", f"ratios must add up to 1, not {sum(ratios):g}")

    def split_of(self, doc_id: str) -> str:
        digest = hashlib.sha256(f"{self.seed}\x00{doc_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64
        if point < self.train:
            return "train"
        if point < self.train + self.dev:
            return "dev"
        return "test"


@dataclass(frozen=True)
class ExportOptions:
    """What to export.

    - ``layers``: ``gold`` (the adjudicated layer), ``annotators`` (each annotator's own layer)
      or ``all``.
    - ``labels``: span labels to keep (``None`` keeps all); a relation is kept when both of
      its spans are.
    - ``include_meta``: write each document's meta (outlet, url...).
    - ``split``: a deterministic train/dev/test split, or ``None`` for one part.
    - ``pseudonymise``: name annotators ``annotator_01``... everywhere, card included.
    - ``alignment``: how token-based formats (CoNLL, spaCy) treat a span edge that falls inside
      a token: ``split`` the token there (nothing moves), ``strict`` (leave the span out),
      ``expand`` or ``contract`` it to token edges. Every case is reported.
    - ``shard_size``: corpus positions per spaCy ``DocBin`` shard (each split's shard holds
      its documents among them), documents per Parquet row group.
    - ``final_gold_only``: gold only for documents whose gold layer is final (submitted);
      documents whose adjudication is still in progress are exported without gold.
    """

    layers: LayerChoice = "all"
    labels: frozenset[str] | None = None
    include_meta: bool = True
    split: SplitSpec | None = None
    pseudonymise: bool = False
    alignment: Alignment = "split"
    shard_size: int = 1000
    final_gold_only: bool = False

    def __post_init__(self) -> None:
        if self.layers not in get_args(LayerChoice):
            raise OptionsError("layers", f"must be one of {', '.join(get_args(LayerChoice))}")
        if self.alignment not in get_args(Alignment):
            raise OptionsError("alignment", f"must be one of {', '.join(get_args(Alignment))}")
        if self.shard_size < 1:
            raise OptionsError("shard_size", "must be at least 1")

    def to_json(self) -> dict[str, Any]:
        return {
            "layers": self.layers,
            "labels": sorted(self.labels) if self.labels is not None else None,
            "include_meta": self.include_meta,
            "split": None
            if self.split is None
            else {
                "seed": self.split.seed,
                "train": self.split.train,
                "dev": self.split.dev,
                "test": self.split.test,
            },
            "pseudonymise": self.pseudonymise,
            "alignment": self.alignment,
            "shard_size": self.shard_size,
            "final_gold_only": self.final_gold_only,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ExportOptions:
        """Options from their JSON form (as stored on a job), or OptionsError."""
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise OptionsError(sorted(unknown)[0], "is not an export option")
        labels = raw.get("labels")
        if labels is not None and (
            not isinstance(labels, list) or not all(isinstance(x, str) for x in labels)
        ):
            raise OptionsError("labels", "must be a list of label names")
        split = raw.get("split")
        split_spec = None
        if split is not None:
            if not isinstance(split, Mapping) or set(split) - {"seed", "train", "dev", "test"}:
                raise OptionsError("split", "must hold seed, train, dev and test")
            try:
                split_spec = SplitSpec(
                    seed=int(split.get("seed", 0)),
                    train=float(split.get("train", 0.8)),
                    dev=float(split.get("dev", 0.1)),
                    test=float(split.get("test", 0.1)),
                )
            except (TypeError, ValueError) as exc:
                if isinstance(exc, OptionsError):
                    raise
                raise OptionsError("split", "seed must be an integer, ratios numbers") from None
        for flag in ("include_meta", "pseudonymise", "final_gold_only"):
            if flag in raw and not isinstance(raw[flag], bool):
                raise OptionsError(flag, "must be true or false")
        shard_size = raw.get("shard_size", 1000)
        if not isinstance(shard_size, int) or isinstance(shard_size, bool):
            raise OptionsError("shard_size", "must be an integer")
        return cls(
            layers=raw.get("layers", "all"),
            labels=frozenset(labels) if labels is not None else None,
            include_meta=raw.get("include_meta", True),
            split=split_spec,
            pseudonymise=raw.get("pseudonymise", False),
            alignment=raw.get("alignment", "split"),
            shard_size=shard_size,
            final_gold_only=raw.get("final_gold_only", False),
        )


@dataclass(frozen=True)
class LabelInfo:
    """One label of the project's schema, as plain data."""

    name: str
    kind: str = "span"  # span, relation or document
    description: str = ""
    attributes: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    # Span labels: whether two spans of the label in one layer may share a character.
    allow_overlap: bool = True
    # Relation types: the span label each end takes (None: any).
    head: str | None = None
    tail: str | None = None
    # Document labels: the allowed values, and whether a layer may give several.
    choices: Sequence[str] = ()
    multiple: bool = False
    # Span labels: the catalogue a span links to ("" none), whether the link is required,
    # and the stances it may take toward the entry.
    catalogue: str = ""
    link_required: bool = False
    stance_values: Sequence[str] = ()


@dataclass(frozen=True)
class Layer:
    """One layer of one document: the gold layer or one annotator's.

    ``key`` is ``gold`` or ``annotators/<name>``: a path inside the archive and the name
    of the layer in formats that hold several (spaCy span groups, Parquet rows), so that an
    annotator called "gold" cannot be mistaken for the gold layer.
    """

    name: str
    annotator: str | None
    spans: list[Span]
    relations: list[Relation]
    # {document label: [values]} the layer gives the whole document.
    document_labels: Mapping[str, list[str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return "gold" if self.annotator is None else f"annotators/{safe_name(self.annotator)}"


def layers_of(record: DocumentRecord, options: ExportOptions) -> list[Layer]:
    """The layers of a record that the options export: gold first, then annotators by name.

    An annotator absent from the record did not annotate it and gets no layer; one present
    with no spans gets an empty layer. The gold layer is there when exported and the
    document has one (``record.gold_state``), empty when it was adjudicated with nothing
    to mark.
    """
    layers = []
    if options.layers in ("gold", "all") and record.gold_state is not None:
        layers.append(
            Layer("gold", None, record.gold, record.gold_relations, record.gold_document_labels)
        )
    if options.layers in ("annotators", "all"):
        for name in sorted(record.annotations):
            layers.append(
                Layer(
                    name,
                    name,
                    record.annotations[name],
                    record.relations.get(name, []),
                    record.document_labels.get(name, {}),
                )
            )
    return layers


def safe_name(name: str) -> str:
    """A file name for an id or username: percent-escapes anything but ``[A-Za-z0-9_.-]``.

    The mapping is one-to-one (``%`` itself is escaped) and never yields ``.``, ``..``
    or a hidden file, so ids cannot escape their folder in the archive.
    """
    escaped = quote(name, safe="-_.~").replace("~", "%7E")
    if escaped.startswith("."):
        escaped = "%2E" + escaped[1:]
    return escaped


class Exporter(Protocol):
    name: str
    extension: str
    media_type: str
    description: str

    def write(
        self,
        records: Iterable[DocumentRecord],
        archive: ArchiveWriter,
        options: ExportOptions,
        schema: Sequence[LabelInfo],
    ) -> None: ...


@runtime_checkable
class UsesCatalogue(Protocol):
    """A format that also needs the project's catalogue entries (names, kinds), which
    records name by key only: it is handed them before ``write``."""

    def use_catalogue(self, entries: Sequence[CatalogueRecord]) -> None: ...


@runtime_checkable
class StartsAtPosition(Protocol):
    """A format whose files follow each document's position in the corpus (spaCy's shards):
    a chunk tells it the position of its first record before ``write`` (0 otherwise)."""

    def start_at(self, position: int) -> None: ...


class ArchiveWriter:
    """A zip being written: members one after another, or spooled side by side.

    ``open`` streams one member straight into the zip (only one may be open at a time);
    ``spool`` gives a temporary file that is copied in by ``close``, for members that grow
    together. Problems go to ``report.jsonl``. The zip is a :class:`StreamingZip`, whose
    memory does not grow with the number of members.
    """

    REPORT = "report.jsonl"

    def __init__(self, target: str | Path | IO[bytes]):
        self._owned: IO[bytes] | None = None
        if isinstance(target, str | Path):
            # Closed by close() or abort(): the archive outlives this call.
            self._owned = target = Path(target).open("wb")  # noqa: SIM115
        self.zip = StreamingZip(target)
        self._workdir = Path(tempfile.mkdtemp(prefix="export-"))
        self._spooled: dict[str, tuple[Path, IO[bytes], bool]] = {}
        self._report = (self._workdir / "report.jsonl").open("w", encoding="utf-8")
        self.problem_counts: Counter[str] = Counter()
        self.member_count = 0

    def open(self, name: str, *, compress: bool = True) -> MemberWriter:
        self.member_count += 1
        return self.zip.open(name, compress=compress)

    def write_bytes(self, name: str, data: bytes, *, compress: bool = True) -> None:
        with self.open(name, compress=compress) as member:
            member.write(data)

    def spool(self, name: str, *, compress: bool = True) -> IO[bytes]:
        """A temporary file that becomes member ``name``; the same file on a second call."""
        if name not in self._spooled:
            path = self._workdir / f"spool-{len(self._spooled)}"
            self._spooled[name] = (path, path.open("w+b"), compress)
        return self._spooled[name][1]

    def copy_compressed(
        self, name: str, *, method: int, crc: int, size: int, source: IO[bytes], length: int
    ) -> None:
        """Member ``name`` from data another zip compressed (see ``chunked``)."""
        self.member_count += 1
        self.zip.copy_compressed(
            name, method=method, crc=crc, size=size, source=source, length=length
        )

    def extend_report(self, lines: IO[bytes]) -> None:
        """Add the lines of another archive's report; the caller sets ``problem_counts``."""
        text = io.TextIOWrapper(lines, encoding="utf-8", newline="")
        shutil.copyfileobj(text, self._report, 1024 * 1024)
        text.detach()  # ``lines`` stays the caller's to close

    def problem(self, kind: str, document: str, layer: str, **details: Any) -> None:
        """Record something a format could not write exactly; it lands in report.jsonl."""
        self.problem_counts[kind] += 1
        entry = {"kind": kind, "document": document, "layer": layer, **details}
        self._report.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def close(self) -> None:
        for name, (path, handle, compress) in self._spooled.items():
            handle.close()
            self._copy_in(path, name, compress)
        self._spooled.clear()
        self._report.close()
        if self.problem_counts:
            self._copy_in(self._workdir / "report.jsonl", self.REPORT, True)
        self.zip.close()
        self._finish()

    def abort(self) -> None:
        for _path, handle, _compress in self._spooled.values():
            handle.close()
        self._report.close()
        self.zip.abort()
        self._finish()

    def _finish(self) -> None:
        if self._owned is not None:
            self._owned.close()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _copy_in(self, path: Path, name: str, compress: bool) -> None:
        with path.open("rb") as source, self.open(name, compress=compress) as member:
            shutil.copyfileobj(source, member, 1024 * 1024)

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def parts(
    records: Iterable[DocumentRecord], options: ExportOptions
) -> Iterator[tuple[str | None, DocumentRecord]]:
    """Pair each record with its split name (``None`` when the export is not split)."""
    for record in records:
        yield (options.split.split_of(record.id) if options.split else None), record


def part_prefix(split: str | None) -> str:
    return f"{split}/" if split else ""
