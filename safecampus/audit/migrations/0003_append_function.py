"""PostgreSQL: the chain's append as one function call (audit/pgsql.py)."""

from django.db import migrations

from safecampus.audit import pgsql


def install(apps, schema_editor):
    pgsql.install(schema_editor.connection)


def remove(apps, schema_editor):
    pgsql.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(install, remove)]
