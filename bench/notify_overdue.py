"""Overdue: 1,000 units miss their deadline at the same instant; each is owed one webhook.

Builds a throwaway database (SQLite in a temp dir, or the DATABASE_URL you
give it: use an empty database) with a bureau and 1,000 schools, each with a
JSON webhook channel pointing at a local HTTP sink (safecampus.notify.testing
.HttpSink). 1,000 Timers come due at the same instant T; their handler (the
way an app registers one, @on_timer) writes one notification to the unit's
webhook in the timer's transaction. The real Worker loop (run_in_thread with
the `worker` command's defaults: batch 200, poll 0.25 s, 8 send threads) is
started just before T.

Prints the delay from T to the first and to the last delivery the sink
received, deliveries per second, how late the timers fired, and checks that
none was missed and none doubled (counted by Idempotency-Key).

For scale: a well-known open-source monitor, on this machine, delivers 1,000
simultaneous overdue alerts in about 17 s (first after ~4 s, ~78 a second);
the aim here is all 1,000 within 5 s.

Run: .venv/bin/python bench/notify_overdue.py [--n 1000] [--threads 8] [--small]
"""

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="safecampus-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safecampus.settings")
os.environ.setdefault("SAFECAMPUS_TESTING", "0")
os.environ.setdefault("NOTIFY_ALLOWED_NETWORKS", "127.0.0.0/8")

import django  # noqa: E402

django.setup()

from bench_common import RemoteSink, build  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from safecampus.audit.services import acting_as  # noqa: E402
from safecampus.notify.models import Channel, Delivery, DeliveryStatus, Urgency  # noqa: E402
from safecampus.notify.services import notification_create  # noqa: E402
from safecampus.orgs.models import Unit  # noqa: E402
from safecampus.worker.loop import run_in_thread  # noqa: E402
from safecampus.worker.models import Timer  # noqa: E402
from safecampus.worker.timers import on_timer  # noqa: E402

LEAD = 3.0  # seconds from scheduling to T
START_BEFORE = 0.5  # the worker starts this long before T


@on_timer("bench.overdue")
def overdue(timer: Timer) -> None:
    """What an app's deadline handler does: one notification to the unit's robot."""
    channel = Channel.objects.select_related("unit").get(pk=timer.payload["channel"])
    notification_create(
        event="report_overdue",
        title=f"{channel.unit.name} 日报逾期未报",
        body="今日安全日报已过截止时间，请尽快填报。",
        urgency=Urgency.URGENT,
        unit=channel.unit,
        channels=[channel],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8, help="the worker's --threads")
    parser.add_argument("--batch", type=int, default=200, help="the worker's --batch")
    parser.add_argument("--poll", type=float, default=0.25, help="the worker's --poll")
    parser.add_argument(
        "--small", action="store_true", help="100 timers: a few seconds (the test suite runs it)"
    )
    args = parser.parse_args()
    n = 100 if args.small else args.n

    sink = RemoteSink()  # before any database connection exists to be forked
    call_command("migrate", verbosity=0)
    if Unit.objects.exists():
        sys.exit("bench: the database is not empty; point DATABASE_URL at an empty one")
    with acting_as("bench"):
        channels = build(n, sink.url)
    due = timezone.now() + dt.timedelta(seconds=LEAD)
    Timer.objects.bulk_create(
        Timer(
            kind="bench.overdue",
            key=f"report_overdue:{c.unit_id}:{due:%Y-%m-%d}",
            due_at=due,
            payload={"channel": c.pk},
        )
        for c in channels
    )
    print(
        f"database: {connection.vendor}; {n} timers due at the same instant T; "
        f"worker: batch {args.batch}, poll {args.poll} s, threads {args.threads}"
    )

    t = due.timestamp()
    time.sleep(max(0.0, t - START_BEFORE - time.time()))
    _thread, _stop, join = run_in_thread(threads=args.threads, batch=args.batch, poll=args.poll)
    complete = sink.wait_for(n, timeout=120)
    time.sleep(1.0)  # let any double arrive before counting
    join()
    records = sink.records()
    sink.stop()

    keys = Counter(key for _path, key, _at in records)
    expected = set(Delivery.objects.values_list("idempotency_key", flat=True))
    # Only this benchmark's timers: the app registers its own (the audit chain's daily
    # head is scheduled when a worker starts), which carry no late_ms of interest here.
    ours = Timer.objects.filter(kind="bench.overdue")
    fired = ours.filter(fired_at__isnull=False).count()
    sent = Delivery.objects.filter(status=DeliveryStatus.SENT).count()
    missed = len(expected - set(keys))
    doubled = sum(1 for c in keys.values() if c > 1)
    late = sorted(ours.filter(late_ms__isnull=False).values_list("late_ms", flat=True))

    times = sorted(at for _path, _key, at in records)
    first, last = times[0] - t, times[-1] - t
    print(f"delay from T to the first delivery   {first:7.2f} s")
    print(f"delay from T to the last delivery    {last:7.2f} s   (aim: within 5 s)")
    print(f"deliveries per second (T → last)     {len(keys) / last:7.0f}")
    print(f"deliveries per second (first → last) {len(keys) / max(last - first, 1e-9):7.0f}")
    if late:
        print(
            f"timers fired {fired}/{n}; late_ms median {statistics.median(late):.0f}, max {late[-1]}"
        )
    else:
        print(f"timers fired {fired}/{n}; none recorded how late it fired")
    print(
        f"deliveries: {len(expected)} written, {sent} sent, sink got {len(records)} "
        f"requests; missed {missed}, doubled {doubled}"
    )
    assert complete and fired == n and len(expected) == n and sent == n
    assert missed == 0, f"{missed} missed"
    assert doubled == 0, f"{doubled} doubled"
    print("checked: none missed, none doubled")


if __name__ == "__main__":
    main()
