"""Drops the PL/pgSQL functions 0004 and 0006 installed (safecampus_report_append,
safecampus_report_submit): a report is submitted one way, by reports.services through
the ORM, on SQLite and PostgreSQL alike. Every version of each is dropped, whatever
arguments the version installed in a database took. Nothing to do on SQLite.

Not reinstalled backwards: the code that called them is gone (0004 and 0006 now do
nothing either way)."""

from django.db import migrations

from safecampus.lib.sql import execute_on_postgresql

_DROP = """
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema()
            AND p.proname IN ('safecampus_report_append', 'safecampus_report_submit')
    LOOP
        EXECUTE 'DROP FUNCTION ' || f;
    END LOOP;
END $$
"""


def drop(apps, schema_editor):
    execute_on_postgresql(schema_editor.connection, _DROP)


class Migration(migrations.Migration):
    dependencies = [("reports", "0007_calendar_year")]
    operations = [migrations.RunPython(drop, migrations.RunPython.noop)]
