"""Duty's services: planning a month by the official calendar, the overlap rule, single
shifts, swaps, the log and handover, who is on duty now, and the gaps."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import translation

from safecampus.audit.models import AuditEntry
from safecampus.duty import selectors, services
from safecampus.duty.models import (
    CoverageGap,
    DayKind,
    GapKind,
    MemberRole,
    Shift,
    ShiftMember,
    SwapStatus,
)
from safecampus.notify.models import Notification
from safecampus.orgs.models import Membership, Person, Role
from safecampus.reports.models import CalendarDay, CalendarSource, CalendarYear
from safecampus.test import BaseTestCase, make_person

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTH = dt.date(2030, 3, 1)
NOW = dt.datetime(2030, 2, 20, 10, 0, tzinfo=SHANGHAI)
HOLIDAY = dt.date(2030, 3, 4)  # a Monday made a holiday
MAKE_UP = dt.date(2030, 3, 9)  # a Saturday made a working day
SUNDAY = dt.date(2030, 3, 10)
TUESDAY = dt.date(2030, 3, 5)


def at(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def travel(when: dt.datetime) -> time_machine.travel:
    return time_machine.travel(when, tick=False)


class DutyCase(BaseTestCase):
    """School A with a day shift 08:00–18:00 and a night shift 18:00–08:00, and its people:
    the principal (head), a safety officer, two duty teachers."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.safety_a = make_person("safety.a", "赵安全", "13900000011")
        cls.duty_a1 = make_person("duty.a1", "孙值班", "13900000012")
        cls.duty_a2 = make_person("duty.a2", "钱值班", "13900000013")
        for person, role in [
            (cls.safety_a, Role.SAFETY_OFFICER),
            (cls.duty_a1, Role.DUTY_STAFF),
            (cls.duty_a2, Role.DUTY_STAFF),
        ]:
            Membership.objects.create(person=person, unit=cls.school_a, role=role)
        cls.school_a.head = cls.principal_a
        cls.school_a.save()
        CalendarYear.objects.create(
            year=2030, source=CalendarSource.MANUAL, complete=True, loaded_at=NOW
        )
        CalendarDay.objects.create(date=HOLIDAY, is_workday=False, name="测试节")
        CalendarDay.objects.create(date=MAKE_UP, is_workday=True, name="测试节调休上班")

    def setUp(self) -> None:
        super().setUp()
        self.traveller = travel(NOW)
        self.traveller.start()
        self.addCleanup(self.traveller.stop)
        # Passwords set "now" at set-up would have expired by 2030 (a page would redirect).
        Person.objects.update(password_changed_at=NOW)

    def templates(self) -> tuple:
        day = services.shift_template_create(
            by=self.principal_a, unit=self.school_a, name="白班", start=dt.time(8), end=dt.time(18)
        )
        night = services.shift_template_create(
            by=self.principal_a, unit=self.school_a, name="夜班", start=dt.time(18), end=dt.time(8)
        )
        return day, night

    def pattern(self) -> tuple:
        """Every day: 白班 led by the safety officer with duty 1; 夜班 led by the principal
        with duty 2. Holidays: 白班 by duty 2 alone (no leader), 夜班 as on weekdays."""
        day, night = self.templates()
        for kind in [k for k in DayKind.values if k != DayKind.HOLIDAY]:
            services.pattern_slot_set(
                by=self.principal_a,
                template=day,
                day_kind=kind,
                leader=self.safety_a,
                staff=[self.duty_a1],
            )
            services.pattern_slot_set(
                by=self.principal_a,
                template=night,
                day_kind=kind,
                leader=self.principal_a,
                staff=[self.duty_a2],
            )
        services.pattern_slot_set(
            by=self.principal_a,
            template=day,
            day_kind=DayKind.HOLIDAY,
            leader=None,
            staff=[self.duty_a2],
        )
        return day, night

    def plan(self) -> services.PlanResult:
        self.pattern()
        return services.roster_plan(unit=self.school_a, month=MONTH, by=self.principal_a)

    def shift_on(self, day: dt.date, name: str) -> Shift:
        return Shift.objects.get(unit=self.school_a, day=day, name=name)


