"""The gap scan on the worker: every GAP_SCAN_EVERY it writes the coverage gaps of the next
7 days of every unit keeping duty (services.gaps_rescan: one query for the units, one for
their shifts, swept in order); the level above reads them worst first
(selectors.gaps_under). A roster change rescans its own unit at once; the timer moves the
7-day window on and catches what nobody changed."""

import datetime as dt

from django.utils import timezone

from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, on_worker_start, timer_schedule

from . import services

GAP_SCAN = "duty.gap_scan"
GAP_SCAN_EVERY = dt.timedelta(hours=1)


def gap_scan_schedule(at: dt.datetime) -> Timer:
    """The scan at `at`'s hour, keyed by it: one an hour however often it is scheduled."""
    at = at.replace(minute=0, second=0, microsecond=0)
    return timer_schedule(kind=GAP_SCAN, key=f"duty:gap-scan:{at:%Y%m%d%H}", due_at=at)


@on_worker_start
def gap_scan_ensure() -> None:
    """A worker starting makes sure a scan is scheduled (at once, when none is)."""
    if not Timer.objects.filter(kind=GAP_SCAN, fired_at__isnull=True).exists():
        gap_scan_schedule(timezone.now())


@on_timer(GAP_SCAN)
def gap_scan(timer: Timer) -> None:
    services.gaps_rescan()
    gap_scan_schedule(max(timer.due_at, timezone.now()) + GAP_SCAN_EVERY)
