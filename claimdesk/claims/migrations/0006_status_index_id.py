"""claim_shop_status gains the id: a status box's first page stops after 50 index entries.

The new index is built before the old one is dropped, so status lookups always have one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0005_claim_ordered_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                fields=["shop", "status", "-requested_at", "-id"], name="claim_shop_status_req"
            ),
        ),
        migrations.RemoveIndex(
            model_name="claim",
            name="claim_shop_status",
        ),
    ]
