# The indexes of messaging.0004's column, built without blocking writes to notes.

from django.db import migrations, models

from claimdesk.core.migration_ops import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False  # the indexes are built CONCURRENTLY on PostgreSQL

    dependencies = [
        ("messaging", "0004_note_shop"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="note",
            index=models.Index(
                condition=models.Q(("read_at__isnull", True), ("recipient_role", "seller")),
                fields=["shop", "-created_at"],
                name="note_shop_unread_seller",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="note",
            index=models.Index(
                condition=models.Q(("shop__isnull", True)), fields=["id"], name="note_shop_missing"
            ),
        ),
    ]
