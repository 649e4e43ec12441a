from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_apitoken_apiidempotencykey"),
    ]

    operations = [
        migrations.AddField(
            model_name="shoprestriction",
            name="lift_reason",
            field=models.CharField(blank=True, max_length=255),
        ),
    ]
