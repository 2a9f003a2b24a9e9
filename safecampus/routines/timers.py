"""The worker's part: each day's reminders (at the kinds' reminder times, 17:00 by default) and
the day's close after midnight, which records the misses and plans the next day. A worker that
starts plans today; one that was down fires the close late (still exact: it counts stored
tallies) and skips reminders whose day has passed."""

import datetime as dt

from django.utils import timezone

from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, on_worker_start, timer_schedule

from . import services
from .models import DEFAULTS, RoutineKind

REMIND = "routines.remind"
CLOSE = "routines.close"


def remind_times() -> set[dt.time]:
    """Every reminder time in use: the defaults' and the bureaus' own."""
    times = {k.remind_at for k in DEFAULTS.values()}
    times |= set(RoutineKind.objects.values_list("remind_at", flat=True).distinct())
    return times


def plan_day(day: dt.date) -> None:
    """The day's reminders and its close, once each (by key), however often planned."""
    tz = timezone.get_current_timezone()
    for at in sorted(remind_times()):
        timer_schedule(
            kind=REMIND,
            key=f"routines:remind:{day.isoformat()}:{at:%H%M}",
            due_at=dt.datetime.combine(day, at, tzinfo=tz),
            payload={"day": day.isoformat(), "at": at.strftime("%H:%M")},
        )
    timer_schedule(
        kind=CLOSE,
        key=f"routines:close:{day.isoformat()}",
        due_at=services.end_of(day),
        payload={"day": day.isoformat()},
    )


@on_worker_start
def plan_today() -> None:
    plan_day(timezone.localdate())


@on_timer(REMIND)
def remind(timer: Timer) -> None:
    services.routines_remind(
        day=dt.date.fromisoformat(timer.payload["day"]),
        at=dt.time.fromisoformat(timer.payload["at"]),
    )


@on_timer(CLOSE)
def close(timer: Timer) -> None:
    day = dt.date.fromisoformat(timer.payload["day"])
    services.routines_close(day=day)
    plan_day(day + dt.timedelta(days=1))
