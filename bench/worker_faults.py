"""Worker faults (issue 14): duplicates under kills, and a robot's rate limit across workers.

Builds a throwaway database (SQLite in a temp dir, or the DATABASE_URL you give
it: use an empty database). Receivers are local HTTP servers on 127.0.0.1 that
log each request with its time and Idempotency-Key; workers are real
`manage.py worker` processes (bench_common.WorkerProcess), killed with SIGKILL.

1. Duplicates recorded: one urgent notice to 200 webhooks that answer in 5 s,
   2 worker processes (PostgreSQL; 1 on SQLite, where one worker runs), first
   left alone (baseline), then 5 kills (one every 6 s, the workers in turn, each
   restarted at once). Prints the requests the receivers got beside the attempts
   the database recorded (they must be equal: every request that leaves is
   recorded), the messages sent more than once, and any lost.
2. Rate limit: 60 urgent messages to one WeCom-shaped robot (20 a minute), 1
   worker (baseline) and 4 workers (PostgreSQL; on SQLite only the one). Prints
   the most requests the robot saw in any rolling window (must be ≤ 20) and
   checks none was lost.

--small: 40 webhooks answering in 1 s and 2 kills; 30 messages with the robot's
window shortened to 6 s in the worker processes (BENCH_ROBOT_WINDOW: the bench's
launcher sets WeComTransport.rate_limits to (20, 6 s); the full size keeps the
real minute). The whole run stops by itself within 9.5 minutes.

Run: .venv/bin/python bench/worker_faults.py [--small] [--only duplicates|ratelimit]
"""

import argparse
import os
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

from bench_common import (  # noqa: E402
    RemoteSink,
    most_in_window,
    post,
    robot,
    start_workers,
    stop_all,
    wait_until,
    webhooks,
)
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from safecampus.audit.services import acting_as  # noqa: E402
from safecampus.notify.models import Attempt, Delivery, DeliveryStatus  # noqa: E402
from safecampus.orgs.models import Unit  # noqa: E402

BUDGET = 570.0  # seconds for the whole run: every wait below is cut to what is left
ROBOT_LIMIT = 20  # WeCom: 20 messages a minute


class Clock:
    def __init__(self, budget: float) -> None:
        self.end = time.monotonic() + budget

    def left(self, cap: float) -> float:
        return max(1.0, min(cap, self.end - time.monotonic()))


def _sent_twice_recorded(keys: set[str]) -> int:
    counts = Counter(
        Attempt.objects.filter(delivery__idempotency_key__in=keys).values_list(
            "delivery_id", flat=True
        )
    )
    return sum(1 for c in counts.values() if c > 1)


def duplicates(sink: RemoteSink, small: bool, postgres: bool, clock: Clock) -> bool:
    n, answer, kills, every = (40, 1.0, 2, 1.5) if small else (200, 5.0, 5, 6.0)
    workers_n = 2 if postgres else 1
    with acting_as("bench"):
        channels = webhooks(sink.url, "/five/", n)
    print(
        f"\nduplicates recorded: {workers_n} worker process(es), one urgent notice to {n} "
        f"webhooks answering in {answer:g} s; target: requests at the receivers = attempts "
        "recorded"
    )
    print(
        f"{'':<34}{'requests':>9}{'attempts':>9}{'sent >1':>8}{'recorded >1':>12}"
        f"{'lost':>6}{'seconds':>9}"
    )
    ok = True
    for label, k in (("no kill (baseline)", 0), (f"{kills} × SIGKILL, restarted", kills)):
        workers = start_workers(workers_n, f"dup{k}-")
        with acting_as("bench"):
            key = post(channels, "紧急通知：停课")
        notification = Delivery.objects.get(idempotency_key=key).notification
        ours = Delivery.objects.filter(notification=notification)
        keys = set(ours.values_list("idempotency_key", flat=True))
        start = time.monotonic()
        done_kills = 0
        try:
            for i in range(k):
                time.sleep(max(0.0, start + every * (i + 1) - time.monotonic()))
                victim = workers[i % len(workers)]
                victim.kill()
                victim.start()
                done_kills += 1
            finished = wait_until(
                lambda ours=ours: not ours.filter(status=DeliveryStatus.QUEUED).exists(),
                clock.left(200.0),
                step=0.2,
            )
            elapsed = time.monotonic() - start
        finally:
            # SIGTERM: each finishes what it has in hand (or is killed after 30 s).
            stop_all(workers)
        time.sleep(0.5)
        got = Counter(k2 for _p, k2, _a in sink.records() if k2 in keys)
        requests = sum(got.values())
        attempts = Attempt.objects.filter(delivery__in=ours).count()
        twice = sum(1 for c in got.values() if c > 1)
        lost = len(keys - set(got))
        print(
            f"{label:<34}{requests:>9}{attempts:>9}{twice:>8}{_sent_twice_recorded(keys):>12}"
            f"{lost:>6}{elapsed:>9.1f}"
            + ("" if finished else "   (not all sent: stopped at the time limit)")
        )
        statuses = Counter(ours.values_list("status", flat=True))
        print(f"  deliveries: {dict(statuses)}; kills done: {done_kills}")
        ok = ok and finished and requests == attempts and lost == 0
    if ok:
        print("checked: requests at the receivers = attempts recorded; none lost")
    else:
        print("FAILED: a request the database does not record, or a message lost")
    return ok


