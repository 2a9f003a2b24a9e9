"""The database itself refuses UPDATE and DELETE of audit entries (and TRUNCATE on PostgreSQL)."""

from django.db import migrations

from safecampus.audit import triggers


def install(apps, schema_editor):
    triggers.install(schema_editor.connection)


def remove(apps, schema_editor):
    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
