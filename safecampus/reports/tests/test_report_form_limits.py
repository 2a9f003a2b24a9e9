"""The report form refuses what a report may not hold (reports.models' limits, the same
the service and the API keep), beside the field, keeping what was typed."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.urls import reverse
from django.utils import translation

from safecampus.reports import services
from safecampus.reports.models import (
    CORRECTION_REASON_MAX,
    ITEM_TEXT_MAX,
    REPORT_MAX_ITEMS,
    DailyReport,
)
from safecampus.test import BaseTestCase

DAY = dt.date(2026, 11, 24)
MORNING = dt.datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class ReportFormLimitsTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.enterContext(time_machine.travel(MORNING, tick=False))
        self.enterContext(translation.override("en"))
        schedule = services.schedule_create(
            by=self.officer, root=self.bureau, name="冬季安全日报", starts_on=DAY
        )
        services.day_open(schedule=schedule, day=DAY)

    def post(self, items: list[tuple[str, str]], **extra: str):
        data = {
            "items-TOTAL_FORMS": str(max(3, len(items))),
            "items-INITIAL_FORMS": "0",
            "items-MIN_NUM_FORMS": "3",
            "items-MAX_NUM_FORMS": str(REPORT_MAX_ITEMS),
            **extra,
        }
        for i, (what, measures) in enumerate(items):
            data[f"items-{i}-what"] = what
            data[f"items-{i}-measures"] = measures
        return self.client_for(self.principal_a).post(
            reverse("reports:report", args=[self.school_a.pk]) + f"?date={DAY}", data
        )

    def test_a_text_too_long_is_refused_beside_its_field(self):
        long = "字" * (ITEM_TEXT_MAX + 1)
        response = self.post([("围墙破损", "已设警戒"), (long, "已报修")])
        self.assertEqual(response.status_code, 200)
        formset = response.context["formset"]
        self.assertIn("what", formset.forms[1].errors)
        self.assertNotIn("what", formset.forms[0].errors)
        self.assertContains(response, long)  # what was typed is still there
        self.assertContains(response, "围墙破损")
        self.assertFalse(DailyReport.objects.exists())
        response = self.post([("围墙破损", "措" * (ITEM_TEXT_MAX + 1))])
        self.assertIn("measures", response.context["formset"].forms[0].errors)
        self.assertFalse(DailyReport.objects.exists())

    def test_more_items_than_a_report_holds_are_refused_not_dropped(self):
        items = [(f"第{i}项", "") for i in range(REPORT_MAX_ITEMS + 1)]
        response = self.post(items)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["formset"].non_form_errors())
        self.assertFalse(DailyReport.objects.exists())
        stored = self.post(items[:REPORT_MAX_ITEMS])
        self.assertEqual(stored.status_code, 302)
        self.assertEqual(len(DailyReport.objects.get().items), REPORT_MAX_ITEMS)

    def test_a_correction_reason_too_long_is_refused_beside_its_field(self):
        self.post([("围墙破损", "已设警戒")])
        reason = "因" * (CORRECTION_REASON_MAX + 1)
        response = self.post([("围墙破损", "已修好")], reason=reason)
        self.assertEqual(response.status_code, 200)
        self.assertIn("reason", response.context["form"].errors)
        self.assertContains(response, reason)
        self.assertEqual(DailyReport.objects.count(), 1)
