"""The official working calendar (法定节假日 and 调休 make-up workdays): its writes and reads.

Each year's holidays and make-up workdays are rows of CalendarDay; a year is
loaded (CalendarYear) once it was seeded from the holidays package, imported
from the State Council's list, or confirmed by hand, and complete once it has its
make-up workdays. The system administrator edits it (orgs.access.can_edit_calendar);
every change of a day is in the audit trail. A year that is not loaded is
estimated from the holidays package (is_workday), and from November the year
before the system administrators and the bureau's managers are warned.

A change of the calendar moves the pending opening of the working-day schedules it
affects (calendar_replan): a day made a holiday does not open, a Saturday made a
make-up workday does.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import audit_record
from safecampus.lib.calendar import default_is_workday, official_days, package_days
from safecampus.orgs import access
from safecampus.orgs.models import Person

from .models import CalendarDay, CalendarSource, CalendarYear, Frequency

# Years an administrator may load or edit: the calendar of a school, not of history.
MIN_YEAR = 2000
MAX_YEAR = 2099
NAME_MAX = 100
# The warning that next year is not loaded starts on this day (month, day) of the year
# before: the State Council publishes the list around November–December.
WARN_FROM = (11, 1)


# --- Reading ------------------------------------------------------------------------


def is_workday(day: dt.date) -> bool:
    """A day's row decides; in a loaded year a day without one is a working day from
    Monday to Friday. A year not loaded is estimated from the holidays package (its
    statutory holidays, and its make-up workdays if it knows them) rather than every
    weekday: a Spring Festival counted as school days marks every school missing."""
    row = CalendarDay.objects.filter(date=day).values_list("is_workday", flat=True).first()
    if row is not None:
        return row
    if CalendarYear.objects.filter(year=day.year).exists():
        return default_is_workday(day)
    estimate = package_days(day.year).get(day)
    return default_is_workday(day) if estimate is None else estimate[0]


def year_days(year: int) -> list[CalendarDay]:
    return list(CalendarDay.objects.filter(date__year=year).order_by("date"))


def day_or_404(day: dt.date) -> CalendarDay:
    row = CalendarDay.objects.filter(date=day).first()
    if row is None:
        raise Http404
    return row


def year_state(year: int) -> CalendarYear | None:
    return CalendarYear.objects.filter(year=year).select_related("loaded_by").first()


def year_missing(today: dt.date) -> int | None:
    """Next year, when it is time to warn that it is not loaded (or loaded without its
    make-up workdays); otherwise None."""
    if (today.month, today.day) < WARN_FROM:
        return None
    year = today.year + 1
    return None if CalendarYear.objects.filter(year=year, complete=True).exists() else year


def calendar_warning(user: Any, today: dt.date) -> int | None:
    """The year to warn this user about on their home page, if any."""
    if not access.sees_calendar_warning(user):
        return None
    return year_missing(today)


# --- Writing ------------------------------------------------------------------------


def _check_year(year: int, field_name: str = "year") -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            {
                field_name: _("The year must be between %(min)d and %(max)d.")
                % {"min": MIN_YEAR, "max": MAX_YEAR}
            }
        )


def _audit_day(action: str, day: dt.date, old: CalendarDay | None, new: CalendarDay | None) -> None:
    def values(row: CalendarDay | None) -> dict[str, Any]:
        return {} if row is None else {"is_workday": row.is_workday, "name": row.name}

    before, after = values(old), values(new)
    changes = {
        k: [before.get(k), after.get(k)]
        for k in ("is_workday", "name")
        if before.get(k) != after.get(k)
    }
    audit_record(
        action=action,
        model="reports.calendarday",
        object_id=day.isoformat(),
        object_repr=str(new or old),
        changes=changes,
    )


def _write(day: dt.date, is_workday: bool, name: str) -> tuple[str, CalendarDay] | None:
    """Create or change one day, with its audit entry; None when nothing changed."""
    old = CalendarDay.objects.filter(date=day).first()
    if old is not None and (old.is_workday, old.name) == (is_workday, name):
        return None
    row = CalendarDay(date=day, is_workday=is_workday, name=name)
    row.save(force_insert=old is None)
    action = "create" if old is None else "update"
    _audit_day(action, day, old, row)
    return action, row


def _remove(row: CalendarDay) -> None:
    CalendarDay.objects.filter(date=row.date).delete()
    _audit_day("delete", row.date, row, None)


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise ValidationError(
            {"name": _("At most %(n)d characters.") % {"n": NAME_MAX}}, code="max_length"
        )
    if "\x00" in name:
        raise ValidationError({"name": _("Null characters are not allowed.")})
    return name


@transaction.atomic
def calendar_day_set(
    *, by: Person, day: dt.date, is_workday: bool, name: str = "", exists: bool | None = None
) -> CalendarDay:
    """Add or change one day (a holiday, or a working day). ``exists``: True to change
    only a day that is there, False to add only a new one, None for either."""
    access.require(access.can_edit_calendar(by))
    _check_year(day.year, "date")
    name = _clean_name(name)
    present = CalendarDay.objects.filter(date=day).exists()
    if exists is False and present:
        raise ValidationError(
            {"date": _("%(day)s is already in the calendar: change it instead.") % {"day": day}}
        )
    if exists is True and not present:
        raise ValidationError({"date": _("%(day)s is not in the calendar.") % {"day": day}})
    _write(day, is_workday, name)
    calendar_replan([day])
    return CalendarDay.objects.get(date=day)


@transaction.atomic
def calendar_day_remove(*, by: Person, day: dt.date) -> None:
    """Remove a day: it becomes what its weekday is (Monday–Friday a working day)."""
    access.require(access.can_edit_calendar(by))
    row = CalendarDay.objects.filter(date=day).first()
    if row is None:
        raise ValidationError({"date": _("%(day)s is not in the calendar.") % {"day": day}})
    _remove(row)
    calendar_replan([day])


@transaction.atomic
def calendar_year_confirm(*, by: Person, year: int) -> CalendarYear:
    """The administrator says the year's days as they stand are the official list."""
    access.require(access.can_edit_calendar(by))
    _check_year(year)
    if not CalendarDay.objects.filter(date__year=year).exists():
        raise ValidationError(
            {"year": _("%(year)d has no holidays yet: add or import them first.") % {"year": year}}
        )
    state, _created = CalendarYear.objects.update_or_create(
        year=year,
        defaults={
            "source": CalendarSource.MANUAL,
            "complete": True,
            "loaded_at": timezone.now(),
            "loaded_by": by,
        },
    )
    return state


