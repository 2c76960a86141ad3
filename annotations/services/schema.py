"""A project's label schema, edited by its managers: span labels with their attributes,
relation types with the span labels their ends take, and document labels with their
choices (docs/schema.md).

Once annotations exist the schema and the annotations must keep agreeing:

- Renaming a label changes one row: spans, relations and document labels point at the
  label's row, not at its name. Renaming an attribute, an attribute value or a document
  label's choice rewrites the stored annotations of every layer (gold included) in one
  UPDATE per rename.
- Removing anything still in use (a label, an attribute, a value, a choice) is refused
  with the count of what uses it, unless the manager asks to delete those annotations
  too (``delete_annotations``). Removing an attribute or one of its values then takes the
  value off the spans (the spans stay, without it); removing a label deletes its spans,
  relations or document-label rows.
- Every layer whose stored content a change rewrote gets a new version, so that a page
  still holding the old content gets 409 on its next write and reloads.

Every change is atomic and recorded in the audit trail with the label before and after.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone

from annotations import sql
from annotations.access import Access
from annotations.models import (
    CatalogueKind,
    DocumentLabel,
    LabelKind,
    LabelType,
    Layer,
    Relation,
    Role,
    Span,
)
from annotations.services.audit import record_event

MANAGERS_ONLY_MESSAGE = "Only the project's managers edit its label schema."
DEFAULT_COLOUR = "#888888"
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_NAME = 100
MAX_VALUE = 200
# Keys the annotation page keeps for itself (annotate.js, _shortcuts.html); a label key is
# compared in lower case, as the page compares it.
RESERVED_HOTKEYS = {
    "l": "starts a link",
    "?": "opens the keyboard help",
    **{str(digit): "sets the selected span's first attribute" for digit in range(1, 10)},
}
# Quotes and backslashes would need escaping inside SQLite's JSON paths; names need neither.
_UNSAFE_NAME = re.compile(r'["\\\x00-\x1f]')

EDITABLE = frozenset(
    {
        "name",
        "kind",
        "description",
        "colour",
        "hotkey",
        "position",
        "allow_overlap",
        "attribute_schema",
        "head_label",
        "tail_label",
        "choices",
        "multiple",
        "catalogue",
        "link_required",
        "stance_values",
    }
)
# A label that starts linking to propositions takes these stances unless told otherwise.
DEFAULT_STANCES = ["asserts", "denies", "reports", "questions"]


@dataclass(frozen=True)
class Usage:
    """How many annotation rows use a part of the schema, and in how many documents."""

    rows: int
    documents: int
    noun: str = "span"

    def __bool__(self) -> bool:
        return self.rows > 0

    def __str__(self) -> str:
        return f"used by {_count(self.rows, self.noun)} in {_count(self.documents, 'document')}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@dataclass
class _Problems:
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, reason: str) -> None:
        self.errors.setdefault(name, []).append(reason)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


# --- usage ----------------------------------------------------------------------------


def _usage(rows: Any, noun: str) -> Usage:
    counted = rows.aggregate(rows=Count("pk"), documents=Count("layer__document", distinct=True))
    return Usage(counted["rows"], counted["documents"], noun)


def _spans_with_value(label: LabelType, attribute: str, value: str | None = None) -> Any:
    spans = Span.objects.filter(label=label, attributes__has_key=attribute)
    if value is None:
        return spans
    return spans.alias(_value=KeyTransform(attribute, "attributes")).filter(_value=value)


def label_usage(label: LabelType) -> Usage:
    """The spans, relations or document-label rows of ``label``."""
    if label.kind == LabelKind.RELATION:
        return _usage(Relation.objects.filter(label=label), "relation")
    if label.kind == LabelKind.DOCUMENT:
        return _usage(DocumentLabel.objects.filter(label=label), "document label")
    return _usage(Span.objects.filter(label=label), "span")


def attribute_usage(label: LabelType, attribute: str, value: str | None = None) -> Usage:
    """The spans of ``label`` that carry ``attribute`` (with ``value``, when given)."""
    return _usage(_spans_with_value(label, attribute, value), "span")


def choice_usage(label: LabelType, value: str) -> Usage:
    return _usage(DocumentLabel.objects.filter(label=label, value=value), "document label")


@dataclass(frozen=True)
class SchemaUsage:
    """Every use count the schema page shows, read in a few grouped queries."""

    labels: dict[int, Usage]
    attributes: dict[tuple[int, str], Usage]
    values: dict[tuple[int, str, str], Usage]
    choices: dict[tuple[int, str], Usage]


def schema_usage(labels: Sequence[LabelType]) -> SchemaUsage:
    """Use counts of every label, attribute, attribute value and choice of ``labels``:
    one grouped query per kind of label and one or two per attribute in use."""
    counts: dict[int, Usage] = {}
    grouped = (
        ("span", Span.objects, LabelKind.SPAN),
        ("relation", Relation.objects, LabelKind.RELATION),
        ("document label", DocumentLabel.objects, LabelKind.DOCUMENT),
    )
    ids = [label.pk for label in labels]
    for noun, rows, _kind in grouped:
        for label_id, total, documents in (
            rows.filter(label_id__in=ids)
            .order_by()
            .values("label_id")
            .annotate(n=Count("pk"), d=Count("layer__document", distinct=True))
            .values_list("label_id", "n", "d")
        ):
            counts[label_id] = Usage(total, documents, noun)
    attributes: dict[tuple[int, str], Usage] = {}
    values: dict[tuple[int, str, str], Usage] = {}
    choices: dict[tuple[int, str], Usage] = {}
    for label in labels:
        if label.kind == LabelKind.SPAN and label.pk in counts:
            for attribute in label.attribute_schema:
                attributes[label.pk, attribute] = attribute_usage(label, attribute)
                if not attributes[label.pk, attribute]:
                    continue
                for value, total, documents in (
                    _spans_with_value(label, attribute)
                    .order_by()
                    .annotate(_value=KeyTextTransform(attribute, "attributes"))
                    .values("_value")
                    .annotate(n=Count("pk"), d=Count("layer__document", distinct=True))
                    .values_list("_value", "n", "d")
                ):
                    values[label.pk, attribute, str(value)] = Usage(total, documents)
    for label_id, value, total, documents in (
        DocumentLabel.objects.filter(label_id__in=ids)
        .order_by()
        .values("label_id", "value")
        .annotate(n=Count("pk"), d=Count("layer__document", distinct=True))
        .values_list("label_id", "value", "n", "d")
    ):
        choices[label_id, value] = Usage(total, documents, "document label")
    return SchemaUsage(counts, attributes, values, choices)


def _overlapping_spans(label: LabelType) -> Usage:
    """Spans of ``label`` that share a character with a later span of it in their layer."""
    rows = Span.objects.filter(
        label=label,
        layer__spans__label=label,
        layer__spans__pk__gt=F("pk"),
        layer__spans__start__lt=F("end"),
        layer__spans__end__gt=F("start"),
    )
    counted = rows.aggregate(
        rows=Count("pk", distinct=True), documents=Count("layer__document", distinct=True)
    )
    return Usage(counted["rows"], counted["documents"])


def _relations_off_their_ends(label: LabelType) -> dict[str, Usage]:
    """Per end whose span label changed: the relations of ``label`` whose span there has
    another label."""
    misfits = {}
    for end, allowed in (("head", label.head_label), ("tail", label.tail_label)):
        if allowed is not None:
            rows = Relation.objects.filter(label=label).exclude(**{f"{end}__label": allowed})
            misfits[f"{end}_label"] = _usage(rows, "relation")
    return misfits


def _layers_with_several_values(label: LabelType) -> int:
    return (
        DocumentLabel.objects.filter(label=label)
        .order_by()
        .values("layer_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )


# --- checks ---------------------------------------------------------------------------


def _clean_name(problems: _Problems, where: str, raw: object, limit: int = MAX_NAME) -> str:
    name = str(raw).strip() if raw is not None else ""
    if not name:
        problems.add(where, "must not be blank")
    elif len(name) > limit:
        problems.add(where, f"must be at most {limit} characters")
    elif _UNSAFE_NAME.search(name):
        problems.add(where, "must not contain quotes, backslashes or control characters")
    return name


def _clean_list(problems: _Problems, where: str, raw: object, what: str) -> list[str]:
    """A list of distinct, non-blank strings (compared without case)."""
    if not isinstance(raw, list | tuple):
        problems.add(where, f"must be a list of {what}s")
        return []
    cleaned: list[str] = []
    seen: set[str] = set()
    for item in raw:
        value = _clean_name(problems, where, item, MAX_VALUE)
        if value and value.casefold() in seen:
            problems.add(where, f"{value!r} appears twice")
        elif value:
            seen.add(value.casefold())
            cleaned.append(value)
    if not raw:
        problems.add(where, f"needs at least one {what}")
    return cleaned


def _clean_attribute_schema(problems: _Problems, raw: object) -> dict[str, list[str]]:
    if not isinstance(raw, Mapping):
        problems.add("attribute_schema", 'must map attribute names to values: {"polarity": [...]}')
        return {}
    cleaned: dict[str, list[str]] = {}
    seen: set[str] = set()
    for raw_name, values in raw.items():
        name = _clean_name(problems, "attribute_schema", raw_name)
        if name and name.casefold() in seen:
            problems.add("attribute_schema", f"the attribute {name!r} appears twice")
            continue
        seen.add(name.casefold())
        cleaned[name] = _clean_list(problems, f"attribute_schema.{name}", values, "value")
    return cleaned


def _check_hotkey(problems: _Problems, project_labels: Iterable[LabelType], hotkey: str) -> None:
    if not hotkey:
        return
    if len(hotkey) != 1 or hotkey.isspace():
        problems.add("hotkey", "must be one character (not a space)")
        return
    key = hotkey.lower()
    if key in RESERVED_HOTKEYS:
        problems.add(
            "hotkey", f"{hotkey!r} is reserved: on the annotation page it {RESERVED_HOTKEYS[key]}"
        )
    for other in project_labels:
        if other.hotkey and other.hotkey.lower() == key:
            problems.add("hotkey", f"{hotkey!r} is already the key of {other.name!r}")


def _check_end(problems: _Problems, where: str, end: LabelType | None, access: Access) -> None:
    if end is None:
        return
    if end.project_id != access.project.pk:
        problems.add(where, f"no span label named {end.name!r} in this project")
    elif end.kind != LabelKind.SPAN:
        problems.add(where, f"{end.name!r} is a {end.kind} label, not a span label")


def _check_label(problems: _Problems, access: Access, label: LabelType) -> None:
    """What one label's own fields must satisfy, given the project's other labels."""
    others = list(LabelType.objects.filter(project=access.project).exclude(pk=label.pk))
    label.name = _clean_name(problems, "name", label.name)
    if label.name and any(o.name.casefold() == label.name.casefold() for o in others):
        problems.add("name", f"the project has a label named {label.name!r} already")
    if label.kind not in LabelKind.values:
        problems.add("kind", f"must be one of: {', '.join(LabelKind.values)}")
    if not COLOUR.match(label.colour or ""):
        problems.add("colour", "must be a colour written #rrggbb, e.g. #2f7ed8")
    else:
        label.colour = label.colour.lower()
    if label.hotkey and label.kind != LabelKind.SPAN:
        problems.add("hotkey", "only span labels take a key")
    else:
        _check_hotkey(problems, others, label.hotkey)
    if label.kind == LabelKind.RELATION:
        _check_end(problems, "head_label", label.head_label, access)
        _check_end(problems, "tail_label", label.tail_label, access)
    elif label.head_label_id is not None or label.tail_label_id is not None:
        problems.add("head_label", "only relation types have ends")
    if label.kind == LabelKind.DOCUMENT:
        label.choices = _clean_list(problems, "choices", label.choices, "choice")
    elif label.choices:
        problems.add("choices", "only document labels have choices")
    if label.kind != LabelKind.SPAN and label.attribute_schema:
        problems.add("attribute_schema", "only span labels have attributes")
    _check_catalogue(problems, label)


def _check_catalogue(problems: _Problems, label: LabelType) -> None:
    """A span label's link: the catalogue, whether it is required, the stance values."""
    if label.catalogue and label.kind != LabelKind.SPAN:
        problems.add("catalogue", "only span labels link to a catalogue")
    elif label.catalogue and label.catalogue not in CatalogueKind.values:
        problems.add("catalogue", f"must be one of: {', '.join(CatalogueKind.values)} (or blank)")
    if label.link_required and not label.catalogue:
        problems.add("link_required", "a link can be required only to a catalogue")
    if label.stance_values:
        if label.catalogue != CatalogueKind.PROPOSITION:
            problems.add("stance_values", "only labels that link to propositions take a stance")
        label.stance_values = _clean_list(problems, "stance_values", label.stance_values, "stance")


