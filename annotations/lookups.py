"""Query lookups of our own, registered when the app is ready."""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, ForeignObject
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler


class AnyOf(In):
    """``field__any_of=[...]``: ``IN`` everywhere, ``= ANY(array)`` on PostgreSQL. On a
    foreign key, the values are the ids it holds.

    With server-side binding, ``IN`` sends one parameter per value, and a statement of
    hundreds of them is planned again and again (ten times the server's time of the same
    query given one array, measured on the export's reads). The array is one parameter,
    whatever the number of values.
    """

    lookup_name = "any_of"

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [self.lhs.output_field.get_db_prep_value(v, connection) for v in self.rhs]
        return f"{lhs} = ANY(%s)", [*lhs_params, values]


# A foreign key looks its lookups up only on the related-field classes.
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
