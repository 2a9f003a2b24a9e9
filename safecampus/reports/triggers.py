"""Submitted reports are append-only: the database refuses UPDATE and DELETE."""

from django.db.backends.base.base import BaseDatabaseWrapper

from safecampus.lib import appendonly

TABLE = "reports_dailyreport"


def install(connection: BaseDatabaseWrapper) -> None:
    appendonly.install(connection, TABLE)


def remove(connection: BaseDatabaseWrapper) -> None:
    appendonly.remove(connection, TABLE)
