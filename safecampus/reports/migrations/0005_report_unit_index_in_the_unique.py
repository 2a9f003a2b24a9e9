"""The report's unit keeps no index of its own: report_one_version (unit, date, version)
leads with it. Only the index is dropped: on SQLite, Django's AlterField would rebuild
the table, and with it lose its append-only triggers."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "reports_dailyreport_unit_id_6ceba3a1"


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_unit_depth_index"),
        ("reports", "0004_append_function"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="dailyreport",
                    name="unit",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="daily_reports",
                        to="orgs.unit",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {INDEX}",
                    f"CREATE INDEX {INDEX} ON reports_dailyreport (unit_id)",
                ),
            ],
        ),
    ]
