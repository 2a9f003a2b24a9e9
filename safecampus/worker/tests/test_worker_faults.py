"""Faults: a worker killed mid-batch, a webhook that fails before it works.

The kill test runs real `manage.py worker` processes against a database of its
own (a temporary SQLite file, or a PostgreSQL database created beside the test
database): the test database is in-memory on SQLite, and a killed process must
not take the test's transaction with it.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections
from django.test import override_settings

from safecampus.notify.models import Attempt, DeliveryStatus, Urgency
from safecampus.notify.services import channel_create, notification_create
from safecampus.notify.testing import HttpSink
from safecampus.test import Personas, TransactionalTestCase
from safecampus.worker.loop import Worker, single_worker_lock

ROOT = Path(__file__).resolve().parents[3]
DELIVERIES = 200
KILL_AFTER = (40, 90, 140)  # requests the sink has seen when the worker is killed
THREADS = 4

# Each subprocess costs a start of Python and Django (seconds on a loaded machine): the
# database is migrated by the same process that seeds it.
MIGRATE = """
from django.core.management import call_command
call_command("migrate", verbosity=0)
"""
SEED = (
    MIGRATE
    + """
import os
import pytest
from safecampus.audit.services import acting_as
from safecampus.notify.models import Channel
from safecampus.notify.services import notification_create
from safecampus.orgs.models import Unit, UnitKind
url = os.environ["SINK_URL"]
with acting_as("fault test"):
    unit = Unit.objects.add_root(instance=Unit(code="F", name="F", kind=UnitKind.SCHOOL))
    channels = Channel.objects.bulk_create(
        Channel(unit=unit, kind="webhook", name=f"hook {i}",
                config={"url": f"{url}/hook/{i}", "secret": ""})
        for i in range(int(os.environ["DELIVERIES"]))
    )
    notification_create(event="test", title="fault test", body="killed and back",
                        urgency="urgent", unit=unit, channels=channels)
"""
)


class ScratchDatabase:
    """A database for subprocesses: a SQLite file in a temp VAR_DIR, or a fresh
    PostgreSQL database on the test server."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="safecampus-faults-")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
        self.env.pop("DATABASE_URL", None)
        self.env.update(
            {
                "VAR_DIR": self.dir.name,
                "SAFECAMPUS_TESTING": "1",
                "NOTIFY_ALLOWED_NETWORKS": "127.0.0.0/8",
            }
        )
        self.postgres = connection.vendor == "postgresql"
        if self.postgres:
            s = connection.settings_dict
            self.name = f"faults_{uuid.uuid4().hex[:12]}"
            self._pg = {
                "host": s["HOST"] or "localhost",
                "port": s["PORT"] or 5432,
                "user": s["USER"],
                "password": s["PASSWORD"] or None,
            }
            self._admin("CREATE DATABASE {}")
            password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
            self.env["DATABASE_URL"] = (
                f"postgres://{s['USER']}{password}@{self._pg['host']}:{self._pg['port']}/{self.name}"
            )

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **self._pg) as conn:
            conn.execute(sql.format(self.name))

    def manage(self, *args: str) -> list[str]:
        # No system checks: they import every URLconf, which a worker does not need.
        checks = [] if args[0] == "shell" else ["--skip-checks"]
        return [sys.executable, "manage.py", *args, *checks]

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            self.manage(*args),
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.postgres:
            import psycopg

            with psycopg.connect(dbname=self.name, **self._pg) as conn:
                return conn.execute(sql).fetchall()
        with sqlite3.connect(Path(self.dir.name) / "safecampus.sqlite3", timeout=20) as conn:
            return conn.execute(sql).fetchall()

    def close(self) -> None:
        if self.postgres:
            self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self.dir.cleanup()