def rate_limit(sink: RemoteSink, small: bool, postgres: bool, clock: Clock) -> bool:
    m = 30 if small else 60
    window = float(os.environ.get("BENCH_ROBOT_WINDOW") or (6 if small else 60))
    env = {"BENCH_ROBOT_WINDOW": f"{window:g}"} if window != 60 else {}
    runs = [("1 worker (baseline)", 1)] + ([("4 workers", 4)] if postgres else [])
    print(
        f"\nrate limit: {m} urgent messages to one WeCom-shaped robot, {ROBOT_LIMIT} per "
        f"{window:g} s window"
        + (" (shortened for this run)" if env else "")
        + f"; target: at most {ROBOT_LIMIT} in any rolling {window:g} s, none lost"
        + ("" if postgres else "; SQLite runs one worker")
    )
    print(f"{'':<22}{'most in a window':>17}{'requests':>10}{'lost':>6}{'seconds':>9}")
    ok = True
    for label, count in runs:
        with acting_as("bench"):
            channel = robot(sink.url, name=f"robot {count}")
        workers = start_workers(count, f"rate{count}-", env=env)
        keys: set[str] = set()
        try:
            with transaction.atomic(), acting_as("bench"):
                for i in range(m):
                    keys.add(post([channel], f"紧急消息 {i + 1}"))
            start = time.time()
            bound = (m // ROBOT_LIMIT + 1) * window * 1.5 + 30
            wait_until(
                lambda keys=keys: {k for _p, k, _a in sink.records()} >= keys,
                clock.left(bound),
                step=0.2,
            )
        finally:
            stop_all(workers)
        records = [(k, at) for _p, k, at in sink.records() if k in keys]
        got = {k for k, _at in records}
        most = most_in_window([at for _k, at in records], window)
        last = max((at for _k, at in records), default=start) - start
        lost = len(keys - got)
        verdict = "met" if most <= ROBOT_LIMIT and not lost else "MISSED"
        print(
            f"{label:<22}{most:>17}{len(records):>10}{lost:>6}{last:>9.1f}   "
            f"(target ≤ {ROBOT_LIMIT}, none lost: {verdict})"
        )
        ok = ok and most <= ROBOT_LIMIT and not lost
    if ok:
        print(f"checked: never more than {ROBOT_LIMIT} in a window, none lost")
    else:
        print("FAILED: over the robot's limit, or a message lost")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="a few seconds (the test suite)")
    parser.add_argument("--only", choices=["duplicates", "ratelimit"])
    args = parser.parse_args()
    answer = 1.0 if args.small else 5.0
    sink = RemoteSink({"/five/": answer})  # before any database connection exists
    clock = Clock(BUDGET)
    try:
        call_command("migrate", verbosity=0)
        if Unit.objects.exists():
            sys.exit("bench: the database is not empty; point DATABASE_URL at an empty one")
        postgres = connection.vendor == "postgresql"
        print(f"database: {connection.vendor}")
        ok = True
        if args.only in (None, "duplicates"):
            ok = duplicates(sink, args.small, postgres, clock) and ok
        if args.only in (None, "ratelimit"):
            ok = rate_limit(sink, args.small, postgres, clock) and ok
    finally:
        sink.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
