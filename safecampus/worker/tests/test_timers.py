"""Deadlines: a worker that was stopped while several came due fires each once, late."""

import datetime as dt

import time_machine
from django.utils import timezone

from safecampus.test import BaseTestCase
from safecampus.worker.loop import TIMER_MAX_ATTEMPTS, Worker
from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, timer_schedule

FIRED: list[tuple[str, dt.datetime]] = []


@on_timer("test.record")
def _record(timer: Timer) -> None:
    FIRED.append((timer.key, timezone.now()))


@on_timer("test.fail")
def _fail(timer: Timer) -> None:
    raise RuntimeError(f"handler of {timer.key} broke")


class TimerTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        FIRED.clear()
        self.worker = Worker(threads=1)
        self.addCleanup(self.worker.pool.shutdown)
        self.t0 = timezone.now().replace(microsecond=0)

    def travel(self, at: dt.datetime) -> time_machine.travel:
        return time_machine.travel(at, tick=False)

    def test_clock_jumps_past_several_deadlines_each_fires_once_with_its_lateness(self):
        with self.travel(self.t0):
            for hours in (1, 2, 3):
                timer_schedule(
                    kind="test.record",
                    key=f"due+{hours}h",
                    due_at=self.t0 + dt.timedelta(hours=hours),
                )
            self.worker.tick()
        self.assertEqual(FIRED, [])  # nothing is due yet

        with self.travel(self.t0 + dt.timedelta(hours=5)):
            self.worker.tick()
            self.assertEqual(sorted(key for key, _ in FIRED), ["due+1h", "due+2h", "due+3h"])
            self.worker.tick()  # a second pass finds nothing left to fire
        self.assertEqual(len(FIRED), 3)

        for hours in (1, 2, 3):
            timer = Timer.objects.get(key=f"due+{hours}h")
            self.assertEqual(timer.fired_at, self.t0 + dt.timedelta(hours=5))
            self.assertEqual(timer.attempts, 1)
            lateness_ms = (5 - hours) * 3600 * 1000
            self.assertAlmostEqual(timer.late_ms, lateness_ms, delta=1000)

    def test_a_failing_handler_is_retried_later_then_given_up_with_the_error(self):
        with self.travel(self.t0):
            timer_schedule(kind="test.fail", key="broken", due_at=self.t0)
        now = self.t0
        for attempt in range(1, TIMER_MAX_ATTEMPTS + 1):
            with self.travel(now):
                self.worker.tick()
                timer = Timer.objects.get(key="broken")
                self.assertEqual(timer.attempts, attempt)
                self.assertEqual(timer.last_error, "handler of broken broke")
                if attempt == TIMER_MAX_ATTEMPTS:
                    break
                self.assertIsNone(timer.fired_at)  # still owed
                self.worker.tick()  # not retried at once: it waits out its back-off
                self.assertEqual(Timer.objects.get(key="broken").attempts, attempt)
            now = timer.retry_at + dt.timedelta(seconds=1)

        # Given up: marked fired (so no worker retries it forever), the error kept.
        self.assertIsNotNone(timer.fired_at)
        self.assertIsNone(timer.retry_at)
        with self.travel(now + dt.timedelta(days=1)):
            self.worker.tick()
        self.assertEqual(Timer.objects.get(key="broken").attempts, TIMER_MAX_ATTEMPTS)

    def test_rescheduling_moves_an_unfired_timer_and_leaves_a_fired_one(self):
        with self.travel(self.t0):
            timer_schedule(kind="test.record", key="k", due_at=self.t0 + dt.timedelta(hours=1))
            timer_schedule(kind="test.record", key="k", due_at=self.t0 + dt.timedelta(hours=2))
        self.assertEqual(Timer.objects.get(key="k").due_at, self.t0 + dt.timedelta(hours=2))

        with self.travel(self.t0 + dt.timedelta(minutes=90)):
            self.worker.tick()
        self.assertEqual(FIRED, [])  # the old deadline passed, the moved one not yet

        fired_at = self.t0 + dt.timedelta(minutes=150)
        with self.travel(fired_at):
            self.worker.tick()
        self.assertEqual([key for key, _ in FIRED], ["k"])

        with self.travel(fired_at + dt.timedelta(minutes=1)):
            timer = timer_schedule(
                kind="test.record", key="k", due_at=self.t0 + dt.timedelta(hours=10)
            )
            self.worker.tick()
        self.assertEqual(timer.due_at, self.t0 + dt.timedelta(hours=2))
        self.assertEqual(timer.fired_at, fired_at)
        self.assertEqual(Timer.objects.filter(key="k").count(), 1)
        self.assertEqual(len(FIRED), 1)
