"""Every roll call has its unit (0008 filled it); its incident is now optional."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0008_roll_call_unit"),
    ]

    operations = [
        migrations.AlterField(
            model_name="rollcall",
            name="unit",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="orgs.unit",
                verbose_name="unit",
            ),
        ),
        migrations.AlterField(
            model_name="rollcall",
            name="incident",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="roll_call",
                to="incidents.incident",
            ),
        ),
    ]