class PlanTest(DutyCase):
    def test_a_month_by_the_official_calendar(self) -> None:
        result = self.plan()
        self.assertEqual(result.created, 62)  # 31 days × 2 shifts
        self.assertEqual(result.holidays, [HOLIDAY])
        holiday = self.shift_on(HOLIDAY, "白班")
        self.assertEqual(
            [(m.person_id, m.role) for m in holiday.members.all()],
            [(self.duty_a2.pk, MemberRole.STAFF)],
        )
        # The night shift has no holiday slot: its weekday's pattern.
        night = self.shift_on(HOLIDAY, "夜班")
        self.assertEqual(night.starts_at, at(HOLIDAY, 18))
        self.assertEqual(night.ends_at, at(HOLIDAY + dt.timedelta(days=1), 8))
        self.assertEqual(
            set(night.members.values_list("person_id", "role")),
            {(self.principal_a.pk, MemberRole.LEADER), (self.duty_a2.pk, MemberRole.STAFF)},
        )
        made_up = self.shift_on(MAKE_UP, "白班")
        self.assertEqual(made_up.members.get(role=MemberRole.LEADER).person, self.safety_a)
        # Every member row carries its shift's instants (the overlap check reads them).
        self.assertFalse(
            ShiftMember.objects.exclude(starts_at=holiday.starts_at).filter(shift=holiday).exists()
        )
        entry = AuditEntry.objects.filter(action="duty_plan").get()
        self.assertEqual(entry.changes, {"shifts": [0, 62]})

    def test_make_up_workday_takes_mondays_pattern_and_sunday_its_own(self) -> None:
        day, _night = self.pattern()
        services.pattern_slot_set(
            by=self.principal_a,
            template=day,
            day_kind=DayKind.MON,
            leader=self.principal_a,
            staff=[self.duty_a1],
        )
        services.roster_plan(unit=self.school_a, month=MONTH, by=self.principal_a)
        self.assertEqual(
            self.shift_on(MAKE_UP, "白班").members.get(role=MemberRole.LEADER).person,
            self.principal_a,
        )
        self.assertEqual(
            self.shift_on(SUNDAY, "白班").members.get(role=MemberRole.LEADER).person,
            self.safety_a,
        )

    def test_planning_again_replaces_only_future_shifts_without_a_log(self) -> None:
        self.plan()
        first = self.shift_on(dt.date(2030, 3, 1), "白班")
        with travel(at(dt.date(2030, 3, 1), 9)):
            services.log_entry_add(by=self.duty_a1, shift=first, text="巡查校门")
        logged_future = self.shift_on(dt.date(2030, 3, 20), "白班")
        with travel(at(dt.date(2030, 3, 1), 12)):
            result = services.roster_plan(unit=self.school_a, month=MONTH, by=self.principal_a)
            # 3-1 白班 started (and has a log): kept; 3-20 白班 has no log: replaced.
            self.assertTrue(Shift.objects.filter(pk=first.pk).exists())
            self.assertFalse(Shift.objects.filter(pk=logged_future.pk).exists())
            self.assertEqual(result.created, 61)
            self.assertEqual(Shift.objects.filter(unit=self.school_a).count(), 62)

    def test_a_pattern_slot_takes_only_the_units_people(self) -> None:
        day, _night = self.templates()
        with self.assertRaises(ValidationError) as caught, translation.override("en"):
            services.pattern_slot_set(
                by=self.principal_a,
                template=day,
                day_kind=DayKind.MON,
                leader=None,
                staff=[self.duty_b],
            )
        self.assertIn("李值班 is not one of 城关小学's people", str(caught.exception))

    def test_who_may_plan(self) -> None:
        self.templates()
        for person in (self.duty_a1, self.duty_b, self.sysadmin):
            with self.assertRaises(PermissionDenied):
                services.roster_plan(unit=self.school_a, month=MONTH, by=person)
        # The bureau's office plans a school's duty too (a manager above it).
        services.roster_plan(unit=self.school_a, month=MONTH, by=self.officer)


