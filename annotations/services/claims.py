"""The claim matrix: who asserted what across the corpus, and when.

A claim span linked to a catalogue proposition is a *mention* of that proposition, with the
stance its text takes (``Span.stance``). Its *sources* are the source entities linked to the
spans at the other end of its relations in the same layer (``attributed_to`` in the news
claims preset; either direction counts, and a claim tied to one entity by links drawn both
ways round counts once each way). The matrix crosses approved propositions (rows)
with source entities (columns): each cell counts the mentions per stance. A mention with no
linked source counts in a column of its own.

Which layers count (``layer``):

- ``gold``: a document's gold layer where one exists (adjudication started), else its
  annotators' submitted layers (the chosen ``annotator``'s only, when one is chosen);
- ``annotators``: annotators' submitted layers only, gold ignored (the control).

Annotators see their own layer only (gold never); in a project that is not blind, also the
other annotators' submitted layers of the documents assigned to them.

A proposition is *contradicted* when one source asserts it and another denies it; the
cells that take part are marked. A document's date is the first ten characters of
``meta["published"]`` (else ``meta["date"]``), an ISO date; undated documents drop out of a
date filter and out of the timeline.

Every figure is counted by the database (a handful of grouped queries, whatever the size of
the corpus); only the mentions of one opened cell come back row by row, capped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Substr
from django.db.models.lookups import GreaterThanOrEqual, IsNull, LessThanOrEqual

from annotations.access import Access
from annotations.models import (
    Assignment,
    CatalogueEntry,
    CatalogueKind,
    EntryStatus,
    LabelKind,
    LabelType,
    Layer,
    LayerStatus,
    Relation,
    Role,
    Span,
)

# The stances of the news claims preset, used when no label names its own.
DEFAULT_STANCES = ("asserts", "denies", "reports", "questions")
ASSERTS, DENIES = "asserts", "denies"
# How a mention with a blank stance is counted and shown.
NO_STANCE = "unspecified"
LAYER_CHOICES = {
    "gold": "gold where it exists, else annotators",
    "annotators": "annotators only (gold ignored)",
}
# Meta keys that may hold a document's date, in order of preference.
DATE_KEYS = ("published", "date")
# The mentions shown for one opened cell.
MENTIONS_SHOWN = 200
NO_SOURCE = "none"


@dataclass(frozen=True)
class MatrixFilters:
    label: str = ""  # a span label linked to propositions; blank: all of them
    layer: str = "gold"
    annotator: str = ""  # blank: every annotator
    date_from: date | None = None
    date_to: date | None = None

    def to_params(self) -> dict[str, str]:
        """The filters as query parameters (defaults left out)."""
        params = {
            "label": self.label,
            "layer": self.layer if self.layer != "gold" else "",
            "annotator": self.annotator,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in params.items() if value}


@dataclass(frozen=True)
class FilterChoices:
    """What the filter form offers the caller."""

    labels: list[str]
    layers: dict[str, str]  # empty for annotators: their own layer is all they get
    annotators: list[str]


@dataclass
class Cell:
    source_id: int | None  # None: the mentions with no linked source
    counts: dict[str, int]
    total: int = 0
    contradiction: bool = False


@dataclass
class Row:
    entry: CatalogueEntry
    cells: list[Cell]
    totals: dict[str, int]
    total: int = 0
    contradiction: bool = False


@dataclass
class Column:
    entry: CatalogueEntry | None  # None: "no source"
    total: int = 0

    @property
    def key(self) -> str:
        return str(self.entry.pk) if self.entry is not None else NO_SOURCE


@dataclass
class ClaimMatrix:
    stances: list[str]
    rows: list[Row]
    columns: list[Column]
    # (proposition id, ISO date, stance) -> mentions; dated mentions only.
    timeline: dict[tuple[int, str, str], int] = field(default_factory=dict)
    undated: int = 0
    mentions: int = 0
    propositions: int = 0  # approved propositions in the catalogue

    @property
    def contradictions(self) -> int:
        return sum(row.contradiction for row in self.rows)


@dataclass(frozen=True)
class Mention:
    document_id: int
    external_id: str
    heading: str
    date: str
    layer_id: int
    layer: str  # "gold" or the annotator's username
    annotator_id: int | None
    quote: str
    stance: str
    start: int
    end: int


def proposition_labels(project_id: int) -> list[LabelType]:
    return list(
        LabelType.objects.filter(
            project_id=project_id, kind=LabelKind.SPAN, catalogue=CatalogueKind.PROPOSITION
        ).order_by("position", "name")
    )


def stances_of(labels: Sequence[LabelType]) -> list[str]:
    """The labels' stance values in schema order (each once), or the default four."""
    stances: list[str] = []
    for label in labels:
        for value in label.stance_values or []:
            if isinstance(value, str) and value not in stances:
                stances.append(value)
    return stances or list(DEFAULT_STANCES)


