"""催办: chasing messages again only the units that have not read or acknowledged."""

import datetime as dt

import time_machine
from django.urls import reverse
from django.utils import timezone

from safecampus.notices import services
from safecampus.notify.models import Notification, Urgency

from .base import NoticeTestCase


class NoticeChaseTest(NoticeTestCase):
    def test_chase_reaches_only_the_laggards(self):
        notice = self.send(requires_ack=True)
        a = notice.receipts.get(unit=self.school_a)
        b = notice.receipts.get(unit=self.school_b)
        services.notice_acknowledge(by=self.principal_a, receipt=a)  # read and acknowledged
        services.notice_read(by=self.duty_b, notice=notice)  # read, not acknowledged
        before = set(Notification.objects.values_list("pk", flat=True))

        response = self.client_for(self.officer).post(
            reverse("notices:chase", args=[notice.pk]), follow=True
        )
        self.assertContains(response, "Chased 5 units.")
        chased = Notification.objects.exclude(pk__in=before)
        self.assertEqual(
            set(chased.values_list("unit_id", flat=True)),
            {self.group_1.pk, self.group_2.pk, self.dept_a.pk, self.school_b.pk, self.kinder_b.pk},
        )
        self.assertNotIn(self.school_a.pk, chased.values_list("unit_id", flat=True))
        self.assertTrue(all(n.urgency == Urgency.URGENT for n in chased))
        self.assertTrue(all(n.title.startswith("Reminder:") for n in chased))
        a.refresh_from_db()
        b.refresh_from_db()
        self.assertEqual((a.chase_count, a.chased_at), (0, None))
        self.assertEqual(b.chase_count, 1)

    def test_chase_keeps_emergency_and_ignores_a_double_tap(self):
        notice = self.send(urgency=Urgency.EMERGENCY)
        before = set(Notification.objects.values_list("pk", flat=True))
        self.assertEqual(services.notice_chase(by=self.officer, notice=notice), 6)
        self.assertEqual(services.notice_chase(by=self.officer, notice=notice), 0)
        reminders = Notification.objects.exclude(pk__in=before)
        self.assertEqual(reminders.count(), 6)  # the double tap sent nothing more
        self.assertEqual(set(reminders.values_list("urgency", flat=True)), {Urgency.EMERGENCY})
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
            self.assertEqual(services.notice_chase(by=self.officer, notice=notice), 6)
        self.assertEqual(set(notice.receipts.values_list("chase_count", flat=True)), {2})

    def test_recipients_cannot_chase(self):
        notice = self.send()
        response = self.client_for(self.principal_a).post(
            reverse("notices:chase", args=[notice.pk])
        )
        self.assertEqual(response.status_code, 403)
