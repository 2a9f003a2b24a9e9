"""The worker: a day planned (reminders at 17:00, the close after midnight), the reminder
to the units short, the misses recorded once by the close, which plans the next day; a
worker down over the night closes the day when it is back."""

import datetime as dt

import time_machine

from safecampus.notify.models import Notification
from safecampus.routines import timers
from safecampus.routines.models import Code, RoutineTally
from safecampus.worker.models import Timer
from safecampus.worker.testing import drain

from .test_services import DAY, RoutineCase, at


class TimerTests(RoutineCase):
    def test_remind_then_close_once_then_the_next_day(self) -> None:
        with time_machine.travel(at(DAY, 7), tick=False):
            timers.plan_today()
            timers.plan_today()  # a second worker starting: the same timers
        self.assertEqual(
            set(Timer.objects.values_list("key", flat=True)),
            {f"routines:remind:{DAY}:1700", f"routines:close:{DAY}"},
        )
        for minute in range(5):
            self.record(Code.GATE_PATROL, at(DAY, 8, minute))
        with time_machine.travel(at(DAY, 17, 1), tick=False):
            drain()
        reminded = Notification.objects.filter(event="routine_reminder")
        self.assertEqual({n.unit_id for n in reminded}, {self.school_a.pk, self.school_b.pk})
        # The worker was down over the night: the close fires late, and still exactly.
        with time_machine.travel(at(DAY + dt.timedelta(days=1), 9), tick=False):
            drain()
            drain()
        missed = RoutineTally.objects.filter(period_start=DAY, missed=True)
        self.assertEqual(missed.filter(unit=self.school_a).count(), 3)  # fire, food, meal
        self.assertEqual(missed.filter(unit=self.school_b).count(), 2)  # fire, gate
        self.assertFalse(missed.filter(code=Code.GATE_PATROL, unit=self.school_a).exists())
        self.assertEqual(Notification.objects.filter(event="routine_missed").count(), 2)
        nxt = DAY + dt.timedelta(days=1)
        self.assertTrue(Timer.objects.filter(key=f"routines:close:{nxt}", fired_at=None).exists())
        # The next day's reminder was due at 17:00: not yet fired at 09:00.
        self.assertTrue(
            Timer.objects.filter(key=f"routines:remind:{nxt}:1700", fired_at=None).exists()
        )