def filter_choices(access: Access) -> FilterChoices:
    labels = [label.name for label in proposition_labels(access.project.pk)]
    if access.role == Role.ANNOTATOR:
        annotators = []
        if not access.project.blind:
            annotators = _annotator_names(access)
        return FilterChoices(labels=labels, layers={}, annotators=annotators)
    return FilterChoices(labels=labels, layers=LAYER_CHOICES, annotators=_annotator_names(access))


def _annotator_names(access: Access) -> list[str]:
    layers = Layer.objects.filter(document__project=access.project, is_gold=False)
    if access.role == Role.ANNOTATOR:
        layers = layers.filter(_annotator_visible(access, prefix=""))
    return sorted(set(layers.values_list("annotator__username", flat=True).distinct()))


def _parse_date(raw: str, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: ["must be a date, YYYY-MM-DD"]}) from None


def parse_filters(access: Access, params: Mapping[str, str]) -> MatrixFilters:
    """Checked filters from query parameters, or ValidationError naming the field."""
    choices = filter_choices(access)
    label = params.get("label", "").strip()
    if label and label not in choices.labels:
        raise ValidationError({"label": ["is not a label linked to propositions"]})
    layer = params.get("layer", "").strip() or "gold"
    if access.role == Role.ANNOTATOR:
        layer = "annotators"  # never gold: their own layer is what they see
    elif layer not in LAYER_CHOICES:
        raise ValidationError({"layer": [f"must be one of: {', '.join(LAYER_CHOICES)}"]})
    annotator = params.get("annotator", "").strip()
    if annotator and annotator not in choices.annotators:
        raise ValidationError({"annotator": ["is not an annotator whose layers you may see"]})
    date_from = _parse_date(params.get("from", "").strip(), "from")
    date_to = _parse_date(params.get("to", "").strip(), "to")
    if date_from and date_to and date_from > date_to:
        raise ValidationError({"to": ["must not be before the start of the range"]})
    return MatrixFilters(
        label=label, layer=layer, annotator=annotator, date_from=date_from, date_to=date_to
    )


def document_date(prefix: str = "") -> Substr:
    """A document's date as ``YYYY-MM-DD`` text (null when undated), for queries from a
    model that reaches the document through ``prefix`` (e.g. ``layer__document__``)."""
    keys = [KeyTextTransform(key, f"{prefix}meta") for key in DATE_KEYS]
    return Substr(Coalesce(*keys), 1, 10)


def _annotator_visible(access: Access, *, prefix: str) -> Q:
    """The annotator layers an annotator may count: their own; in a project that is not
    blind, also the submitted layers of the documents assigned to them."""
    own = Q(**{f"{prefix}annotator": access.user})
    if access.project.blind:
        return own
    assigned = Assignment.objects.filter(
        document_id=OuterRef(f"{prefix}document_id"), annotator=access.user
    )
    return own | Q(
        Exists(assigned), **{f"{prefix}is_gold": False, f"{prefix}status": LayerStatus.SUBMITTED}
    )


def _counted_layers(access: Access, filters: MatrixFilters) -> Q:
    """The layers the filters and the caller's role count, for any model with a ``layer``
    (spans, relations), dates included."""
    project = access.project
    counted = Q(layer__document__project=project)
    annotators = Q(layer__is_gold=False)
    if filters.annotator:
        annotators &= Q(layer__annotator__username=filters.annotator)
    if access.role == Role.ANNOTATOR:
        counted &= annotators & _annotator_visible(access, prefix="layer__")
    else:
        annotators &= Q(layer__status=LayerStatus.SUBMITTED)
        if filters.layer == "gold":
            has_gold = Layer.objects.filter(
                document_id=OuterRef("layer__document_id"), is_gold=True
            )
            counted &= Q(layer__is_gold=True) | (annotators & ~Q(Exists(has_gold)))
        else:
            counted &= annotators
    day = document_date("layer__document__")
    if filters.date_from:
        counted &= Q(GreaterThanOrEqual(day, filters.date_from.isoformat()))
    if filters.date_to:
        counted &= Q(LessThanOrEqual(day, filters.date_to.isoformat()))
    return counted


def _linked(prefix: str, kind: str, project_id: int, label: str = "") -> Q:
    """The span (reached through ``prefix``) is linked to an approved entry of ``kind``
    (and, when given, has the label ``label``)."""
    linked = Q(
        **{
            f"{prefix}entry__project_id": project_id,
            f"{prefix}entry__kind": kind,
            f"{prefix}entry__status": EntryStatus.APPROVED,
        }
    )
    if label:
        linked &= Q(**{f"{prefix}label__name": label})
    return linked


