"""The outbox: written in the caller's transaction, delivered by the worker, claimed once."""

import datetime as dt
import threading
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections, transaction
from django.db.models import Q
from django.test import override_settings
from django.utils import timezone

from safecampus.notify.models import (
    Attempt,
    ContactPreference,
    Delivery,
    DeliveryStatus,
    Notification,
    Transport,
    Urgency,
)
from safecampus.notify.services import channel_create, notification_create
from safecampus.notify.testing import HttpSink
from safecampus.test import BaseTestCase, Personas, TransactionalTestCase
from safecampus.worker.loop import Worker, claim

LOOPBACK = override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"])
DUE = Q(status=DeliveryStatus.QUEUED)


def _worker(test) -> Worker:  # type: ignore[no-untyped-def]
    """A worker for tick(); its send thread's connection is closed when the test ends."""
    worker = Worker(threads=1)

    def close() -> None:
        worker.pool.submit(connections.close_all).result()
        worker.pool.shutdown()

    test.addCleanup(close)
    return worker


@LOOPBACK
class OutboxCommitTests(Personas, TransactionalTestCase):
    """Real commits: what the worker sees is what was committed."""

    def setUp(self) -> None:
        self.build_district()
        self.sink = HttpSink().start()
        self.addCleanup(self.sink.stop)
        self.channel = channel_create(
            by=self.officer,
            unit=self.school_a,
            kind="webhook",
            name="值班群",
            config={"url": f"{self.sink.url}/hook"},
        )

    def notify(self) -> Notification:
        return notification_create(
            event="test",
            title="暴雨预警",
            body="请做好防范",
            urgency=Urgency.URGENT,
            unit=self.school_a,
            channels=[self.channel],
        )

    def test_a_rolled_back_change_leaves_nothing_to_send(self):
        with self.assertRaises(RuntimeError), transaction.atomic():
            self.notify()
            self.assertEqual(Delivery.objects.count(), 1)
            raise RuntimeError("the change that caused it failed")
        self.assertFalse(Notification.objects.exists())
        self.assertFalse(Delivery.objects.exists())
        _worker(self).tick()
        self.assertEqual(self.sink.requests, [])

    def test_a_committed_notification_is_delivered_to_the_webhook(self):
        with transaction.atomic():
            notification = self.notify()
        delivery = notification.deliveries.get(channel=self.channel)

        self.assertGreaterEqual(_worker(self).tick(), 1)

        delivery.refresh_from_db()
        self.assertEqual(delivery.status, DeliveryStatus.SENT)
        self.assertEqual(delivery.attempts, 1)
        self.assertEqual(len(self.sink.requests), 1)
        request = self.sink.requests[0]
        self.assertEqual(request.path, "/hook")
        self.assertEqual(request.header("Idempotency-Key"), delivery.idempotency_key)
        self.assertEqual(request.json["title"], "暴雨预警")
        self.assertEqual(request.json["text"], "请做好防范")
        attempt = Attempt.objects.get(delivery=delivery)
        self.assertTrue(attempt.ok)
        self.assertEqual(attempt.channel, self.channel)


