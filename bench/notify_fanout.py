"""Fan-out: one notification to 10,000 webhooks, through the outbox, delivered by the worker.

Builds a throwaway database (SQLite in a temp dir, or the DATABASE_URL you
give it: use an empty database) with a bureau and 10,000 schools, each with a
JSON webhook channel pointing at a local HTTP sink (safecampus.notify.testing
.HttpSink, answering at once). Then, in the same run:

- plain loop: safecampus.lib.http.post_json, the same 10,000 requests (same
  URLs, payload shape and Idempotency-Key header), one after another;
- plain pool: the same with as many threads as the worker sends with;
- outbox: notification_create(channels=<10,000>) in one transaction (the
  write), then the real Worker loop (run_in_thread, the `worker` command's
  defaults) until every delivery is recorded as sent.

Prints messages per second and the ratio of the worker's rate to each plain
loop, and checks that the sink got every delivery exactly once (counted by
Idempotency-Key). Production-like settings: persistent connections, as the
`worker` command runs (SAFECAMPUS_TESTING=0).

Then, urgent after slow (issue 14): one `manage.py worker` process (the default
on SQLite), an urgent message to a WeCom-shaped robot on the local receiver:

- baseline: posted to an idle queue (three times; the median);
- posted 5 s after a routine notice to 100 webhooks that answer in 9 s (inside
  the 10 s timeout) was queued;
- posted 5 s after the same notice to 100 webhooks that never answer (each
  send waits out the timeout).

Prints the time from posting (the write's start) to the robot's receipt of each, beside
the target (under 2 s). --small: 16 receivers answering in 2 s, a 2 s timeout,
posted 1 s later. Each wait is bounded (240 s; 60 s small).

Run: .venv/bin/python bench/notify_fanout.py [--n 10000] [--threads 8] [--small]
     [--skip-fanout] [--skip-urgent]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
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
    ROBOT_PATH,
    RemoteSink,
    WorkerProcess,
    build,
    post,
    robot,
    wait_until,
    webhooks,
)
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from safecampus.audit.services import acting_as  # noqa: E402
from safecampus.lib.http import post_json  # noqa: E402
from safecampus.notify.channels.webhook.transport import WebhookTransport  # noqa: E402
from safecampus.notify.models import (  # noqa: E402
    Channel,
    Delivery,
    DeliveryStatus,
    Urgency,
)
from safecampus.notify.services import notification_create  # noqa: E402
from safecampus.notify.transports import Message  # noqa: E402
from safecampus.orgs.models import Unit  # noqa: E402
from safecampus.worker.loop import run_in_thread  # noqa: E402


def plain_requests(channels: list[Channel]) -> list[tuple[str, dict, dict]]:
    requests = []
    for i, channel in enumerate(channels):
        message = Message(
            title="防汛预警",
            body="请各校做好防汛准备。",
            urgency="urgent",
            idempotency_key=f"plain{i}",
        )
        requests.append(
            (
                channel.config["url"],
                WebhookTransport.payload(message),
                {"Idempotency-Key": message.idempotency_key},
            )
        )
    return requests


def post_all(requests: list[tuple[str, dict, dict]], threads: int) -> float:
    allowed = settings.NOTIFY_ALLOWED_NETWORKS

    def post(request: tuple[str, dict, dict]) -> int:
        url, payload, headers = request
        return post_json(url, payload, headers=headers, allowed=allowed).status

    start = time.perf_counter()
    if threads == 1:
        statuses = [post(r) for r in requests]
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            statuses = list(pool.map(post, requests))
    elapsed = time.perf_counter() - start
    assert set(statuses) == {200}, Counter(statuses)
    return elapsed


def fanout(channels: list[Channel], sink: RemoteSink, threads: int, batch: int) -> None:
    n = len(channels)
    requests = plain_requests(channels)
    seq = post_all(requests, 1)
    assert sink.count() == n
    sink.clear()
    pooled = post_all(requests, threads)
    assert sink.count() == n
    sink.clear()

    start = time.perf_counter()
    with transaction.atomic(), acting_as("bench"):
        notification_create(
            event="notice",
            title="防汛预警",
            body="请各校做好防汛准备。",
            urgency=Urgency.URGENT,
            unit=channels[0].unit,
            channels=channels,
        )
    write = time.perf_counter() - start

    start = time.perf_counter()
    _thread, _stop, join = run_in_thread(threads=threads, batch=batch, poll=0.5)
    while Delivery.objects.filter(status=DeliveryStatus.QUEUED).exists():
        time.sleep(0.05)
    delivered = time.perf_counter() - start
    join()
    records = sink.records()
    sink.clear()

    keys = Counter(key for _path, key, _at in records)
    expected = set(Delivery.objects.values_list("idempotency_key", flat=True))
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == n, "not all sent"
    assert set(keys) == expected, f"missed: {len(expected - set(keys))}"
    doubled = sum(1 for c in keys.values() if c > 1)
    assert not doubled, f"{doubled} doubled"

    rate = n / delivered
    print(f"{'':<34}{'seconds':>9}{'msg/s':>9}{'worker ÷':>10}")
    for label, secs in [
        ("plain loop, sequential", seq),
        (f"plain loop, {threads} threads", pooled),
    ]:
        print(f"{label:<34}{secs:>9.2f}{n / secs:>9.0f}{rate / (n / secs):>10.2f}")
    print(f"{'outbox write (one transaction)':<34}{write:>9.2f}{n / write:>9.0f}")
    print(f"{'worker: queued → sent, recorded':<34}{delivered:>9.2f}{rate:>9.0f}")
    print(
        f"{'end to end (write + deliver)':<34}{write + delivered:>9.2f}{n / (write + delivered):>9.0f}"
    )
    print(f"checked: {n} delivered, none missed, none doubled")


def _arrival(sink: RemoteSink, key: str, timeout: float) -> float | None:
    """When the robot received the message with this key (the receiver's clock), or None."""
    found: list[float] = []

    def arrived() -> bool:
        found.extend(at for path, k, at in sink.records() if k == key and path == ROBOT_PATH)
        return bool(found)

    return min(found) if wait_until(arrived, timeout, step=0.02) else None


def _urgent(robot_channel: Channel, sink: RemoteSink, timeout: float) -> float | None:
    """Post one urgent message to the robot; seconds from posting to its receipt (from
    just before the write: the worker may have sent it before post() returns)."""
    posted = time.time()
    with acting_as("bench"):
        key = post([robot_channel], "紧急：火警")
    at = _arrival(sink, key, timeout)
    return None if at is None else at - posted


def urgent_after_slow(sink: RemoteSink, small: bool, slow_s: float, http_timeout: int) -> bool:
    """Issue 14's first figure: an urgent robot message behind slow receivers."""
    n = 16 if small else 100
    later = 1.0 if small else 5.0
    bound = 60.0 if small else 240.0
    with acting_as("bench"):
        robot_channel = robot(sink.url)
        queued_first = [
            (f"answering in {slow_s:g} s", webhooks(sink.url, "/slow/", n)),
            (f"never answering (timeout {http_timeout} s)", webhooks(sink.url, "/hang/", n)),
        ]
    env = {"NOTIFY_HTTP_TIMEOUT": str(http_timeout)}
    worker = WorkerProcess("urgent", env=env).start()
    if not worker.wait_ready():
        sys.exit(f"bench: the worker did not start:\n{worker.tail()}")
    print(
        f"\nurgent after slow: one worker process, an urgent message to a WeCom-shaped robot "
        f"posted {later:g} s after a routine notice to {n} webhooks; target under 2 s"
    )
    met = True
    try:
        idle = [_urgent(robot_channel, sink, bound) for _ in range(3)]
        if None in idle:
            sys.exit(
                f"bench: an urgent message to an idle queue was not delivered\n{worker.tail()}"
            )
        baseline = statistics.median(idle)  # type: ignore[type-var]
        print(
            f"urgent, idle queue (baseline)                            {baseline:7.2f} s   "
            f"(median of 3; max {max(idle):.2f})"  # type: ignore[type-var]
        )
        for label, channels in queued_first:
            with acting_as("bench"):
                post(channels, "通知：本周安全检查安排", urgency=Urgency.ROUTINE)
            time.sleep(later)
            delay = _urgent(robot_channel, sink, bound)
            name = f"urgent after {n} receivers {label}"
            if delay is None:
                print(f"{name:<56} not delivered within {bound:.0f} s   (target < 2 s)")
                met = False
            else:
                verdict = "met" if delay < 2 else "MISSED"
                print(f"{name:<56} {delay:7.2f} s   (target < 2 s: {verdict})")
                met = met and delay < 2
            # The next case starts from an empty queue and a fresh worker.
            worker.kill()
            Delivery.objects.filter(status=DeliveryStatus.QUEUED).update(
                status=DeliveryStatus.FAILED, claim_token="", claimed_until=None
            )
            worker.start()
            if not worker.wait_ready():
                sys.exit(f"bench: the worker did not restart:\n{worker.tail()}")
    finally:
        worker.kill()
    return met


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8, help="the worker's --threads")
    parser.add_argument("--batch", type=int, default=200, help="the worker's --batch")
    parser.add_argument(
        "--small", action="store_true", help="200 webhooks: a few seconds (the test suite runs it)"
    )
    parser.add_argument("--skip-fanout", action="store_true", help="only urgent after slow")
    parser.add_argument("--skip-urgent", action="store_true", help="only the fan-out")
    args = parser.parse_args()
    n = 200 if args.small else args.n
    slow_s = 2.0 if args.small else 9.0
    http_timeout = 2 if args.small else 10

    # Before any database connection exists to be forked. /slow/ answers late, /hang/
    # after the worker's timeout (never, for the worker); every other path at once.
    sink = RemoteSink({"/slow/": slow_s, "/hang/": http_timeout + 5})
    try:
        call_command("migrate", verbosity=0)
        if Unit.objects.exists():
            sys.exit("bench: the database is not empty; point DATABASE_URL at an empty one")
        print(f"database: {connection.vendor}; worker threads {args.threads}")
        if not args.skip_fanout:
            with acting_as("bench"):
                channels = build(n, sink.url)
            print(f"fan-out: {n} webhook channels")
            fanout(channels, sink, args.threads, args.batch)
        if not args.skip_urgent:
            urgent_after_slow(sink, args.small, slow_s, http_timeout)
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
