"""What the worker does with reporting days: openings, reminders, deadlines, exemptions,
chasing. Every timer goes through Worker().tick(), as in production."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError

from safecampus.reports import services
from safecampus.reports.models import Frequency, Level, ReportStatus, Status
from safecampus.worker.loop import Worker
from safecampus.worker.models import Timer

from .test_report_services import DAY, ReportCase, at, travel

WEDNESDAY = DAY + dt.timedelta(days=1)


class DeadlineCase(ReportCase):
    def setUp(self) -> None:
        super().setUp()
        self.worker = Worker(threads=1)
        self.addCleanup(self.worker.pool.shutdown)

    def tick(self, when: dt.datetime) -> int:
        """Run the worker at `when` until nothing more is due; how many timers fired."""
        fired = 0
        with travel(when):
            for _ in range(20):
                done = self.worker.fire_timers()
                if not done:
                    return fired
                fired += done
        raise AssertionError("timers kept coming")

    def statuses(self, day: dt.date = DAY) -> dict[str, str]:
        return dict(ReportStatus.objects.filter(date=day).values_list("unit__name", "status"))

    def timer_keys(self, sched) -> set[str]:
        return set(
            Timer.objects.filter(key__startswith=f"reports:{sched.pk}:").values_list(
                "key", flat=True
            )
        )


class OpeningTests(DeadlineCase):
    def test_schedule_create_schedules_the_opening_which_makes_one_row_a_unit(self):
        sched = self.schedule(when=at(DAY - dt.timedelta(days=1), 18))
        opening = Timer.objects.get(key=f"reports:{sched.pk}:{DAY}:open")
        self.assertEqual(opening.due_at, at(DAY, 0))
        services.exemption_set(by=self.officer, unit=self.school_b, day=DAY, reason="流感停课")

        self.assertEqual(self.tick(at(DAY, 0) - dt.timedelta(seconds=1)), 0)
        self.assertFalse(ReportStatus.objects.exists())
        self.assertEqual(self.tick(at(DAY, 0)), 1)
        rows = {r.unit_id: r for r in ReportStatus.objects.filter(date=DAY)}
        self.assertEqual(len(rows), 5)
        expect = {
            self.bureau: (Level.BUREAU, at(DAY, 14), Status.NOT_DUE),
            self.group_1: (Level.GROUP, at(DAY, 14), Status.NOT_DUE),
            self.group_2: (Level.GROUP, at(DAY, 14), Status.NOT_DUE),
            self.school_a: (Level.SCHOOL, at(DAY, 13, 30), Status.NOT_DUE),
            self.school_b: (Level.SCHOOL, at(DAY, 13, 30), Status.EXEMPT),
        }
        for unit, (level, due, status) in expect.items():
            row = rows[unit.pk]
            self.assertEqual(
                (row.level, row.due_at, row.status, row.path), (level, due, status, unit.path)
            )

        # Its reminders and deadlines, per level present, and the next day's opening.
        self.assertEqual(
            self.timer_keys(sched),
            {
                f"reports:{sched.pk}:{DAY}:open",
                f"reports:{sched.pk}:{WEDNESDAY}:open",
                *(
                    f"reports:{sched.pk}:{DAY}:{what}:{level}"
                    for what in ("remind", "due")
                    for level in (Level.SCHOOL, Level.GROUP, Level.BUREAU)
                ),
            },
        )
        remind = Timer.objects.get(key=f"reports:{sched.pk}:{DAY}:remind:{Level.SCHOOL}")
        self.assertEqual(remind.due_at, at(DAY, 13))
        # Opening again changes nothing.
        with travel(at(DAY, 1)):
            services.day_open(schedule=sched, day=DAY)
        self.assertEqual(ReportStatus.objects.filter(date=DAY).count(), 5)
        self.assertEqual(self.statuses()[self.school_b.name], Status.EXEMPT)

    def test_a_schedule_made_during_the_day_opens_it_at_once(self):
        sched = self.schedule(when=at(DAY, 8))
        self.assertEqual(self.tick(at(DAY, 8)), 1)
        self.assertEqual(ReportStatus.objects.filter(date=DAY, schedule=sched).count(), 5)

    def test_the_chain_opens_the_next_working_day_across_the_spring_festival(self):
        friday = dt.date(2026, 2, 13)
        sched = self.schedule(frequency=Frequency.WORKDAYS, starts_on=friday, when=at(friday, 7))
        # The worker runs each morning and evening for a fortnight.
        for i in range(14):
            day = friday + dt.timedelta(days=i)
            self.tick(at(day, 0, 5))
            self.tick(at(day, 23))
        opened = sorted(set(ReportStatus.objects.values_list("date", flat=True)))
        self.assertEqual(
            opened,
            [
                friday,
                dt.date(2026, 2, 14),  # Saturday, a make-up workday
                # 15 Sunday; 16–20 Spring Festival; 21–22 weekend; 23 a day off
                dt.date(2026, 2, 24),
                dt.date(2026, 2, 25),
                dt.date(2026, 2, 26),
            ],
        )
        self.assertIn(f"reports:{sched.pk}:2026-02-27:open", self.timer_keys(sched))

    def test_every_two_weeks_and_the_end_of_the_window(self):
        sched = self.schedule(
            frequency=Frequency.WEEKS, every_weeks=2, ends_on=DAY + dt.timedelta(days=20)
        )
        for i in range(30):
            self.tick(at(DAY + dt.timedelta(days=i), 23))
        self.assertEqual(
            sorted(set(ReportStatus.objects.values_list("date", flat=True))),
            [DAY, DAY + dt.timedelta(days=14)],
        )
        self.assertFalse(
            Timer.objects.filter(key__startswith=f"reports:{sched.pk}:", fired_at__isnull=True)
        )


class DeadlineTests(DeadlineCase):
    def setUp(self) -> None:
        super().setUp()
        self.sched = self.schedule(when=at(DAY - dt.timedelta(days=1), 18))
        self.tick(at(DAY, 0))

    def test_reminders_then_missing_at_each_levels_deadline(self):
        self.submit(at(DAY, 9), self.school_a, by=self.safety_a)
        self.tick(at(DAY, 12, 59))
        self.assertEqual(self.count("report_reminder"), 0)

        # 13:00, half an hour before the schools' deadline: B has not reported.
        self.tick(at(DAY, 13))
        self.assertEqual(self.told("report_reminder"), {self.school_b.name: {"duty.b", "head.b"}})
        self.assertEqual(self.count("report_missing"), 0)

        # 13:30: B is missing; its head and the group office are told. The groups'
        # and bureau's reminders go out (their deadline is 14:00).
        self.tick(at(DAY, 13, 30))
        self.assertEqual(
            self.statuses(),
            {
                self.bureau.name: Status.NOT_DUE,
                self.group_1.name: Status.NOT_DUE,
                self.group_2.name: Status.NOT_DUE,
                self.school_a.name: Status.ON_TIME,
                self.school_b.name: Status.MISSING,
            },
        )
        self.assertEqual(self.told("report_missing"), {self.group_2.name: {"head.b", "office.g2"}})
        missing = self.told_bodies("report_missing")
        self.assertIn(self.school_b.name, missing[0])
        self.assertNotIn(self.school_a.name, missing[0])
        self.assertEqual(
            self.told("report_reminder"),
            {
                self.school_b.name: {"duty.b", "head.b"},
                self.group_1.name: {"head.g1"},
                self.group_2.name: {"office.g2"},
                self.bureau.name: {"officer", "head.bureau"},
            },
        )

        # group 1 reports; at 14:00 group 2 and the bureau are missing.
        self.submit(at(DAY, 13, 50), self.group_1, by=self.head_g1)
        self.tick(at(DAY, 14))
        self.assertEqual(self.statuses()[self.group_1.name], Status.ON_TIME)
        self.assertEqual(self.statuses()[self.group_2.name], Status.MISSING)
        self.assertEqual(self.statuses()[self.bureau.name], Status.MISSING)
        self.assertEqual(
            self.told("report_missing"),
            {
                self.group_2.name: {"head.b", "office.g2"},
                # group 2 has no head: the bureau office hears of it; the bureau, at
                # the top, tells its own head.
                self.bureau.name: {"officer", "head.bureau"},
            },
        )
        self.assertEqual(self.count("report_missing"), 3)
        # Nothing fires twice.
        self.assertEqual(self.tick(at(DAY, 18)), 0)
        self.assertEqual(self.count("report_missing"), 3)

    def told_bodies(self, event: str) -> list[str]:
        from safecampus.notify.models import Notification

        return list(Notification.objects.filter(event=event).values_list("body", flat=True))

    def test_a_late_report_after_missing_is_late_by_the_receipt_time(self):
        self.tick(at(DAY, 13, 30))
        self.assertEqual(self.statuses()[self.school_a.name], Status.MISSING)
        report = self.submit(at(DAY, 14, 10), self.school_a, by=self.principal_a)
        self.assertEqual(report.late_seconds, 40 * 60)
        self.assertEqual(self.statuses()[self.school_a.name], Status.LATE)

    def test_a_worker_down_over_several_deadlines_fires_each_once_on_start(self):
        # Down from 00:01 Tuesday to 15:00 Thursday.
        thursday = DAY + dt.timedelta(days=2)
        self.tick(at(thursday, 15))
        for day in (DAY, WEDNESDAY, thursday):
            with self.subTest(day=day):
                self.assertEqual(set(self.statuses(day).values()), {Status.MISSING})
                for kind in ("open", "remind:school", "remind:group", "due:school", "due:bureau"):
                    timer = Timer.objects.get(key=f"reports:{self.sched.pk}:{day}:{kind}")
                    self.assertIsNotNone(timer.fired_at)
                    self.assertEqual(timer.attempts, 1)
        # Three days × (one per school's parent, one for the groups, one for the bureau).
        self.assertEqual(self.count("report_missing"), 3 * 4)
        self.assertEqual(self.tick(at(thursday, 16)), 0)
        self.assertEqual(self.count("report_missing"), 3 * 4)
        # Friday is opened by the chain.
        self.assertEqual(self.tick(at(thursday + dt.timedelta(days=1), 0)), 1)
        self.assertEqual(
            ReportStatus.objects.filter(date=thursday + dt.timedelta(days=1)).count(), 5
        )

    def test_a_reminder_is_not_sent_after_its_deadline(self):
        # The worker was down across the schools' reminder and deadline.
        self.tick(at(DAY, 13, 45))
        reminded = set(self.told("report_reminder"))
        self.assertNotIn(self.school_a.name, reminded)
        self.assertNotIn(self.school_b.name, reminded)
        self.assertEqual(reminded, {self.group_1.name, self.group_2.name, self.bureau.name})


class ExemptionTests(DeadlineCase):
    def setUp(self) -> None:
        super().setUp()
        self.sched = self.schedule(when=at(DAY - dt.timedelta(days=1), 18))
        self.tick(at(DAY, 0))

    def test_an_exempt_unit_is_neither_reminded_nor_missing(self):
        services.exemption_set(by=self.officer, unit=self.school_b, day=DAY, reason="台风停课")
        self.tick(at(DAY, 14))
        self.assertEqual(self.statuses()[self.school_b.name], Status.EXEMPT)
        self.assertNotIn(self.school_b.name, self.told("report_reminder"))
        missing = " ".join(self.told_bodies())
        self.assertIn(self.school_a.name, missing)
        self.assertNotIn(self.school_b.name, missing)

    def told_bodies(self) -> list[str]:
        from safecampus.notify.models import Notification

        return list(
            Notification.objects.filter(event="report_missing").values_list("body", flat=True)
        )

    def test_an_exemption_after_the_deadline_turns_missing_into_exempt(self):
        self.tick(at(DAY, 13, 30))
        self.assertEqual(self.statuses()[self.school_b.name], Status.MISSING)
        with travel(at(DAY, 15)):
            services.exemption_set(by=self.officer, unit=self.school_b, day=DAY, reason="停电")
        self.assertEqual(self.statuses()[self.school_b.name], Status.EXEMPT)
        # An exemption does not undo a report.
        self.submit(at(DAY, 13, 40), self.school_a)
        with travel(at(DAY, 15)):
            services.exemption_set(by=self.officer, unit=self.school_a, day=DAY, reason="误设")
        self.assertEqual(self.statuses()[self.school_a.name], Status.LATE)

    def test_an_exemption_needs_a_reason_and_a_manager(self):
        with self.assertRaises(ValidationError):
            services.exemption_set(by=self.officer, unit=self.school_b, day=DAY, reason=" ")
        with self.assertRaises(PermissionDenied):
            services.exemption_set(by=self.principal_a, unit=self.school_b, day=DAY, reason="x")
        with self.assertRaises(PermissionDenied):
            services.exemption_set(by=self.duty_b, unit=self.school_b, day=DAY, reason="x")
        self.assertEqual(self.statuses()[self.school_b.name], Status.NOT_DUE)


class ChaseTests(DeadlineCase):
    def setUp(self) -> None:
        super().setUp()
        self.sched = self.schedule(when=at(DAY - dt.timedelta(days=1), 18))
        self.tick(at(DAY, 0))

    def test_chase_reminds_only_units_under_it_that_have_not_reported(self):
        self.submit(at(DAY, 9), self.school_a)
        services.exemption_set(by=self.officer, unit=self.group_1, day=DAY, reason="合并办公")
        self.tick(at(DAY, 13, 30))  # school B missing
        with travel(at(DAY, 13, 35)):
            count = services.report_chase(by=self.officer, unit=self.bureau, day=DAY)
        self.assertEqual(count, 2)
        self.assertEqual(
            self.told("report_chase"),
            {self.group_2.name: {"office.g2"}, self.school_b.name: {"duty.b", "head.b"}},
        )

    def test_chase_stays_in_its_subtree_and_needs_a_manager(self):
        with travel(at(DAY, 10)):
            self.assertEqual(
                services.report_chase(by=self.office_g2, unit=self.group_2, day=DAY), 1
            )
            with self.assertRaises(PermissionDenied):
                services.report_chase(by=self.principal_a, unit=self.bureau, day=DAY)
            with self.assertRaises(PermissionDenied):
                services.report_chase(by=self.office_g2, unit=self.group_1, day=DAY)
        self.assertEqual(set(self.told("report_chase")), {self.school_b.name})
