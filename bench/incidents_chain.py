"""Incidents: from the quick report's request to the first message at the school's chat
group, and 200 incidents at once.

Builds a throwaway database (SQLite in a temp dir, or the DATABASE_URL you give it: use an
empty database): a bureau and n schools (default 200), each school with a head and a
webhook robot on a local receiver (bench_common.RemoteSink, in its own process), the
bureau's safety office holding an API token. One `manage.py worker` process runs beside
it, as `make run` starts it (polling every 0.25 s when idle).

1. Paced: one quick report every 0.1 s through POST /api/v1/incidents (the Django
   test client in this process: the whole middleware and the API), n of them. For each,
   the time from the request to the first request at the school's webhook: p50, p99 and
   the worst, beside the worker's own polling interval, and beside a bare urgent message
   to the same kind of webhook (notify.services.notification_create, no incident), measured
   in the same run (the same worker, the same receiver). Target: p99 under 5 s.
2. At once: n more quick reports from 8 threads together. Checks that every chain started
   (each incident has its two stages, each stage its calls, each school's group got the
   alarm) and, after every call is acknowledged from 8 threads together, that no
   acknowledgement was lost (each call acknowledged once, each stage acknowledged, one
   timeline entry per call).

Run: .venv/bin/python bench/incidents_chain.py [--n 200] [--small]
(--small: 20 schools, seconds; the test suite runs it.)
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="safecampus-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safecampus.settings")
os.environ.setdefault("SAFECAMPUS_TESTING", "0")
os.environ.setdefault("NOTIFY_ALLOWED_NETWORKS", "127.0.0.0/8")
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")

import django  # noqa: E402

django.setup()

from bench_common import RemoteSink, WorkerProcess, build  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test import Client  # noqa: E402

from safecampus.audit.services import acting_as  # noqa: E402
from safecampus.incidents.models import Call, EntryKind, Incident, Stage, TimelineEntry  # noqa: E402
from safecampus.notify.models import Delivery, Transport, Urgency  # noqa: E402
from safecampus.notify.services import delivery_acknowledge, notification_create  # noqa: E402
from safecampus.orgs.models import Membership, Person, Role, Unit  # noqa: E402
from safecampus.orgs.services import token_issue  # noqa: E402

POLL_S = 0.25  # the worker's idle poll (worker.loop.Worker)
TARGET_P99_S = 5.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def first_arrivals(sink: RemoteSink) -> dict[str, float]:
    """The first request's time at each path (the receiver's clock: time.time())."""
    first: dict[str, float] = {}
    for path, _key, at in sink.records():
        first[path] = min(at, first.get(path, at))
    return first


def report(client: Client, unit_id: int, n: int) -> float:
    """One quick report through the API; returns when the request started."""
    started = time.time()
    response = client.post(
        "/api/v1/incidents",
        json.dumps({"unit_id": unit_id, "kind": "fire", "summary": f"基准测试火情 {n}"}),
        content_type="application/json",
    )
    if response.status_code != 201:
        sys.exit(f"bench: the quick report answered {response.status_code}: {response.content!r}")
    return started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--small", action="store_true", help="20 schools: seconds")
    args = parser.parse_args()
    n = 20 if args.small else args.n
    bound = 60.0 if args.small else 300.0

    sink = RemoteSink()  # before any database connection exists to be forked
    worker = WorkerProcess("incidents")
    try:
        call_command("migrate", verbosity=0)
        if Unit.objects.exists():
            sys.exit("bench: the database is not empty; point DATABASE_URL at an empty one")
        with acting_as("bench"):
            channels = build(n, sink.url)
            bureau = Unit.objects.get(depth=1)
            office = Person.objects.create(username="bench", name="安全办")
            Membership.objects.create(person=office, unit=bureau, role=Role.SAFETY_OFFICE)
            Unit.objects.filter(pk=bureau.pk).update(head=office)
            heads = Person.objects.bulk_create(
                Person(username=f"head{i}", name=f"校长{i}") for i in range(n)
            )
            Membership.objects.bulk_create(
                Membership(person=h, unit_id=c.unit_id, role=Role.PRINCIPAL)
                for h, c in zip(heads, channels, strict=True)
            )
            for h, c in zip(heads, channels, strict=True):
                Unit.objects.filter(pk=c.unit_id).update(head=h)
        token = token_issue(person=office)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        print(
            f"database: {connection.vendor}; schools: {n}, each with a head and a webhook "
            f"robot; one worker process (idle poll {POLL_S:g} s)"
        )
        worker.start()
        if not worker.wait_ready():
            sys.exit(f"bench: the worker did not start:\n{worker.tail()}")

        # Baseline: a bare urgent message to each of the first schools' webhooks, paced.
        base_n = min(n, 20)
        sent: dict[str, float] = {}
        for i, channel in enumerate(channels[:base_n]):
            sent[f"/hook/{i}"] = time.time()
            with acting_as("bench"):
                notification_create(
                    event="bench",
                    title="基准测试",
                    body="基准测试消息。",
                    urgency=Urgency.URGENT,
                    unit=channel.unit,
                    channels=[channel],
                )
            time.sleep(0.1)
        if not sink.wait_for(base_n, bound):
            sys.exit(f"bench: the bare messages did not all arrive\n{worker.tail()}")
        arrivals = first_arrivals(sink)
        bare = [arrivals[p] - t for p, t in sent.items()]
        sink.clear()

        # 1. Paced quick reports.
        started: dict[str, float] = {}
        for i, channel in enumerate(channels):
            started[f"/hook/{i}"] = report(client, channel.unit_id, i)
            time.sleep(0.1)
        if not sink.wait_for(n, bound):
            sys.exit(f"bench: not every school's group got its alarm\n{worker.tail()}")
        arrivals = first_arrivals(sink)
        latency = [arrivals[p] - t for p, t in started.items()]
        p50, p99 = statistics.median(latency), pct(latency, 99)
        print(f"\n{'':<44}{'p50 s':>8}{'p99 s':>8}{'max s':>8}")
        print(
            f"{'bare urgent message → webhook (baseline)':<44}"
            f"{statistics.median(bare):8.2f}{pct(bare, 99):8.2f}{max(bare):8.2f}"
        )
        print(
            f"{'quick report (API) → school group webhook':<44}{p50:8.2f}{p99:8.2f}{max(latency):8.2f}"
        )
        print(
            f"ratio to the bare message (p50): {p50 / statistics.median(bare):.2f}; "
            f"the worker's idle poll: {POLL_S:g} s; target p99 < {TARGET_P99_S:g} s: "
            f"{'met' if p99 < TARGET_P99_S else 'MISSED'}"
        )
        sink.clear()

        # 2. n incidents at once from 8 threads.
        before = set(Incident.objects.values_list("pk", flat=True))

        burst_started: dict[str, float] = {}

        def one(i_channel: tuple[int, object]) -> None:
            i, channel = i_channel
            try:
                burst_started[f"/hook/{i}"] = report(
                    Client(HTTP_AUTHORIZATION=f"Bearer {token}"), channel.unit_id, n + i
                )
            finally:
                connections.close_all()

        began = time.time()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, enumerate(channels)))
        took = time.time() - began
        delivered = sink.wait_for(n, bound)
        arrivals = first_arrivals(sink)
        burst_latency = [arrivals[p] - t for p, t in burst_started.items() if p in arrivals]
        burst = Incident.objects.exclude(pk__in=before)
        stages = Stage.objects.filter(incident__in=burst)
        calls = Call.objects.filter(stage__incident__in=burst)
        chains_ok = (
            burst.count() == n
            and stages.count() == 2 * n
            and not stages.filter(calls__isnull=True).exists()
        )

        def ack(call_id: int) -> None:
            try:
                call = Call.objects.get(pk=call_id)
                delivery = Delivery.objects.get(
                    notification_id=call.notification_id,
                    person_id=call.person_id,
                    transport=Transport.INBOX,
                )
                delivery_acknowledge(delivery=delivery)
            finally:
                connections.close_all()

        call_ids = list(calls.values_list("pk", flat=True))
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(ack, call_ids))
        acked = calls.filter(acknowledged_at__isnull=False).count()
        stages_acked = stages.filter(acknowledged_at__isnull=False).count()
        entries = TimelineEntry.objects.filter(
            incident__in=burst, kind=EntryKind.ACKNOWLEDGED
        ).count()
        acks_ok = acked == len(call_ids) and stages_acked == 2 * n and entries == len(call_ids)
        print(
            f"\n{n} at once from 8 threads: reported in {took:.1f} s; every chain started: "
            f"{'yes' if chains_ok else 'NO'} ({stages.count()} stages, {len(call_ids)} calls); "
            f"every school's group alarmed: {'yes' if delivered else 'NO'}"
        )
        if burst_latency:
            print(
                f"{'at once: quick report → school group webhook':<44}"
                f"{statistics.median(burst_latency):8.2f}{pct(burst_latency, 99):8.2f}"
                f"{max(burst_latency):8.2f}"
            )
        print(
            f"acknowledged from 8 threads: calls {acked}/{len(call_ids)}, stages "
            f"{stages_acked}/{2 * n}, timeline entries {entries}: "
            f"{'none lost' if acks_ok else 'LOST'}"
        )
        if not (chains_ok and delivered and acks_ok):
            sys.exit(1)
    finally:
        worker.kill()
        sink.stop()


if __name__ == "__main__":
    main()
