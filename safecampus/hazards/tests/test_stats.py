"""The hazard overview: open and overdue by category and by child unit (rolled up), the
closure rate of the period's hazards, the median days to close (odd and even counts), the
oldest open hazards; only what the user sees; the page with its charts' data and the API."""

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from django.urls import reverse

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.hazards import services, stats
from safecampus.hazards.models import Hazard, Status
from safecampus.orgs import access

from .test_services import HazardCase

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=SH)
START, END = dt.date(2026, 1, 1), dt.date(2026, 6, 15)


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=SH)


class StatsCase(HazardCase):
    """A hand-made district's ledger, on 15 June 2026 (the numbers in each test are counted
    by hand from this list)."""

    def setUp(self) -> None:
        super().setUp()
        traveller = time_machine.travel(NOW, tick=False)
        traveller.start()
        self.addCleanup(traveller.stop)
        a, b, bureau = self.school_a, self.school_b, self.bureau
        self.h = {}
        # open: (unit, category, deadline, status)
        for key, unit, category, deadline, status in [
            ("a_fire_overdue", a, "fire", "2026-06-01", Status.OPEN),
            ("a_fire", a, "fire", "2026-07-01", Status.OPEN),
            ("a_food_overdue", a, "food", "2026-06-14", Status.FIXING),
            ("b_buildings", b, "buildings", "2026-06-15", Status.OPEN),  # due today: not late
            ("b_surroundings_overdue", b, "surroundings", "2026-05-01", Status.REFERRED),
            ("bureau_gate", bureau, "gate", "2026-09-01", Status.OPEN),
        ]:
            self.h[key] = self.make(unit, category, deadline=deadline, status=status)
        # closed through the workflow: reported, closed (days to close)
        for key, unit, reported, closed in [
            ("a_closed_10", a, at("2026-03-01"), at("2026-03-11")),
            ("a_closed_4", a, at("2026-04-01"), at("2026-04-05")),
            ("a_closed_1_5", a, at("2026-05-01", 0), at("2026-05-02", 12)),
            ("b_closed_20", b, at("2026-05-01"), at("2026-05-21")),
            # reported last year, closed this year: in the median, not in the closure rate
            ("b_closed_40", b, at("2025-12-01"), at("2026-01-10")),
        ]:
            self.h[key] = self.make(
                unit,
                "fire",
                status=Status.CLOSED,
                reported_at=reported,
                closed_at=closed,
                fixed_at=closed,
            )
        # closed before it was imported: in the closure rate, not in the median
        self.h["a_imported"] = self.make(
            a,
            "water",
            status=Status.CLOSED,
            reported_at=at("2026-02-01", 0),
            closed_at=at("2026-02-01", 0),
        )

    def make(self, unit: Any, category: str, deadline: str = "2026-12-31", **fields: Any) -> Hazard:
        hazard = services.hazard_report(
            by=self.officer, unit=unit, category=category, description=f"{unit.name} {category}"
        )
        fields["deadline"] = dt.date.fromisoformat(deadline)
        Hazard.objects.filter(pk=hazard.pk).update(**fields)
        return hazard


class OverviewNumbersTests(StatsCase):
    def test_the_whole_district_counted_by_hand(self) -> None:
        access.forget(self.officer)
        with self.assertNumQueries(8):  # the user's scope, then seven
            o = stats.overview(self.officer, under=self.bureau, start=START, end=END)
        self.assertEqual((o.open, o.overdue), (6, 3))
        self.assertEqual(
            [(c.key, c.open, c.overdue) for c in o.by_category],
            [
                ("buildings", 1, 0),
                ("fire", 2, 1),
                ("food", 1, 1),
                ("gate", 1, 0),
                ("surroundings", 1, 1),
            ],
        )
        self.assertEqual(
            [(c.unit, c.label, c.open, c.overdue) for c in o.by_unit],
            [
                (None, self.bureau.name, 1, 0),  # the bureau's own
                (self.group_1, self.group_1.name, 3, 2),  # school A rolled up
                (self.group_2, self.group_2.name, 2, 1),
            ],
        )
        # reported this year: the six open ones, four closed in the workflow, one imported
        self.assertEqual((o.reported, o.closed), (11, 5))
        self.assertAlmostEqual(o.closure_rate, 5 / 11)
        # closed this year through the workflow: 1.5, 4, 10, 20, 40 days
        self.assertEqual((o.median_days, o.median_of), (10.0, 5))
        self.assertEqual(
            [h.pk for h in o.oldest],
            [
                h.pk
                for h in sorted(
                    (
                        self.h[k]
                        for k in (
                            "a_fire_overdue",
                            "a_fire",
                            "a_food_overdue",
                            "b_buildings",
                            "b_surroundings_overdue",
                            "bureau_gate",
                        )
                    ),
                    key=lambda h: h.pk,
                )
            ],
        )

    def test_an_even_count_takes_the_middle_two_and_a_period_narrows_it(self) -> None:
        # without the one closed in January: 1.5, 4, 10, 20 → (4 + 10) / 2
        o = stats.overview(self.officer, under=self.bureau, start=dt.date(2026, 2, 1), end=END)
        self.assertEqual((o.median_days, o.median_of), (7.0, 4))
        self.assertEqual((o.reported, o.closed), (11, 5))
        march = stats.overview(
            self.officer, under=self.bureau, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)
        )
        self.assertEqual((march.reported, march.closed, march.median_days), (1, 1, 10.0))
        self.assertIsNone(
            stats.overview(
                self.officer, under=self.bureau, start=dt.date(2026, 8, 1), end=dt.date(2026, 8, 2)
            ).closure_rate
        )

    def test_a_group_shows_its_schools_and_a_school_its_own(self) -> None:
        o = stats.overview(self.officer, under=self.group_1, start=START, end=END)
        self.assertEqual([(c.unit, c.open, c.overdue) for c in o.by_unit], [(self.school_a, 3, 2)])
        school = stats.overview(self.officer, under=self.school_a, start=START, end=END)
        self.assertEqual([(c.unit, c.open) for c in school.by_unit], [(None, 3)])

    def test_another_schools_hazards_are_not_counted(self) -> None:
        # The principal of A asks for the bureau's subtree: only A's hazards are counted.
        o = stats.overview(self.principal_a, under=self.bureau, start=START, end=END)
        self.assertEqual((o.open, o.overdue), (3, 2))
        self.assertEqual((o.reported, o.closed), (7, 4))
        self.assertEqual((o.median_days, o.median_of), (4.0, 3))  # 1.5, 4, 10
        self.assertEqual({h.unit_id for h in o.oldest}, {self.school_a.pk})
        self.assertEqual(
            [(c.unit, c.open) for c in o.by_unit if c.open],
            [(self.group_1, 3)],
        )
        b = stats.overview(self.duty_b, under=self.school_b, start=START, end=END)
        self.assertEqual((b.open, b.overdue, b.median_days), (2, 1, 30.0))  # 20 and 40 days
        # An administrator runs no business: no hazards at all.
        none = stats.overview(self.sysadmin, under=self.bureau, start=START, end=END)
        self.assertEqual((none.open, none.reported, none.oldest), (0, 0, []))

    def test_period_defaults_to_this_year_and_orders_itself(self) -> None:
        self.assertEqual(stats.period(None, None), (START, END))
        self.assertEqual(
            stats.period(dt.date(2026, 5, 1), dt.date(2026, 4, 1)),
            (dt.date(2026, 4, 1), dt.date(2026, 5, 1)),
        )


