"""Roll-up counters (ReportRollup), kept up to date one shift at a time, always equal a
recount of the status rows: for every unit down to ROLLUP_DEPTH, whatever the order
of submissions, exemptions and deadlines, and whether the worker was up or not."""

import datetime as dt
from collections import Counter

from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from safecampus.orgs.models import Unit, UnitKind
from safecampus.reports import selectors, services
from safecampus.reports.models import (
    ROLLUP_DEPTH,
    Level,
    ReportRollup,
    ReportStatus,
    Status,
)
from safecampus.test import make_unit
from safecampus.worker.loop import Worker

from .test_report_services import DAY, ReportCase, at, travel

STATUSES = [s.value for s in Status]
YESTERDAY = DAY - dt.timedelta(days=1)
DEADLINE_MINUTE = {  # minutes after midnight
    Level.DEPARTMENT: 11 * 60,
    Level.SCHOOL: 13 * 60 + 30,
    Level.GROUP: 14 * 60,
    Level.BUREAU: 14 * 60,
}


class RollupCase(ReportCase):
    """The persona district, deeper: departments below school A (depth 4 and 5, under
    the roll-up depth) and a kindergarten under group 2."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.dept_1 = make_unit(cls.school_a, "SA1", "城关小学教务处", UnitKind.DEPARTMENT)
        cls.dept_1.refresh_from_db()
        cls.dept_2 = make_unit(cls.dept_1, "SA11", "城关小学一年级组", UnitKind.DEPARTMENT)
        cls.group_2.refresh_from_db()
        cls.kg_b = make_unit(cls.group_2, "KB", "西山幼儿园", UnitKind.KINDERGARTEN)

    def setUp(self) -> None:
        super().setUp()
        self.units = list(Unit.objects.order_by("path"))
        self.assertEqual(len(self.units), 8)
        self.worker = Worker(threads=1)
        self.addCleanup(self.worker.pool.shutdown)

    def tick(self, when: dt.datetime) -> None:
        with travel(when):
            while self.worker.fire_timers():
                pass

    def counters(self, day: dt.date) -> dict[str, dict[str, int]]:
        """The stored counters by unit name, all levels added up, leaving out all-zero
        rows."""
        out: dict[str, dict[str, int]] = {}
        for (name, _level), counts in self.counters_by_level(day).items():
            total = out.setdefault(name, dict.fromkeys(STATUSES, 0))
            for s, n in counts.items():
                total[s] += n
        return out

    def counters_by_level(self, day: dt.date) -> dict[tuple[str, str], dict[str, int]]:
        """The stored counters by (unit name, level), leaving out all-zero rows."""
        out = {}
        for row in ReportRollup.objects.filter(date=day).select_related("unit"):
            counts = {s: getattr(row, s) for s in STATUSES}
            if any(counts.values()):
                out[row.unit.name, row.level] = counts
        return out

    def recount(self, day: dt.date) -> dict[tuple[str, str], dict[str, int]]:
        """The same counters, recounted here from the status rows, per level."""
        rows = list(ReportStatus.objects.filter(date=day).values_list("path", "level", "status"))
        out = {}
        for unit in self.units:
            if unit.depth > ROLLUP_DEPTH:
                continue
            for level in Level.values:
                counts = Counter(
                    status
                    for path, lv, status in rows
                    if path.startswith(unit.path) and lv == level
                )
                if counts:
                    out[unit.name, level] = {s: counts.get(s, 0) for s in STATUSES}
        return out

    def assert_rollups_consistent(self, *days: dt.date) -> None:
        for day in days:
            incremental = self.counters_by_level(day)
            self.assertEqual(incremental, self.recount(day), f"incremental counters of {day}")
            services.rollup_recompute(day=day, root=self.bureau)
            self.assertEqual(
                self.counters_by_level(day), incremental, f"recomputed counters of {day}"
            )


class RollupTests(RollupCase):
    def test_a_mixed_day_keeps_the_counters_equal_to_a_recount(self):
        sched = self.schedule(when=at(YESTERDAY, 18))
        self.tick(at(DAY, 0))
        self.assertEqual(
            self.counters(DAY)[self.bureau.name], {**dict.fromkeys(STATUSES, 0), "not_due": 8}
        )
        self.assertNotIn(self.dept_2.name, self.counters(DAY))  # below ROLLUP_DEPTH
        self.submit(at(DAY, 9), self.dept_2)
        self.submit(at(DAY, 10), self.school_a)
        services.exemption_set(by=self.officer, unit=self.kg_b, day=DAY, reason="停水")
        self.tick(at(DAY, 11, 30))  # the department deadline: dept 1 missing
        self.submit(at(DAY, 12), self.dept_1)  # late
        self.submit(
            at(DAY, 12, 30), self.school_a, zero=False, items=[{"what": "x"}], reason="补充"
        )
        self.tick(at(DAY, 13, 30))  # school B missing
        with travel(at(DAY, 13, 40)):
            services.exemption_set(by=self.officer, unit=self.school_b, day=DAY, reason="停电")
        self.submit(at(DAY, 13, 50), self.group_1)
        self.tick(at(DAY, 14))  # group 2 and the bureau missing
        self.submit(at(DAY, 16), self.bureau)  # late
        self.assertEqual(
            self.counters(DAY),
            {
                self.bureau.name: {
                    "not_due": 0,
                    "on_time": 3,
                    "late": 2,
                    "missing": 1,
                    "exempt": 2,
                },
                self.group_1.name: {
                    "not_due": 0,
                    "on_time": 3,
                    "late": 1,
                    "missing": 0,
                    "exempt": 0,
                },
                self.group_2.name: {
                    "not_due": 0,
                    "on_time": 0,
                    "late": 0,
                    "missing": 1,
                    "exempt": 2,
                },
                self.school_a.name: {
                    "not_due": 0,
                    "on_time": 2,
                    "late": 1,
                    "missing": 0,
                    "exempt": 0,
                },
                self.school_b.name: {
                    "not_due": 0,
                    "on_time": 0,
                    "late": 0,
                    "missing": 0,
                    "exempt": 1,
                },
                self.kg_b.name: {"not_due": 0, "on_time": 0, "late": 0, "missing": 0, "exempt": 1},
            },
        )
        self.assert_rollups_consistent(DAY)
        self.assertEqual(sched.pk, ReportStatus.objects.filter(date=DAY).first().schedule_id)

    def test_each_level_is_counted_apart(self):
        """Issue 13 §15: the bureau's schools are three, not eight units."""
        self.schedule(when=at(YESTERDAY, 18))
        self.tick(at(DAY, 0))
        self.submit(at(DAY, 9), self.school_a)
        self.submit(at(DAY, 9), self.group_1)
        self.tick(at(DAY, 13, 30))  # school B and the kindergarten missing
        by_level = self.counters_by_level(DAY)
        zero = dict.fromkeys(STATUSES, 0)
        self.assertEqual(
            {level: c for (name, level), c in by_level.items() if name == self.bureau.name},
            {
                Level.SCHOOL: {**zero, "on_time": 1, "missing": 2},
                Level.GROUP: {**zero, "on_time": 1, "not_due": 1},
                Level.BUREAU: {**zero, "not_due": 1},
                Level.DEPARTMENT: {**zero, "missing": 2},
            },
        )
        top, children = selectors.day_counts(self.officer, self.bureau, DAY)
        self.assertEqual(
            (top.level, top.counts, top.total), ("school", {"on_time": 1, "missing": 2}, 3)
        )
        self.assertEqual(
            {c.unit.name: c.counts for c in children},
            {self.group_1.name: {"on_time": 1}, self.group_2.name: {"missing": 2}},
        )
        # Below the counters' depth (a school and its departments), the same from the rows.
        top, children = selectors.day_counts(self.officer, self.school_a, DAY)
        self.assertEqual(
            (top.own, top.level, top.counts), ("on_time", "department", {"missing": 2})
        )
        self.assertEqual(
            {c.unit.name: c.counts for c in children}, {self.dept_1.name: {"missing": 2}}
        )
        self.assert_rollups_consistent(DAY)

    def test_a_report_for_a_day_never_opened_is_counted(self):
        # The schedule started last week but was entered today: past days have no rows.
        self.schedule(starts_on=DAY - dt.timedelta(days=7), when=at(DAY, 9))
        self.submit(at(DAY, 9, 30), self.school_a, day=YESTERDAY)
        self.submit(at(DAY, 9, 30), self.dept_2, day=YESTERDAY)
        self.assertEqual(
            self.counters(YESTERDAY)[self.bureau.name],
            {**dict.fromkeys(STATUSES, 0), "late": 2},
        )
        self.assert_rollups_consistent(YESTERDAY)

    def test_a_report_before_a_late_opening_and_an_exemption_set_before_it(self):
        self.schedule(when=at(YESTERDAY, 18))
        services.exemption_set(by=self.officer, unit=self.school_b, day=DAY, reason="台风")
        # The worker is down until 10:00; A reports at 09:00, B (exempt) cannot.
        self.submit(at(DAY, 9), self.school_a)
        with self.assertRaises(ValidationError):
            self.submit(at(DAY, 9), self.school_b)
        self.assert_rollups_consistent(DAY)
        self.tick(at(DAY, 10))
        statuses = dict(ReportStatus.objects.filter(date=DAY).values_list("unit_id", "status"))
        self.assertEqual(statuses[self.school_a.pk], Status.ON_TIME)
        self.assertEqual(statuses[self.school_b.pk], Status.EXEMPT)
        self.assertEqual(statuses[self.dept_1.pk], Status.NOT_DUE)
        self.assert_rollups_consistent(DAY)


