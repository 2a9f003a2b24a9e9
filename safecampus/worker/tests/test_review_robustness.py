"""Review: timers fire once and briefly hold the write lock; joined messages are not
marked sent by a carrier that did not carry them; a worker that cannot finish a
round does not look alive."""

import datetime as dt
import time
from unittest import mock

import time_machine
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safecampus.notify.models import Attempt, Channel, Delivery, DeliveryStatus, Transport, Urgency
from safecampus.notify.services import delivery_record, notification_create
from safecampus.test import BaseTestCase
from safecampus.worker import loop
from safecampus.worker.loop import Worker, claim, worker_status
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
        # take the write lock once more for an empty batch.
        with CaptureQueriesContext(connection) as queries:
            self.assertEqual(self.worker.fire_timers(), 0)
        savepoints = [q for q in queries if q["sql"].startswith("SAVEPOINT")]
        self.assertEqual(len(savepoints), 1)  # the claim's own, nothing more

    def test_a_slow_batch_stops_early_and_hands_back_the_rest_at_once(self):
        past = timezone.now() - dt.timedelta(minutes=1)
        for i in range(5):
            timer_schedule(kind="review.slow", key=f"slow{i}", due_at=past)
        with mock.patch.object(loop, "TIMER_BATCH_SECONDS", 0.01):
            self.worker.fire_timers()
            # The write lock is let go after the time budget; the rest is not held.
            self.assertEqual(len(SLOW), 1)
            rest = Timer.objects.filter(kind="review.slow", fired_at__isnull=True)
            self.assertEqual(rest.count(), 4)
            self.assertFalse(rest.exclude(claim_token="").exists())
            self.assertFalse(rest.filter(claimed_until__isnull=False).exists())
            for _ in range(6):
                self.worker.fire_timers()
        self.assertEqual(sorted(SLOW), [f"slow{i}" for i in range(5)])
        mine = Timer.objects.filter(kind="review.slow")
        self.assertEqual(set(mine.values_list("attempts", flat=True)), {1})

    def test_the_batch_budget_stays_inside_the_lease(self):
        past = timezone.now() - dt.timedelta(minutes=1)
        for i in range(10):
            timer_schedule(kind="review.slow", key=f"lease{i}", due_at=past)
        worker = Worker(threads=1, lease=0.2)
        self.addCleanup(worker.pool.shutdown)
        worker.fire_timers()  # 0.05 s each: ten would outlast the 0.2 s lease
        self.assertGreaterEqual(len(SLOW), 1)
        self.assertLess(len(SLOW), 10)


class CarrierTests(BaseTestCase):
    """A carrier recorded as sent marks sent only the messages it carried."""

    def setUp(self) -> None:
        super().setUp()
        self.channel = Channel.objects.create(
            unit=self.school_a, kind="wecom", name="群", config={"key": "k" * 36}
        )
        self.worker = Worker(threads=1, lease=60)
        self.addCleanup(self.worker.pool.shutdown)

    def routine(self, title: str) -> Delivery:
        notification = notification_create(
            event="test",
            title=title,
            body="b",
            urgency=Urgency.ROUTINE,
            unit=self.school_a,
            channels=[self.channel],
        )
        return notification.deliveries.get(channel=self.channel)

    def test_a_message_joined_in_a_lost_round_is_not_marked_sent_by_a_later_carrier(self):
        t0 = timezone.now()
        carrier, first, second = (self.routine(t) for t in ("a", "b", "c"))
        Delivery.objects.filter(pk=carrier.pk).update(next_attempt_at=t0 - dt.timedelta(3))
        Delivery.objects.filter(pk=first.pk).update(next_attempt_at=t0 - dt.timedelta(2))
        Delivery.objects.filter(pk=second.pk).update(next_attempt_at=t0 - dt.timedelta(1))
        due = loop.Q(status=DeliveryStatus.QUEUED, next_attempt_at__lte=t0)
        # Worker 1 joins all three into the carrier, then stalls past its lease.
        rows = claim(Delivery, due, "next_attempt_at", token="1" * 32, lease=60, batch=10)
        jobs = self.worker._plan(rows, "1" * 32)
        self.assertEqual(len(jobs), 1)
        self.assertEqual(Delivery.objects.filter(coalesced_into=carrier).count(), 2)
        with time_machine.travel(t0 + dt.timedelta(seconds=120), tick=False):
            # Worker 2 takes over two of them (its batch is full) and joins those.
            rows = claim(Delivery, due, "next_attempt_at", token="2" * 32, lease=60, batch=2)
            self.assertEqual([r.pk for r in rows], [carrier.pk, first.pk])
            jobs = self.worker._plan(rows, "2" * 32)
            self.assertNotIn("【c】", jobs[0][1].body)
            status = delivery_record(
                delivery=jobs[0][0], ok=True, claim_token="2" * 32, joined=True
            )
        self.assertEqual(status, DeliveryStatus.SENT)
        first.refresh_from_db()
        second.refresh_from_db()
        self.assertEqual(first.status, DeliveryStatus.SENT)
        # "c" was not in worker 2's message: it still waits to be sent.
        self.assertEqual(second.status, DeliveryStatus.QUEUED)
        self.assertIsNone(second.sent_at)


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
    def test_a_queued_inbox_delivery_is_recorded_sent_once_by_the_bulk_path(self):
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
