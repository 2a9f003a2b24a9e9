"""One model instance from a hand-written SELECT, for the few statements on a hot path.

The ORM builds and compiles each query anew, which on a busy endpoint costs more than
the database's own work (bench/reports_submit.py). A statement written out once and
read through here gets the same values the ORM would give: each column goes through
the backend's and the field's converters (SQLite's naive datetimes become aware, and
so on), and the row becomes an instance through Model.from_db, so any column not
selected is loaded on first use, as with QuerySet.only(). What it saves is measured
by bench/reports_submit.py; use it only where that matters.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def select_list(model: type[models.Model], alias: str) -> str:
    """The model's columns, written out ("p.id, p.username, …"), for a SELECT on a hot
    path rather than `alias.*`: a prepared statement's result then keeps the shape this
    code knows even after a migration adds a column, instead of failing with "cached
    plan must not change result type" until the process restarts."""
    return ", ".join(f"{alias}.{f.column}" for f in model._meta.concrete_fields)


_columns: dict[str, tuple[str, ...]] = {}
_plans: dict[tuple[type[models.Model], tuple[str, ...]], list[tuple[str, int, Any, list[Any]]]] = {}


def _plan(
    model: type[models.Model], columns: tuple[str, ...]
) -> list[tuple[str, int, Any, list[Any]]]:
    """For each column, in the model's field order: (attname, column index, converters)."""
    key = (model, columns)
    if key not in _plans:
        where = {column: i for i, column in enumerate(columns)}
        plan = []
        for field in model._meta.concrete_fields:
            if field.column in where:
                col = field.get_col(model._meta.db_table)
                converters = connection.ops.get_db_converters(col) + field.get_db_converters(
                    connection
                )
                plan.append((field.attname, where[field.column], col, converters))
        _plans[key] = plan
    return _plans[key]


def fetch_one(model: type[M], sql: str, params: list[Any]) -> M | None:
    """The first row of `sql` as a `model` instance, or None. Select the primary key;
    a column that is not the model's becomes an attribute, unconverted (an annotation)."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        # A statement's columns do not change while the process runs: name them once.
        columns = _columns.get(sql)
        if columns is None:
            columns = _columns[sql] = tuple(d[0] for d in cursor.description)
    names, values, used = [], [], set()
    for attname, index, col, converters in _plan(model, columns):
        value = row[index]
        for converter in converters:
            value = converter(value, col, connection)
        names.append(attname)
        values.append(value)
        used.add(index)
    instance = model.from_db(connection.alias, names, values)
    for index, column in enumerate(columns):
        if index not in used:
            setattr(instance, column, row[index])
    return instance


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """A cursor whose statements PostgreSQL parses and plans once per connection.

    Django binds parameters in the client by default and never prepares (it keeps
    connection poolers working); every statement is then parsed and planned anew,
    which on a hot path costs more than running it. This cursor binds on the server
    and prepares each statement on first use (psycopg keeps up to 100 a connection),
    inside Django's cursor wrapper (errors, query log, execute wrappers). Settings
    turn preparing off with DATABASE_PREPARED=0 (for a pooler that cannot hold
    prepared statements); the parameters are still bound on the server. On SQLite
    this is the plain cursor; so it is while queries are logged (DEBUG, or a test
    capturing them), since psycopg does not keep a prepared statement's text to log.
    """
    if connection.vendor != "postgresql" or connection.queries_logged:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        wrapped = connection._prepare_cursor(_preparing_cursor_class()(connection.connection))
    with wrapped as cursor:
        yield cursor


_cursor_class: Any = None


def _preparing_cursor_class() -> Any:
    global _cursor_class
    if _cursor_class is None:
        from django.db.backends.postgresql.base import ServerBindingCursor

        class PreparingCursor(ServerBindingCursor):
            def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
                kwargs.setdefault("prepare", True)
                return super().execute(query, params, **kwargs)

        _cursor_class = PreparingCursor
    return _cursor_class


def execute_on_postgresql(db: Any, sql: str) -> None:
    """Run a statement on a PostgreSQL connection (a migration's function), and nothing
    on SQLite, which has its own plain-statement path."""
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql)