class OverlapTest(DutyCase):
    def test_overlapping_shifts_refused_naming_both(self) -> None:
        self.plan()
        with self.assertRaises(ValidationError) as caught, translation.override("en"):
            services.shift_create(
                by=self.principal_a,
                unit=self.school_a,
                name="加班",
                starts_at=at(TUESDAY, 17),
                ends_at=at(TUESDAY, 20),
                leader=None,
                staff=[self.duty_a1],
            )
        message = caught.exception.messages[0]
        self.assertIn("孙值班 cannot hold two overlapping shifts", message)
        self.assertIn("白班 03-05 08:00–18:00", message)
        self.assertIn("加班 03-05 17:00–20:00", message)
        self.assertEqual(Shift.objects.filter(name="加班").count(), 0)

    def test_a_pattern_that_overlaps_itself_is_refused(self) -> None:
        day, _night = self.templates()
        long = services.shift_template_create(
            by=self.principal_a, unit=self.school_a, name="长班", start=dt.time(12), end=dt.time(20)
        )
        for template in (day, long):
            services.pattern_slot_set(
                by=self.principal_a,
                template=template,
                day_kind=DayKind.TUE,
                leader=None,
                staff=[self.duty_a1],
            )
        with self.assertRaises(ValidationError) as caught, translation.override("en"):
            services.roster_plan(unit=self.school_a, month=MONTH, by=self.principal_a)
        self.assertIn(
            "白班 03-05 08:00–18:00 and 长班 03-05 12:00–20:00", caught.exception.messages[0]
        )
        self.assertFalse(Shift.objects.exists())

    def test_back_to_back_shifts_do_not_overlap(self) -> None:
        self.plan()
        services.shift_create(
            by=self.principal_a,
            unit=self.school_a,
            name="早班",
            starts_at=at(TUESDAY, 6),
            ends_at=at(TUESDAY, 8),
            leader=None,
            staff=[self.duty_a1],
        )

    def test_ends_before_it_starts_refused(self) -> None:
        with self.assertRaises(ValidationError) as caught, translation.override("en"):
            services.shift_create(
                by=self.principal_a,
                unit=self.school_a,
                name="错班",
                starts_at=at(TUESDAY, 18),
                ends_at=at(TUESDAY, 8),
                leader=self.duty_a1,
            )
        self.assertIn("ends before it starts", caught.exception.message_dict["ends_at"][0])

    def test_a_person_from_another_unit_refused(self) -> None:
        with self.assertRaises(ValidationError) as caught, translation.override("en"):
            services.shift_create(
                by=self.officer,
                unit=self.school_a,
                name="白班",
                starts_at=at(TUESDAY, 8),
                ends_at=at(TUESDAY, 18),
                leader=self.duty_b,
            )
        self.assertIn("not one of 城关小学's people", caught.exception.message_dict["leader"][0])

    def test_overlap_across_units(self) -> None:
        Membership.objects.create(person=self.duty_a1, unit=self.school_b, role=Role.DUTY_STAFF)
        self.plan()
        with self.assertRaises(ValidationError) as caught, translation.override("en"):
            services.shift_create(
                by=self.officer,
                unit=self.school_b,
                name="白班",
                starts_at=at(TUESDAY, 9),
                ends_at=at(TUESDAY, 12),
                leader=self.duty_a1,
            )
        self.assertIn("城关小学 白班 03-05 08:00–18:00", caught.exception.messages[0])