# One step of a day: (minute after midnight, what, which unit).
ACTIONS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=24 * 60 - 1),
        st.sampled_from(["submit", "correct", "exempt", "yesterday"]),
        st.integers(min_value=0, max_value=7),
    ),
    max_size=14,
)


class RollupPropertyTests(RollupCase, HypothesisTestCase):
    """Each example runs in its own transaction, rolled back after it."""

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        # No shrinking: a failure is reported in seconds, not minutes (the example
        # is short anyway). Add Phase.shrink when hunting a failure down.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(actions=ACTIONS, worker_up=st.integers(min_value=0, max_value=24 * 60))
    def test_any_order_of_events_keeps_counters_equal_to_a_recount(self, actions, worker_up):
        self.run_day(sorted(actions), worker_up)

    def run_day(self, actions: list[tuple[int, str, int]], worker_up: int) -> None:
        """Play the actions in time order, the worker ticking before each once it is up
        (from `worker_up`), and check the statuses against a model of the rules."""
        # Entered at midnight, started before: yesterday is never opened.
        self.schedule(starts_on=YESTERDAY - dt.timedelta(days=1), when=at(DAY, 0))
        reported: dict[int, int] = {}  # unit pk → minute of its first report
        exempt: set[int] = set()
        reported_yesterday: set[int] = set()
        content: dict[int, bool] = {}  # unit pk → its latest report is a zero report
        for minute, what, index in actions:
            unit = Unit.objects.get(pk=self.units[index].pk)
            now = at(DAY) + dt.timedelta(minutes=minute)
            if minute >= worker_up:
                self.tick(now)
            if what == "exempt":
                with travel(now):
                    services.exemption_set(by=self.officer, unit=unit, day=DAY, reason="停课")
                if unit.pk not in reported:
                    exempt.add(unit.pk)
            elif what == "yesterday":
                self.submit(now, unit, day=YESTERDAY)
                reported_yesterday.add(unit.pk)
            else:
                kwargs = {"zero": True}
                if what == "correct":
                    kwargs = {"zero": False, "items": [{"what": "漏报"}], "reason": "更正"}
                # Refused: an exempt day; a different report again without a reason.
                refused = unit.pk in exempt or (
                    what == "submit" and unit.pk in reported and not content[unit.pk]
                )
                if refused:
                    with self.assertRaises(ValidationError):
                        self.submit(now, unit, **kwargs)
                else:
                    self.submit(now, unit, **kwargs)
                    reported.setdefault(unit.pk, minute)
                    content[unit.pk] = what == "submit"  # the latest version is a zero one
        self.tick(at(DAY, 23, 59))

        expected = {}
        for unit in self.units:
            if unit.pk in exempt:
                expected[unit.name] = Status.EXEMPT
            elif unit.pk in reported:
                due = DEADLINE_MINUTE[services.LEVEL_OF_KIND[unit.kind]]
                expected[unit.name] = Status.ON_TIME if reported[unit.pk] <= due else Status.LATE
            else:
                expected[unit.name] = Status.MISSING
        statuses = dict(ReportStatus.objects.filter(date=DAY).values_list("unit__name", "status"))
        self.assertEqual(statuses, expected)
        self.assertEqual(
            ReportStatus.objects.filter(date=YESTERDAY).count(), len(reported_yesterday)
        )
        self.assert_rollups_consistent(DAY, YESTERDAY)
