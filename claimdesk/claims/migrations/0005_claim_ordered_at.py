"""Claim.ordered_at: the order's date on the claim, for the order-date period without a join.

Not atomic: the column is added at once (nullable, no rewrite), the existing claims
are filled in one UPDATE of their own, then the two indexes are built, each with a
plain CREATE INDEX (writes to claims wait while one builds: on a large live database,
create them CONCURRENTLY by hand first; docs/deployment.md). Claims opened meanwhile
by servers still on the previous release are filled by the sweep
(`claims.timers.fill_claim_order_dates`).
"""

from django.db import migrations, models

BACKFILL = """
UPDATE claims_claim SET ordered_at = orders_order.ordered_at
FROM orders_order
WHERE orders_order.id = claims_claim.order_id AND claims_claim.ordered_at IS NULL
"""


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("claims", "0004_perf_indexes"),
        ("orders", "0003_buyer_request"),
    ]

    operations = [
        migrations.AddField(
            model_name="claim",
            name="ordered_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop, elidable=True),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                fields=["shop", "-ordered_at", "-id", "status"], name="claim_shop_ordered_cov"
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                condition=models.Q(("is_open", True)),
                fields=["shop", "-requested_at", "-id", "status"],
                name="claim_shop_open_requested",
            ),
        ),
    ]