class SwapTest(DutyCase):
    def test_request_accept_approve_changes_the_roster(self) -> None:
        self.plan()
        shift = self.shift_on(TUESDAY, "白班")
        swap = services.swap_request(by=self.duty_a1, shift=shift, to_person=self.duty_a2)
        with self.assertRaises(ValidationError) as caught, translation.override("en"):
            services.swap_accept(by=self.safety_a, swap=swap)
        self.assertIn("Only 钱值班, who was asked, can accept", caught.exception.messages[0])
        with self.assertRaises(ValidationError):  # not accepted yet: nothing to approve
            services.swap_decide(by=self.principal_a, swap=swap, approve=True)
        services.swap_accept(by=self.duty_a2, swap=swap)
        with self.assertRaises(PermissionDenied):
            services.swap_decide(by=self.duty_a2, swap=swap, approve=True)
        swap = services.swap_decide(by=self.principal_a, swap=swap, approve=True)
        self.assertEqual(swap.status, SwapStatus.APPROVED)
        self.assertEqual(
            set(shift.members.values_list("person_id", flat=True)),
            {self.safety_a.pk, self.duty_a2.pk},
        )
        entry = AuditEntry.objects.get(action="duty_swap")
        self.assertEqual(entry.changes["person"], ["孙值班", "钱值班"])
        told = Notification.objects.filter(event="duty_swap_decided").get()
        self.assertEqual(
            set(told.deliveries.values_list("person_id", flat=True)),
            {self.duty_a1.pk, self.duty_a2.pk},
        )

    def test_approval_refused_when_it_would_overlap(self) -> None:
        self.plan()
        # 钱值班 holds the night before (18:00–08:00): taking an early shift would overlap.
        early = services.shift_create(
            by=self.principal_a,
            unit=self.school_a,
            name="早班",
            starts_at=at(TUESDAY, 6),
            ends_at=at(TUESDAY, 8),
            leader=None,
            staff=[self.duty_a1],
        )
        swap = services.swap_request(by=self.duty_a1, shift=early, to_person=self.duty_a2)
        services.swap_accept(by=self.duty_a2, swap=swap)
        with self.assertRaises(ValidationError) as caught, translation.override("en"):
            services.swap_decide(by=self.principal_a, swap=swap, approve=True)
        self.assertIn("钱值班 cannot hold two overlapping shifts", caught.exception.messages[0])
        self.assertEqual(list(early.members.values_list("person_id", flat=True)), [self.duty_a1.pk])

    def test_a_request_is_cancelled_by_its_asker_declined_by_the_asked_not_by_others(
        self,
    ) -> None:
        self.plan()
        shift = self.shift_on(TUESDAY, "白班")
        swap = services.swap_request(by=self.duty_a1, shift=shift, to_person=self.duty_a2)
        with self.assertRaises(PermissionDenied):  # neither of the two, nor a manager
            services.swap_decide(by=self.duty_b, swap=swap, approve=False)
        self.assertEqual(
            services.swap_decide(by=self.duty_a1, swap=swap, approve=False).status,
            SwapStatus.CANCELLED,
        )
        swap = services.swap_request(by=self.duty_a1, shift=shift, to_person=self.duty_a2)
        self.assertEqual(
            services.swap_decide(by=self.duty_a2, swap=swap, approve=False).status,
            SwapStatus.REFUSED,
        )

    def test_only_a_person_on_the_shift_asks(self) -> None:
        self.plan()
        with self.assertRaises(ValidationError):
            services.swap_request(
                by=self.duty_a2, shift=self.shift_on(TUESDAY, "白班"), to_person=self.safety_a
            )