class OverviewPageTests(StatsCase):
    def test_the_page_has_the_tables_and_the_charts_data(self) -> None:
        response = self.client_for(self.officer).get(reverse("hazards:overview"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["o"].under, self.bureau)
        self.assertContains(response, 'data-chart="by_category"')
        self.assertContains(response, 'data-testid="by-unit"')
        self.assertContains(response, "echarts-5.6.0.min.js")
        self.assertNotContains(response, "<script>")  # no inline script (CSP)
        charts = json.loads(
            response.content.decode()
            .split('<script id="hazard-charts" type="application/json">')[1]
            .split("</script>")[0]
        )
        self.assertEqual(
            charts["by_unit"]["labels"], [self.bureau.name, self.group_1.name, self.group_2.name]
        )
        self.assertEqual([s["data"] for s in charts["by_unit"]["series"]], [[1, 3, 2], [0, 2, 1]])
        self.assertContains(response, f'<span class="num">{5 * 100 // 11}%</span>', html=False)

    def test_drill_down_and_the_walls(self) -> None:
        officer = self.client_for(self.officer)
        group = officer.get(reverse("hazards:overview"), {"unit": self.group_1.pk})
        self.assertEqual(group.context["parent"], self.bureau)
        self.assertEqual(group.context["o"].open, 3)
        principal = self.client_for(self.principal_a)
        own = principal.get(reverse("hazards:overview"))
        self.assertEqual(own.context["o"].under, self.school_a)
        self.assertIsNone(own.context["parent"])  # the group above is not theirs to see
        self.assertNotContains(own, self.school_b.name)
        for pk in (self.school_b.pk, self.group_2.pk, "x", 2**70):
            response = principal.get(reverse("hazards:overview"), {"unit": pk})
            self.assertEqual(response.status_code, 404, pk)
        self.assertEqual(
            principal.get(reverse("hazards:overview"), {"from": "nonsense"}).status_code, 200
        )


class OverviewApiTests(StatsCase, ApiTestCase):
    def test_the_numbers_through_the_api(self) -> None:
        body = self.api(self.officer).get("/hazards/stats", start="2026-01-01").json()
        self.assertEqual((body["under_id"], body["open"], body["overdue"]), (self.bureau.pk, 6, 3))
        self.assertEqual((body["reported"], body["closed"]), (11, 5))
        self.assertAlmostEqual(body["closure_rate"], 5 / 11)
        self.assertEqual((body["median_days_to_close"], body["median_of"]), (10.0, 5))
        self.assertEqual(
            [(r["unit_id"], r["open"], r["overdue"]) for r in body["by_unit"]],
            [(None, 1, 0), (self.group_1.pk, 3, 2), (self.group_2.pk, 2, 1)],
        )
        self.assertEqual(len(body["oldest"]), 6)
        group = self.api(self.officer).get("/hazards/stats", under=self.group_2.pk).json()
        self.assertEqual((group["open"], group["by_unit"][0]["unit_id"]), (2, self.school_b.pk))

    def test_the_walls_and_bad_input(self) -> None:
        duty = self.api(self.duty_b)
        self.assertError(duty.get("/hazards/stats", under=self.school_a.pk), 404)
        self.assertEqual(duty.get("/hazards/stats").json()["open"], 2)
        self.assertError(duty.get("/hazards/stats", start="2026-13-01"), 422, "start")
        self.assertError(duty.get("/hazards/stats", under=0), 422, "under")
        self.assertEqual(self.api(None).get("/hazards/stats").status_code, 401)
