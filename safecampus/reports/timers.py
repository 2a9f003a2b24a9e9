"""What the worker does at a reporting day's start, its reminders and its deadlines."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, on_worker_start, timer_schedule

from . import official_calendar, services
from .models import ReportSchedule


def _args(timer: Timer) -> tuple[ReportSchedule | None, dt.date]:
    schedule = ReportSchedule.objects.filter(pk=timer.payload["schedule"]).first()
    return schedule, dt.date.fromisoformat(timer.payload["day"])


@on_timer("reports.open")
def open_day(timer: Timer) -> None:
    schedule, day = _args(timer)
    if schedule is not None:
        services.day_open(schedule=schedule, day=day)


@on_timer("reports.remind")
def remind(timer: Timer) -> None:
    schedule, day = _args(timer)
    if schedule is not None:
        services.level_remind(schedule=schedule, day=day, level=timer.payload["level"])


@on_timer("reports.due")
def due(timer: Timer) -> None:
    schedule, day = _args(timer)
    if schedule is not None:
        services.level_due(schedule=schedule, day=day, level=timer.payload["level"])


# --- The official calendar: is next year loaded? ---------------------------------------

CALENDAR_CHECK = "reports.calendar_check"


def calendar_check_key(year: int) -> str:
    return f"reports:calendar-check:{year}"


def calendar_check_schedule(year: int) -> Timer:
    """The check of next year's calendar, on November 1 of ``year`` (09:00): one a year,
    by its key, however often it is scheduled."""
    month, day = official_calendar.WARN_FROM
    return timer_schedule(
        kind=CALENDAR_CHECK,
        key=calendar_check_key(year),
        due_at=timezone.make_aware(dt.datetime.combine(dt.date(year, month, day), dt.time(9))),
        payload={"year": year},
    )


@on_worker_start
def calendar_check_ensure() -> None:
    """A worker starting makes sure this year's check exists (when it starts after
    November 1, the check fires at once, once)."""
    calendar_check_schedule(timezone.localdate().year)


@on_timer(CALENDAR_CHECK)
def calendar_check(timer: Timer) -> None:
    """Tell the system administrators, once, that next year's calendar is not loaded
    (or has no make-up workdays); schedule next year's check."""
    from safecampus.notify.services import notification_create
    from safecampus.orgs.models import AdminRole, Person

    year = int(timer.payload["year"])
    calendar_check_schedule(year + 1)
    state = official_calendar.year_state(year + 1)
    if state is not None and state.complete:
        return
    notification_create(
        event="calendar_missing",
        title=_("The official calendar for %(year)d is not loaded") % {"year": year + 1},
        body=(
            _("%(year)d is loaded from the holidays package without its make-up workdays (调休).")
            if state is not None
            else _(
                "%(year)d has no holidays or make-up workdays (调休) yet: its days are "
                "estimated from the holidays package."
            )
        )
        % {"year": year + 1}
        + " "
        + _(
            "Import the State Council's list when it is published (Official calendar), or "
            "schools will be asked to report on holidays and not on make-up workdays."
        ),
        people=Person.objects.filter(admin_role=AdminRole.SYSTEM, is_active=True),
        link=f"{reverse('reports:official-calendar')}?year={year + 1}",
        params={"year": str(year + 1)},
    )