class LogAndHandoverTest(DutyCase):
    def test_log_handover_take_over(self) -> None:
        self.plan()
        day = self.shift_on(TUESDAY, "白班")
        night = self.shift_on(TUESDAY, "夜班")
        with travel(at(TUESDAY, 7)), self.assertRaises(ValidationError):
            services.log_entry_add(by=self.duty_a1, shift=day, text="too early")
        with travel(at(TUESDAY, 10)):
            entry = services.log_entry_add(by=self.duty_a1, shift=day, text="巡查教学楼")
            self.assertEqual(entry.at, at(TUESDAY, 10))
            with self.assertRaises(ValidationError):  # not on the shift
                services.log_entry_add(by=self.duty_a2, shift=day, text="x")
            with self.assertRaises(ValidationError):  # not yet its last hour
                services.shift_hand_over(by=self.duty_a1, shift=day, note="n")
        with travel(at(TUESDAY, 17, 45)):
            services.shift_hand_over(by=self.duty_a1, shift=day, note="东门锁坏了，已报修")
            with self.assertRaises(ValidationError):  # not of the next shift
                services.shift_take_over(by=self.safety_a, shift=day)
            services.shift_take_over(by=self.duty_a2, shift=day)
            with self.assertRaises(ValidationError):  # once
                services.shift_take_over(by=self.principal_a, shift=day)
        day.refresh_from_db()
        self.assertEqual(day.taken_over_by, self.duty_a2)
        self.assertEqual(day.handover_note, "东门锁坏了，已报修")
        self.assertEqual(
            set(
                Notification.objects.get(event="duty_handover").deliveries.values_list(
                    "person_id", flat=True
                )
            ),
            {self.principal_a.pk, self.duty_a2.pk},
        )
        with travel(at(TUESDAY + dt.timedelta(days=1), 12)):
            flagged = selectors.not_taken_over(self.school_a, since=at(TUESDAY))
        self.assertIn(night, flagged)
        self.assertNotIn(day, flagged)


