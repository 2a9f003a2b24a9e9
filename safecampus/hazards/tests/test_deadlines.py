"""Overdue work escalates: the responsible person the day before the deadline, the unit's
head when it passes, the level above three days later (the supervisor of a supervised
hazard); a closed hazard is left alone; a worker that was down fires late and says so."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from safecampus.hazards import services, timers
from safecampus.hazards.models import EventKind
from safecampus.notify.models import Notification
from safecampus.worker.testing import drain

from .test_services import HazardCase

TZ = ZoneInfo("Asia/Shanghai")
MORNING = dt.datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
DEADLINE = dt.date(2026, 11, 10)
END = dt.datetime(2026, 11, 11, 0, 0, tzinfo=TZ)


class DeadlineTests(HazardCase):
    def setUp(self) -> None:
        super().setUp()
        self.school_a.head = self.principal_a
        self.school_a.save()
        with time_machine.travel(MORNING, tick=False):
            self.hazard = services.hazard_report(
                by=self.teacher_a,
                unit=self.school_a,
                category="fire",
                description="消防通道堆放杂物",
                area=self.area_a,
                deadline=DEADLINE,
            )

    def told(self) -> list[tuple[str, set[int]]]:
        return [
            (n.title, set(n.deliveries.values_list("person_id", flat=True)))
            for n in Notification.objects.filter(event=timers.EVENT).order_by("pk")
        ]

    def test_reminder_then_the_head_then_the_level_above(self) -> None:
        with time_machine.travel(END - dt.timedelta(hours=23), tick=False):
            drain()
        self.assertEqual([who for _t, who in self.told()], [{self.teacher_a.pk}])
        with time_machine.travel(END + dt.timedelta(minutes=1), tick=False):
            drain()
        self.assertEqual(self.told()[-1][1], {self.principal_a.pk})
        self.assertEqual(self.hazard.events.filter(kind=EventKind.OVERDUE).count(), 1)
        with time_machine.travel(END + dt.timedelta(days=3, minutes=1), tick=False):
            drain()
        self.assertEqual(self.hazard.events.filter(kind=EventKind.OVERDUE).count(), 2)
        self.assertIn("城关学区", self.hazard.events.last().text)

    def test_a_closed_hazard_is_left_alone(self) -> None:
        services.hazard_submit_fix(by=self.teacher_a, hazard=self.hazard, note="已清理")
        services.hazard_verify(by=self.principal_a, hazard=self.hazard, accept=True)
        with time_machine.travel(END + dt.timedelta(days=4), tick=False):
            drain()
        self.assertEqual(self.told(), [])
        self.assertFalse(self.hazard.events.filter(kind=EventKind.OVERDUE).exists())

    def test_a_supervised_hazard_goes_to_its_supervisor_and_a_late_worker_says_so(self) -> None:
        self.hazard.severity = "major"
        self.hazard.save()
        with time_machine.travel(MORNING, tick=False):
            services.hazard_supervise(
                by=self.officer,
                hazard=self.hazard,
                supervising_unit=self.bureau,
                supervisor=self.officer,
                deadline=DEADLINE,
            )
        with time_machine.travel(END + dt.timedelta(days=3, hours=5), tick=False):
            drain()  # the worker was down from before the reminder until now
        self.assertEqual(self.told()[-1][1], {self.officer.pk})
        last = self.hazard.events.last()
        self.assertIn("示例区教育局", last.text)
        self.assertIn("300", last.text)  # 5 hours late

    def test_the_supervision_deadline_escalates_while_the_hazard_stays_open(self) -> None:
        self.hazard.severity = "major"
        self.hazard.save()
        self.bureau.office_contact = self.officer
        self.bureau.save()
        far = DEADLINE + dt.timedelta(days=30)
        with time_machine.travel(MORNING, tick=False):
            services.hazard_deadline_change(
                by=self.principal_a, hazard=self.hazard, deadline=far, reason="需要预算"
            )
            services.hazard_supervise(
                by=self.officer,
                hazard=self.hazard,
                supervising_unit=self.group_1,
                supervisor=self.group_head_1,
                deadline=DEADLINE,
            )
            services.hazard_refer(by=self.principal_a, hazard=self.hazard, authority="区住建局")
        with time_machine.travel(END + dt.timedelta(minutes=5), tick=False):
            drain()
        # the school's own deadline was moved: nothing for it; the supervision deadline passed
        title, who = self.told()[-1]
        self.assertIn(self.group_head_1.pk, who)
        self.assertIn(self.officer.pk, who)  # the bureau, above the supervising group
        last = self.hazard.events.last()
        self.assertEqual(last.kind, EventKind.OVERDUE)
        self.assertIn("城关学区", last.text)

    def test_moving_a_deadline_needs_a_reason_and_the_right_level(self) -> None:
        later = DEADLINE + dt.timedelta(days=7)
        with time_machine.travel(MORNING, tick=False):
            with self.assertRaises(ValidationError) as caught:
                services.hazard_deadline_change(
                    by=self.principal_a, hazard=self.hazard, deadline=later, reason=" "
                )
            self.assertEqual(set(caught.exception.message_dict), {"reason"})
            with self.assertRaises(PermissionDenied):  # the responsible teacher is no manager
                services.hazard_deadline_change(
                    by=self.teacher_a, hazard=self.hazard, deadline=later, reason="x"
                )
            services.hazard_deadline_change(
                by=self.principal_a, hazard=self.hazard, deadline=later, reason="等待配件"
            )
        self.hazard.refresh_from_db()
        self.assertEqual(self.hazard.deadline, later)
        self.assertIn("等待配件", self.hazard.events.last().text)
        with time_machine.travel(END + dt.timedelta(minutes=5), tick=False):
            drain()  # the old deadline: nothing fires any more
        self.assertEqual(self.told(), [])
        with time_machine.travel(END + dt.timedelta(days=7, minutes=5), tick=False):
            drain()
        self.assertEqual(self.told()[-1][1], {self.principal_a.pk})
