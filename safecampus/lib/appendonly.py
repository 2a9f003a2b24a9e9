"""Append-only tables: the database itself refuses UPDATE and DELETE (and TRUNCATE).

Used by the audit trail and by daily reports. TABLES lists every such table,
so tests can lift the triggers around Django's table flush, as a database
administrator could.
"""

from django.db.backends.base.base import BaseDatabaseWrapper

# table → trigger name prefix
TABLES = {
    "audit_auditentry": "audit_entry",
    "reports_dailyreport": "daily_report",
}


def _statements(connection: BaseDatabaseWrapper, table: str, create: bool) -> list[str]:
    name = TABLES[table]
    message = f"{table} is append-only"
    if connection.vendor == "sqlite":
        if create:
            return [
                f"CREATE TRIGGER IF NOT EXISTS {name}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
                f"CREATE TRIGGER IF NOT EXISTS {name}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
            ]
        return [
            f"DROP TRIGGER IF EXISTS {name}_no_update",
            f"DROP TRIGGER IF EXISTS {name}_no_delete",
        ]
    if connection.vendor == "postgresql":
        if create:
            return [
                f"CREATE OR REPLACE FUNCTION {name}_refuse() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$",
                f"CREATE TRIGGER {name}_no_change BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}_refuse()",
                f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_refuse()",
            ]
        return [
            f"DROP TRIGGER IF EXISTS {name}_no_change ON {table}",
            f"DROP TRIGGER IF EXISTS {name}_no_truncate ON {table}",
        ]
    raise RuntimeError(f"no append-only triggers for {connection.vendor}")


def install(connection: BaseDatabaseWrapper, table: str) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection, table, create=True):
            cursor.execute(sql)


def remove(connection: BaseDatabaseWrapper, table: str) -> None:
    with connection.cursor() as cursor:
        for sql in _statements(connection, table, create=False):
            cursor.execute(sql)


def installed_tables(connection: BaseDatabaseWrapper) -> list[str]:
    existing = set(connection.introspection.table_names())
    return [t for t in TABLES if t in existing]
