"""PostgreSQL: a submission's writes as one function call (reports/pgsql.py)."""

from django.db import migrations

from safecampus.reports import pgsql


def install(apps, schema_editor):
    pgsql.install(schema_editor.connection)


def remove(apps, schema_editor):
    pgsql.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_function"),
        ("reports", "0003_lean_status_indexes"),
    ]
    operations = [migrations.RunPython(install, remove)]
