"""One model instance from a hand-written SELECT, for the few statements on a hot path.

The ORM builds and compiles each query anew, which on a busy endpoint costs more than
the database's own work (bench/reports_submit.py). A statement written out once and
read through here gets the same values the ORM would give: each column goes through
the backend's and the field's converters (SQLite's naive datetimes become aware, and
so on), and the row becomes an instance through Model.from_db, so any column not
selected is loaded on first use, as with QuerySet.only(). What it saves is measured
by bench/reports_submit.py; use it only where that matters.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

M = TypeVar("M", bound=models.Model)


def select_list(model: type[models.Model], alias: str, related: str = "") -> str:
    """The model's columns, written out ("p.id, p.username, …"), for a SELECT on a hot
    path rather than `alias.*`: a prepared statement's result then keeps the shape this
    code knows even after a migration adds a column, instead of failing with "cached
    plan must not change result type" until the process restarts. With `related` (a
    foreign key's name), the columns of the model that key points to, named for
    fetch_one ("u.id AS unit__id, …"), as select_related would join it."""
    if related:
        return ", ".join(
            f"{alias}.{f.column} AS {related}__{f.column}" for f in model._meta.concrete_fields
        )
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
    a column that is not the model's becomes an attribute, unconverted (an annotation).
    Columns named "<key>__<column>" (select_list's `related`) become the instance the
    foreign key `key` points to, cached on it as select_related would."""
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        # A statement's columns do not change while the process runs: name them once.
        columns = _columns.get(sql)
        if columns is None:
            columns = _columns[sql] = tuple(d[0] for d in cursor.description)
    used: set[int] = set()
    instance = _instance(model, columns, row, used)
    for key, related_model, own in _related(model, columns):
        instance._state.fields_cache[key] = _instance(related_model, own, row, used)
    for index, column in enumerate(columns):
        if index not in used:
            setattr(instance, column, row[index])
    return instance


_relateds: dict[
    tuple[type[models.Model], tuple[str, ...]], list[tuple[str, Any, tuple[str, ...]]]
] = {}


def _related(
    model: type[models.Model], columns: tuple[str, ...]
) -> list[tuple[str, Any, tuple[str, ...]]]:
    """The foreign keys whose model's columns the statement selects ("<key>__<column>"):
    (key, its model, the columns as that model names them, "" for the others)."""
    plan = _relateds.get((model, columns))
    if plan is None:
        plan = []
        for key in sorted({c.split("__", 1)[0] for c in columns if "__" in c}):
            prefix = f"{key}__"
            own = tuple(c[len(prefix) :] if c.startswith(prefix) else "" for c in columns)
            plan.append((key, model._meta.get_field(key).related_model, own))
        _relateds[(model, columns)] = plan
    return plan


def _instance(model: type[M], columns: tuple[str, ...], row: Any, used: set[int]) -> M:
    """`model`'s instance from the row's values in `columns` (names that are not the
    model's columns are skipped); the indexes read are added to `used`."""
    names, values = [], []
    db = connections[DEFAULT_DB_ALIAS]
    for attname, index, col, converters in _plan(model, columns):
        value = row[index]
        for converter in converters:
            value = converter(value, col, db)
        names.append(attname)
        values.append(value)
        used.add(index)
    return model.from_db(db.alias, names, values)


def pg_values(fields: list[Any]) -> Callable[[Callable[[str], Any]], list[Any]]:
    """For a hot path's INSERT on PostgreSQL: a function that takes a getter (attname ->
    value) and answers the fields' values as psycopg adapts them, without each field's
    get_db_prep_save (a fifth of a submission's own Python, bench/reports_submit.py):
    psycopg sends Python's ints, strings, dates and aware datetimes as they are, and a
    JSON value in its Jsonb wrapper with the field's encoder, as Django does. Only for
    values the code has made itself (aware datetimes, the field's own types)."""
    from psycopg.types.json import Jsonb

    def wrap(field: Any) -> Callable[[Any], Any] | None:
        if isinstance(field, models.JSONField):
            dumps = json.dumps if field.encoder is None else partial(json.dumps, cls=field.encoder)
            return lambda value: Jsonb(value, dumps=dumps)
        return None

    plan = [(f.attname, wrap(f)) for f in fields]

    def values(get: Callable[[str], Any]) -> list[Any]:
        return [get(name) if w is None else w(get(name)) for name, w in plan]

    return values


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
    db = connections[DEFAULT_DB_ALIAS]  # `connection` looks this up on every attribute
    if db.vendor != "postgresql" or db.queries_logged:
        with db.cursor() as cursor:
            yield cursor
        return
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        wrapped = db._prepare_cursor(_preparing_cursor_class()(db.connection))
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


def refresh_statistics(*models_: type[models.Model]) -> None:
    """ANALYZE the models' tables: after a bulk load inside one transaction (the demo
    district), where autovacuum cannot see the rows yet, the planner would otherwise plan
    from statistics taken when the tables were empty (PostgreSQL then ran the demo's
    correlated handover UPDATE as a sequential scan per shift: minutes instead of a
    second). Only the database can refresh its statistics; the same statement on SQLite."""
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608 - a table name from the model, quoted
