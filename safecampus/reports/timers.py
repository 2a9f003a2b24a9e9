"""What the worker does at a reporting day's start, its reminders and its deadlines."""

import datetime as dt

from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer

from . import services
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
