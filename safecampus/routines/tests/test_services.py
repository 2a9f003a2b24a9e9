"""Recording checks (counts, periods, school days, a food sample's weight and its 48 hours),
a bureau's settings, and the end of a period: what is short is missed, once, and the level
above is told; reminders before the end go to the units that are short."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from safecampus.notify.models import Notification
from safecampus.orgs.models import Membership, Person, Role
from safecampus.reports.models import ReportExemption
from safecampus.routines import selectors, services
from safecampus.routines.models import Code, Meal, RoutineRecord, RoutineTally
from safecampus.test import BaseTestCase

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 24)  # a Tuesday, a school day
SATURDAY = dt.date(2026, 11, 28)
LAST = dt.date(2026, 11, 30)  # a Monday, the month's last day


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


class RoutineCase(BaseTestCase):
    """School A has a canteen (食堂): it keeps all five kinds. School B has only a gate: no food
    samples and no meal with pupils."""

    def setUp(self) -> None:
        super().setUp()
        self.group_1.head = self.officer  # someone to tell at the level above A
        self.group_1.save()

    def record(self, code: str, when: dt.datetime, unit=None, by=None, **fields):  # noqa: ANN001, ANN003, ANN201
        defaults = {
            Code.FOOD_SAMPLE: {"meal": Meal.LUNCH, "dish": "番茄炒蛋", "grams": 150},
            Code.MEAL: {"meal": Meal.LUNCH, "who": "王校长"},
            Code.FIRE_PATROL: {
                "exits_clear": True,
                "extinguishers_ok": True,
                "hazards_found": False,
            },
            Code.FIRE_CHECK: {
                "exits_clear": True,
                "extinguishers_ok": True,
                "hazards_found": False,
            },
        }.get(code, {})
        with time_machine.travel(when, tick=False):
            return services.routine_record(
                by=by or self.principal_a,
                unit=unit or self.school_a,
                code=code,
                **(defaults | fields),
            )

    def refused(self, field: str, code: str, when: dt.datetime, **fields) -> None:  # noqa: ANN003
        with self.assertRaises(ValidationError) as caught:
            self.record(code, when, **fields)
        self.assertIn(field, caught.exception.message_dict)


class RecordTests(RoutineCase):
    def test_gate_patrols_complete_at_five(self) -> None:
        for minute in range(4):
            self.record(Code.GATE_PATROL, at(DAY, 8, minute))
        (cl,) = selectors.checklists([self.school_a], DAY)
        gate = next(i for i in cl.items if i.kind.code == Code.GATE_PATROL)
        self.assertEqual((gate.done, gate.required, gate.complete, gate.short), (4, 5, False, 1))
        self.record(Code.GATE_PATROL, at(DAY, 16), note="东侧围栏完好")
        with self.assertNumQueries(6):  # units, kinds, tallies, records, the calendar (2)
            a, b = selectors.checklists([self.school_a, self.school_b], DAY)
        self.assertEqual(len(a.items), 5)
        self.assertEqual(
            {i.kind.code for i in b.items}, {"fire_patrol", "gate_patrol", "fire_check"}
        )
        (cl,) = selectors.checklists([self.school_a], DAY)
        gate = next(i for i in cl.items if i.kind.code == Code.GATE_PATROL)
        self.assertTrue(gate.complete)
        self.assertEqual(len(gate.records), 5)
        self.assertEqual(
            RoutineTally.objects.get(unit=self.school_a, code=Code.GATE_PATROL).done, 5
        )

    def test_food_sample_weight_warning_and_kept_48_hours(self) -> None:
        light = self.record(Code.FOOD_SAMPLE, at(DAY, 11, 30), grams=100)
        self.assertTrue(light.underweight)
        self.assertEqual(light.kept_until, at(DAY, 11, 30) + dt.timedelta(hours=48))
        enough = self.record(Code.FOOD_SAMPLE, at(DAY, 11, 31), grams=125, dish="青菜")
        self.assertFalse(enough.underweight)
        self.assertEqual(enough.who, self.principal_a.name)  # by whom: empty is the recorder
        self.refused("dish", Code.FOOD_SAMPLE, at(DAY, 12), dish="  ")
        self.refused("grams", Code.FOOD_SAMPLE, at(DAY, 12), grams=None)
        self.refused("grams", Code.FOOD_SAMPLE, at(DAY, 12), grams=0)
        self.refused("meal", Code.FOOD_SAMPLE, at(DAY, 12), meal="supper")
        self.assertEqual(RoutineRecord.objects.filter(code=Code.FOOD_SAMPLE).count(), 2)

    def test_meal_fire_patrol_and_their_fields(self) -> None:
        self.refused("who", Code.MEAL, at(DAY, 12), who="")
        self.refused("exits_clear", Code.FIRE_PATROL, at(DAY, 9), exits_clear=None)
        found = self.record(
            Code.FIRE_PATROL, at(DAY, 9), extinguishers_ok=False, note="三楼灭火器缺失"
        )
        self.assertTrue(found.failed)
        self.assertFalse(self.record(Code.FIRE_PATROL, at(DAY, 10)).failed)
        self.refused("note", Code.GATE_PATROL, at(DAY, 9), note="x" * 501)
        self.refused("note", Code.GATE_PATROL, at(DAY, 9), note="a\x00b")

    def test_only_the_current_period(self) -> None:
        with time_machine.travel(at(DAY, 10), tick=False):
            for when, code in [
                (at(DAY - dt.timedelta(days=1), 23, 50), Code.GATE_PATROL),
                (at(DAY, 11), Code.GATE_PATROL),  # an hour ahead
            ]:
                with self.assertRaises(ValidationError) as caught:
                    services.routine_record(
                        by=self.principal_a, unit=self.school_a, code=code, at=when
                    )
                self.assertIn("at", caught.exception.message_dict)
            # The monthly check done earlier this month is recorded today.
            early = services.routine_record(
                by=self.principal_a,
                unit=self.school_a,
                code=Code.FIRE_CHECK,
                at=at(dt.date(2026, 11, 3), 10),
                exits_clear=True,
                extinguishers_ok=True,
                hazards_found=False,
            )
        self.assertEqual(
            RoutineTally.objects.get(pk__isnull=False, code=Code.FIRE_CHECK).period_start,
            dt.date(2026, 11, 1),
        )
        self.assertEqual(early.day, dt.date(2026, 11, 3))

    def test_who_may_record_where(self) -> None:
        guard = Person.objects.create(username="guard.a", name="门卫")
        Membership.objects.create(person=guard, unit=self.school_a, role=Role.GATE_GUARD)
        self.record(Code.GATE_PATROL, at(DAY, 8), by=guard)
        self.record(Code.GATE_PATROL, at(DAY, 8), by=self.officer)  # a manager above
        self.record(Code.GATE_PATROL, at(DAY, 8), by=self.duty_b, unit=self.school_b)
        for person in (self.duty_b, self.sysadmin):
            with self.assertRaises(PermissionDenied):
                self.record(Code.GATE_PATROL, at(DAY, 8), by=person)
        # B has no canteen: it keeps no food samples; a group keeps no routine checks.
        with self.assertRaises(ValidationError) as caught:
            self.record(Code.FOOD_SAMPLE, at(DAY, 12), by=self.duty_b, unit=self.school_b)
        self.assertIn("kind", caught.exception.message_dict)
        with self.assertRaises(ValidationError) as caught:
            self.record(Code.GATE_PATROL, at(DAY, 8), by=self.officer, unit=self.group_1)
        self.assertIn("unit_id", caught.exception.message_dict)

    def test_a_bureau_sets_its_own_counts(self) -> None:
        setting = {
            "code": Code.GATE_PATROL,
            "period": "school_day",
            "required": 3,
            "applies_to": "all",
            "remind_at": dt.time(16, 0),
        }
        with self.assertRaises(PermissionDenied):
            services.kind_set(by=self.principal_a, bureau=self.bureau, **setting)
        with self.assertRaises(ValidationError) as caught:
            services.kind_set(by=self.officer, bureau=self.bureau, **setting, min_grams=100)
        self.assertIn("min_grams", caught.exception.message_dict)
        services.kind_set(by=self.officer, bureau=self.bureau, **setting)
        for minute in range(3):
            self.record(Code.GATE_PATROL, at(DAY, 8, minute))
        (cl,) = selectors.checklists([self.school_a], DAY)
        gate = next(i for i in cl.items if i.kind.code == Code.GATE_PATROL)
        self.assertEqual((gate.done, gate.required, gate.complete), (3, 3, True))


class CloseTests(RoutineCase):
    def close(self, day: dt.date, hour: int = 0, minute: int = 5) -> int:
        with time_machine.travel(at(day + dt.timedelta(days=1), hour, minute), tick=False):
            return services.routines_close(day=day)

    def test_short_is_missed_once_and_the_level_above_is_told(self) -> None:
        for minute in range(2):
            self.record(Code.GATE_PATROL, at(DAY, 8, minute))
        self.record(Code.FIRE_PATROL, at(DAY, 9))
        self.record(Code.FOOD_SAMPLE, at(DAY, 11))
        self.record(Code.MEAL, at(DAY, 12))
        # A: the gate (2/5). B: the fire patrol and the gate (food and meal are not B's).
        self.assertEqual(self.close(DAY), 3)
        missed = set(
            RoutineTally.objects.filter(period_start=DAY, missed=True).values_list(
                "unit_id", "code"
            )
        )
        self.assertEqual(
            missed,
            {
                (self.school_a.pk, Code.GATE_PATROL),
                (self.school_b.pk, Code.FIRE_PATROL),
                (self.school_b.pk, Code.GATE_PATROL),
            },
        )
        told = Notification.objects.filter(event="routine_missed")
        self.assertEqual(told.count(), 2)  # group 1 (for A), group 2 (for B)
        about_a = told.get(unit=self.group_1)
        self.assertIn("2/5", about_a.body)
        self.assertIn(self.school_a.name, about_a.body)
        self.assertEqual(
            set(about_a.deliveries.values_list("person_id", flat=True)), {self.officer.pk}
        )
        # Once: a second run (a worker retrying) marks and tells nothing more.
        self.assertEqual(self.close(DAY, 3), 0)
        self.assertEqual(Notification.objects.filter(event="routine_missed").count(), 2)
        # A closed day takes no more records.
        with time_machine.travel(at(DAY, 23, 59), tick=False), self.assertRaises(ValidationError):
            services.routine_record(by=self.principal_a, unit=self.school_a, code=Code.GATE_PATROL)

    def test_weekend_exemption_and_the_month(self) -> None:
        self.assertEqual(self.close(SATURDAY), 0)  # not a school day; not the month's end
        ReportExemption.objects.create(unit=self.school_b, date=DAY, reason="停电停课")
        self.close(DAY)
        self.assertFalse(RoutineTally.objects.filter(unit=self.school_b, missed=True).exists())
        self.assertEqual(
            RoutineTally.objects.filter(unit=self.school_a, period_start=DAY, missed=True).count(),
            4,
        )
        self.record(Code.FIRE_CHECK, at(LAST, 10))
        for minute in range(5):
            self.record(Code.GATE_PATROL, at(LAST, 8, minute))
        self.close(LAST)
        monthly = RoutineTally.objects.filter(
            code=Code.FIRE_CHECK, period_start=dt.date(2026, 11, 1)
        )
        self.assertEqual(
            dict(monthly.values_list("unit_id", "missed")),
            {self.school_a.pk: False, self.school_b.pk: True},
        )

    def test_reminders_before_the_end_only_to_units_short(self) -> None:
        for minute in range(5):
            self.record(Code.GATE_PATROL, at(DAY, 8, minute))
        self.record(Code.FIRE_PATROL, at(DAY, 9))
        self.record(Code.FOOD_SAMPLE, at(DAY, 11))
        self.record(Code.MEAL, at(DAY, 12))
        self.school_b.head = self.duty_b
        self.school_b.save()
        with time_machine.travel(at(DAY, 17), tick=False):
            self.assertEqual(services.routines_remind(day=DAY, at=dt.time(17)), 1)
        (told,) = Notification.objects.filter(event="routine_reminder")
        self.assertEqual(told.unit, self.school_b)
        self.assertIn("0/5", told.body)
        with time_machine.travel(at(DAY + dt.timedelta(days=1), 1), tick=False):
            self.assertEqual(services.routines_remind(day=DAY, at=dt.time(17)), 0)


class StatusTests(RoutineCase):
    def test_per_child_done_short_missed_and_the_days_before(self) -> None:
        before = DAY - dt.timedelta(days=1)
        with time_machine.travel(at(before, 8), tick=False):
            services.routine_record(by=self.principal_a, unit=self.school_a, code=Code.GATE_PATROL)
        with time_machine.travel(at(DAY, 0, 5), tick=False):
            services.routines_close(day=before)
        for minute in range(5):
            self.record(Code.GATE_PATROL, at(DAY, 8, minute))
        with self.assertNumQueries(7):
            s = selectors.status(self.bureau, DAY)
        rows = {r.unit.pk: r for r in s.children}
        a_side, b_side = rows[self.group_1.pk], rows[self.group_2.pk]
        # A keeps 5 kinds (1 done), B keeps 3 (none): 8 unit-checks due.
        self.assertEqual((s.top.keeping, s.top.complete, s.top.short, s.top.missed), (8, 1, 7, 0))
        self.assertEqual((a_side.keeping, a_side.complete, a_side.short), (5, 1, 4))
        self.assertEqual((b_side.keeping, b_side.complete, b_side.short), (3, 0, 3))
        # Yesterday: A missed 4 (the gate 1/5 among them), B missed 2.
        self.assertEqual(dict(a_side.last_days)[before], 4)
        self.assertEqual(dict(b_side.last_days)[before], 2)
        self.assertEqual(dict(s.top.last_days)[before], 6)
        past = selectors.status(self.group_1, before)
        # The four daily ones missed; the month's fire check still short (November is open).
        self.assertEqual((past.top.missed, past.top.short), (4, 1))
        weekend = selectors.status(self.bureau, SATURDAY)
        self.assertEqual([k.code for k in weekend.kinds], [Code.FIRE_CHECK])
