"""Writing rows: `COPY` on PostgreSQL for many new ones, one INSERT for a few, and
the UPDATE of a few columns of one row.

The services write a handful of rows per action (a claim, its refund, the
buyer's mail, the history lines, the task rows) and change a few columns of
others (the order's cancelled time, the claim's status), and Django builds
each INSERT and UPDATE anew from the model's fields, which costs several
times what sending it does. On PostgreSQL, `insert_rows`, `insert_row` and
`update_row` build their statement once per model and column list and
prepare each value as Django does; elsewhere they are Django's own
`bulk_create` and `QuerySet.update`.
"""

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


def insert_row[M: models.Model](obj: M) -> M:
    """Write the new, unsaved `obj` and give it its id, like `obj.save(force_insert=True)`.

    The same as `insert_rows(type(obj), [obj])`: no model signals are sent,
    and a value that is an expression (`F()`, `Now()`) is refused.
    """
    insert_rows(type(obj), [obj])
    return obj


def insert_rows[M: models.Model](model: type[M], objs: Sequence[M]) -> Sequence[M]:
    """Write the new, unsaved `objs` of `model` and give each its id, like `bulk_create`.

    On PostgreSQL: from `COPY_MIN_ROWS` rows on, the ids are taken from the
    table's sequence in one statement, then the rows are sent with `COPY`;
    fewer go in one INSERT of every column, built once per model and row
    count (`_insert_sql`), which returns the ids. Each value is prepared as
    `bulk_create` prepares it (defaults and `auto_now` included), except those
    of the fields in `_AS_IS` and the aware datetimes and dates of fields
    without `auto_now`, which go as they are. Row triggers fire as for an
    INSERT. No signals are sent (nor does `bulk_create` send any).
    Elsewhere this is `bulk_create`.
    """
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model._default_manager.bulk_create(objs)
    given = objs[0].pk is not None  # a uuid the model makes, or an id set on purpose
    for obj in objs:
        if (obj.pk is not None) != given:
            raise ValueError(f"insert_rows({model._meta.label}): give every row its id, or none")
        # what bulk_create checks: no related object still without its id
        obj._prepare_related_fields_for_save(operation_name="insert_rows")  # type: ignore[attr-defined]
    if len(objs) < COPY_MIN_ROWS:
        _insert(model, objs, given)
    else:
        _copy(model, objs, given)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def _insert(model: type[models.Model], objs: Sequence[models.Model], given: bool) -> None:
    """Write a few rows in one INSERT; unless their ids are `given`, read back the database's."""
    meta = model._meta
    values = _preparers(model, with_pk=given)
    params = []
    for obj in objs:
        row = [value(obj) for value in values]
        if any(hasattr(value, "resolve_expression") for value in row):
            raise ValueError(f"insert_rows({meta.label}) takes values, not expressions")
        params.extend(row)
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model, len(objs), given), params)
        if not given:
            for obj, (pk_value,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk_value


@cache
def _insert_sql(model: type[models.Model], rows: int, given: bool) -> str:
    """Return the INSERT of `rows` rows of `model`: every column, the id too if `given`.

    Without it the statement returns the ids, in the rows' order (PostgreSQL
    gives a multi-row VALUES' RETURNING rows in order).
    """
    meta = model._meta
    quote = connection.ops.quote_name
    fields = _fields(model, with_pk=given)
    columns = ", ".join(quote(str(f.column)) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = quote(meta.db_table)
    returning = "" if given else f" RETURNING {table}.{quote(str(meta.pk.column))}"  # as Django
    values = ", ".join([row] * rows)
    # the model's own table and columns, and a placeholder for every value
    return f"INSERT INTO {table} ({columns}) VALUES {values}{returning}"  # noqa: S608


def update_row(
    model: type[models.Model],
    pk: Any,
    values: dict[str, Any],
    *,
    where: dict[str, Any] | None = None,
) -> int:
    """Set `values` on the row `pk` of `model` if its columns match `where`; return the rows changed.

    The same as `model.objects.filter(pk=pk, **where).update(**values)`: values
    are prepared by their fields (`auto_now` is not applied), no signals are
    sent, and the values and `where` take plain values (by field name), not
    expressions; `where` takes no None.
    """
    where = where or {}
    if connection.vendor != "postgresql":
        return model._default_manager.filter(pk=pk, **where).update(**values)
    meta = model._meta
    params = []
    for name, value in (*values.items(), *where.items()):
        if hasattr(value, "resolve_expression") or (value is None and name in where):
            raise ValueError(f"update_row({meta.label}, {name}) takes plain values")
        params.append(meta.get_field(name).get_db_prep_save(value, connection))  # type: ignore[union-attr]
    params.append(pk)
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(model, tuple(values), tuple(where)), params)
        return cursor.rowcount


@cache
def _update_sql(model: type[models.Model], names: tuple[str, ...], where: tuple[str, ...]) -> str:
    """Return the UPDATE of the columns of fields `names` of one row matching `where`."""
    meta = model._meta
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(str(meta.get_field(name).column))  # type: ignore[union-attr]

    assignments = ", ".join(f"{column(n)} = %s" for n in names)
    pk = quote(str(meta.pk.column))
    conditions = " AND ".join([*(f"{column(n)} = %s" for n in where), f"{pk} = %s"])
    # the model's own table and columns, and a placeholder for every value
    return f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {conditions}"  # noqa: S608


def _copy(model: type[models.Model], objs: Sequence[models.Model], given: bool) -> None:
    """Write many rows with `COPY`; unless their ids are `given`, take them from the sequence first."""
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    pk = meta.pk
    assert pk is not None  # noqa: S101 - every model has one
    with connection.cursor() as cursor:
        if not given:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s) ORDER BY 1",
                [meta.db_table, pk.column, len(objs)],
            )
            for obj, (pk_value,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk_value
        fields = meta.concrete_fields
        columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
        values = _preparers(model)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([value(obj) for value in values])


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
def _fields(model: type[models.Model], *, with_pk: bool) -> list[models.Field[Any, Any]]:
    """Return the concrete fields of `model`, its primary key only if `with_pk`."""
    return [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]


@cache
def _preparers(
    model: type[models.Model], *, with_pk: bool = True
) -> list[Callable[[models.Model], Any]]:
    """Return, per field of `_fields(model)`, how to read an instance's column value."""
    return [_preparer(field) for field in _fields(model, with_pk=with_pk)]


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
