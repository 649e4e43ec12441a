"""Migrations that a large live database can take without stopping writes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext


@pytest.mark.parametrize(
    "app, migration",
    [("orders", "0005_delayed_box"), ("messaging", "0005_note_shop_indexes")],
)
def test_new_indexes_are_built_concurrently_on_postgresql(app, migration, transactional_db):  # noqa: ARG001
    """CREATE INDEX CONCURRENTLY (writes go on) on PostgreSQL, a plain index on SQLite."""
    out = StringIO()
    call_command("sqlmigrate", app, migration, stdout=out)
    sql = out.getvalue()
    assert "CREATE INDEX" in sql
    assert ("CONCURRENTLY" in sql) == (connection.vendor == "postgresql"), sql
    assert "BEGIN;" not in sql  # not in a transaction: CONCURRENTLY needs none


@pytest.mark.parametrize(
    "app, before, table, index",
    [
        ("orders", "0004_tally", "orders_order", "order_live_waiting"),
        ("messaging", "0004_note_shop", "messaging_note", "note_shop_unread_seller"),
    ],
)
def test_they_reverse(app, before, table, index, transactional_db):  # noqa: ARG001
    """Migrating back drops the index (concurrently on PostgreSQL), forward builds it again.

    (Outside a transaction, as `manage.py migrate` runs them: transactional_db.)
    """

    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            return set(connection.introspection.get_constraints(cursor, table))

    assert index in indexes()
    try:
        call_command("migrate", app, before, verbosity=0)
        assert index not in indexes()
    finally:
        call_command("migrate", verbosity=0)  # every app back to its latest
    assert index in indexes()


def test_notes_lose_the_order_columns_own_index_and_get_it_back(transactional_db):  # noqa: ARG001
    """messaging.0006 drops the index note_order_category makes redundant; back builds it."""

    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            return set(connection.introspection.get_constraints(cursor, "messaging_note"))

    own = "messaging_note_order_id_5bff3978"
    assert own not in indexes() and "note_order_category" in indexes()
    try:
        with CaptureQueriesContext(connection) as back:
            call_command("migrate", "messaging", "0005", verbosity=0)
        assert own in indexes()
    finally:
        with CaptureQueriesContext(connection) as forward:
            call_command("migrate", verbosity=0)
    assert own not in indexes() and "note_order_category" in indexes()
    # concurrently on PostgreSQL: writes to notes go on meanwhile
    concurrently = " CONCURRENTLY" if connection.vendor == "postgresql" else ""
    assert any(f"CREATE INDEX{concurrently} {own}" in q["sql"] for q in back.captured_queries)
    assert any(f"DROP INDEX{concurrently} IF" in q["sql"] for q in forward.captured_queries)
