"""Start the daily chain-head message; each one schedules the next."""

import datetime as dt

from django.db import migrations
from django.utils import timezone


def start(apps, schema_editor):
    Timer = apps.get_model("worker", "Timer")
    day = timezone.localdate() + dt.timedelta(days=1)
    Timer.objects.get_or_create(
        key=f"audit:daily-head:{day.isoformat()}",
        defaults={"kind": "audit.daily_head",
                  "due_at": timezone.make_aware(dt.datetime.combine(day, dt.time(0, 5)))},
    )


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers"), ("worker", "0001_initial")]
    operations = [migrations.RunPython(start, migrations.RunPython.noop)]
