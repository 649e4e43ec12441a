# ruff: noqa: S608 - the SQL here is built from the Tally descriptions in code, never from input
"""Counts the database keeps for the seller's boxes: tallies written by triggers.

A busy shop's box counts (orders per shipping box, claims per status in a period)
would otherwise count hundreds of thousands of index entries on every page. A
tally table holds the same numbers in a few rows per shop and key, kept by
database triggers on the counted table, so that no writer can forget them: the
services, a `QuerySet.update()`, a data fix in psql and a bulk load all count.

The triggers only ever insert: each change of a counted row inserts a -1 row for
the key it leaves and a +1 row for the key it enters (nothing for an unchanged
key). Writers therefore never wait for each other on a hot counter row, however
many cancel in one shop at once. A count is the sum of a key's rows;
`compact()` (run by the sweep) folds each key's rows into one. A count read in a
transaction sees exactly the rows that transaction sees, so it is as exact as
`COUNT(*)` over the counted table.

A `Tally` describes one tally table: the key columns, and for a counted row each
entry it contributes (a row may count under several keys, e.g. a claim by its
request date and by its order date), written once as SQL expressions over the
row. The same description builds the PostgreSQL and SQLite triggers and the
full recount (`rebuild()`), so the three cannot disagree.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import migrations
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


@dataclass(frozen=True)
class Entry:
    """One key a counted row counts under, if `when` holds for it.

    Expressions are SQL over the row `{r}`; `{day:column}` is the column's date
    in UTC (a timestamp column's bucket).
    """

    key: tuple[str, ...]
    when: str = "TRUE"


@dataclass(frozen=True)
class Tally:
    table: str  # the tally table
    source: str  # the counted table
    key: tuple[str, ...]  # the tally's key columns, in the order of each entry's key
    entries: tuple[Entry, ...]
    watched: tuple[str, ...]  # the source columns the entries read
    nullable: tuple[str, ...] = ()  # key columns that may be NULL

    @property
    def name(self) -> str:
        return f"{self.source}_tally"


def _day(vendor: str, column: str) -> str:
    if vendor == "postgresql":
        return f"({column} AT TIME ZONE 'UTC')::date"
    return f"date({column})"


def _expr(vendor: str, template: str, row: str) -> str:
    text = template.replace("{r}", row)
    while "{day:" in text:
        start = text.index("{day:")
        end = text.index("}", start)
        text = text[:start] + _day(vendor, text[start + 5 : end]) + text[end + 1 :]
    if vendor == "sqlite":
        text = text.replace("TRUE", "1").replace("FALSE", "0")
    return text


def _key_columns(tally: Tally, entry: Entry, vendor: str, row: str) -> str:
    """Return `entry`'s key for `row` as a SELECT list named like the tally's columns."""
    return ", ".join(
        f"{_expr(vendor, e, row)} AS {c}" for e, c in zip(entry.key, tally.key, strict=True)
    )


def _rows(tally: Tally, vendor: str, row: str, sign: str, guard: str = "") -> list[str]:
    """Return one SELECT per entry giving the key and `sign` for `row`."""
    selects = []
    for entry in tally.entries:
        cols = _key_columns(tally, entry, vendor, row)
        when = _expr(vendor, entry.when, row)
        where = f"({when})" + (f" AND {guard}" if guard else "")
        selects.append(f"SELECT {cols}, {sign} AS n WHERE {where}")
    return selects


def _delta_insert(tally: Tally, vendor: str, old: bool, new: bool, guard: str = "") -> str:
    """Return the INSERT of the net -1/+1 rows for a change from OLD to NEW."""
    parts: list[str] = []
    if old:
        parts += _rows(tally, vendor, "OLD", "-1", guard.replace("{op}", "INSERT"))
    if new:
        parts += _rows(tally, vendor, "NEW", "1", guard.replace("{op}", "DELETE"))
    keys = ", ".join(tally.key)
    false = "FALSE" if vendor == "postgresql" else "0"
    return (
        f"INSERT INTO {tally.table} ({keys}, n, merged) "
        f"SELECT {keys}, SUM(n), {false} FROM ({' UNION ALL '.join(parts)}) d "
        f"GROUP BY {keys} HAVING SUM(n) <> 0"
    )


def _lock(tally: Tally) -> str:
    """The transaction lock that keeps compactions and recounts of `tally` apart (PostgreSQL)."""
    return f"pg_advisory_xact_lock(hashtext('{tally.table}'))"


def _changed(tally: Tally) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in tally.watched)


def install_sql(tally: Tally, vendor: str) -> list[str]:
    """Return the statements creating the triggers that keep `tally`."""
    name = tally.name
    if vendor == "postgresql":
        body = _delta_insert(tally, vendor, True, True, guard="TG_OP <> '{op}'")
        return [
            *uninstall_sql(tally, vendor),
            f"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {body};
                RETURN NULL;
            END $$""",
            f"""
            CREATE FUNCTION {name}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM {_lock(tally)};
                DELETE FROM {tally.table};
                RETURN NULL;
            END $$""",
            f"CREATE TRIGGER {name} AFTER INSERT OR DELETE ON {tally.source} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()",
            f"CREATE TRIGGER {name}_update AFTER UPDATE ON {tally.source} "
            f"FOR EACH ROW WHEN ({_changed(tally)}) EXECUTE FUNCTION {name}()",
            f"CREATE TRIGGER {name}_truncate AFTER TRUNCATE ON {tally.source} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_truncate()",
        ]
    if vendor == "sqlite":
        changed = _changed(tally).replace("IS DISTINCT FROM", "IS NOT")
        return [
            *uninstall_sql(tally, vendor),
            f"CREATE TRIGGER {name}_insert AFTER INSERT ON {tally.source} BEGIN "
            f"{_delta_insert(tally, vendor, False, True)}; END",
            # Django's test flush empties the tables one by one in no set order; a
            # row deleted after its tally was emptied must not leave a -1 behind. A
            # counted row always has a positive row of its shop in the tally, so the
            # guard never skips one otherwise. (PostgreSQL flushes with TRUNCATE.)
            f"CREATE TRIGGER {name}_delete AFTER DELETE ON {tally.source} "
            f"WHEN EXISTS (SELECT 1 FROM {tally.table} WHERE shop_id = OLD.shop_id) BEGIN "
            f"{_delta_insert(tally, vendor, True, False)}; END",
            f"CREATE TRIGGER {name}_update AFTER UPDATE ON {tally.source} WHEN {changed} BEGIN "
            f"{_delta_insert(tally, vendor, True, True)}; END",
        ]
    raise NotImplementedError(f"tallies are kept on PostgreSQL and SQLite, not {vendor}")


