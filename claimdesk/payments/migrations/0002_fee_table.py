"""Seed the payment-fee table with the platform's published bands."""

from django.db import migrations

BANDS = [
    ("bank_transfer", 0, 108),
    ("bank_transfer", 10_000, 216),
    ("bank_transfer", 30_000, 324),
    ("convenience_store", 0, 108),
    ("convenience_store", 10_000, 216),
    ("convenience_store", 30_000, 324),
]


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    rule = apps.get_model("payments", "PaymentFeeRule")
    for method, minimum, fee in BANDS:
        rule.objects.get_or_create(
            method=method, currency="JPY", min_amount_minor=minimum, defaults={"fee_minor": fee}
        )


def unseed(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("payments", "PaymentFeeRule").objects.filter(currency="JPY").delete()


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
