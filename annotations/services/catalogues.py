"""A project's catalogues: the propositions its claims state and the source entities they
are attributed to (docs/catalogues.md).

A span of a label that links to a catalogue (``LabelType.catalogue``) may name one entry
of that catalogue (``Span.entry``), so that the same proposition stated in two documents,
or the same source named two ways, is one row. Entries are named by a ``key``: a slug made
from the first name, unique in the project and never changed afterwards (a rename changes
the name only), so exports and imports can refer to an entry across renames.

Who sees what (blind annotation holds for proposals too):

- reviewers and managers see every entry, proposed or approved, with its mention counts;
- an annotator sees the approved entries and the ones they proposed themselves, never
  another annotator's proposals, and no mention counts (they would tell how the others
  linked their claims).

An annotator's new entry is *proposed*; one made by a reviewer or a manager is approved
at once. Reviewers and managers approve, rename, merge (every mention follows the entry
that stays; the other goes) and split entries (a new entry takes the chosen mentions).
An entry is deleted only while no span mentions it. Every change is audited, and every
layer whose spans a merge or a split relinked gets a new version, so that a page still
holding the old links reloads before it writes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Func, Q, QuerySet, Value
from django.utils import timezone
from django.utils.text import slugify

from annotations.access import STAFF_ROLES, Access
from annotations.models import (
    CatalogueEntry,
    CatalogueKind,
    EntryStatus,
    LabelType,
    Layer,
    SourceKind,
    Span,
)
from annotations.services.audit import record_change as _audit
from annotations.services.schema import _Problems  # field -> reasons, raised as one error

STAFF_ONLY_MESSAGE = "Only the project's reviewers and managers curate its catalogues."
OWN_PROPOSAL_MESSAGE = "You can change only your own proposals, until a reviewer approves them."
MAX_NAME = 500
MAX_KEY = 100
# The stances a claim may take toward its proposition, unless the schema says otherwise.
DEFAULT_STANCES = ("asserts", "denies", "reports", "questions")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# --- reading --------------------------------------------------------------------------


def visible_entries(access: Access, kind: str | None = None) -> QuerySet[CatalogueEntry]:
    """The project's entries the caller may see (of ``kind``, when given)."""
    entries = CatalogueEntry.objects.filter(project=access.project)
    if kind:
        entries = entries.filter(kind=kind)
    if not access.is_project_staff:
        entries = entries.filter(Q(status=EntryStatus.APPROVED) | Q(proposed_by=access.user))
    return entries


def entry_for(access: Access, key: str) -> CatalogueEntry:
    """The visible entry named ``key``; ``CatalogueEntry.DoesNotExist`` otherwise (a hidden
    proposal is as absent as a missing one)."""
    return visible_entries(access).get(key=key)


@dataclass(frozen=True)
class Ranked:
    entry: CatalogueEntry
    score: float | None  # similarity to the text asked for, 0 to 1; None when none was


def ranked_entries(
    access: Access,
    *,
    kind: str | None = None,
    near: str = "",
    search: str = "",
    limit: int | None = None,
) -> list[Ranked]:
    """The visible entries, those whose name or key contains ``search`` (when given), best
    match to ``near`` first (when given), else by name.

    On PostgreSQL the score is pg_trgm's ``similarity`` (the trigram index of migration
    ``0009_catalogues_search`` serves the ``search`` filter); elsewhere difflib's ratio
    of the lower-cased texts, computed here: a catalogue is hundreds of entries, not
    millions.
    """
    entries = visible_entries(access, kind).select_related("proposed_by")
    search = search.strip()
    if search:
        entries = entries.filter(Q(name__icontains=search) | Q(key__icontains=search))
    near = near.strip()
    if not near:
        chosen = entries.order_by("name", "id")
        return [Ranked(entry, None) for entry in (chosen[:limit] if limit else chosen)]
    if connection.vendor == "postgresql":
        similarity = Func(F("name"), Value(near), function="similarity", output_field=FloatField())
        chosen = entries.annotate(score=similarity).order_by("-score", "name", "id")
        return [
            Ranked(entry, round(float(entry.score), 6))  # type: ignore[attr-defined]
            for entry in (chosen[:limit] if limit else chosen)
        ]
    target = near.casefold()
    scored = [
        Ranked(
            entry, round(difflib.SequenceMatcher(None, entry.name.casefold(), target).ratio(), 6)
        )
        for entry in entries
    ]
    scored.sort(key=lambda ranked: (-(ranked.score or 0.0), ranked.entry.name, ranked.entry.pk))
    return scored[:limit] if limit else scored


