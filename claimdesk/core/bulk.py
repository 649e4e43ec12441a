"""Writing many new rows of one model at once: `COPY` on PostgreSQL, a multi-row INSERT elsewhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.db import connection, models

#: From this many rows on, PostgreSQL gets them by `COPY`; fewer go in one INSERT,
#: which takes one round trip where `COPY` takes three.
COPY_MIN_ROWS = 100

#: Fields whose Python value is already what the column takes (no conversion to run).
_AS_IS: tuple[type[models.Field[Any, Any]], ...] = (
    models.AutoField,
    models.BigAutoField,
    models.IntegerField,  # and its small, big and positive kinds
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.ForeignKey,
)


def insert_rows[M: models.Model](model: type[M], objs: Sequence[M]) -> Sequence[M]:
    """Write the new, unsaved `objs` of `model` and give each its id, like `bulk_create`.

    On PostgreSQL from `COPY_MIN_ROWS` rows on: the ids are taken from the
    table's sequence in one statement, then the rows are sent with `COPY`.
    Each value is prepared as `bulk_create` prepares it (defaults and
    `auto_now` included), except those of the fields in `_AS_IS` and the
    aware datetimes and dates of fields without `auto_now`, which go as they
    are. Row triggers fire as for an INSERT. No signals are sent (nor
    does `bulk_create` send any).
    """
    if not objs:
        return objs
    if connection.vendor != "postgresql" or len(objs) < COPY_MIN_ROWS:
        return model._default_manager.bulk_create(objs)
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    pk = meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s) ORDER BY 1",
            [meta.db_table, pk.column, len(objs)],
        )
        for obj, (pk_value,) in zip(objs, cursor.fetchall(), strict=True):
            # what bulk_create checks: no related object still without its id
            obj._prepare_related_fields_for_save(operation_name="insert_rows")  # type: ignore[attr-defined]
            obj.pk = pk_value
        fields = meta.concrete_fields
        columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
        values = _preparers(model)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([value(obj) for value in values])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def insert_values(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Write new rows of `model` given as values, without model instances; ids are not read back.

    `fields` names every concrete field but the id (by attname: `order_id`),
    and each row holds their values as the columns take them (ints, strings,
    None: nothing is converted). On PostgreSQL from `COPY_MIN_ROWS` rows on
    they go by `COPY`, the ids from the column's default; otherwise by
    `bulk_create`.
    """
    meta = model._meta
    expected = {f.attname for f in meta.concrete_fields if not f.primary_key}
    if set(fields) != expected or len(fields) != len(expected):
        raise ValueError(f"insert_values({meta.label}) needs exactly {sorted(expected)}")
    if not rows:
        return
    if connection.vendor != "postgresql" or len(rows) < COPY_MIN_ROWS:
        model._default_manager.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows]
        )
        return
    table = connection.ops.quote_name(meta.db_table)
    column = {f.attname: str(f.column) for f in meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(column[f]) for f in fields)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


@cache
def _preparers(model: type[models.Model]) -> list[Callable[[models.Model], Any]]:
    """Return, per concrete field of `model`, how to read an instance's column value."""
    return [_preparer(field) for field in model._meta.concrete_fields]


def _preparer(field: models.Field[Any, Any]) -> Callable[[models.Model], Any]:
    if isinstance(field, _AS_IS):
        attname = field.attname
        return lambda obj: getattr(obj, attname)

    def prepared(obj: models.Model) -> Any:
        return field.get_db_prep_save(field.pre_save(obj, True), connection)

    if isinstance(field, models.DateField) and not (field.auto_now or field.auto_now_add):
        attname = field.attname
        datetimes = isinstance(field, models.DateTimeField)

        def ready(value: object) -> bool:
            if datetimes:
                return type(value) is dt.datetime and value.tzinfo is not None
            return type(value) is dt.date

        def when(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            if value is None or ready(value):
                return value
            return prepared(obj)  # a naive datetime or a date for a datetime: Django's way

        return when
    return prepared
