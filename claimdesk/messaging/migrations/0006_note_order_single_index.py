"""Notes lose the order column's own index: note_order_category starts with it.

Only the index is dropped, CONCURRENTLY on PostgreSQL so that writes to notes
go on (Django's AlterField would also drop and re-add the foreign key,
checking every note again under a lock).
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

INDEX = "messaging_note_order_id_5bff3978"  # the name Django gave it


def _concurrently(schema_editor: Any) -> str:
    return " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""


def drop(apps: Any, schema_editor: Any) -> None:  # noqa: ARG001
    schema_editor.execute(f"DROP INDEX{_concurrently(schema_editor)} IF EXISTS {INDEX}")


def build(apps: Any, schema_editor: Any) -> None:  # noqa: ARG001
    schema_editor.execute(
        f"CREATE INDEX{_concurrently(schema_editor)} {INDEX} ON messaging_note (order_id)"
    )


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY on PostgreSQL

    dependencies = [
        ("messaging", "0005_note_shop_indexes"),
        ("orders", "0005_delayed_box"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="note",
                    name="order",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notes",
                        to="orders.order",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop, build)],
        ),
    ]
