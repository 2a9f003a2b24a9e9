"""The daily report pages: one tap, items and corrections, the bureau's view, the
calendar, the ranking, the register export, schedules and exemptions; and B cannot
see A anywhere."""

import datetime as dt
from io import BytesIO
from zoneinfo import ZoneInfo

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from safecampus.notify.models import Notification
from safecampus.orgs.models import UnitKind
from safecampus.reports import services
from safecampus.reports.models import DailyReport, ReportSchedule, ReportStatus, Status
from safecampus.test import BaseTestCase, make_unit

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 24)
MORNING = dt.datetime(2026, 11, 24, 9, 0, tzinfo=TZ)


class ReportPagesTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.clock = time_machine.travel(MORNING, tick=False)
        self.clock.start()
        self.addCleanup(self.clock.stop)
        self.schedule = services.schedule_create(
            by=self.officer, root=self.bureau, name="冬季安全日报", starts_on=DAY
        )
        services.day_open(schedule=self.schedule, day=DAY)

    def zero(self, person, unit):
        return self.client_for(person).post(
            reverse("reports:zero", args=[unit.pk]), {"date": DAY.isoformat()}
        )

    def status_of(self, unit) -> str:
        return ReportStatus.objects.get(unit=unit, date=DAY).status


class TodayTest(ReportPagesTestCase):
    def test_today_lists_my_units_with_due_time(self):
        response = self.client_for(self.principal_a).get(reverse("reports:today"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual([r.unit for r in response.context["rows"]], [self.school_a])
        self.assertContains(response, "13:30")
        self.assertContains(response, 'data-testid="zero-report"')

    def test_one_tap_zero_report_and_receipt(self):
        response = self.zero(self.principal_a, self.school_a)
        self.assertRedirects(
            response,
            reverse("reports:today") + f"#unit-{self.school_a.pk}",
            fetch_redirect_response=False,
        )
        report = DailyReport.objects.get(unit=self.school_a, date=DAY)
        self.assertTrue(report.zero)
        self.assertEqual(report.submitted_by, self.principal_a)
        self.assertEqual(self.status_of(self.school_a), Status.ON_TIME)
        page = self.client_for(self.principal_a).get(reverse("reports:today"))
        self.assertContains(page, 'data-testid="receipt"')
        self.assertContains(page, str(report.audit_seq))
        self.assertContains(page, report.audit_hash[:12])
        self.assertNotContains(page, 'data-testid="zero-report"')

    def test_double_tap_makes_one_report(self):
        self.zero(self.principal_a, self.school_a)
        response = self.zero(self.principal_a, self.school_a)
        self.assertEqual(response.status_code, 302)
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a, date=DAY).count(), 1)

    def test_parent_sees_which_children_reported(self):
        self.zero(self.principal_a, self.school_a)
        response = self.client_for(self.officer).get(reverse("reports:today"))
        (row,) = response.context["rows"]
        self.assertEqual(row.unit, self.bureau)
        own = {c["unit"].pk: c["own"] for c in row.children}
        self.assertEqual(own, {self.group_1.pk: Status.NOT_DUE, self.group_2.pk: Status.NOT_DUE})
        counts = {c["unit"].pk: c["counts"] for c in row.children}
        # Its schools (on time, …, not due): the group's own report is its "own".
        self.assertEqual(counts[self.group_1.pk], [1, 0, 0, 0, 0])

    def test_someone_without_a_reporting_role_is_refused(self):
        response = self.zero(self.teacher_a, self.school_a)
        self.assertEqual(response.status_code, 403)
        response = self.client_for(self.teacher_a).get(reverse("reports:today"))
        self.assertEqual(response.context["rows"], [])


