"""The worker's part: on the first of each month at 09:00, the units behind their drill plan as
at the end of the month gone (and those without a plan) are told in the app; on 1 January
that is the whole year before. Each month's notice is one timer (by key), however many workers
plan it; a worker that was down sends the month's notice late, once, and plans the next."""

import datetime as dt

from django.utils import timezone

from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, on_worker_start, timer_schedule

from . import services

BEHIND = "drills.behind"
NOTICE_AT = dt.time(9, 0)


def first_after(day: dt.date) -> dt.date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def plan_month(first: dt.date) -> Timer:
    """The notice of the first of a month, about the day before (the month gone)."""
    return timer_schedule(
        kind=BEHIND,
        key=f"drills:behind:{first:%Y-%m}",
        due_at=dt.datetime.combine(first, NOTICE_AT, tzinfo=timezone.get_current_timezone()),
        payload={"day": (first - dt.timedelta(days=1)).isoformat()},
    )


@on_worker_start
def plan_next() -> None:
    plan_month(first_after(timezone.localdate()))


@on_timer(BEHIND)
def behind(timer: Timer) -> None:
    services.drills_behind_notify(day=dt.date.fromisoformat(timer.payload["day"]))
    plan_month(first_after(timezone.localdate()))
