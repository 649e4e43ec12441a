import django.utils.timezone
from django.db import migrations, models


def _from_created_at(apps, schema_editor):
    """Existing refunds: pending since they were recorded (their retries are not known)."""
    Refund = apps.get_model("payments", "Refund")
    Refund.objects.update(pending_since=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_fee_table"),
    ]

    operations = [
        migrations.AddField(
            model_name="refund",
            name="pending_since",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(_from_created_at, migrations.RunPython.noop),
    ]
