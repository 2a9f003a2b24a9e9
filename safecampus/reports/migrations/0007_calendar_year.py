"""The official calendar's years: which are loaded, from where, and complete (with their
make-up workdays). The years seeded by 0002 are recorded as loaded from the holidays
package, complete when the package had make-up workdays for them; their names are
written in the calendar's own words (春节, not 'Chinese New Year')."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def record_seeded_years(apps, schema_editor):
    import holidays

    from safecampus.lib.calendar import official_days

    CalendarDay = apps.get_model("reports", "CalendarDay")
    CalendarYear = apps.get_model("reports", "CalendarYear")
    years = sorted({d.year for d in CalendarDay.objects.values_list("date", flat=True)})
    now = timezone.now()
    for year in years:
        chinese = official_days([year])
        english = holidays.China(years=year, language="en_US")
        for day, (_work, name) in chinese.items():
            if day in english:  # a package name left in English by 0002: the Chinese one
                CalendarDay.objects.filter(date=day, name=str(english[day])[:100]).update(
                    name=name[:100]
                )
        make_up = CalendarDay.objects.filter(
            date__year=year, is_workday=True, date__week_day__in=[1, 7]
        ).exists()
        CalendarYear.objects.get_or_create(
            year=year, defaults={"source": "package", "complete": make_up, "loaded_at": now}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0006_submit_function"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CalendarYear",
            fields=[
                (
                    "year",
                    models.PositiveSmallIntegerField(
                        primary_key=True, serialize=False, verbose_name="year"
                    ),
                ),
                (
                    "source",
                    models.CharField(
                        choices=[
                            ("package", "the holidays package"),
                            ("import", "the State Council's list (imported)"),
                            ("manual", "entered by hand"),
                        ],
                        max_length=10,
                        verbose_name="source",
                    ),
                ),
                ("complete", models.BooleanField(default=False, verbose_name="complete")),
                ("loaded_at", models.DateTimeField(verbose_name="loaded at")),
                (
                    "loaded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "calendar year",
                "verbose_name_plural": "calendar years",
                "ordering": ["year"],
            },
        ),
        migrations.RunPython(record_seeded_years, migrations.RunPython.noop),
    ]