@dataclass
class SeedResult:
    year: int
    added: list[CalendarDay] = field(default_factory=list)
    kept: list[CalendarDay] = field(default_factory=list)  # already there: left as they are
    make_up_days: int = 0  # in the package

    @property
    def has_make_up_days(self) -> bool:
        return self.make_up_days > 0


@transaction.atomic
def calendar_seed(years: Iterable[int], *, by: Person | None = None) -> list[SeedResult]:
    """Write the holidays package's holidays and make-up workdays for the years. Days
    already there are kept (an administrator's correction wins), and a year imported
    or confirmed as the official list is refused: the package's estimates would add
    days the State Council did not give. ``by`` None: the system itself (a command)."""
    if by is not None:
        access.require(access.can_edit_calendar(by))
    years = sorted(set(years))
    for year in years:
        _check_year(year)
        state = CalendarYear.objects.filter(year=year).first()
        if state is not None and state.source != CalendarSource.PACKAGE:
            raise ValidationError(
                {
                    "year": _(
                        "%(year)d is already loaded from %(source)s: correct its days "
                        "instead, or import the list again."
                    )
                    % {"year": year, "source": state.get_source_display()}
                }
            )
    results = {year: SeedResult(year) for year in years}
    existing = {d.date: d for d in CalendarDay.objects.filter(date__year__in=years)}
    changed = []
    for day, (work, name) in sorted(official_days(years).items()):
        result = results[day.year]
        result.make_up_days += work
        if day in existing:
            result.kept.append(existing[day])
            continue
        written = _write(day, work, name[:NAME_MAX])
        if written is not None:
            result.added.append(written[1])
            changed.append(day)
    for result in results.values():
        CalendarYear.objects.update_or_create(
            year=result.year,
            defaults={
                "source": CalendarSource.PACKAGE,
                "complete": result.has_make_up_days,
                "loaded_at": timezone.now(),
                "loaded_by": by,
            },
        )
    calendar_replan(changed)
    return list(results.values())


@dataclass
class ReplaceResult:
    year: int
    added: int = 0
    changed: int = 0
    removed: int = 0
    make_up_days: int = 0


@transaction.atomic
def calendar_year_replace(
    *, by: Person, year: int, days: Mapping[dt.date, tuple[bool, str]]
) -> ReplaceResult:
    """The State Council's list for a year replaces the year's days: days not on it are
    removed (the package's estimates among them), the rest added or changed."""
    access.require(access.can_edit_calendar(by))
    _check_year(year)
    outside = [d for d in days if d.year != year]
    if outside:
        raise ValidationError(
            {"date": _("%(day)s is not in %(year)d.") % {"day": outside[0], "year": year}}
        )
    if not days:
        raise ValidationError({"days": _("The list has no days.")})
    result = ReplaceResult(year)
    touched = []
    for row in CalendarDay.objects.filter(date__year=year).exclude(date__in=list(days)):
        _remove(row)
        result.removed += 1
        touched.append(row.date)
    for day, (work, name) in sorted(days.items()):
        result.make_up_days += work and day.weekday() >= 5
        written = _write(day, work, _clean_name(name))
        if written is not None:
            result.added += written[0] == "create"
            result.changed += written[0] == "update"
            touched.append(day)
    CalendarYear.objects.update_or_create(
        year=year,
        defaults={
            "source": CalendarSource.IMPORT,
            "complete": True,
            "loaded_at": timezone.now(),
            "loaded_by": by,
        },
    )
    calendar_replan(touched)
    return result


# --- What a change of the calendar moves --------------------------------------------


def calendar_replan(days: Iterable[dt.date]) -> int:
    """Plan again the pending opening of each working-day schedule that the changed days
    affect (a changed day from today up to the day it would open next): that day was
    chosen when the day before it opened, under the calendar of that moment. Returns how
    many schedules were planned again."""
    from safecampus.worker.models import Timer

    from . import services
    from .models import ReportSchedule

    days = sorted(set(days))
    today = timezone.localdate()
    if not days or days[-1] < today:
        return 0
    pending = Timer.objects.filter(kind="reports.open", fired_at__isnull=True)
    planned: dict[int, dt.date] = {}
    for payload in pending.values_list("payload", flat=True):
        day = dt.date.fromisoformat(payload["day"])
        planned[payload["schedule"]] = min(day, planned.get(payload["schedule"], day))
    schedules = ReportSchedule.objects.filter(
        pk__in=list(planned), frequency=Frequency.WORKDAYS
    ).select_related("root")
    moved = 0
    for schedule in schedules:
        if any(today <= d <= planned[schedule.pk] for d in days):
            services._replan_openings(schedule)
            moved += 1
    return moved
