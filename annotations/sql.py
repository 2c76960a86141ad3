"""Hand-composed SQL for the API's span-write path, and the write statements of that path.

On a span write the ORM spent more CPU composing queries and building instances than
PostgreSQL spent answering them (bench/README.md, api_write). The statements of that path
are composed once per process from the models' own fields, so that a new or renamed
column follows the model, and rows become model instances through the converters the ORM
itself would apply. The reads (token, layer and role, labels) are composed in
``annotations.access``; the writes (the layer's version bump, the span and audit INSERTs,
and a batch's multi-row INSERTs of spans, links and audit events) here, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Field, Model

from annotations.models import Layer

M = TypeVar("M", bound=Model)

Converter = Callable[[Any, Any, Any], Any]


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    return quote(model._meta.db_table)


def concrete_field(model: type[Model], name: str) -> Field[Any, Any]:
    """The field ``name`` of ``model``, which has a column of its own."""
    found = model._meta.get_field(name)
    if not isinstance(found, Field) or not found.column:
        raise LookupError(f"{model.__name__}.{name} has no column of its own")
    return found


def column(model_field: Field[Any, Any]) -> str:
    assert model_field.column, f"{model_field} has no column"
    return quote(model_field.column)


def column_of(model: type[Model], name: str) -> str:
    """The quoted column of ``model``'s field ``name`` (``project`` gives ``project_id``)."""
    return column(concrete_field(model, name))


def columns(model: type[Model], alias: str) -> str:
    """Every concrete column of ``model`` as ``alias.column``, in field order."""
    return ", ".join(f"{quote(alias)}.{column(f)}" for f in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    """How many values ``columns(model, ...)`` selects."""
    return len(model._meta.concrete_fields)


@cache
def _attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


@cache
def _converters(
    model: type[Model], vendor: str
) -> tuple[tuple[int, Any, tuple[Converter, ...]], ...]:
    # (position, the column expression, its converters) for the fields that need any:
    # JSON on PostgreSQL; dates, decimals and booleans on SQLite.
    found = []
    for position, model_field in enumerate(model._meta.concrete_fields):
        column = model_field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + model_field.get_db_converters(
            connection
        )
        if converters:
            found.append((position, column, tuple(converters)))
    return tuple(found)


def model_from_row(model: type[M], values: Sequence[Any]) -> M:
    """An instance of ``model`` from the values ``columns(model, ...)`` selected."""
    row = list(values)
    for position, column, converters in _converters(model, connection.vendor):
        for convert in converters:
            row[position] = convert(row[position], column, connection)
    return model.from_db(DEFAULT_DB_ALIAS, _attnames(model), row)


@cache
def _insert_sql(model: type[Model]) -> tuple[str, str, str, tuple[Field[Any, Any], ...]]:
    # Every column but the generated primary key, which comes back with RETURNING: the
    # statement's head, one row's placeholders, its tail, and the fields in column order.
    pk = model._meta.pk
    assert pk is not None
    fields = tuple(f for f in model._meta.concrete_fields if f is not pk)
    names = ", ".join(column(f) for f in fields)
    marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {table(model)} ({names}) VALUES ",
        marks,
        f" RETURNING {column(pk)}",
        fields,
    )


def insert(instance: Model) -> None:
    """Save a new ``instance`` as ``Model.objects.create`` would, signals aside (the
    workbench has no receivers): one INSERT, the generated key set on the instance."""
    insert_many([instance])


def insert_many(instances: Sequence[Model]) -> None:
    """Save new instances of one model as ``bulk_create`` would, in one INSERT, without
    the ORM's per-statement compiling; each gets its generated key (RETURNING answers in
    the order of the VALUES rows, as ``bulk_create`` relies on too)."""
    if not instances:
        return
    head, marks, tail, fields = _insert_sql(type(instances[0]))
    params = [
        f.get_db_prep_save(f.pre_save(instance, True), connection)
        for instance in instances
        for f in fields
    ]
    rows = fetch_all(head + ", ".join([marks] * len(instances)) + tail, params)
    assert len(rows) == len(instances)
    for instance, row in zip(instances, rows, strict=True):
        instance.pk = row[0]
        instance._state.adding = False
        instance._state.db = DEFAULT_DB_ALIAS


def bump_version(
    layer_id: int, *, while_status: str, expected: int | None, changes: dict[str, Any]
) -> int | None:
    """The layer's next version if it is in ``while_status`` (and at version ``expected``,
    when given), with ``changes`` applied; None when no row matched. The UPDATE holds the
    layer's row lock until the transaction ends."""
    fields = [concrete_field(Layer, name) for name in changes]
    assignments = "".join(f", {column(f)} = %s" for f in fields)
    params = [f.get_db_prep_save(changes[f.name], connection) for f in fields]
    params += [layer_id, while_status]
    version = column_of(Layer, "version")
    statement = (
        f"UPDATE {table(Layer)} SET {version} = {version} + 1{assignments} "
        f"WHERE {column_of(Layer, 'id')} = %s AND {column_of(Layer, 'status')} = %s"
    )
    if expected is not None:
        statement += f" AND {version} = %s"
        params.append(expected)
    row = fetch_one(statement + f" RETURNING {version}", params)
    return None if row is None else int(row[0])


def fetch_one(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