def uninstall_sql(tally: Tally, vendor: str) -> list[str]:
    """Return the statements dropping the triggers of `tally`."""
    name = tally.name
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {name} ON {tally.source}",
            f"DROP TRIGGER IF EXISTS {name}_update ON {tally.source}",
            f"DROP TRIGGER IF EXISTS {name}_truncate ON {tally.source}",
            f"DROP FUNCTION IF EXISTS {name}()",
            f"DROP FUNCTION IF EXISTS {name}_truncate()",
        ]
    return [f"DROP TRIGGER IF EXISTS {name}_{op}" for op in ("insert", "delete", "update")]


def rebuild_sql(tally: Tally, vendor: str) -> list[str]:
    """Return the statements recounting `tally` from its table (one merged row per key)."""
    keys = ", ".join(tally.key)
    selects = []
    for entry in tally.entries:
        cols = _key_columns(tally, entry, vendor, "r")
        selects.append(
            f"SELECT {cols} FROM {tally.source} r WHERE {_expr(vendor, entry.when, 'r')}"
        )
    true = "TRUE" if vendor == "postgresql" else "1"
    # not beside a compaction: its merged rows, inserted after this DELETE's snapshot,
    # would stay beside the recount
    lock = [f"SELECT {_lock(tally)}"] if vendor == "postgresql" else []
    return [
        *lock,
        f"DELETE FROM {tally.table}",
        f"INSERT INTO {tally.table} ({keys}, n, merged) SELECT {keys}, COUNT(*), {true} "
        f"FROM ({' UNION ALL '.join(selects)}) d GROUP BY {keys}",
    ]


