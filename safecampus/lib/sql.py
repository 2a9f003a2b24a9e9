"""One model instance from a hand-written SELECT, for the few statements on a hot path.

The ORM builds and compiles each query anew, which on a busy endpoint costs more than
the database's own work (bench/reports_submit.py). A statement written out once and
read through here gets the same values the ORM would give: each column goes through
the backend's and the field's converters (SQLite's naive datetimes become aware, and
so on), and the row becomes an instance through Model.from_db, so any column not
selected is loaded on first use, as with QuerySet.only(). What it saves is measured
by bench/reports_submit.py; use it only where that matters.
"""

from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)

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
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        columns = tuple(d[0] for d in cursor.description)
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
