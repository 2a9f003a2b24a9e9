"""Deadlines after midnight (a "next day" flag per level), and the roll-up counters kept
per level, so a bureau's schools are counted apart from its groups and itself. The
counters of every day are counted again from the status rows, per level."""

from django.db import migrations, models

# reports.models.ROLLUP_DEPTH and Unit.steplen when this was written.
ROLLUP_DEPTH = 3
STEPLEN = 4
STATUSES = ["not_due", "on_time", "late", "missing", "exempt"]


def recount(apps, schema_editor):
    columns = ", ".join(STATUSES)
    sums = ", ".join(f"SUM(CASE WHEN s.status = '{s}' THEN 1 ELSE 0 END)" for s in STATUSES)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DELETE FROM reports_reportrollup")
        for depth in range(1, ROLLUP_DEPTH + 1):
            width = STEPLEN * depth
            cursor.execute(
                f"INSERT INTO reports_reportrollup (unit_id, date, level, {columns}) "  # noqa: S608
                f"SELECT u.id, s.date, s.level, {sums} "
                "FROM reports_reportstatus s "
                "JOIN orgs_unit u ON u.path = substr(s.path, 1, %s) "
                "WHERE length(s.path) >= %s GROUP BY u.id, s.date, s.level",
                [width, width],
            )


LEVELS = [
    ("department", "Departments and areas"),
    ("school", "Schools and kindergartens"),
    ("group", "Township groups"),
    ("bureau", "Bureau office"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_unit_depth_index"),
        ("reports", "0008_drop_submission_functions"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="reportrollup", name="rollup_one_a_day"),
        migrations.AddField(
            model_name="reportrollup",
            name="level",
            field=models.CharField(choices=LEVELS, default="school", max_length=12),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="reportrollup",
            constraint=models.UniqueConstraint(
                fields=("unit", "date", "level"), name="rollup_one_a_day_a_level"
            ),
        ),
        migrations.AddField(
            model_name="reportschedule",
            name="deadline_department_next_day",
            field=models.BooleanField(default=False, verbose_name="departments: the next day"),
        ),
        migrations.AddField(
            model_name="reportschedule",
            name="deadline_school_next_day",
            field=models.BooleanField(default=False, verbose_name="schools: the next day"),
        ),
        migrations.AddField(
            model_name="reportschedule",
            name="deadline_group_next_day",
            field=models.BooleanField(default=False, verbose_name="groups: the next day"),
        ),
        migrations.AddField(
            model_name="reportschedule",
            name="deadline_bureau_next_day",
            field=models.BooleanField(default=False, verbose_name="bureau: the next day"),
        ),
        migrations.RunPython(recount, migrations.RunPython.noop),
    ]
