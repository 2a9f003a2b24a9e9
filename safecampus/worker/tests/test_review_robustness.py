"""Review: timers fire once and briefly hold the write lock; a worker that cannot finish a
round does not look alive."""

import datetime as dt
import time
from unittest import mock

from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safecampus.notify.models import Attempt, Delivery, Transport
from safecampus.notify.services import notification_create
from safecampus.test import BaseTestCase
from safecampus.worker import loop
from safecampus.worker.loop import Worker, worker_status
from safecampus.worker.models import Heartbeat, Timer
from safecampus.worker.timers import on_timer, timer_schedule

SLOW: list[str] = []


@on_timer("review.slow")
def _slow(timer: Timer) -> None:
    SLOW.append(timer.key)
    time.sleep(0.05)


class TimerBatchTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        SLOW.clear()
        self.worker = Worker(threads=1)
        self.addCleanup(self.worker.pool.shutdown)

    def test_nothing_due_opens_no_transaction_for_the_batch(self):
        # On SQLite every transaction is BEGIN IMMEDIATE: an idle poll must not
        # take the write lock.
        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(self.worker.fire_timers(), 0)
        savepoints = [q for q in queries if q["sql"].startswith("SAVEPOINT")]
        self.assertEqual(savepoints, [])

    def test_a_slow_batch_stops_early_and_leaves_the_rest_free(self):
        past = timezone.now() - dt.timedelta(minutes=1)
        for i in range(5):
            timer_schedule(kind="review.slow", key=f"slow{i}", due_at=past)
        with mock.patch.object(loop, "TIMER_BATCH_SECONDS", 0.01):
            self.worker.fire_timers()
            # The write lock is let go after the time budget; the rest waits for no one.
            self.assertEqual(len(SLOW), 1)
            rest = Timer.objects.filter(kind="review.slow", fired_at__isnull=True)
            self.assertEqual(rest.count(), 4)
            self.assertFalse(rest.filter(retry_at__isnull=False).exists())
            for _ in range(6):
                self.worker.fire_timers()
        self.assertEqual(sorted(SLOW), [f"slow{i}" for i in range(5)])
        mine = Timer.objects.filter(kind="review.slow")
        self.assertEqual(set(mine.values_list("attempts", flat=True)), {1})


class HeartbeatTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        # run() closes old connections between rounds; not the test's own.
        patcher = mock.patch.object(loop, "close_old_connections")
        patcher.start()
        self.addCleanup(patcher.stop)
        self.worker = Worker(threads=1)
        self.addCleanup(self.worker.pool.shutdown)

    def test_a_worker_whose_every_round_fails_does_not_look_alive(self):
        with mock.patch.object(Worker, "tick", side_effect=RuntimeError("poison")):
            self.worker.run(once=True)
        self.assertEqual(worker_status(), (False, None))

    def test_a_round_that_completes_is_a_heartbeat(self):
        self.worker.run(once=True)
        alive, last = worker_status()
        self.assertTrue(alive)
        self.assertEqual(Heartbeat.objects.get().name, self.worker.name)
        self.assertIsNotNone(last)

    def test_a_heartbeat_that_cannot_be_written_does_not_stop_the_worker(self):
        failing = mock.patch.object(
            Heartbeat.objects, "update_or_create", side_effect=OperationalError("locked")
        )
        with failing, mock.patch.object(Worker, "tick", return_value=0) as tick:
            self.worker.run(once=True)  # must not raise
        tick.assert_called_once()


class InboxDeliveryTests(BaseTestCase):
    def test_a_queued_inbox_delivery_is_recorded_sent_once(self):
        notification = notification_create(
            event="test", title="t", body="b", unit=self.school_a, people=[]
        )
        row = Delivery.objects.create(
            notification=notification,
            person=self.officer,
            transport=Transport.INBOX,
            next_attempt_at=timezone.now(),
        )
        worker = Worker(threads=1)
        self.addCleanup(worker.pool.shutdown)
        self.assertEqual(worker.deliver(), 1)
        self.assertEqual(worker.deliver(), 0)
        row.refresh_from_db()
        self.assertEqual((row.status, row.attempts, row.claim_token), ("sent", 1, ""))
        self.assertEqual(Attempt.objects.filter(delivery=row).count(), 1)