def snapshot(label: LabelType) -> dict[str, Any]:
    """The label as the audit trail keeps it."""
    return {
        "name": label.name,
        "kind": label.kind,
        "description": label.description,
        "colour": label.colour,
        "hotkey": label.hotkey,
        "position": label.position,
        "allow_overlap": label.allow_overlap,
        "attribute_schema": label.attribute_schema,
        "head_label": label.head_label.name if label.head_label else None,
        "tail_label": label.tail_label.name if label.tail_label else None,
        "choices": label.choices,
        "multiple": label.multiple,
        "catalogue": label.catalogue,
        "link_required": label.link_required,
        "stance_values": label.stance_values,
    }


# --- rewriting stored annotations -----------------------------------------------------


def _rewrite_spans(
    label: LabelType,
    set_sql: dict[str, str],
    set_params: list[Any],
    where: tuple[str, list[Any]],
) -> list[int]:
    """One UPDATE of the label's spans' attributes; the layer of each span it changed.

    ``set_sql`` is the column's new value per database vendor and ``where`` narrows the
    rows; in both, ``%(col)s`` stands for the column.
    """
    column = sql.column_of(Span, "attributes")
    condition, where_params = where
    statement = (
        f"UPDATE {sql.table(Span)} SET {column} = {set_sql[connection.vendor] % {'col': column}} "
        f"WHERE {sql.column_of(Span, 'label')} = %s AND {condition % {'col': column}} "
        f"RETURNING {sql.column_of(Span, 'layer')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*set_params, label.pk, *where_params])
        return [row[0] for row in cursor.fetchall()]


def _key(key: str) -> str:
    """How the vendor's JSON functions name a top-level key."""
    return key if connection.vendor == "postgresql" else f'$."{key}"'


def _has_key(key: str) -> tuple[str, list[Any]]:
    if connection.vendor == "postgresql":
        return "%(col)s ? %%s::text", [key]
    return "json_type(%(col)s, %%s) IS NOT NULL", [_key(key)]


def _has_value(key: str, value: str) -> tuple[str, list[Any]]:
    if connection.vendor == "postgresql":
        return "%(col)s -> %%s::text = to_jsonb(%%s::text)", [key, value]
    return "json_extract(%(col)s, %%s) = %%s", [_key(key), value]


def _rename_attribute(label: LabelType, old: str, new: str) -> list[int]:
    set_sql = {
        "postgresql": (
            "(%(col)s - %%s::text) || jsonb_build_object(%%s::text, %(col)s -> %%s::text)"
        ),
        "sqlite": "json_set(json_remove(%(col)s, %%s), %%s, json_extract(%(col)s, %%s))",
    }
    params = [_key(old), _key(new), _key(old)]
    return _rewrite_spans(label, set_sql, params, _has_key(old))


def _rename_value(label: LabelType, key: str, old: str, new: str) -> list[int]:
    set_sql = {
        "postgresql": "jsonb_set(%(col)s, ARRAY[%%s::text], to_jsonb(%%s::text))",
        "sqlite": "json_set(%(col)s, %%s, %%s)",
    }
    return _rewrite_spans(label, set_sql, [_key(key), new], _has_value(key, old))


def _strip_attribute(label: LabelType, key: str, value: str | None = None) -> list[int]:
    set_sql = {"postgresql": "%(col)s - %%s::text", "sqlite": "json_remove(%(col)s, %%s)"}
    where = _has_key(key) if value is None else _has_value(key, value)
    return _rewrite_spans(label, set_sql, [_key(key)], where)


def _layers_of(rows: Any) -> list[int]:
    return list(rows.order_by().values_list("layer_id", flat=True).distinct())


def _bump_layers(layer_ids: Iterable[int]) -> int:
    """A new version for every layer a schema change rewrote: open pages must reload."""
    ids = set(layer_ids)
    if not ids:
        return 0
    return Layer.objects.filter(pk__in=ids).update(
        version=F("version") + 1, updated_at=timezone.now()
    )


# --- create, update, delete -----------------------------------------------------------


def _audit(
    access: Access,
    action: str,
    label: LabelType,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    record_event(
        actor=access.user,
        project=access.project,
        action=action,
        obj=label,
        before=before,
        after=after,
    )


def _require_manager(access: Access, label: LabelType | None = None) -> None:
    access.require((Role.MANAGER,), MANAGERS_ONLY_MESSAGE)
    if label is not None and label.project_id != access.project.pk:
        raise LabelType.DoesNotExist("No such label.")


@transaction.atomic
def create_label(
    *,
    access: Access,
    kind: str,
    name: str,
    description: str = "",
    colour: str = DEFAULT_COLOUR,
    hotkey: str = "",
    position: int | None = None,
    allow_overlap: bool = True,
    attribute_schema: Mapping[str, Sequence[str]] | None = None,
    head_label: LabelType | None = None,
    tail_label: LabelType | None = None,
    choices: Sequence[str] | None = None,
    multiple: bool = False,
    catalogue: str = "",
    link_required: bool = False,
    stance_values: Sequence[str] | None = None,
) -> LabelType:
    """Add a span label, a relation type or a document label to the project. A span label
    that links to propositions takes ``DEFAULT_STANCES`` unless ``stance_values`` says."""
    _require_manager(access)
    problems = _Problems()
    schema = _clean_attribute_schema(problems, attribute_schema or {})
    if position is None:
        last = LabelType.objects.filter(project=access.project).order_by("-position").first()
        position = last.position + 1 if last else 0
    label = LabelType(
        project=access.project,
        kind=kind,
        name=name,
        description=description.strip(),
        colour=colour,
        hotkey=hotkey,
        position=position,
        allow_overlap=allow_overlap,
        attribute_schema=schema,
        head_label=head_label,
        tail_label=tail_label,
        choices=list(choices) if choices is not None else [],
        multiple=multiple,
        catalogue=catalogue,
        link_required=link_required,
        stance_values=_stances_for(catalogue, stance_values),
    )
    if kind == LabelKind.DOCUMENT and choices is None:
        problems.add("choices", "needs at least one choice")
    _check_label(problems, access, label)
    problems.raise_if_any()
    label.save()
    _audit(access, "create", label, None, snapshot(label))
    return label


def _stances_for(catalogue: str, given: Sequence[str] | None) -> list[str]:
    if given is not None:
        return list(given)
    return list(DEFAULT_STANCES) if catalogue == CatalogueKind.PROPOSITION else []


def _apply_renames(
    problems: _Problems,
    current: Mapping[str, Sequence[str]],
    attributes: Mapping[str, str],
    values: Mapping[str, Mapping[str, str]],
) -> tuple[dict[str, list[str]], list[tuple[str, str]], list[tuple[str, str, str]]]:
    """The attribute schema after the renames; the attribute and value renames that apply."""
    schema = {name: list(items) for name, items in current.items()}
    renamed_attributes = []
    for old, raw_new in attributes.items():
        where = f"attribute_schema.{old}"
        new = _clean_name(problems, where, raw_new)
        if old not in schema:
            problems.add(where, f"the label has no attribute {old!r}")
        elif new and any(n.casefold() == new.casefold() for n in schema if n != old):
            problems.add(where, f"the label has an attribute {new!r} already")
        elif new and new != old:
            schema = {new if n == old else n: items for n, items in schema.items()}
            renamed_attributes.append((old, new))
    renamed_values = []
    for attribute, renames in values.items():
        for old, raw_new in renames.items():
            where = f"attribute_schema.{attribute}"
            new = _clean_name(problems, where, raw_new, MAX_VALUE)
            items = schema.get(attribute)
            if items is None:
                problems.add(where, f"the label has no attribute {attribute!r}")
            elif old not in items:
                problems.add(where, f"{attribute!r} has no value {old!r}")
            elif new and any(v.casefold() == new.casefold() for v in items if v != old):
                problems.add(where, f"{attribute!r} has a value {new!r} already")
            elif new and new != old:
                items[items.index(old)] = new
                renamed_values.append((attribute, old, new))
    return schema, renamed_attributes, renamed_values


def _rename_choices(
    problems: _Problems,
    current: Sequence[str],
    renames: Mapping[str, str],
    where: str = "choices",
    noun: str = "choice",
) -> tuple[list[str], list[tuple[str, str]]]:
    """The values after the renames (a document label's choices, a label's stances)."""
    choices = list(current)
    applied = []
    for old, raw_new in renames.items():
        new = _clean_name(problems, where, raw_new, MAX_VALUE)
        if old not in choices:
            problems.add(where, f"the label has no {noun} {old!r}")
        elif new and any(c.casefold() == new.casefold() for c in choices if c != old):
            problems.add(where, f"the label has a {noun} {new!r} already")
        elif new and new != old:
            choices[choices.index(old)] = new
            applied.append((old, new))
    return choices, applied


def _refuse_if_used(problems: _Problems, where: str, what: str, usage: Usage, delete: bool) -> None:
    if usage and not delete:
        problems.add(
            where,
            f"{what} is {usage}: delete those annotations too (delete_annotations) or keep it",
        )


@transaction.atomic
def update_label(
    *,
    access: Access,
    label: LabelType,
    changes: Mapping[str, Any],
    renamed_attributes: Mapping[str, str] | None = None,
    renamed_values: Mapping[str, Mapping[str, str]] | None = None,
    renamed_choices: Mapping[str, str] | None = None,
    renamed_stances: Mapping[str, str] | None = None,
    delete_annotations: bool = False,
) -> LabelType:
    """Change a label's fields (``changes``: any of ``EDITABLE``) and rename its
    attributes, their values (keyed by the attribute's new name) and its choices.

    A new ``attribute_schema`` or ``choices`` is read after the renames: what it leaves out
    is removed, and refused while in use unless ``delete_annotations``.
    """
    _require_manager(access, label)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    label = (
        LabelType.objects.select_for_update(of=("self",))
        .select_related("head_label", "tail_label")
        .get(pk=label.pk)
    )
    before = snapshot(label)
    problems = _Problems()
    schema, attribute_renames, value_renames = _apply_renames(
        problems, label.attribute_schema, renamed_attributes or {}, renamed_values or {}
    )
    choices, choice_renames = _rename_choices(problems, label.choices, renamed_choices or {})
    stances, stance_renames = _rename_choices(
        problems, label.stance_values, renamed_stances or {}, "stance_values", "stance"
    )
    if "attribute_schema" in changes:
        target = _clean_attribute_schema(problems, changes["attribute_schema"])
    else:
        target = schema
    target_choices = changes.get("choices", choices)
    removed_attributes = [a for a in schema if a not in target]
    removed_values = [
        (a, v) for a, values in schema.items() if a in target for v in values if v not in target[a]
    ]
    kept = target_choices if isinstance(target_choices, list | tuple) else choices
    removed_choices = [c for c in choices if c not in kept]
    new_catalogue = changes.get("catalogue", label.catalogue)
    if "stance_values" in changes:
        target_stances = changes["stance_values"]
    elif new_catalogue != label.catalogue:
        target_stances = _stances_for(new_catalogue, None)
    else:
        target_stances = stances
    kept_stances = target_stances if isinstance(target_stances, list | tuple) else stances
    removed_stances = [v for v in stances if v not in kept_stances]
    problems.raise_if_any()

    for key, value in changes.items():
        if key not in ("attribute_schema", "choices"):
            setattr(
                label, key, value.strip() if isinstance(value, str) and key != "hotkey" else value
            )
    label.attribute_schema = target
    label.choices = target_choices
    label.stance_values = target_stances
    _check_label(problems, access, label)
    unlinked = before["catalogue"] and label.catalogue != before["catalogue"]
    if unlinked:
        _refuse_if_used(
            problems,
            "catalogue",
            f"the link to {before['catalogue']} entries",
            _usage(Span.objects.filter(label=label, entry__isnull=False), "span"),
            delete_annotations,
        )
    for value in removed_stances:
        usage = _usage(Span.objects.filter(label=label, stance=value), "span")
        _refuse_if_used(
            problems, "stance_values", f"the stance {value!r}", usage, delete_annotations
        )

    in_use = label_usage(LabelType(pk=label.pk, kind=before["kind"]))
    if label.kind != before["kind"] and in_use:
        problems.add("kind", f"the label is {in_use}: its kind cannot change")
    for attribute in removed_attributes:
        usage = attribute_usage(label, attribute)
        _refuse_if_used(
            problems, "attribute_schema", f"the attribute {attribute!r}", usage, delete_annotations
        )
    for attribute, value in removed_values:
        usage = attribute_usage(label, attribute, value)
        _refuse_if_used(
            problems,
            f"attribute_schema.{attribute}",
            f"the value {value!r}",
            usage,
            delete_annotations,
        )
    for value in removed_choices:
        usage = choice_usage(label, value)
        _refuse_if_used(problems, "choices", f"the choice {value!r}", usage, delete_annotations)
    overlapping = Usage(0, 0)
    if before["allow_overlap"] and not label.allow_overlap:
        overlapping = _overlapping_spans(label)
    if overlapping:
        spans = _count(overlapping.rows, "span")
        where = _count(overlapping.documents, "document")
        problems.add(
            "allow_overlap", f"{spans} of {label.name!r} overlap another in {where}: fix them first"
        )
    if label.kind == LabelKind.RELATION:
        for end, usage in _relations_off_their_ends(label).items():
            name = getattr(label, end).name
            if usage and name != before[end]:
                problems.add(end, f"{usage} whose {end[:4]} is not a {name}: fix them first")
    several = _layers_with_several_values(label) if before["multiple"] and not label.multiple else 0
    if several:
        problems.add("multiple", f"{_count(several, 'layer')} give more than one value: fix them")
    problems.raise_if_any()

    touched: list[int] = []
    rewritten: dict[str, int] = {}
    deleted: dict[str, int] = {}
    for old, new in attribute_renames:
        layers = _rename_attribute(label, old, new)
        rewritten[f"attribute {old} -> {new}"] = len(layers)
        touched += layers
    for attribute, old, new in value_renames:
        layers = _rename_value(label, attribute, old, new)
        rewritten[f"{attribute}: {old} -> {new}"] = len(layers)
        touched += layers
    for old, new in choice_renames:
        rows = DocumentLabel.objects.filter(label=label, value=old)
        touched += _layers_of(rows)
        rewritten[f"choice {old} -> {new}"] = rows.update(value=new)
    for attribute in removed_attributes:
        layers = _strip_attribute(label, attribute)
        if layers:
            deleted[f"attribute {attribute}"] = len(layers)
        touched += layers
    for attribute, value in removed_values:
        if attribute in removed_attributes:
            continue
        layers = _strip_attribute(label, attribute, value)
        if layers:
            deleted[f"{attribute}: {value}"] = len(layers)
        touched += layers
    for value in removed_choices:
        rows = DocumentLabel.objects.filter(label=label, value=value)
        touched += _layers_of(rows)
        count, _ = rows.delete()
        if count:
            deleted[f"choice {value}"] = count
    for old, new in stance_renames:
        rows = Span.objects.filter(label=label, stance=old)
        touched += _layers_of(rows)
        rewritten[f"stance {old} -> {new}"] = rows.update(stance=new)
    if unlinked:
        rows = Span.objects.filter(label=label, entry__isnull=False)
        touched += _layers_of(rows)
        count = rows.update(entry=None, stance="")
        if count:
            deleted["links"] = count
    for value in removed_stances:
        rows = Span.objects.filter(label=label, stance=value)
        touched += _layers_of(rows)
        count = rows.update(stance="")
        if count:
            deleted[f"stance {value}"] = count
    if label.name != before["name"]:
        # The rows keep pointing at the label; only the name layers show changes.
        touched += _layers_of(_annotation_rows(label))
    label.save()
    after = snapshot(label)
    if rewritten:
        after["rewritten_spans"] = rewritten
    if deleted:
        after["deleted_annotations"] = deleted
    after["layers_bumped"] = _bump_layers(touched)
    _audit(access, "update", label, before, after)
    return label


def _annotation_rows(label: LabelType) -> Any:
    if label.kind == LabelKind.RELATION:
        return Relation.objects.filter(label=label)
    if label.kind == LabelKind.DOCUMENT:
        return DocumentLabel.objects.filter(label=label)
    return Span.objects.filter(label=label)


@transaction.atomic
def delete_label(*, access: Access, label: LabelType, delete_annotations: bool = False) -> Usage:
    """Remove a label; refused while annotations use it unless ``delete_annotations``,
    which deletes them (and the relations that touch deleted spans). Returns what went."""
    _require_manager(access, label)
    label = (
        LabelType.objects.select_for_update(of=("self",))
        .select_related("head_label", "tail_label")
        .get(pk=label.pk)
    )
    problems = _Problems()
    ends = LabelType.objects.filter(Q(head_label=label) | Q(tail_label=label)).order_by("name")
    for relation_type in ends:
        end = "head" if relation_type.head_label_id == label.pk else "tail"
        problems.add(
            "label",
            f"{label.name!r} is the {end} of the relation type {relation_type.name!r}: "
            "change that first",
        )
    usage = label_usage(label)
    _refuse_if_used(problems, "delete_annotations", f"{label.name!r}", usage, delete_annotations)
    problems.raise_if_any()
    before = snapshot(label)
    touched: list[int] = []
    after: dict[str, Any] = {}
    if usage:
        rows = _annotation_rows(label)
        touched = _layers_of(rows)
        if label.kind == LabelKind.SPAN:
            links = Relation.objects.filter(Q(head__label=label) | Q(tail__label=label))
            after["deleted_relations"] = links.count()
        rows.delete()
        after[f"deleted_{usage.noun.replace(' ', '_')}s"] = usage.rows
        after["layers_bumped"] = _bump_layers(touched)
    _audit(access, "delete", label, before, after or None)
    label.delete()
    return usage
