"""In a real browser, on a phone: a school's safety officer submits today's zero report
with one tap and gets a receipt; the bureau's officer sees the school on time."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from safecampus.browser import BrowserTestCase, expect
from safecampus.orgs.models import Membership, Role
from safecampus.reports import services
from safecampus.reports.models import DailyReport

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]

LAST_MINUTE = dt.time(23, 59, 59)


@pytest.mark.browser
class ZeroReportBrowserTest(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        Membership.objects.create(
            person=self.teacher_a, unit=self.school_a, role=Role.SAFETY_OFFICER
        )
        today = timezone.localdate()
        # Deadlines at the end of the day: the report is on time whenever the test runs.
        schedule = services.schedule_create(
            by=self.officer,
            root=self.bureau,
            name="冬季安全日报",
            starts_on=today,
            **{f"deadline_{level}": LAST_MINUTE for level in services.LEVEL_ORDER},
        )
        services.day_open(schedule=schedule, day=today)

    def test_one_tap_zero_report_then_the_bureau_sees_it_on_time(self) -> None:
        page = self.page
        self.log_in("teacher.a")
        page.locator("header.shell details.dropdown summary").click()
        page.get_by_test_id("menu-reports").click()
        page.wait_for_url(self.url("/reports/"))
        unit = page.locator(f"#unit-{self.school_a.pk}")
        expect(unit).to_contain_text("城关小学")
        unit.get_by_test_id("zero-report").click()
        receipt = unit.get_by_test_id("receipt")
        expect(receipt).to_be_visible()
        report = DailyReport.objects.get(unit=self.school_a)
        expect(receipt).to_contain_text(str(report.audit_seq))
        expect(receipt).to_contain_text(report.audit_hash[:12])
        expect(unit.get_by_test_id("zero-report")).to_have_count(0)
        self.screenshot("safecampus-zero-report.png")
        self.assertEqual(report.submitted_by_id, self.teacher_a.pk)
        self.assertTrue(report.zero)

        self.context.clear_cookies()
        self.log_in("officer")
        page.goto(self.url("/reports/status/"))
        expect(page.get_by_test_id("status-unit")).to_have_text(self.bureau.name)
        expect(page.get_by_test_id("card-on_time")).to_contain_text("1")
        page.locator(f"tr[data-unit='{self.group_1.pk}'] a").click()
        expect(page.get_by_test_id("status-unit")).to_have_text(self.group_1.name)
        own = page.locator(f"tr[data-unit='{self.school_a.pk}']").get_by_test_id("child-own")
        expect(own).to_have_class("badge st-on_time")
        self.screenshot("safecampus-report-status.png")
        self.assert_no_console_errors()
