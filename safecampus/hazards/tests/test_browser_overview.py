"""On a phone (390 px): the bureau's officer opens the hazard overview and sees the charts
drawn above the tables (ECharts from static/vendor, no inline script or style: no CSP
violation), nothing scrolling sideways; the principal imports a ledger, is shown the bad row,
then imports the corrected file."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.hazards import services
from safecampus.hazards.models import Hazard

from .test_import import ledger, row

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


class HazardOverviewBrowserTest(BrowserTestCase):
    port = 8251

    def fits(self) -> None:
        self.assertLessEqual(
            self.page.evaluate("document.documentElement.scrollWidth"), PHONE["width"]
        )

    def test_charts_above_the_tables_and_an_import_on_a_phone(self) -> None:
        for category in ("fire", "fire", "food", "surroundings"):
            services.hazard_report(
                by=self.officer,
                unit=self.school_a,
                category=category,
                description="一个相当长的隐患描述，用来看看手机上是否换行" * 2,
            )
        services.hazard_report(
            by=self.officer, unit=self.school_b, category="buildings", description="围墙开裂"
        )
        page = self.page
        self.log_in("officer")
        page.goto(self.url("/hazards/overview/"))
        for key in ("by_category", "by_unit"):
            chart = page.locator(f"[data-chart={key}]")
            expect(chart).to_be_visible()
            expect(chart.locator("canvas")).to_have_count(1)
            box = chart.bounding_box()
            self.assertLessEqual(box["x"] + box["width"], PHONE["width"])
        expect(page.get_by_test_id("by-category").locator("table")).to_be_visible()
        expect(page.get_by_test_id("card-open")).to_contain_text("5")
        self.screenshot("safecampus-hazard-overview.png")
        self.fits()
        self.assert_no_console_errors()

        self.context.clear_cookies()
        self.log_in("principal.a")
        page.goto(self.url("/hazards/"))
        page.get_by_test_id("ledger-import").click()
        late = (timezone.localdate() + dt.timedelta(days=9)).isoformat()
        bad = ledger(row(), row(隐患类别="不知道"), row(整改时限=late))
        page.get_by_test_id("workbook").set_input_files(
            files=[{"name": "台账.xlsx", "mimeType": "application/octet-stream", "buffer": bad}]
        )
        page.get_by_test_id("import").click()
        errors = page.get_by_test_id("import-error")
        expect(errors).to_have_count(1)
        expect(errors.first).to_contain_text("隐患类别")
        self.fits()
        self.assertEqual(Hazard.objects.filter(unit=self.school_a).count(), 4)
        good = ledger(row(), row(隐患类别="消防"), row(整改时限=late))
        page.get_by_test_id("workbook").set_input_files(
            files=[{"name": "台账.xlsx", "mimeType": "application/octet-stream", "buffer": good}]
        )
        page.get_by_test_id("import").click()
        expect(page.get_by_role("status")).to_contain_text("3")
        self.assertEqual(Hazard.objects.filter(unit=self.school_a).count(), 7)
        self.fits()
        self.assert_no_console_errors()
