"""A roll call's unit (who counts and who closes it), filled from its incident's: a roll call
may then be opened without an incident (a drill's, 0009)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_unit(apps, schema_editor):
    RollCall = apps.get_model("incidents", "RollCall")
    Incident = apps.get_model("incidents", "Incident")
    RollCall.objects.filter(unit__isnull=True).update(
        unit=Subquery(Incident.objects.filter(pk=OuterRef("incident_id")).values("unit_id")[:1])
    )


class Migration(migrations.Migration):

    dependencies = [
        ("incidents", "0007_hazard_entry"),
        ("orgs", "0003_person_must_change_password"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollcall",
            name="unit",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="orgs.unit",
                verbose_name="unit",
            ),
        ),
        migrations.RunPython(fill_unit, migrations.RunPython.noop),
    ]
