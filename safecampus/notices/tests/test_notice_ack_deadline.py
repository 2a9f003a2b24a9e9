"""The acknowledgement deadline: the worker fires once and tells the sender's office who is late."""

import datetime as dt

import time_machine
from django.db import connections
from django.utils import translation

from safecampus.notices import services
from safecampus.notify.models import Delivery, Notification, Transport
from safecampus.worker.loop import Worker
from safecampus.worker.models import Timer

from .base import NoticeTestCase


class AckDeadlineTest(NoticeTestCase):
    def _worker(self) -> Worker:
        worker = Worker(threads=1)

        def close() -> None:
            worker.pool.submit(connections.close_all).result()
            worker.pool.shutdown()

        self.addCleanup(close)
        return worker

    def test_deadline_fires_once_and_tells_the_office(self):
        deadline = self.soon(hours=5)
        notice = self.send(requires_ack=True, ack_deadline=deadline)
        for receipt in notice.receipts.exclude(unit=self.school_b):
            receipt.acked_at = deadline - dt.timedelta(hours=1)
            receipt.save()
        worker = self._worker()
        worker.fire_timers()  # not due yet
        self.assertFalse(Notification.objects.filter(event="notice_ack_overdue").exists())

        # The message is written in the language active where the timer fires: English here.
        with (
            time_machine.travel(deadline + dt.timedelta(minutes=3), tick=False),
            translation.override("en"),
        ):
            worker.tick()
            worker.tick()
        told = Notification.objects.get(event="notice_ack_overdue")
        self.assertEqual(told.unit, self.bureau)
        self.assertEqual(told.params["count"], 1)
        self.assertIn(self.school_b.name, told.body)
        self.assertNotIn(self.school_a.name, told.body)
        self.assertIn("1 of 6", told.body)
        self.assertEqual(told.link, f"/notices/{notice.pk}/")
        self.assertEqual(
            set(
                Delivery.objects.filter(notification=told, transport=Transport.INBOX).values_list(
                    "person", flat=True
                )
            ),
            {self.officer.pk},
        )
        timer = Timer.objects.get(key=f"notice:{notice.pk}:ack")
        self.assertIsNotNone(timer.fired_at)
        self.assertEqual(timer.late_ms, 3 * 60 * 1000)

    def test_all_acknowledged_tells_nobody(self):
        notice = self.send(requires_ack=True, ack_deadline=self.soon())
        notice.receipts.update(acked_at=self.soon(1))
        self.assertEqual(services.notice_ack_deadline_passed(notice=notice), 0)
        self.assertFalse(Notification.objects.filter(event="notice_ack_overdue").exists())

    def test_deadline_message_is_in_the_default_language(self):
        """In the default language (a worker activates none): Simplified Chinese."""
        notice = self.send(requires_ack=True, ack_deadline=self.soon())
        with translation.override("zh-hans"):
            services.notice_ack_deadline_passed(notice=notice)
        told = Notification.objects.get(event="notice_ack_overdue")
        self.assertIn("6 个单位中有 6 个未确认", told.body)
