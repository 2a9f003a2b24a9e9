"""Shift reminders: the next shift's people are told before it starts (default 30
minutes, per unit), by the worker's sweep and one timer per shift; a worker that was down
reminds when it is back and says how late; a moved or deleted shift is not reminded at
its old time."""

import datetime as dt

import time_machine
from django.utils import translation

from safecampus.duty import reminders, services
from safecampus.duty.models import DutySettings
from safecampus.notify.models import Delivery, Notification
from safecampus.worker.models import Timer
from safecampus.worker.testing import drain
from safecampus.worker.timers import ON_START

from .edge_base import NOON, DutyCase

EVENING = NOON.replace(hour=18)


class ReminderTests(DutyCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        with time_machine.travel(NOON - dt.timedelta(days=2), tick=False):
            cls.night = services.shift_create(
                by=cls.officer,
                unit=cls.school_b,
                name="夜班",
                starts_at=EVENING,
                ends_at=EVENING + dt.timedelta(hours=14),
                leader=cls.leader_b,
                staff=[cls.duty_b],
            )

    def reminders_sent(self) -> list[Notification]:
        return list(Notification.objects.filter(event=reminders.EVENT).order_by("pk"))

    def run_worker(self, at: dt.datetime) -> None:
        with time_machine.travel(at, tick=False):
            for start in ON_START:
                start()
            drain()

    def test_the_next_shift_is_told_30_minutes_before(self) -> None:
        self.run_worker(EVENING - dt.timedelta(hours=1))
        self.assertEqual(self.reminders_sent(), [])
        self.run_worker(EVENING - dt.timedelta(minutes=30))
        (sent,) = self.reminders_sent()
        self.assertEqual(sent.params, {"shift": self.night.pk, "late_minutes": 0})
        people = set(
            Delivery.objects.filter(notification=sent, transport="inbox").values_list(
                "person_id", flat=True
            )
        )
        self.assertEqual(people, {self.duty_b.pk, self.leader_b.pk})
        self.run_worker(EVENING - dt.timedelta(minutes=10))
        self.assertEqual(len(self.reminders_sent()), 1)  # once

    def test_the_units_own_setting(self) -> None:
        DutySettings.objects.create(unit=self.school_b, remind_minutes=90)
        self.run_worker(EVENING - dt.timedelta(minutes=100))
        self.assertEqual(self.reminders_sent(), [])
        self.run_worker(EVENING - dt.timedelta(minutes=89))
        self.assertEqual(len(self.reminders_sent()), 1)

    def test_zero_turns_reminders_off(self) -> None:
        DutySettings.objects.create(unit=self.school_b, remind_minutes=0)
        self.run_worker(EVENING - dt.timedelta(minutes=29))
        self.run_worker(EVENING - dt.timedelta(minutes=1))
        self.assertEqual(self.reminders_sent(), [])

    def test_worker_down_reminds_when_back_and_says_how_late(self) -> None:
        self.run_worker(EVENING - dt.timedelta(hours=3))  # the last sweep before it went down
        back = EVENING + dt.timedelta(minutes=12)  # 42 minutes after the reminder was due
        with translation.override("en"):
            self.run_worker(back)
        (sent,) = self.reminders_sent()
        self.assertEqual(sent.params["late_minutes"], 42)
        self.assertIn("42 minutes late", sent.body)
        timer = Timer.objects.get(kind=reminders.REMIND_TIMER)
        self.assertEqual(timer.late_ms, 42 * 60 * 1000)

    def test_a_moved_shift_is_reminded_at_its_new_time_only(self) -> None:
        self.run_worker(EVENING - dt.timedelta(hours=2))
        self.assertEqual(Timer.objects.filter(kind=reminders.REMIND_TIMER).count(), 1)
        with time_machine.travel(EVENING - dt.timedelta(minutes=50), tick=False):
            services.shift_update(
                by=self.officer,
                shift=self.night,
                name="夜班",
                starts_at=EVENING + dt.timedelta(hours=1),
                ends_at=EVENING + dt.timedelta(hours=14),
                leader=self.leader_b,
                staff=[self.duty_b],
            )
        self.run_worker(EVENING - dt.timedelta(minutes=30))  # the old time: nothing
        self.assertEqual(self.reminders_sent(), [])
        self.run_worker(EVENING + dt.timedelta(minutes=30))
        self.assertEqual(len(self.reminders_sent()), 1)

    def test_a_deleted_shift_is_not_reminded(self) -> None:
        self.run_worker(EVENING - dt.timedelta(hours=2))
        with time_machine.travel(EVENING - dt.timedelta(minutes=40), tick=False):
            services.shift_delete(by=self.officer, shift=self.night)
        self.run_worker(EVENING - dt.timedelta(minutes=30))
        self.assertEqual(self.reminders_sent(), [])

    def test_the_sweep_keeps_itself_going(self) -> None:
        self.run_worker(NOON)
        pending = Timer.objects.filter(kind=reminders.SWEEP_TIMER, fired_at__isnull=True)
        self.assertEqual(pending.count(), 1)
        self.assertGreater(pending.get().due_at, NOON)