def mention_counts(entries: Iterable[CatalogueEntry]) -> dict[int, tuple[int, int]]:
    """Entry id -> (spans that mention it, documents they are in), in one grouped query."""
    ids = [entry.pk for entry in entries]
    return {
        entry_id: (spans, documents)
        for entry_id, spans, documents in Span.objects.filter(entry_id__in=ids)
        .order_by()
        .values("entry_id")
        .annotate(n=Count("pk"), d=Count("layer__document", distinct=True))
        .values_list("entry_id", "n", "d")
    }


def snapshot(entry: CatalogueEntry) -> dict[str, Any]:
    """The entry as the audit trail, the API and the exports keep it."""
    return {
        "key": entry.key,
        "kind": entry.kind,
        "name": entry.name,
        "source_kind": entry.source_kind,
        "description": entry.description,
        "status": entry.status,
    }


# --- checks ---------------------------------------------------------------------------


def _clean_name(problems: _Problems, raw: str) -> str:
    name = " ".join(str(raw).split())
    if not name:
        problems.add("name", "must not be blank")
    elif len(name) > MAX_NAME:
        problems.add("name", f"must be at most {MAX_NAME} characters")
    return name


def _check_source_kind(problems: _Problems, kind: str, source_kind: str) -> None:
    if not source_kind:
        return
    if kind != CatalogueKind.SOURCE:
        problems.add("source_kind", "only source entities have a kind")
    elif source_kind not in SourceKind.values:
        problems.add("source_kind", f"must be one of: {', '.join(SourceKind.values)}")


def new_key(project_id: int, name: str, taken: set[str] | None = None) -> str:
    """A key for a new entry called ``name``: its slug, numbered when the project (or
    ``taken``, keys chosen in the same batch) has it already."""
    base = slugify(name)[: MAX_KEY - 6].strip("-") or "entry"
    used = set(taken or ())
    used |= set(
        CatalogueEntry.objects.filter(project_id=project_id, key__startswith=base).values_list(
            "key", flat=True
        )
    )
    key, number = base, 1
    while key in used:
        number += 1
        key = f"{base}-{number}"
    return key


def _require_staff(access: Access) -> None:
    access.require(STAFF_ROLES, STAFF_ONLY_MESSAGE)


def _in_project(access: Access, entry: CatalogueEntry) -> CatalogueEntry:
    """The entry, locked, when it is the project's and visible to the caller."""
    found = visible_entries(access).select_for_update().filter(pk=entry.pk).first()
    if found is None:
        raise CatalogueEntry.DoesNotExist("No such catalogue entry.")
    return found


def _may_edit(access: Access, entry: CatalogueEntry) -> None:
    if access.is_project_staff:
        return
    if entry.status == EntryStatus.PROPOSED and entry.proposed_by_id == access.user.pk:
        return
    raise PermissionDenied(OWN_PROPOSAL_MESSAGE)


def _bump_layers(layer_ids: Iterable[int]) -> int:
    """A new version for every layer whose links changed: open pages reload first."""
    ids = set(layer_ids)
    if not ids:
        return 0
    return Layer.objects.filter(pk__in=ids).update(
        version=F("version") + 1, updated_at=timezone.now()
    )


# --- writing --------------------------------------------------------------------------


