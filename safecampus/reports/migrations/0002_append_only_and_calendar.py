"""Submitted reports are append-only in the database; the calendar is seeded."""

from django.db import migrations

from safecampus.lib.calendar import official_days
from safecampus.reports import triggers


def install(apps, schema_editor):
    triggers.install(schema_editor.connection)


def remove(apps, schema_editor):
    triggers.remove(schema_editor.connection)


def seed_calendar(apps, schema_editor):
    CalendarDay = apps.get_model("reports", "CalendarDay")
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=day, is_workday=work, name=name[:100])
         for day, (work, name) in official_days(range(2024, 2028)).items()],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [
        migrations.RunPython(install, remove),
        migrations.RunPython(seed_calendar, migrations.RunPython.noop),
    ]
