"""The audit trail's append-only triggers (see safecampus/lib/appendonly.py)."""

from django.db.backends.base.base import BaseDatabaseWrapper

from safecampus.lib import appendonly

TABLE = "audit_auditentry"


def install(connection: BaseDatabaseWrapper) -> None:
    appendonly.install(connection, TABLE)


def remove(connection: BaseDatabaseWrapper) -> None:
    appendonly.remove(connection, TABLE)
