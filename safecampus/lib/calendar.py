"""The Chinese working calendar: holidays and make-up workdays (调休).

The `holidays` package knows each year's State Council schedule once it is
published (it lags behind for the next year); its days are seeded into the
CalendarDay table, which an administrator corrects. A day without a row is a
working day from Monday to Friday.
"""

import datetime as dt
from collections.abc import Iterable

import holidays


def official_days(years: Iterable[int]) -> dict[dt.date, tuple[bool, str]]:
    """date → (is_workday, name) for every holiday and make-up workday of the years."""
    years = list(years)
    cn = holidays.China(years=years)
    days: dict[dt.date, tuple[bool, str]] = {d: (False, str(name)) for d, name in cn.items()}
    for day in getattr(cn, "weekend_workdays", set()):
        if day.year in years:
            days[day] = (True, "调休上班")
    return days


def default_is_workday(day: dt.date) -> bool:
    return day.weekday() < 5