class KilledWorkerTests(TransactionalTestCase):
    def setUp(self) -> None:
        self.db = ScratchDatabase()
        self.addCleanup(self.db.close)
        # Slow enough that a batch has a middle to be killed in.
        self.sink = HttpSink(delay=0.015).start()
        self.addCleanup(self.sink.stop)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.addCleanup(self.stop_workers)
        self.db.run("shell", "-c", SEED, SINK_URL=self.sink.url, DELIVERIES=str(DELIVERIES))

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(Path(self.db.dir.name) / f"worker{len(self.processes)}.log", "wb")  # noqa: SIM115
        self.addCleanup(log.close)
        args = ["worker", "--lease", "2", "--poll", "0.1", "--threads", str(THREADS)]
        process = subprocess.Popen(  # noqa: S603
            self.db.manage(*args), cwd=ROOT, env=self.db.env, stdout=log, stderr=log
        )
        self.processes.append(process)
        return process

    def stop_workers(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def worker_logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-2000:] for p in Path(self.db.dir.name).glob("*.log")
        )

    def queued(self) -> int:
        return self.db.query(
            f"SELECT count(*) FROM notify_delivery WHERE status = '{DeliveryStatus.QUEUED}'"  # noqa: S608
        )[0][0]

    def test_killed_three_times_mid_batch_every_message_arrives_repeats_keep_their_key(self):
        began = time.monotonic()
        for threshold in KILL_AFTER:
            process = self.start_worker()
            arrived = self.sink.wait_for(threshold, timeout=60)
            self.assertTrue(arrived, f"worker stalled before {threshold}:\n{self.worker_logs()}")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            self.assertEqual(process.returncode, -signal.SIGKILL)
        self.start_worker()
        deadline = time.monotonic() + 90
        while self.queued() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.queued(), 0, f"deliveries still queued:\n{self.worker_logs()}")

        keys: dict[str, set[str]] = defaultdict(set)
        for request in self.sink.requests:
            keys[request.path].add(request.header("Idempotency-Key"))
        rows = self.db.query(
            "SELECT c.name, d.idempotency_key, d.status FROM notify_delivery d "
            "JOIN notify_channel c ON c.id = d.channel_id"
        )
        self.assertEqual(len(rows), DELIVERIES)
        self.assertEqual({status for _, _, status in rows}, {DeliveryStatus.SENT})
        # Every delivery arrived at least once, every copy with the delivery's one key.
        expected = {f"/hook/{name.split()[-1]}": {key} for name, key, _ in rows}
        self.assertEqual(dict(keys), expected)

        # A repeat is a send whose answer died with the worker: never silent. Every request
        # that arrived has its Attempt (written before it left). How many repeats a kill
        # costs depends on how many sends were in flight, i.e. on the machine's speed:
        # bench/worker_faults.py prints it.
        attempts = dict(
            self.db.query(
                "SELECT d.idempotency_key, count(a.id) FROM notify_delivery d "
                "LEFT JOIN notify_attempt a ON a.delivery_id = d.id GROUP BY d.idempotency_key"
            )
        )
        received = Counter(r.header("Idempotency-Key") for r in self.sink.requests)
        unrecorded = {k: n for k, n in received.items() if n > attempts.get(k, 0)}
        self.assertEqual(unrecorded, {})
        repeats = len(self.sink.requests) - DELIVERIES
        print(
            f"\nkilled worker ×{len(KILL_AFTER)} ({connection.vendor}): {DELIVERIES} deliveries, "
            f"{len(self.sink.requests)} requests received, {repeats} repeats "
            f"(same Idempotency-Key), {sum(attempts.values())} attempts recorded, "
            f"{time.monotonic() - began:.1f} s"
        )


@override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"], NOTIFY_BACKOFF=[0, 0, 0, 0, 0])
class FailingWebhookTests(Personas, TransactionalTestCase):
    def test_three_500s_then_200_is_delivered_with_three_failed_attempts(self):
        self.build_district()
        worker = Worker(threads=1)
        self.addCleanup(worker.pool.shutdown)
        self.addCleanup(lambda: worker.pool.submit(connections.close_all).result())
        with HttpSink(responses=[500, 500, 500]) as sink:
            channel = channel_create(
                by=self.officer,
                unit=self.school_a,
                kind="webhook",
                name="总值班",
                config={"url": f"{sink.url}/hook"},
            )
            notification = notification_create(
                event="test",
                title="设备故障",
                body="webhook down",
                urgency=Urgency.URGENT,
                unit=self.school_a,
                channels=[channel],
            )
            delivery = notification.deliveries.get()
            statuses = []
            for _ in range(4):
                worker.tick()
                delivery.refresh_from_db()
                statuses.append(delivery.status)

        self.assertEqual(statuses, ["queued", "queued", "queued", "sent"])
        self.assertEqual(delivery.attempts, 4)
        self.assertEqual(delivery.last_error, "")
        tries = list(Attempt.objects.filter(delivery=delivery).order_by("pk"))
        self.assertEqual([t.ok for t in tries], [False, False, False, True])
        for failed in tries[:3]:
            self.assertTrue(failed.error.startswith("HTTP 500"), failed.error)
        self.assertEqual(len(sink.requests), 4)
        self.assertEqual(
            {r.header("Idempotency-Key") for r in sink.requests}, {delivery.idempotency_key}
        )


