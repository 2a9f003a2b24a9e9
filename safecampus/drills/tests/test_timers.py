"""The worker: the first of each month at 09:00, the units behind their plan as at the end of
the month gone are told in the app what they are short of, those without a plan that they
have none — once, however many workers plan it — and the next month is planned. On 1 January
it is the whole year gone."""

import datetime as dt

import time_machine

from safecampus.drills import services, timers
from safecampus.drills.models import Kind
from safecampus.notify.models import Delivery, Notification, Transport
from safecampus.orgs.models import Membership, Role
from safecampus.test import make_person
from safecampus.worker.models import Timer
from safecampus.worker.testing import drain

from .base import DrillCase, at


class TimerTests(DrillCase):
    def test_the_months_notice_once_to_the_units_behind_then_the_next_month(self) -> None:
        safety = make_person("safety.a", "吴安全", "13900000034")
        Membership.objects.create(person=safety, unit=self.school_a, role=Role.SAFETY_OFFICER)
        self.school_a.head = self.principal_a
        self.school_a.save()
        services.plan_set(
            by=self.principal_a, unit=self.school_a, year=2026, counts={Kind.FIRE: 10}
        )
        self.record()
        timers.plan_next()
        timers.plan_next()  # a second worker starting: the same timer
        self.assertEqual(
            list(Timer.objects.values_list("key", "due_at")),
            [("drills:behind:2026-12", at(dt.date(2026, 12, 1), 9))],
        )
        with time_machine.travel(at(dt.date(2026, 12, 1), 8, 59), tick=False):
            drain()
        self.assertFalse(Notification.objects.exists())
        # The worker was down that morning: the notice goes at 11:00, once.
        with time_machine.travel(at(dt.date(2026, 12, 1), 11), tick=False):
            drain()
            drain()
        behind = Notification.objects.get(event="drill_behind")
        self.assertEqual(behind.unit, self.school_a)
        self.assertIn("1/9", behind.body)  # held / due as at 30 November: 10 × 334 // 365
        self.assertEqual(
            set(Delivery.objects.filter(notification=behind).values_list("person", "transport")),
            {(self.principal_a.pk, Transport.INBOX), (safety.pk, Transport.INBOX)},
        )
        no_plan = Notification.objects.get(event="drill_no_plan")
        self.assertEqual(no_plan.unit, self.school_b)
        self.assertTrue(
            Timer.objects.filter(key="drills:behind:2027-01", fired_at__isnull=True).exists()
        )
        # On 1 January: the whole year gone.
        with time_machine.travel(at(dt.date(2027, 1, 1), 9, 30), tick=False):
            drain()
        last = Notification.objects.filter(event="drill_behind").latest("pk")
        self.assertIn("1/10", last.body)
        self.assertEqual(Notification.objects.filter(event="drill_behind").count(), 2)
        self.assertTrue(Timer.objects.filter(key="drills:behind:2027-02").exists())
