"""What the worker promises under slow receivers and several workers (issue 14):

- an urgent message is not queued behind slow receivers;
- every request that leaves has its Attempt, recorded before it left; a worker that
  lost its claim does not send; claims are renewed while the send is in hand;
- a robot's rate limit holds across several workers, and no message is lost.
"""

import datetime as dt
import threading
import time
from unittest import mock

import time_machine
from django.db import connections
from django.db.models import Q
from django.test import override_settings
from django.utils import timezone

from safecampus.notify.channels.wecom.transport import WeComTransport
from safecampus.notify.models import Attempt, Channel, Delivery, DeliveryStatus, Urgency
from safecampus.notify.services import notification_create
from safecampus.notify.testing import HttpSink, Request
from safecampus.orgs.models import Unit
from safecampus.test import Personas, TransactionalTestCase
from safecampus.worker.loop import Worker, claim, run_in_thread

LOOPBACK = override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"])
KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def wait_until(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class WorkerTestCase(Personas, TransactionalTestCase):
    def setUp(self) -> None:
        self.build_district()
        self.unit = Unit.objects.get(pk=self.school_a.pk)

    def webhooks(self, sink: HttpSink, n: int) -> list[Channel]:
        return Channel.objects.bulk_create(
            Channel(
                unit=self.unit,
                kind="webhook",
                name=f"hook {i}",
                config={"url": f"{sink.url}/h/{i}"},
            )
            for i in range(n)
        )

    def robot(self, sink: HttpSink) -> Channel:
        return Channel.objects.create(
            unit=self.unit,
            kind="wecom",
            name="值班群",
            config={"key": KEY, "url": f"{sink.url}/cgi-bin/webhook/send"},
        )

    def send(self, channels: list[Channel], urgency: str = Urgency.URGENT, title: str = "t"):  # type: ignore[no-untyped-def]
        return notification_create(
            event="test", title=title, body="b", urgency=urgency, unit=self.unit, channels=channels
        )

    def start_workers(self, n: int, **kwargs) -> None:  # type: ignore[no-untyped-def]
        for _ in range(n):
            _thread, _stop, join = run_in_thread(poll=0.05, **kwargs)
            self.addCleanup(join)


@LOOPBACK
@override_settings(NOTIFY_BACKOFF=[60], NOTIFY_HTTP_TIMEOUT=60)
class SlowReceiverTests(WorkerTestCase):
    """The slow receivers hold every request until the urgent message has arrived: it is
    delivered while all of them are still unanswered, however fast or slow the machine.
    (The old engine waited for a whole round of answers: never, here.) How long it takes
    is a figure for bench/notify_fanout.py ("urgent after slow"), not a test."""

    def check_urgent_message_is_not_queued_behind(self, urgency: str) -> None:
        gate = threading.Event()
        self.addCleanup(gate.set)

        def hold(request: Request) -> int:
            gate.wait(60)
            return 200

        with HttpSink(handler=hold) as slow, HttpSink() as fast:
            robot = self.robot(fast)
            self.send(self.webhooks(slow, 100), urgency=urgency)
            self.start_workers(1)
            self.assertTrue(slow.wait_for(20, timeout=30))
            posted = time.monotonic()
            self.send([robot], title="火情")
            arrived = fast.wait_for(1, timeout=45)
            waited = time.monotonic() - posted
            answered = gate.is_set()
            gate.set()
            self.assertTrue(arrived, "the urgent message waited for the slow receivers")
            self.assertFalse(answered)
            self.assertIn("火情", fast.requests[0].json["text"]["content"])
            # Let go, the held ones are answered and the rest start: none was lost.
            self.assertTrue(slow.wait_for(100, timeout=30))
        print(f"\nurgent message behind 100 held receivers ({urgency}): {waited:.2f} s")

    def test_an_urgent_message_is_not_queued_behind_100_routine_sends_to_slow_receivers(self):
        # Routine work never takes the senders kept for urgent messages.
        self.check_urgent_message_is_not_queued_behind(Urgency.ROUTINE)

    def test_an_urgent_message_is_not_queued_behind_100_urgent_sends_that_get_no_answer(self):
        # Urgent too, and ahead of it: they are started before it (a send unanswered after
        # 0.1 s stops counting against the senders) but their silence does not hold it.
        self.check_urgent_message_is_not_queued_behind(Urgency.URGENT)


@LOOPBACK
class AttemptBeforeSendTests(WorkerTestCase):
    def test_every_request_finds_its_attempt_already_recorded(self):
        seen: list[bool] = []

        def check(request: Request) -> int:
            key = request.header("Idempotency-Key")
            try:
                seen.append(
                    Attempt.objects.filter(delivery__idempotency_key=key, ok__isnull=True).exists()
                )
            finally:
                connections.close_all()
            return 200

        with HttpSink(handler=check) as sink:
            notification = self.send(self.webhooks(sink, 5))
            worker = Worker(threads=2)
            self.addCleanup(worker.pool.shutdown)
            worker.tick()
        self.assertEqual(seen, [True] * 5)
        attempts = Attempt.objects.filter(delivery__notification=notification)
        self.assertEqual(attempts.count(), 5)
        self.assertEqual(set(attempts.values_list("ok", "claim_token")), {(True, worker.token)})

    def test_a_worker_that_lost_its_claim_does_not_send(self):
        with HttpSink() as sink:
            notification = self.send(self.webhooks(sink, 1))
            delivery = notification.deliveries.get()
            first, second = Worker(threads=1, lease=10), Worker(threads=1, lease=10)
            for worker in (first, second):
                self.addCleanup(worker.pool.shutdown)
            due = Q(status=DeliveryStatus.QUEUED)
            [row] = claim(Delivery, due, "pk", token=first.token, lease=10, batch=1)
            later = timezone.now() + dt.timedelta(seconds=11)
            with time_machine.travel(later, tick=False):
                # The first worker stalled past its lease; the second takes over and sends.
                self.assertEqual(second.deliver(), 1)
                row.channel = Channel.objects.get(pk=row.channel_id)
                self.assertIsNone(first._attempt(row))
        self.assertEqual(len(sink.requests), 1)
        delivery.refresh_from_db()
        self.assertEqual((delivery.status, delivery.attempts), (DeliveryStatus.SENT, 1))
        self.assertEqual(Attempt.objects.get().claim_token, second.token)

    def test_two_workers_slow_receivers_short_lease_requests_equal_attempts(self):
        # A send outlasts the lease: the claim is renewed (every lease/3) while it is in
        # hand, so the other worker does not send it again; whatever leaves is recorded.
        # A lease of 3 s leaves a loaded machine 2 s to renew it in.
        with HttpSink(delay=4) as sink:
            notification = self.send(self.webhooks(sink, 30))
            self.start_workers(2, lease=3, threads=8)
            rows = Delivery.objects.filter(notification=notification)
            done = wait_until(lambda: not rows.filter(status=DeliveryStatus.QUEUED).exists(), 60)
            self.assertTrue(done)
            time.sleep(0.2)
            requests = len(sink.requests)
        self.assertEqual(
            requests, Attempt.objects.filter(delivery__notification=notification).count()
        )
        self.assertEqual(requests, 30)
        self.assertEqual(set(rows.values_list("status", "attempts")), {(DeliveryStatus.SENT, 1)})


@LOOPBACK
class RateLimitTests(WorkerTestCase):
    @mock.patch.object(WeComTransport, "rate_limits", ((4, 2),))
    def test_four_workers_never_exceed_the_robots_limit_and_lose_nothing(self):
        with HttpSink() as sink:
            robot = self.robot(sink)
            for i in range(12):
                self.send([robot], title=f"m{i}", urgency=Urgency.ROUTINE)
            self.start_workers(4, threads=4)
            self.assertTrue(sink.wait_for(12, timeout=60))
            # The answers are recorded a moment after they arrive (not a fixed sleep: a
            # loaded machine takes longer than 0.5 s).
            rows = Delivery.objects.filter(channel=robot)
            recorded = wait_until(
                lambda: not rows.filter(status=DeliveryStatus.QUEUED).exists(), 60
            )
            self.assertTrue(recorded)
            titles = sorted(r.json["text"]["content"] for r in sink.requests)
        self.assertEqual(len(titles), 12)
        self.assertEqual(len(set(titles)), 12)
        self.assertEqual(set(rows.values_list("status", "attempts")), {(DeliveryStatus.SENT, 1)})
        # Never more than 4 in any rolling 2 seconds: the times the requests left (each
        # Attempt is written, under the robot's lock, right before its request). At the
        # receiver they arrive a moment later, by however long the machine takes; the
        # window's margin covers that for a real robot, and bench/worker_faults.py counts
        # arrivals at its receiver.
        times = list(
            Attempt.objects.filter(channel=robot).order_by("at").values_list("at", flat=True)
        )
        self.assertEqual(len(times), 12)
        for i in range(len(times) - 4):
            self.assertGreater(times[i + 4] - times[i], dt.timedelta(seconds=2), times)

    def test_an_attempts_time_is_read_once_the_robots_lock_is_held(self):
        # A worker that waited for the robot's lock counts, and records its Attempt, after
        # the one that held it: with the time read before the wait, its Attempt would be
        # dated before the other's request and the window would free a slot too early.
        with HttpSink() as sink:
            robot = self.robot(sink)
            self.send([robot], title="m")
            start = timezone.now()
            real = Channel.objects.select_for_update
            with time_machine.travel(start, tick=False) as traveller:

                def after_a_wait(*args, **kwargs):  # type: ignore[no-untyped-def]
                    traveller.shift(dt.timedelta(seconds=5))  # another worker held the lock
                    return real(*args, **kwargs)

                worker = Worker(threads=1)
                self.addCleanup(worker.pool.shutdown)
                with mock.patch.object(Channel.objects, "select_for_update", after_a_wait):
                    worker.tick()
            self.assertEqual(len(sink.requests), 1)
        attempt = Attempt.objects.get(channel=robot)
        self.assertEqual(attempt.at, start + dt.timedelta(seconds=5))