@override_settings(SMS_PROVIDER="aliyun")
class QuietHoursTests(BaseTestCase):
    """Quiet hours 22:00–07:00 (Asia/Shanghai): routine email and SMS wait, emergencies do not."""

    def setUp(self) -> None:
        super().setUp()
        tz = ZoneInfo("Asia/Shanghai")
        self.night = dt.datetime(2025, 3, 10, 23, 30, tzinfo=tz)
        self.morning = dt.datetime(2025, 3, 11, 7, 0, tzinfo=tz)
        self.teacher_a.email = "chen@example.cn"
        self.teacher_a.save()
        ContactPreference.objects.create(
            person=self.teacher_a,
            order="email,sms",
            quiet_start=dt.time(22, 0),
            quiet_end=dt.time(7, 0),
        )
        ContactPreference.objects.create(
            person=self.principal_a,
            order="sms",
            quiet_start=dt.time(22, 0),
            quiet_end=dt.time(7, 0),
        )

    def external(self, notification: Notification) -> dict[str, Delivery]:
        rows = notification.deliveries.exclude(transport=Transport.INBOX)
        return {d.person.username: d for d in rows}

    def send(self, urgency: str) -> Notification:
        return notification_create(
            event="test",
            title="t",
            body="b",
            urgency=urgency,
            unit=self.school_a,
            people=[self.teacher_a, self.principal_a],
        )

    def test_routine_messages_wait_for_the_end_of_quiet_hours(self):
        with time_machine.travel(self.night, tick=False):
            rows = self.external(self.send(Urgency.ROUTINE))
            self.assertEqual(rows["teacher.a"].transport, Transport.EMAIL)
            self.assertEqual(rows["principal.a"].transport, Transport.SMS)
            for delivery in rows.values():
                self.assertEqual(delivery.next_attempt_at, self.morning)
                self.assertEqual(delivery.status, DeliveryStatus.QUEUED)
            # The worker at night does not take them ...
            token = uuid.uuid4().hex
            due = DUE & Q(next_attempt_at__lte=timezone.now())
            self.assertEqual(claim(Delivery, due, "pk", token=token, lease=60, batch=50), [])
            # ... and the inbox copy is there at once.
            self.assertEqual(Delivery.objects.filter(transport=Transport.INBOX).count(), 2)
        with time_machine.travel(self.morning, tick=False):
            due = DUE & Q(next_attempt_at__lte=timezone.now())
            got = claim(Delivery, due, "pk", token=token, lease=60, batch=50)
            self.assertEqual({d.pk for d in got}, {d.pk for d in rows.values()})

    def test_an_emergency_is_never_delayed(self):
        with time_machine.travel(self.night, tick=False):
            rows = self.external(self.send(Urgency.EMERGENCY))
            for delivery in rows.values():
                self.assertEqual(delivery.next_attempt_at, self.night)
            due = DUE & Q(next_attempt_at__lte=timezone.now())
            got = claim(Delivery, due, "pk", token="night", lease=60, batch=50)
            self.assertEqual({d.pk for d in got}, {d.pk for d in rows.values()})

    def test_outside_quiet_hours_routine_goes_at_once(self):
        noon = self.night.replace(hour=12)
        with time_machine.travel(noon, tick=False):
            for delivery in self.external(self.send(Urgency.ROUTINE)).values():
                self.assertEqual(delivery.next_attempt_at, noon)


def _queue_many(test, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    notification = notification_create(
        event="test",
        title="t",
        body="b",
        urgency=Urgency.URGENT,
        unit=test.school_a,
        people=[],
    )
    now = timezone.now()
    rows = Delivery.objects.bulk_create(
        Delivery(
            notification=notification,
            transport=Transport.SMS,
            address=f"1390000{i:04d}",
            next_attempt_at=now,
        )
        for i in range(n)
    )
    return [d.pk for d in rows]


class ClaimTests(BaseTestCase):
    def test_a_second_claim_gets_nothing_a_first_one_holds(self):
        ids = _queue_many(self, 30)
        first = claim(Delivery, DUE, "pk", token="a" * 32, lease=60, batch=20)
        second = claim(Delivery, DUE, "pk", token="b" * 32, lease=60, batch=20)
        third = claim(Delivery, DUE, "pk", token="c" * 32, lease=60, batch=20)
        self.assertEqual(len(first), 20)
        self.assertEqual(len(second), 10)
        self.assertEqual(third, [])
        self.assertEqual({d.pk for d in first} | {d.pk for d in second}, set(ids))
        self.assertFalse({d.pk for d in first} & {d.pk for d in second})

    def test_a_lapsed_lease_is_taken_over(self):
        ids = _queue_many(self, 5)
        claim(Delivery, DUE, "pk", token="a" * 32, lease=2, batch=10)
        with time_machine.travel(timezone.now() + dt.timedelta(seconds=3)):
            taken = claim(Delivery, DUE, "pk", token="b" * 32, lease=2, batch=10)
        self.assertEqual({d.pk for d in taken}, set(ids))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent connections: PostgreSQL")
class ConcurrentClaimTests(Personas, TransactionalTestCase):
    """Two workers, two connections, the same due rows at the same moment."""

    def test_two_workers_claiming_at_once_never_share_a_row(self):
        self.build_district()
        ids = _queue_many(self, 400)
        got: dict[str, list[int]] = {"a": [], "b": []}
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def work(name: str) -> None:
            try:
                for round_ in range(40):  # 40 rounds × 2 workers × 7 > 400 rows
                    start.wait(timeout=10)
                    token = f"{name}{round_:03d}".ljust(32, "0")
                    rows = claim(Delivery, DUE, "pk", token=token, lease=60, batch=7)
                    got[name].extend(d.pk for d in rows)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                start.abort()
            finally:
                connections.close_all()

        threads = [threading.Thread(target=work, args=(name,)) for name in got]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(errors, [])
        self.assertFalse(set(got["a"]) & set(got["b"]))
        self.assertEqual(len(got["a"]) + len(got["b"]), len(ids))
        self.assertEqual(set(got["a"]) | set(got["b"]), set(ids))
        self.assertTrue(got["a"] and got["b"], "both workers got work")
