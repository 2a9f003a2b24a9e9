"""On a phone (390 px): the principal of school A records a fire evacuation drill (first with
more evacuated than enrolled: refused, what was typed kept), sees it with the 2-minute target
met, and turns a problem it found into a hazard with one tap. Every page fits the screen."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.drills.models import Drill
from safecampus.hazards.models import Hazard

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


@pytest.mark.browser
class DrillBrowserTest(BrowserTestCase):
    port = 8261

    def fits(self) -> None:
        self.assertLessEqual(
            self.page.evaluate("document.documentElement.scrollWidth"), PHONE["width"]
        )

    def test_record_a_drill_see_it_and_make_a_problem_a_hazard(self) -> None:
        page = self.page
        self.log_in("principal.a")
        page.goto(self.url("/"))
        page.locator("header.shell summary").click()
        page.get_by_test_id("menu-drills").click()
        expect(page.get_by_test_id("drill-unit")).to_have_count(1)
        self.fits()
        page.get_by_test_id("record-drill").click()
        form = page.get_by_test_id("drill-form")
        yesterday = timezone.localdate() - dt.timedelta(days=1)
        form.locator("[name=kind]").select_option("fire")
        form.locator("[name=held_at]").fill(f"{yesterday:%Y-%m-%d}T09:30")
        form.locator("[name=enrolled]").fill("500")
        form.locator("[name=evacuated]").fill("520")
        form.locator("[name=staff]").fill("32")
        form.locator("[name=evacuation_time]").fill("1:45")
        form.locator("[name=floors]").fill("4")
        form.locator("[name=problems]").fill("三楼东侧疏散指示灯不亮\n二楼拐角拥挤")
        self.fits()
        page.get_by_test_id("save-drill").click()
        # Refused, saying both numbers; everything typed is still there.
        form = page.get_by_test_id("drill-form")
        expect(form.get_by_role("alert")).to_contain_text("520")
        expect(form.get_by_role("alert")).to_contain_text("500")
        expect(form.locator("[name=problems]")).to_have_value(
            "三楼东侧疏散指示灯不亮\n二楼拐角拥挤"
        )
        expect(form.locator("[name=evacuation_time]")).to_have_value("1:45")
        self.fits()
        form.locator("[name=evacuated]").fill("498")
        page.get_by_test_id("save-drill").click()
        expect(page.get_by_test_id("target-met")).to_be_visible()
        expect(page.get_by_test_id("evacuation-time")).to_contain_text("1:45")
        expect(page.get_by_test_id("problem")).to_have_count(2)
        self.fits()
        page.get_by_test_id("problem").first.get_by_test_id("to-hazard").click()
        link = page.get_by_test_id("problem").first.get_by_test_id("problem-hazard")
        expect(link).to_be_visible()
        expect(page.get_by_test_id("to-hazard")).to_have_count(1)  # the other problem
        self.fits()
        self.screenshot("safecampus-drill.png")
        drill = Drill.objects.get()
        self.assertEqual(
            (drill.evacuated, drill.enrolled, drill.evacuation_seconds), (498, 500, 105)
        )
        hazard = Hazard.objects.get()
        self.assertEqual(hazard.unit, self.school_a)
        self.assertIn(f"/drills/{drill.pk}/", hazard.description)
        link.click()
        expect(page.get_by_test_id("status")).to_be_visible()  # the hazard's page
        self.fits()
        self.assert_no_console_errors()