@transaction.atomic
def propose_entry(
    *,
    access: Access,
    kind: str,
    name: str,
    source_kind: str = "",
    description: str = "",
    key: str = "",
) -> CatalogueEntry:
    """A new entry: proposed when an annotator makes it, approved when a reviewer or a
    manager does. ``key`` may be chosen (a slug, unique in the project); by default it
    is made from the name."""
    problems = _Problems()
    if kind not in CatalogueKind.values:
        problems.add("kind", f"must be one of: {', '.join(CatalogueKind.values)}")
    name = _clean_name(problems, name)
    _check_source_kind(problems, kind, source_kind)
    key = key.strip()
    if key:
        if key != slugify(key) or len(key) > MAX_KEY:
            problems.add("key", f"must be a slug of at most {MAX_KEY} characters: a-z, 0-9, -")
        elif CatalogueEntry.objects.filter(project=access.project, key=key).exists():
            problems.add("key", f"the project has an entry {key!r} already")
    problems.raise_if_any()
    staff = access.is_project_staff
    entry = CatalogueEntry.objects.create(
        project=access.project,
        kind=kind,
        key=key or new_key(access.project.pk, name),
        name=name,
        source_kind=source_kind,
        description=description.strip(),
        status=EntryStatus.APPROVED if staff else EntryStatus.PROPOSED,
        proposed_by=access.user,
    )
    _audit(access, "create", entry, None, snapshot(entry))
    return entry


@transaction.atomic
def approve_entry(*, access: Access, entry: CatalogueEntry) -> CatalogueEntry:
    """Take a proposal into the shared catalogue: every member sees it from now on."""
    _require_staff(access)
    entry = _in_project(access, entry)
    if entry.status == EntryStatus.APPROVED:
        raise ValidationError({"status": ["the entry is approved already"]})
    entry.status = EntryStatus.APPROVED
    entry.save(update_fields=["status"])
    _audit(access, "approve", entry, {"status": EntryStatus.PROPOSED}, snapshot(entry))
    return entry


@transaction.atomic
def update_entry(
    *,
    access: Access,
    entry: CatalogueEntry,
    name: str | None = None,
    source_kind: str | None = None,
    description: str | None = None,
) -> CatalogueEntry:
    """Rename an entry or change its kind of source or description; its key stays.

    Reviewers and managers change any entry; an annotator only their own proposal."""
    entry = _in_project(access, entry)
    _may_edit(access, entry)
    before = snapshot(entry)
    problems = _Problems()
    if name is not None:
        entry.name = _clean_name(problems, name)
    if source_kind is not None:
        _check_source_kind(problems, entry.kind, source_kind)
        entry.source_kind = source_kind
    if description is not None:
        entry.description = description.strip()
    problems.raise_if_any()
    entry.save(update_fields=["name", "source_kind", "description"])
    _audit(access, "update", entry, before, snapshot(entry))
    return entry


@transaction.atomic
def merge_entries(*, access: Access, keep: CatalogueEntry, merge: CatalogueEntry) -> CatalogueEntry:
    """``merge`` and ``keep`` are one entry: every mention of ``merge`` now names ``keep``,
    and ``merge`` goes. The entry that stays is approved when either was."""
    _require_staff(access)
    keep, merge = _in_project(access, keep), _in_project(access, merge)
    if keep.pk == merge.pk:
        raise ValidationError({"merge": ["an entry cannot be merged into itself"]})
    if keep.kind != merge.kind:
        raise ValidationError(
            {"merge": [f"a {merge.kind} cannot be merged into a {keep.kind}: kinds differ"]}
        )
    mentions = Span.objects.filter(entry=merge)
    layers = list(mentions.order_by().values_list("layer_id", flat=True).distinct())
    moved = mentions.update(entry=keep)
    before = {"kept": snapshot(keep), "merged": snapshot(merge)}
    if merge.status == EntryStatus.APPROVED and keep.status != EntryStatus.APPROVED:
        keep.status = EntryStatus.APPROVED
        keep.save(update_fields=["status"])
    merged_id = merge.pk
    merge.delete()
    merge.pk = merged_id
    after = {
        **snapshot(keep),
        "merged": merge.key,
        "mentions_moved": moved,
        "layers_bumped": _bump_layers(layers),
    }
    _audit(access, "merge", keep, before, after)
    _audit(access, "delete", merge, snapshot(merge), {"merged_into": keep.key})
    return keep