TIMERS = 300
TIMER_SEED = (
    MIGRATE
    + """
import datetime as dt
from django.utils import timezone
from safecampus.worker.models import Timer
due = timezone.now() + dt.timedelta(seconds=float(__import__("os").environ["DUE_IN"]))
Timer.objects.bulk_create(
    Timer(kind="test.crash", key=f"crash{i}", due_at=due) for i in range(300)
)
print(due.isoformat())
"""
)
# A worker whose handler writes one row a timer (a notification titled by its key).
TIMER_WORKER = """
import time
from safecampus.notify.models import Notification
from safecampus.worker.loop import Worker, single_worker_lock
from safecampus.worker.timers import on_timer

@on_timer("test.crash")
def crash(timer):
    Notification.objects.create(event="crash", title=timer.key, body="")
    time.sleep(0.005)

print("ready", flush=True)
Worker(threads=2, poll=0.05).run()
"""


class KilledTimerWorkerTests(TransactionalTestCase):
    def setUp(self) -> None:
        self.db = ScratchDatabase()
        self.addCleanup(self.db.close)
        self.processes: list[subprocess.Popen[str]] = []
        self.addCleanup(self.stop)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    def start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(  # noqa: S603
            self.db.manage("shell", "-c", TIMER_WORKER),
            cwd=ROOT,
            env=self.db.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.processes.append(process)
        return process

    def fired(self) -> int:
        return self.db.query(
            "SELECT count(*) FROM worker_timer WHERE kind = 'test.crash' AND fired_at IS NOT NULL"
        )[0][0]

    def test_300_deadlines_worker_killed_three_times_each_fires_once_none_waits_out_a_claim(self):
        """Each of the 300 fires exactly once after three kills, none lost, and a killed
        worker's timers are free at once: the old engine's claims held them 60 s a kill
        (the last fired 66–70 s late). The bound is loose, for any machine; the 10 s
        figure of issue 14 is measured and printed by bench/notify_overdue.py."""
        self.db.run("shell", "-c", TIMER_SEED, DUE_IN="4")
        process = self.start()
        restarts = 0.0
        for threshold in (40, 120, 200):
            deadline = time.monotonic() + 60
            while self.fired() < threshold and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertGreaterEqual(self.fired(), threshold)
            process.kill()
            process.wait()
            began = time.monotonic()
            process = self.start()
            while process.stdout.readline().strip() not in ("ready", ""):
                pass
            restarts += time.monotonic() - began
        deadline = time.monotonic() + 60
        while self.fired() < TIMERS and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.fired(), TIMERS)
        titles = self.db.query(
            "SELECT title, count(*) FROM notify_notification WHERE event = 'crash' GROUP BY title"
        )
        self.assertEqual(len(titles), TIMERS)
        self.assertEqual({n for _, n in titles}, {1})  # each fired once
        attempts = self.db.query(
            "SELECT DISTINCT attempts FROM worker_timer WHERE kind = 'test.crash'"
        )
        self.assertEqual(attempts, [(1,)])
        late = self.db.query("SELECT max(late_ms) FROM worker_timer WHERE kind = 'test.crash'")[0][
            0
        ]
        print(
            f"\n300 timers, worker killed ×3 ({connection.vendor}): last fired {late / 1000:.1f} s "
            f"late, of which {restarts:.1f} s starting Python and Django again"
        )
        # Starting Python and Django again is the machine's, not the worker's (on a
        # loaded test machine it can take seconds); the rest stays far below one claim.
        self.assertLess(late - restarts * 1000, 45_000)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="one worker is SQLite's rule")
class SecondSqliteWorkerTests(TransactionalTestCase):
    def test_a_second_worker_on_sqlite_refuses_to_start_and_names_the_first(self):
        db = ScratchDatabase()
        self.addCleanup(db.close)
        # The first worker's lock, taken as `manage.py worker` takes it (before it touches
        # the database), by this process: one start of Python fewer.
        lock = Path(db.dir.name) / "worker.lock"
        first = single_worker_lock(lock)
        self.addCleanup(first.close)
        second = subprocess.run(  # noqa: S603
            db.manage("worker", "--poll", "0.1"),
            cwd=ROOT,
            env=db.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertNotEqual(second.returncode, 0)
        self.assertIn(f"pid {os.getpid()}", second.stderr)
        self.assertIn("SQLite", second.stderr)
        # A worker that died (its files closed, as when killed) leaves the lock free at once.
        first.close()
        again = single_worker_lock(lock)
        self.addCleanup(again.close)
        self.assertEqual(lock.read_text(), str(os.getpid()))