def mentions_queryset(access: Access, filters: MatrixFilters) -> QuerySet[Span]:
    """The claim spans linked to an approved proposition in the layers the filters and the
    caller's role count."""
    project_id = access.project.pk
    return Span.objects.filter(
        _counted_layers(access, filters),
        _linked("", CatalogueKind.PROPOSITION, project_id, filters.label),
    )


def _source_links(access: Access, filters: MatrixFilters, claim_end: str) -> QuerySet[Relation]:
    """The relations of the counted layers from a mention (at ``claim_end``, ``head`` or
    ``tail``) to a span linked to an approved source entity (at the other end). Joined
    straight, not through the mentions' ids: one pass over the relations."""
    other = "tail" if claim_end == "head" else "head"
    project_id = access.project.pk
    return Relation.objects.filter(
        _counted_layers(access, filters),
        _linked(f"{claim_end}__", CatalogueKind.PROPOSITION, project_id, filters.label),
        _linked(f"{other}__", CatalogueKind.SOURCE, project_id),
    )


def _is_sourced() -> Q:
    """The claim has a relation to a span linked to an approved source entity."""
    source = {"kind": CatalogueKind.SOURCE, "status": EntryStatus.APPROVED}
    outgoing = Relation.objects.filter(
        head_id=OuterRef("id"), **{f"tail__entry__{k}": v for k, v in source.items()}
    )
    incoming = Relation.objects.filter(
        tail_id=OuterRef("id"), **{f"head__entry__{k}": v for k, v in source.items()}
    )
    return Q(Exists(outgoing)) | Q(Exists(incoming))


def _stance(value: str) -> str:
    return value or NO_STANCE