class OnDutyTest(DutyCase):
    def test_on_duty_now_and_the_gap_naming_the_fallback(self) -> None:
        self.plan()
        # A gap: the day shift of Tuesday removed.
        services.shift_delete(by=self.principal_a, shift=self.shift_on(TUESDAY, "白班"))
        now = selectors.on_duty_now(self.school_a, at(TUESDAY, 2))
        self.assertFalse(now.is_gap)
        self.assertEqual([p.pk for p in now.leaders], [self.principal_a.pk])
        self.assertEqual([p.pk for p in now.staff], [self.duty_a2.pk])
        self.assertEqual(
            (now.staff[0].name, now.staff[0].mobile, now.staff[0].mobile_masked),
            ("钱值班", "13900000013", "139****0013"),
        )
        gap = selectors.on_duty_now(self.school_a, at(TUESDAY, 9))
        self.assertTrue(gap.is_gap)
        self.assertEqual(gap.shifts, [])
        self.assertEqual([p.pk for p in gap.fallback], [self.principal_a.pk, self.safety_a.pk])
        # No head named: the safety officer is first.
        self.school_a.head = None
        self.school_a.save()
        self.assertEqual(
            [p.pk for p in selectors.on_duty_now(self.school_a, at(TUESDAY, 9)).fallback],
            [self.safety_a.pk],
        )
        # An officer who left is not named.
        self.safety_a.is_active = False
        self.safety_a.save()
        self.assertEqual(selectors.on_duty_now(self.school_a, at(TUESDAY, 9)).fallback, [])

    def test_a_subtree_in_a_few_queries(self) -> None:
        self.plan()
        # the units with their duty phone, head and covering shifts' people; the officers
        with self.assertNumQueries(2):
            answers = selectors.on_duty_under(self.bureau, at(TUESDAY, 9))
        by_unit = {a.unit.pk: a for a in answers}
        self.assertEqual([p.pk for p in by_unit[self.school_a.pk].leaders], [self.safety_a.pk])
        self.assertTrue(by_unit[self.school_b.pk].is_gap)
        self.assertIn(self.group_1.pk, by_unit)

    def test_gaps_computed_and_scanned(self) -> None:
        self.plan()
        gaps = services.gaps_of(
            [
                (at(TUESDAY, 8), at(TUESDAY, 18), True, True),
                (at(TUESDAY, 18), at(TUESDAY, 22), True, False),
            ],
            at(TUESDAY, 0),
            at(TUESDAY + dt.timedelta(days=1), 0),
        )
        self.assertEqual(
            [(g.kind, g.starts_at.hour, g.ends_at.hour) for g in gaps],
            [(GapKind.NOBODY, 0, 8), (GapKind.NO_LEADER, 18, 22), (GapKind.NOBODY, 22, 0)],
        )
        with travel(at(TUESDAY, 0)):
            services.shift_delete(
                by=self.principal_a, shift=self.shift_on(dt.date(2030, 3, 7), "白班")
            )
            services.gaps_rescan()
            worst = selectors.gaps_under(self.bureau)
            # School A: 10 hours without anyone (Thursday's day shift); the others: all week.
            self.assertEqual(worst[-1].unit, self.school_a)
            self.assertEqual(worst[-1].seconds, 10 * 3600)
            self.assertEqual(
                CoverageGap.objects.get(unit=self.school_a).starts_at, at(dt.date(2030, 3, 7), 8)
            )
            services.duty_gap_chase(by=self.officer, unit=self.school_a)
        chase = Notification.objects.get(event="duty_gap_chase")
        self.assertEqual(chase.deliveries.filter(transport="inbox").get().person, self.principal_a)
        with self.assertRaises(PermissionDenied):
            services.duty_gap_chase(by=self.duty_b, unit=self.school_a)

    def test_the_scan_agrees_with_an_hour_by_hour_count_on_random_rosters(self) -> None:
        """The scan reads only the units whose leaders leave a hole (a window in the
        database), then sweeps them: on random rosters (overlapping shifts, shifts with
        nobody, staff only, a leader only, units with no shift at all) every hour of the
        next 7 days is classed as the scan's rows say, and as counting who is on duty at
        that hour says."""
        import random

        rng = random.Random(1604)
        units = [self.bureau, self.group_1, self.group_2, self.school_a, self.school_b]
        people = [self.principal_a, self.safety_a, self.duty_a1, self.duty_a2]
        start = at(TUESDAY, 0)
        hours = int((services.scan_until(start) - start).total_seconds()) // 3600  # 7 d 1 h
        for round_ in range(8):
            Shift.objects.all().delete()
            for unit in units[: 2 + round_ % 4]:  # the last unit(s): no shift at all
                for _ in range(rng.randrange(0, 14)):
                    a = start + dt.timedelta(hours=rng.randrange(-30, hours + 6))
                    b = a + dt.timedelta(hours=rng.randrange(1, 25))
                    shift = Shift.objects.create(
                        unit=unit, name="班", day=a.date(), starts_at=a, ends_at=b
                    )
                    for person in rng.sample(people, rng.randrange(0, 3)):
                        ShiftMember.objects.create(
                            shift=shift,
                            unit=unit,
                            person=person,
                            role=rng.choice([MemberRole.LEADER, MemberRole.STAFF]),
                            starts_at=a,
                            ends_at=b,
                        )
            with travel(start):
                services.gaps_rescan()
            for unit in units:
                expected = []
                for h in range(hours):
                    t = start + dt.timedelta(hours=h)
                    on = ShiftMember.objects.filter(
                        shift__unit=unit, shift__starts_at__lte=t, shift__ends_at__gt=t
                    )
                    expected.append(
                        "ok"
                        if on.filter(role=MemberRole.LEADER).exists()
                        else (GapKind.NO_LEADER if on.exists() else GapKind.NOBODY)
                    )
                scanned = ["ok"] * hours
                for gap in CoverageGap.objects.filter(unit=unit):
                    first = int((gap.starts_at - start).total_seconds()) // 3600
                    last = int((gap.ends_at - start).total_seconds()) // 3600
                    for h in range(first, last):
                        self.assertEqual(scanned[h], "ok", (round_, unit.name, h))
                        scanned[h] = gap.kind
                self.assertEqual(scanned, expected, (round_, unit.name))

    def test_the_hourly_advance_gives_what_a_full_rescan_gives(self) -> None:
        """The worker's hourly scan reads only the hour entering the window: after any
        number of hours (and a roster change between them, rescanned at once, and a
        worker down for a day) its rows are those a full rescan writes at that moment."""
        import random

        rng = random.Random(1716)
        units = [self.bureau, self.group_1, self.group_2, self.school_a, self.school_b]
        people = [self.principal_a, self.safety_a, self.duty_a1, self.duty_a2]
        start = at(TUESDAY, 0, 20)

        def add_shifts(unit, n: int) -> None:
            for _ in range(n):
                a = start + dt.timedelta(hours=rng.randrange(-20, 10 * 24))
                b = a + dt.timedelta(hours=rng.randrange(1, 25))
                shift = Shift.objects.create(
                    unit=unit, name="班", day=a.date(), starts_at=a, ends_at=b
                )
                for person in rng.sample(people, rng.randrange(0, 3)):
                    ShiftMember.objects.create(
                        shift=shift,
                        unit=unit,
                        person=person,
                        role=rng.choice([MemberRole.LEADER, MemberRole.STAFF]),
                        starts_at=a,
                        ends_at=b,
                    )

        def rows() -> list[tuple]:
            return sorted(
                CoverageGap.objects.values_list(
                    "unit_id", "kind", "starts_at", "ends_at", "seconds"
                )
            )

        for unit in units[:4]:
            add_shifts(unit, rng.randrange(10, 40))
        with travel(start):
            services.gaps_rescan()
        since = services.scan_until(start)
        for hours in [1, 2, 5, 29, 30, 31, 55]:
            now = start + dt.timedelta(hours=hours, minutes=rng.randrange(0, 59))
            with travel(now):
                if hours == 30:  # a roster changed: its unit rescanned at once
                    add_shifts(self.school_a, 5)
                    services.gaps_rescan(units=[self.school_a])
                if hours == 29:
                    continue  # the worker was down: 31 takes over from 5
                services.gaps_advance(since=since)
                advanced = rows()
                self.assertEqual(advanced, self.rescanned(rows), hours)
                self.assertTrue(advanced, "no gaps at all: the test shows nothing")
                since = services.scan_until(now)

    def rescanned(self, rows) -> list[tuple]:
        """What a full rescan writes now, rolled back: the advance goes on from its own."""

        class Undo(Exception):
            pass

        try:
            with transaction.atomic():
                services.gaps_rescan()
                expected = rows()
                raise Undo
        except Undo:
            return expected


