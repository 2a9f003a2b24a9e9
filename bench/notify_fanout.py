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

Run: .venv/bin/python bench/notify_fanout.py [--n 10000] [--threads 8] [--small]
"""

import argparse
import os
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

from bench_common import RemoteSink, build  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from safecampus.audit.services import acting_as  # noqa: E402
from safecampus.lib.http import post_json  # noqa: E402
from safecampus.notify.channels.webhook.transport import WebhookTransport  # noqa: E402
from safecampus.notify.models import Channel, Delivery, DeliveryStatus, Urgency  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=8, help="the worker's --threads")
    parser.add_argument("--batch", type=int, default=200, help="the worker's --batch")
    parser.add_argument(
        "--small", action="store_true", help="200 webhooks: a few seconds (the test suite runs it)"
    )
    args = parser.parse_args()
    n = 200 if args.small else args.n

    sink = RemoteSink()  # before any database connection exists to be forked
    call_command("migrate", verbosity=0)
    if Unit.objects.exists():
        sys.exit("bench: the database is not empty; point DATABASE_URL at an empty one")
    with acting_as("bench"):
        channels = build(n, sink.url)
    print(f"database: {connection.vendor}; {n} webhook channels; worker threads {args.threads}")

    requests = plain_requests(channels)
    seq = post_all(requests, 1)
    assert sink.count() == n
    sink.clear()
    pooled = post_all(requests, args.threads)
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
    _thread, _stop, join = run_in_thread(threads=args.threads, batch=args.batch, poll=0.5)
    while Delivery.objects.filter(status=DeliveryStatus.QUEUED).exists():
        time.sleep(0.05)
    delivered = time.perf_counter() - start
    join()
    records = sink.records()
    sink.stop()

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
        (f"plain loop, {args.threads} threads", pooled),
    ]:
        print(f"{label:<34}{secs:>9.2f}{n / secs:>9.0f}{rate / (n / secs):>10.2f}")
    print(f"{'outbox write (one transaction)':<34}{write:>9.2f}{n / write:>9.0f}")
    print(f"{'worker: queued → sent, recorded':<34}{delivered:>9.2f}{rate:>9.0f}")
    print(
        f"{'end to end (write + deliver)':<34}{write + delivered:>9.2f}{n / (write + delivered):>9.0f}"
    )
    print(f"checked: {n} delivered, none missed, none doubled")


if __name__ == "__main__":
    main()
