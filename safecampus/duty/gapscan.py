"""The gap scan on the worker. The level above reads the coverage gaps of the next 7 days
of every unit keeping duty (CoverageGap rows, selectors.gaps_under, worst first); they
are kept current three ways:

- a roster change rescans its own unit at once (services.gaps_rescan(units=…));
- every hour the worker moves every unit's window on (services.gaps_advance): it reads
  only the shifts that meet the hour now entering the window, not a week's;
- once a night (at 03:00) and when a worker starts with no scan scheduled, it rescans
  everything (services.gaps_rescan()): what anything else changed is caught there.

Each timer carries where the last scan's window ended ("since"); a timer without it
rescans everything."""

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, on_worker_start, timer_schedule

from . import services

GAP_SCAN = "duty.gap_scan"
GAP_SCAN_EVERY = dt.timedelta(hours=1)
FULL_SCAN_HOUR = 3  # local time: the whole province rescanned once a night


def gap_scan_schedule(at: dt.datetime, since: dt.datetime | None = None) -> Timer:
    """The scan at `at`'s hour, keyed by it: one an hour however often it is scheduled.
    `since`: where the window of the scan before it ended (None: rescan everything)."""
    at = at.replace(minute=0, second=0, microsecond=0)
    return timer_schedule(
        kind=GAP_SCAN,
        key=f"duty:gap-scan:{at:%Y%m%d%H}",
        due_at=at,
        payload={"since": since.isoformat()} if since else {},
    )


@on_worker_start
def gap_scan_ensure() -> None:
    """A worker starting makes sure a scan is scheduled (at once, when none is)."""
    if not Timer.objects.filter(kind=GAP_SCAN, fired_at__isnull=True).exists():
        gap_scan_schedule(timezone.now())


@on_timer(GAP_SCAN)
def gap_scan(timer: Timer) -> None:
    now = timezone.now()
    since = parse_datetime(timer.payload.get("since") or "")
    if since is None or timezone.localtime(now).hour == FULL_SCAN_HOUR:
        services.gaps_rescan()
    else:
        services.gaps_advance(since=since)
    gap_scan_schedule(max(timer.due_at, now) + GAP_SCAN_EVERY, since=services.scan_until(now))