@contextmanager
def _without_jit() -> Iterator[None]:
    """PostgreSQL compiles queries this size with its JIT, which costs seconds (4.4 of 6 s
    for one count on 10,000 documents in bench/claims.py) and saves milliseconds: off for
    this transaction only."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def claim_matrix(access: Access, filters: MatrixFilters) -> ClaimMatrix:
    """The matrix, its contradictions and timeline for the caller and the filters."""
    with _without_jit():
        return _claim_matrix(access, filters)


def _claim_matrix(access: Access, filters: MatrixFilters) -> ClaimMatrix:
    project = access.project
    labels = proposition_labels(project.pk)
    if filters.label:
        labels = [label for label in labels if label.name == filters.label]
    stances = stances_of(labels)
    propositions = list(
        CatalogueEntry.objects.filter(
            project=project, kind=CatalogueKind.PROPOSITION, status=EntryStatus.APPROVED
        ).order_by("name", "id")
    )
    claims = mentions_queryset(access, filters)

    totals: dict[int, dict[str, int]] = defaultdict(dict)
    for entry_id, stance, count in (
        claims.values("entry_id", "stance")
        .annotate(n=Count("id"))
        .values_list("entry_id", "stance", "n")
    ):
        totals[entry_id][_stance(stance)] = totals[entry_id].get(_stance(stance), 0) + count

    by_cell: dict[tuple[int, int | None], dict[str, int]] = defaultdict(dict)
    linked = [
        row
        for claim_end, other in (("head", "tail"), ("tail", "head"))
        for row in _source_links(access, filters, claim_end)
        .values(f"{claim_end}__entry_id", f"{other}__entry_id", f"{claim_end}__stance")
        .annotate(n=Count(f"{claim_end}_id", distinct=True))
        .values_list(f"{claim_end}__entry_id", f"{other}__entry_id", f"{claim_end}__stance", "n")
    ]
    for proposition_id, source_id, stance, count in linked:
        found = by_cell[proposition_id, source_id]
        found[_stance(stance)] = found.get(_stance(stance), 0) + count
    for entry_id, stance, count in (
        claims.exclude(_is_sourced())
        .values("entry_id", "stance")
        .annotate(n=Count("id"))
        .values_list("entry_id", "stance", "n")
    ):
        found = by_cell[entry_id, None]
        found[_stance(stance)] = found.get(_stance(stance), 0) + count

    timeline: dict[tuple[int, str, str], int] = {}
    undated = 0
    for entry_id, day, stance, count in (
        claims.annotate(day=document_date("layer__document__"))
        .values("entry_id", "day", "stance")
        .annotate(n=Count("id"))
        .values_list("entry_id", "day", "stance", "n")
    ):
        if _valid_day(day):
            key = (entry_id, day, _stance(stance))
            timeline[key] = timeline.get(key, 0) + count
        else:
            undated += count

    shown = {stance for counts in totals.values() for stance in counts}
    stances += [stance for stance in sorted(shown) if stance not in stances]
    source_ids = {source_id for _, source_id in by_cell if source_id is not None}
    sources = {
        entry.pk: entry
        for entry in CatalogueEntry.objects.filter(project=project, pk__in=source_ids)
    }
    column_totals: dict[int | None, int] = defaultdict(int)
    for (_, source_id), counts in by_cell.items():
        column_totals[source_id] += sum(counts.values())
    columns = [
        Column(entry=sources[pk], total=column_totals[pk])
        for pk in sorted(sources, key=lambda pk: (-column_totals[pk], sources[pk].name, pk))
    ]
    if column_totals.get(None):
        columns.append(Column(entry=None, total=column_totals[None]))

    rows = []
    for proposition in propositions:
        cells = [
            Cell(
                source_id=column.entry.pk if column.entry else None,
                counts=by_cell.get((proposition.pk, column.entry.pk if column.entry else None), {}),
            )
            for column in columns
        ]
        for cell in cells:
            cell.total = sum(cell.counts.values())
        row_totals = totals.get(proposition.pk, {})
        row = Row(entry=proposition, cells=cells, totals=row_totals, total=sum(row_totals.values()))
        _mark_contradiction(row)
        rows.append(row)
    return ClaimMatrix(
        stances=stances,
        rows=rows,
        columns=columns,
        timeline=timeline,
        undated=undated,
        mentions=sum(row.total for row in rows),
        propositions=len(propositions),
    )


def _valid_day(day: str | None) -> bool:
    if not day:
        return False
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


def _mark_contradiction(row: Row) -> None:
    """One source asserts, another denies: the row and the cells that take part."""
    sourced = [cell for cell in row.cells if cell.source_id is not None]
    asserting = {cell.source_id for cell in sourced if cell.counts.get(ASSERTS)}
    denying = {cell.source_id for cell in sourced if cell.counts.get(DENIES)}
    for cell in sourced:
        if (cell.source_id in asserting and denying - {cell.source_id}) or (
            cell.source_id in denying and asserting - {cell.source_id}
        ):
            cell.contradiction = row.contradiction = True


def cell_mentions(
    access: Access,
    filters: MatrixFilters,
    proposition_id: int,
    source: str,
    *,
    limit: int = MENTIONS_SHOWN,
) -> tuple[list[Mention], int]:
    """The mentions behind one cell (``source`` an entry id or ``none``), by document date,
    at most ``limit`` of them, and how many there are in all."""
    with _without_jit():
        return _cell_mentions(access, filters, proposition_id, source, limit)


def _cell_mentions(
    access: Access, filters: MatrixFilters, proposition_id: int, source: str, limit: int
) -> tuple[list[Mention], int]:
    claims = mentions_queryset(access, filters).filter(entry_id=proposition_id)
    if source == NO_SOURCE:
        claims = claims.exclude(_is_sourced())
    else:
        source_id = int(source)
        outgoing = Relation.objects.filter(head_id=OuterRef("id"), tail__entry_id=source_id)
        incoming = Relation.objects.filter(tail_id=OuterRef("id"), head__entry_id=source_id)
        claims = claims.filter(
            Q(Exists(outgoing)) | Q(Exists(incoming)),
            # An unapproved source has no column: none of its links count.
            Exists(
                CatalogueEntry.objects.filter(
                    pk=source_id, kind=CatalogueKind.SOURCE, status=EntryStatus.APPROVED
                )
            ),
        )
    total = claims.count()
    rows = (
        claims.annotate(day=document_date("layer__document__"))
        .annotate(no_day=Case(When(IsNull(F("day"), True), then=Value(1)), default=Value(0)))
        .order_by("no_day", "day", "layer__document__external_id", "layer__is_gold", "start", "id")
        .values_list(
            "layer__document_id",
            "layer__document__external_id",
            "layer__document__meta",
            "day",
            "layer_id",
            "layer__is_gold",
            "layer__annotator_id",
            "layer__annotator__username",
            "quote",
            "stance",
            "start",
            "end",
        )[:limit]
    )
    mentions = [
        Mention(
            document_id=document_id,
            external_id=external_id,
            heading=_heading(meta),
            date=day if _valid_day(day) else "",
            layer_id=layer_id,
            layer="gold" if is_gold else str(username),
            annotator_id=annotator_id,
            quote=quote,
            stance=_stance(stance),
            start=start,
            end=end,
        )
        for (
            document_id,
            external_id,
            meta,
            day,
            layer_id,
            is_gold,
            annotator_id,
            username,
            quote,
            stance,
            start,
            end,
        ) in rows
    ]
    return mentions, total


def _heading(meta: Any) -> str:
    if isinstance(meta, dict):
        return str(meta.get("headline") or meta.get("outlet") or "")
    return ""
