"""Migration operations for a live PostgreSQL database that also run on SQLite."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """Build the index with CREATE INDEX CONCURRENTLY on PostgreSQL, a plain index elsewhere.

    On PostgreSQL writes to the table go on while the index is built (a plain
    CREATE INDEX makes them wait for the whole build). The migration needs
    `atomic = False`. If a concurrent build fails it leaves an INVALID index:
    drop it and migrate again.
    """

    def database_forwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, *args)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, *args)

    def database_backwards(self, app_label: str, schema_editor: Any, *args: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, *args)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, *args)