def fingerprint(tally: Tally) -> str:
    """Return a digest of the SQL that installs and recounts `tally` on both databases.

    A tally's module keeps the fingerprint its latest installing migration was
    written for; `tests/test_tally.py` fails when the description changes without
    a new migration that installs it again (databases migrated earlier keep the
    triggers the earlier migration installed).
    """
    text = "\n".join(
        statement
        for vendor in ("postgresql", "sqlite")
        for statement in (*install_sql(tally, vendor), *rebuild_sql(tally, vendor))
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _run(connection: BaseDatabaseWrapper, statements: list[str]) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def install(connection: BaseDatabaseWrapper, tally: Tally) -> None:
    """Create the triggers of `tally` and count what the table holds already."""
    _run(connection, install_sql(tally, connection.vendor))
    _run(connection, rebuild_sql(tally, connection.vendor))


def uninstall(connection: BaseDatabaseWrapper, tally: Tally) -> None:
    _run(connection, uninstall_sql(tally, connection.vendor))


def install_operation(tally: Tally) -> migrations.RunPython:
    """Return the migration operation that installs `tally` (and drops it when reversed)."""

    def forwards(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:  # noqa: ARG001
        install(schema_editor.connection, tally)

    def backwards(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:  # noqa: ARG001
        uninstall(schema_editor.connection, tally)

    return migrations.RunPython(forwards, backwards)


def rebuild(connection: BaseDatabaseWrapper, tally: Tally) -> None:
    """Recount `tally` from scratch (after a load that bypassed the triggers)."""
    _run(connection, rebuild_sql(tally, connection.vendor))


def compact(connection: BaseDatabaseWrapper, tally: Tally) -> int:
    """Fold every key's rows written since the last compaction into one; return rows removed.

    Safe beside writers: on PostgreSQL one statement deletes the rows of the keys
    with unmerged rows that its snapshot sees and inserts their sums; rows a
    concurrent transaction adds are left for the next run. SQLite has one writer
    at a time, so the same is done in three statements inside a transaction.
    """
    keys = ", ".join(tally.key)
    # `=` where a column cannot be NULL, so that PostgreSQL can hash-join the keys
    same = " AND ".join(
        f"t.{c} IS NOT DISTINCT FROM k.{c}" if c in tally.nullable else f"t.{c} = k.{c}"
        for c in tally.key
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # one compaction (or recount) at a time: two would wait on each other's rows
            cursor.execute(f"SELECT {_lock(tally)}")
            cursor.execute(
                f"""
                WITH touched AS (
                    SELECT DISTINCT {keys} FROM {tally.table} WHERE NOT merged
                ), gone AS (
                    DELETE FROM {tally.table} t USING touched k WHERE {same}
                    RETURNING t.*
                ), kept AS (
                    INSERT INTO {tally.table} ({keys}, n, merged)
                    SELECT {keys}, SUM(n), TRUE FROM gone GROUP BY {keys} HAVING SUM(n) <> 0
                    RETURNING 1
                )
                SELECT (SELECT COUNT(*) FROM gone) - (SELECT COUNT(*) FROM kept)
                """
            )
            return int(cursor.fetchone()[0])
        same = same.replace("IS NOT DISTINCT FROM", "IS")  # SQLite's null-safe equality
        cursor.execute(f"SELECT MAX(id) FROM {tally.table}")
        top = cursor.fetchone()[0]
        if top is None:
            return 0
        touched = (
            f"EXISTS (SELECT 1 FROM {tally.table} k WHERE NOT k.merged AND k.id <= {int(top)} "
            f"AND {same})"
        )
        cursor.execute(
            f"INSERT INTO {tally.table} ({keys}, n, merged) "
            f"SELECT {keys}, SUM(n), 1 FROM {tally.table} t WHERE t.id <= {int(top)} AND {touched} "
            f"GROUP BY {keys} HAVING SUM(n) <> 0"
        )
        kept = cursor.rowcount
        cursor.execute(f"DELETE FROM {tally.table} AS t WHERE t.id <= {int(top)} AND {touched}")
        return cursor.rowcount - kept
