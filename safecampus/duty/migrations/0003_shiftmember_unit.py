"""ShiftMember.unit, copied from its shift (as its times are) so the gap scan reads the
leaders on duty of a whole province from one partial index, without a join."""

import django.db.models.deletion
from django.db import migrations, models


def copy_units(apps, schema_editor):
    ShiftMember = apps.get_model("duty", "ShiftMember")
    Shift = apps.get_model("duty", "Shift")
    ShiftMember.objects.update(
        unit_id=models.Subquery(
            Shift.objects.filter(pk=models.OuterRef("shift_id")).values("unit_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("duty", "0002_shift_day_gap_seconds"),
    ]

    operations = [
        migrations.AddField(
            model_name="shiftmember",
            name="unit",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="orgs.unit",
                verbose_name="unit",
            ),
        ),
        migrations.RunPython(copy_units, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="shiftmember",
            name="unit",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="orgs.unit",
                verbose_name="unit",
            ),
        ),
        migrations.AddIndex(
            model_name="shiftmember",
            index=models.Index(
                condition=models.Q(("role", "leader")),
                fields=["starts_at"],
                include=("unit", "ends_at"),
                name="duty_member_leader_start",
            ),
        ),
    ]
