"""PostgreSQL: a unit's first report through the API in one statement, and the append
function with the audit chain's statements in its body rather than called
(reports/pgsql.py)."""

from django.db import migrations

from safecampus.reports import pgsql


def install(apps, schema_editor):
    pgsql.install(schema_editor.connection)  # CREATE OR REPLACE: the same function, inlined
    pgsql.install_submit(schema_editor.connection)


def remove(apps, schema_editor):
    pgsql.remove_submit(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0005_report_unit_index_in_the_unique"),
        ("orgs", "0002_unit_depth_index"),
    ]
    operations = [migrations.RunPython(install, remove)]