class GapScanTimerTest(DutyCase):
    def test_the_worker_rescans_first_then_advances_each_hour_and_rescans_at_night(
        self,
    ) -> None:
        from unittest import mock

        from safecampus.duty import gapscan
        from safecampus.worker.loop import Worker
        from safecampus.worker.models import Timer

        self.plan()
        worker = Worker(threads=1)
        self.addCleanup(worker.pool.shutdown)
        calls: list[str] = []
        rescan, advance = services.gaps_rescan, services.gaps_advance

        def fire(when: dt.datetime) -> None:
            with (
                travel(when),
                mock.patch.object(
                    services,
                    "gaps_rescan",
                    side_effect=lambda **k: calls.append("rescan") or rescan(**k),
                ),
                mock.patch.object(
                    services,
                    "gaps_advance",
                    side_effect=lambda **k: calls.append("advance") or advance(**k),
                ),
            ):
                worker.fire_timers()

        first = at(TUESDAY, 10, 5)
        with travel(first):
            gapscan.gap_scan_ensure()
        fire(first)
        fire(at(TUESDAY, 11, 1))
        fire(at(TUESDAY, 12, 2))
        fire(at(dt.date(2030, 3, 6), 3, 0))  # 03:00: the nightly full rescan
        self.assertEqual(calls, ["rescan", "advance", "advance", "rescan"])
        pending = Timer.objects.get(kind=gapscan.GAP_SCAN, fired_at__isnull=True)
        self.assertEqual(pending.due_at, at(dt.date(2030, 3, 6), 4))
        self.assertEqual(
            dt.datetime.fromisoformat(pending.payload["since"]),
            services.scan_until(at(dt.date(2030, 3, 6), 3)),
        )
        self.assertTrue(CoverageGap.objects.exists())