class ItemsAndCorrectionsTest(ReportPagesTestCase):
    def post_items(self, person, unit, items, **extra):
        data = {
            "items-TOTAL_FORMS": str(max(3, len(items))),
            "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "3",
            "items-MAX_NUM_FORMS": "20",
            **extra,
        }
        for i, (what, measures) in enumerate(items):
            data[f"items-{i}-what"] = what
            data[f"items-{i}-measures"] = measures
        return self.client_for(person).post(
            reverse("reports:report", args=[unit.pk]) + f"?date={DAY}", data
        )

    def test_errors_keep_what_was_typed(self):
        response = self.post_items(
            self.principal_a, self.school_a, [("", "已加固围栏"), ("食堂排风扇异响", "已报修")]
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Say what happened.")
        self.assertContains(response, "已加固围栏")
        self.assertContains(response, "食堂排风扇异响")
        self.assertFalse(DailyReport.objects.filter(unit=self.school_a).exists())

    def test_nothing_given_shows_the_service_reason(self):
        response = self.post_items(self.principal_a, self.school_a, [])
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Give at least one item, or submit a zero report.")

    def test_items_then_a_correction_with_a_reason(self):
        response = self.post_items(
            self.principal_a, self.school_a, [("校门外积水", "已设警示牌"), ("灭火器过期", "")]
        )
        self.assertEqual(response.status_code, 302)
        first = DailyReport.objects.get(unit=self.school_a, date=DAY)
        self.assertEqual([i["what"] for i in first.items], ["校门外积水", "灭火器过期"])
        self.assertEqual(first.items[0]["measures"], "已设警示牌")

        # The correction page starts from the submitted items and needs a reason.
        page = self.client_for(self.principal_a).get(
            reverse("reports:report", args=[self.school_a.pk]) + f"?date={DAY}"
        )
        self.assertContains(page, "校门外积水")
        self.assertContains(page, 'name="reason"')
        response = self.post_items(self.principal_a, self.school_a, [("校门外积水", "已排水")])
        self.assertContains(response, "A correction needs a reason.")
        self.assertContains(response, "已排水")
        response = self.post_items(
            self.principal_a, self.school_a, [("校门外积水", "已排水")], reason="补充措施"
        )
        self.assertEqual(response.status_code, 302)
        versions = list(
            DailyReport.objects.filter(unit=self.school_a, date=DAY).order_by("version")
        )
        self.assertEqual([v.version for v in versions], [1, 2])
        self.assertEqual(versions[0].items[0]["measures"], "已设警示牌")  # untouched
        page = self.client_for(self.principal_a).get(reverse("reports:today"))
        self.assertContains(page, 'data-testid="version"', count=2)
        self.assertContains(page, "补充措施")


class StatusPageTest(ReportPagesTestCase):
    def test_counts_for_the_unit_and_each_child(self):
        self.zero(self.principal_a, self.school_a)
        services.exemption_set(by=self.officer, unit=self.school_b, day=DAY, reason="停电")
        response = self.client_for(self.officer).get(
            reverse("reports:status") + f"?unit={self.bureau.pk}&date={DAY}"
        )
        self.assertEqual(response.status_code, 200)
        # The cards count the two schools, not the groups nor the bureau (issue 13 §15).
        cards = {value: n for value, _label, n in response.context["cards"]}
        self.assertEqual(
            cards,
            {"on_time": 1, "late": 0, "missing": 0, "exempt": 1, "not_due": 0},
        )
        self.assertEqual(response.context["level_total"], 2)
        # The groups and the bureau office: each level its own row.
        levels = {r["level"]: (r["total"], r["counts"]) for r in response.context["levels"]}
        self.assertEqual(
            levels,
            {
                "school": (2, [1, 0, 0, 1, 0]),
                "group": (2, [0, 0, 0, 0, 2]),
                "bureau": (1, [0, 0, 0, 0, 1]),
            },
        )
        self.assertContains(response, 'data-testid="level-row"', count=3)
        rows = {r["unit"].pk: r["counts"] for r in response.context["children"]}
        self.assertEqual(rows[self.group_1.pk], [1, 0, 0, 0, 0])
        self.assertEqual(rows[self.group_2.pk], [0, 0, 0, 1, 0])
        # Each child drills down.
        self.assertContains(response, f"?unit={self.group_1.pk}&amp;date={DAY}")
        self.assertContains(response, 'data-testid="chase"')

    def test_late_and_missing_after_the_deadline(self):
        with time_machine.travel(dt.datetime(2026, 11, 24, 14, 30, tzinfo=TZ), tick=False):
            services.level_due(schedule=self.schedule, day=DAY, level="school")
            self.zero(self.principal_a, self.school_a)
            response = self.client_for(self.officer).get(
                reverse("reports:status") + f"?unit={self.group_2.pk}&date={DAY}"
            )
        (row,) = response.context["children"]
        self.assertEqual(row["unit"], self.school_b)
        self.assertEqual(row["own"], Status.MISSING)
        # Reported after the deadline: accepted, marked late by the server's receipt time.
        self.assertEqual(self.status_of(self.school_a), Status.LATE)
        self.assertEqual(DailyReport.objects.get(unit=self.school_a).late_seconds, 3600)

    def test_date_picker_defaults_to_today(self):
        response = self.client_for(self.officer).get(reverse("reports:status"))
        self.assertEqual(response.context["day"], DAY)
        self.assertEqual(response.context["unit"], self.bureau)

    def test_chase_only_for_managers(self):
        response = self.client_for(self.duty_b).get(
            reverse("reports:status") + f"?unit={self.school_b.pk}"
        )
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, 'data-testid="chase"')
        response = self.client_for(self.duty_b).post(
            reverse("reports:chase", args=[self.school_b.pk]), {"date": DAY.isoformat()}
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Notification.objects.filter(event="report_chase").exists())

        self.zero(self.principal_a, self.school_a)
        response = self.client_for(self.officer).post(
            reverse("reports:chase", args=[self.bureau.pk]), {"date": DAY.isoformat()}
        )
        self.assertEqual(response.status_code, 302)
        chased = set(
            Notification.objects.filter(event="report_chase").values_list("unit_id", flat=True)
        )
        self.assertEqual(chased, {self.group_1.pk, self.group_2.pk, self.school_b.pk})

    def _count(self, client, url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        self.assertEqual(response.status_code, 200, url)
        return len(ctx.captured_queries)

    def _grow(self, n: int, start: int) -> None:
        for i in range(start, start + n):
            self.bureau.refresh_from_db()
            make_unit(self.bureau, f"Q{i}", f"直属学校{i}", UnitKind.SCHOOL)
        services.day_open(schedule=self.schedule, day=DAY)

    def test_query_count_does_not_grow_with_children(self):
        client = self.client_for(self.officer)
        url = reverse("reports:status") + f"?unit={self.bureau.pk}&date={DAY}"
        self._grow(1, 0)
        few = self._count(client, url)
        self._grow(12, 1)
        many = self._count(client, url)
        self.assertEqual(len(self.client_for(self.officer).get(url).context["children"]), 15)
        self.assertEqual(few, many)
        self.assertLessEqual(many, 14)


class CalendarRankingTest(ReportPagesTestCase):
    def test_calendar_colours_days_by_status(self):
        self.zero(self.principal_a, self.school_a)
        response = self.client_for(self.principal_a).get(
            reverse("reports:calendar", args=[self.school_a.pk])
        )
        self.assertEqual(response.status_code, 200)
        cells = [c for week in response.context["weeks"] for c in week if c["in_range"]]
        self.assertEqual(len(cells), 90)
        self.assertEqual(cells[-1]["date"], DAY)
        self.assertEqual(cells[-1]["status"], Status.ON_TIME)
        self.assertEqual(cells[0]["status"], "none")
        self.assertContains(response, f'class="st-on_time" title="{DAY}')
        self.assertNotContains(response, "style=")

    def test_ranking_orders_by_completeness(self):
        self.zero(self.principal_a, self.school_a)
        with time_machine.travel(dt.datetime(2026, 11, 24, 14, 30, tzinfo=TZ), tick=False):
            services.level_due(schedule=self.schedule, day=DAY, level="school")
            response = self.client_for(self.officer).get(
                reverse("reports:ranking") + f"?unit={self.bureau.pk}&from={DAY}&to={DAY}"
            )
        self.assertEqual(response.status_code, 200)
        names = [r["unit__name"] for r in response.context["rows"]]
        # The schools first, ranked among themselves; then the groups' own reports.
        self.assertEqual(names[:2], [self.school_a.name, self.school_b.name])
        self.assertEqual(set(names[2:]), {self.group_1.name, self.group_2.name})
        self.assertContains(response, "100%")

    def test_ranking_refuses_a_backwards_period(self):
        response = self.client_for(self.officer).get(
            reverse("reports:ranking") + f"?unit={self.bureau.pk}&from={DAY}&to=2026-11-01"
        )
        self.assertContains(response, "The end is before the start.")


class RegisterExportTest(ReportPagesTestCase):
    def test_register_opens_again_with_title_header_and_rows(self):
        self.zero(self.principal_a, self.school_a)
        response = self.client_for(self.officer).get(
            reverse("reports:register") + f"?unit={self.bureau.pk}&from=2026-11-01&to=2026-11-30"
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response["Content-Disposition"])
        wb = load_workbook(BytesIO(response.content))
        ws = wb.active
        self.assertEqual(ws["A1"].value, "示例区教育局 日报台账 2026-11-01 至 2026-11-30")
        self.assertIn("A1:I1", [str(r) for r in ws.merged_cells.ranges])
        self.assertIn("填报单位：示例区教育局", ws["A2"].value)
        header = [c.value for c in ws[3]]
        self.assertEqual(
            header,
            ["序号", "日期", "单位", "状态", "上报时间", "上报人", "零报告/事项", "版本", "备注"],
        )
        rows = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
        self.assertEqual(len(rows), 5)  # one a unit for the one reporting day
        by_unit = {r[2]: r for r in rows}
        a = by_unit[self.school_a.name]
        self.assertEqual(a[1], "2026-11-24")
        self.assertEqual(a[3], "按时")
        self.assertEqual(a[4], "2026-11-24 09:00")
        self.assertEqual(a[5], self.principal_a.name)
        self.assertEqual(a[6], "零报告（平安无事）")
        self.assertEqual(a[7], 1)
        self.assertEqual(by_unit[self.school_b.name][3], "未到时限")
        self.assertEqual(ws.freeze_panes, "A4")

    def test_a_school_exports_only_its_own(self):
        response = self.client_for(self.principal_a).get(
            reverse("reports:register") + f"?unit={self.school_a.pk}&from={DAY}&to={DAY}"
        )
        ws = load_workbook(BytesIO(response.content)).active
        units = {row[2].value for row in ws.iter_rows(min_row=4)}
        self.assertEqual(units, {self.school_a.name})


class SchedulesAndExemptionsTest(ReportPagesTestCase):
    def schedule_data(self, **extra):
        return {
            "name": "期末安全日报",
            "root": self.bureau.pk,
            "frequency": "workdays",
            "every_weeks": "1",
            "starts_on": "2026-12-01",
            "ends_on": "2026-12-31",
            "deadline_department": "11:00",
            "deadline_school": "13:30",
            "deadline_group": "14:00",
            "deadline_bureau": "14:00",
            **extra,
        }

    def test_create_a_schedule(self):
        client = self.client_for(self.officer)
        page = client.get(reverse("reports:schedules"))
        self.assertContains(page, "冬季安全日报")
        self.assertContains(page, 'value="13:30"')  # the default deadlines
        # For a group: it takes over from the bureau's schedule for the group's units.
        response = client.post(
            reverse("reports:schedules"), self.schedule_data(root=self.group_1.pk)
        )
        self.assertEqual(response.status_code, 302)
        schedule = ReportSchedule.objects.get(name="期末安全日报")
        self.assertEqual(schedule.frequency, "workdays")
        self.assertEqual(schedule.ends_on, dt.date(2026, 12, 31))

    def test_errors_beside_fields_keep_what_was_typed(self):
        response = self.client_for(self.officer).post(
            reverse("reports:schedules"),
            self.schedule_data(deadline_group="12:00", name="考试周日报"),
        )
        self.assertEqual(response.status_code, 200)
        form = response.context["form"]
        self.assertIn("deadline_group", form.errors)
        self.assertContains(response, "考试周日报")
        self.assertContains(response, 'value="12:00"')
        self.assertFalse(ReportSchedule.objects.filter(name="考试周日报").exists())

    def test_only_managers_create_schedules(self):
        client = self.client_for(self.duty_b)
        page = client.get(reverse("reports:schedules"))
        self.assertIsNone(page.context["form"])
        response = client.post(reverse("reports:schedules"), self.schedule_data())
        self.assertEqual(response.status_code, 403)
        # A principal may not schedule the bureau's subtree.
        response = self.client_for(self.principal_a).post(
            reverse("reports:schedules"), self.schedule_data()
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("root", response.context["form"].errors)

    def test_exempt_a_closed_day(self):
        client = self.client_for(self.officer)
        response = client.post(
            reverse("reports:exemptions", args=[self.school_b.pk]),
            {"date": DAY.isoformat(), "reason": "暴雨停课"},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(self.status_of(self.school_b), Status.EXEMPT)
        page = client.get(reverse("reports:exemptions", args=[self.school_b.pk]))
        self.assertContains(page, "暴雨停课")
        response = client.post(
            reverse("reports:exemptions", args=[self.school_b.pk]), {"date": DAY.isoformat()}
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("reason", response.context["form"].errors)

    def test_exemptions_only_for_managers(self):
        response = self.client_for(self.duty_b).post(
            reverse("reports:exemptions", args=[self.school_b.pk]),
            {"date": DAY.isoformat(), "reason": "x"},
        )
        self.assertEqual(response.status_code, 403)


class SchoolBCannotSeeATest(ReportPagesTestCase):
    def test_every_page_answers_404_for_a(self):
        self.zero(self.principal_a, self.school_a)
        client = self.client_for(self.duty_b)
        a = self.school_a.pk
        gets = [
            reverse("reports:status") + f"?unit={a}",
            reverse("reports:calendar", args=[a]),
            reverse("reports:ranking") + f"?unit={a}",
            reverse("reports:register") + f"?unit={a}",
            reverse("reports:exemptions", args=[a]),
            reverse("reports:report", args=[a]),
        ]
        for url in gets:
            self.assertEqual(client.get(url).status_code, 404, url)
        posts = [
            reverse("reports:zero", args=[a]),
            reverse("reports:report", args=[a]),
            reverse("reports:chase", args=[a]),
            reverse("reports:exemptions", args=[a]),
        ]
        for url in posts:
            self.assertEqual(client.post(url, {"date": DAY.isoformat()}).status_code, 404, url)
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)

    def test_b_pages_show_nothing_of_a(self):
        self.zero(self.principal_a, self.school_a)
        client = self.client_for(self.duty_b)
        for url in [
            reverse("reports:today"),
            reverse("reports:status"),
            reverse("reports:ranking"),
            reverse("reports:schedules"),
            reverse("reports:calendar", args=[self.school_b.pk]),
        ]:
            response = client.get(url)
            self.assertEqual(response.status_code, 200, url)
            self.assertNotContains(response, self.school_a.name)
        ws = load_workbook(BytesIO(client.get(reverse("reports:register")).content)).active
        self.assertEqual({row[2].value for row in ws.iter_rows(min_row=4)}, {self.school_b.name})
