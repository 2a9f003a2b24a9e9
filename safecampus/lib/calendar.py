"""The Chinese working calendar: holidays and make-up workdays (调休).

The State Council publishes each year's holidays and make-up workdays around
November–December. The `holidays` package knows a year's schedule once it has
been published (it lags behind for the next year: for a year it does not know it
gives the statutory holidays alone, without make-up workdays). Its days are
seeded into the CalendarDay table, which the system administrator corrects or
replaces with the State Council's list. A day without a row is a working day from
Monday to Friday.
"""

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import holidays

# The names of the days are the official calendar's own words (data, not interface).
LANGUAGE = "zh_CN"
# The festivals a make-up workday is named after (春节调休上班); when a day carries two
# names (中秋节; 国庆节) the first here wins.
FESTIVALS = ("春节", "国庆节", "元旦", "清明节", "劳动节", "端午节", "中秋节")
MAKE_UP = "调休上班"


def official_days(years: Iterable[int]) -> dict[dt.date, tuple[bool, str]]:
    """date → (is_workday, name) for every holiday and make-up workday of the years."""
    years = list(years)
    cn = holidays.China(years=years, language=LANGUAGE)
    days: dict[dt.date, tuple[bool, str]] = {d: (False, str(name)) for d, name in cn.items()}
    for day in getattr(cn, "weekend_workdays", set()):
        if day.year in years:
            days[day] = (True, make_up_name(day, days))
    return days


def make_up_name(workday: dt.date, days: Mapping[dt.date, tuple[bool, str]]) -> str:
    """春节调休上班: the festival whose day off this workday pays for. The package names
    the day off '休息日（由 2026-02-14 调休）'; the festival is the one next to it."""
    off = next((d for d, (_w, name) in days.items() if workday.isoformat() in name), None)
    if off is None:
        return MAKE_UP
    for distance in range(8):  # the nearest festival within a week
        for near in (off - dt.timedelta(days=distance), off + dt.timedelta(days=distance)):
            festival = festival_of(days.get(near, (True, ""))[1])
            if festival:
                return festival + MAKE_UP
    return MAKE_UP


def festival_of(name: str) -> str:
    if "除夕" in name:
        return "春节"
    return next((f for f in FESTIVALS if f in name), "")


@functools.lru_cache(maxsize=64)
def package_days(year: int) -> Mapping[dt.date, tuple[bool, str]]:
    """The package's days of one year (read-only; computed once per process)."""
    return MappingProxyType(official_days([year]))


def package_has_make_up_days(year: int) -> bool:
    return any(work for work, _name in package_days(year).values())


def default_is_workday(day: dt.date) -> bool:
    return day.weekday() < 5