@transaction.atomic
def split_entry(
    *,
    access: Access,
    entry: CatalogueEntry,
    name: str,
    span_ids: Sequence[int],
    source_kind: str = "",
    description: str = "",
) -> CatalogueEntry:
    """A new (approved) entry ``name`` of the same kind takes the mentions ``span_ids`` of
    ``entry``; the others stay. Returns the new entry."""
    _require_staff(access)
    entry = _in_project(access, entry)
    problems = _Problems()
    wanted = set(span_ids)
    if not wanted:
        problems.add("spans", "choose at least one mention to move")
    mentions = Span.objects.filter(entry=entry, pk__in=wanted)
    found = set(mentions.values_list("pk", flat=True))
    strangers = sorted(wanted - found)
    if strangers:
        problems.add(
            "spans", f"not mentions of {entry.key!r}: {', '.join(str(pk) for pk in strangers)}"
        )
    problems.raise_if_any()
    new = propose_entry(
        access=access,
        kind=entry.kind,
        name=name,
        source_kind=source_kind if source_kind else entry.source_kind,
        description=description,
    )
    layers = list(mentions.order_by().values_list("layer_id", flat=True).distinct())
    moved = mentions.update(entry=new)
    _audit(
        access,
        "split",
        entry,
        snapshot(entry),
        {
            "new": new.key,
            "spans": sorted(found),
            "mentions_moved": moved,
            "layers_bumped": _bump_layers(layers),
        },
    )
    return new


@transaction.atomic
def delete_entry(*, access: Access, entry: CatalogueEntry) -> None:
    """Remove an entry no span mentions; refused, with the count, while some do."""
    entry = _in_project(access, entry)
    _may_edit(access, entry)
    spans, documents = mention_counts([entry]).get(entry.pk, (0, 0))
    if spans:
        raise ValidationError(
            {
                "entry": [
                    f"{entry.key!r} is mentioned by {_count(spans, 'span')} in "
                    f"{_count(documents, 'document')}: merge it into another entry instead"
                ]
            }
        )
    before = snapshot(entry)
    entry_id = entry.pk
    entry.delete()
    entry.pk = entry_id
    _audit(access, "delete", entry, before, None)


# --- links on spans -------------------------------------------------------------------


def link_problems(
    access: Access,
    label: LabelType,
    entry_key: str | None,
    stance: str,
    seen: dict[tuple[str, str], CatalogueEntry | None] | None = None,
) -> tuple[list[tuple[str, str]], CatalogueEntry | None]:
    """Why a span of ``label`` may not name ``entry_key`` with ``stance`` (field, reason),
    and the entry when it may. The entry must be visible to the caller and of the label's
    catalogue; the stance one of the label's stance values, and only with an entry.
    ``seen`` keeps the entries looked up across calls (a batch write names one entry once)."""
    problems: list[tuple[str, str]] = []
    entry = None
    if entry_key:
        if not label.catalogue:
            problems.append(("entry", f"{label.name} spans link to no catalogue"))
        else:
            seen = {} if seen is None else seen
            if (label.catalogue, entry_key) not in seen:
                seen[label.catalogue, entry_key] = (
                    visible_entries(access, label.catalogue).filter(key=entry_key).first()
                )
            entry = seen[label.catalogue, entry_key]
            if entry is None:
                problems.append(("entry", f"no {label.catalogue} named {entry_key!r}"))
    if stance:
        values = list(label.stance_values)
        if not values:
            problems.append(("stance", f"{label.name} spans take no stance"))
        elif stance not in values:
            problems.append(("stance", f"{stance!r} is not one of: {', '.join(values)}"))
        elif not entry_key:
            problems.append(("stance", "a stance needs an entry to take it toward"))
    return problems, entry


def unlinked_spans(layer: Layer) -> dict[str, int]:
    """Label name -> spans of the layer that must link to an entry and do not."""
    return dict(
        Span.objects.filter(layer=layer, label__link_required=True, entry__isnull=True)
        .order_by()
        .values("label__name")
        .annotate(n=Count("pk"))
        .values_list("label__name", "n")
    )
