import datetime

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("duty", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="shift",
            name="day",
            field=models.DateField(default=datetime.date(2000, 1, 1), verbose_name="day"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="coveragegap",
            name="seconds",
            field=models.PositiveIntegerField(default=0, verbose_name="seconds uncovered"),
        ),
    ]
