"""On a phone (390 px): the principal of school A records a gate patrol with one tap and a food
sample through its form (under weight: recorded, flagged, kept 48 hours). Every page fits."""

import os

import pytest

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.routines.models import Code, RoutineRecord

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


@pytest.mark.browser
class RoutineBrowserTest(BrowserTestCase):
    port = 8251

    def fits(self) -> None:
        self.assertLessEqual(
            self.page.evaluate("document.documentElement.scrollWidth"), PHONE["width"]
        )

    def test_gate_patrol_and_food_sample_on_a_phone(self) -> None:
        page = self.page
        self.log_in("principal.a")
        page.goto(self.url("/routines/"))
        gate = page.get_by_test_id("routine-gate_patrol")
        expect(gate.get_by_test_id("count")).to_have_text("0/5")
        self.fits()
        gate.get_by_test_id("patrol-now").click()
        expect(page.get_by_test_id("routine-gate_patrol").get_by_test_id("count")).to_have_text(
            "1/5"
        )
        page.get_by_test_id("routine-food_sample").get_by_test_id("add").click()
        form = page.get_by_test_id("record-form")
        form.locator("[name=meal]").select_option("lunch")
        form.locator("[name=dish]").fill("红烧鸡块")
        form.locator("[name=grams]").fill("100")
        self.fits()
        page.get_by_test_id("save-record").click()
        sample = page.get_by_test_id("routine-food_sample")
        expect(sample.get_by_test_id("underweight")).to_be_visible()
        expect(sample.get_by_test_id("kept-until")).to_be_visible()
        expect(sample.get_by_test_id("count")).to_have_text("1/1")
        self.fits()
        self.screenshot("safecampus-routines.png")
        self.assertEqual(
            sorted(RoutineRecord.objects.values_list("code", flat=True)),
            sorted([Code.GATE_PATROL, Code.FOOD_SAMPLE]),
        )
        sample_row = RoutineRecord.objects.get(code=Code.FOOD_SAMPLE)
        self.assertTrue(sample_row.underweight)
        self.assertEqual(sample_row.who, self.principal_a.name)
        # The level above: the bureau's officer sees school A's group with one check done.
        self.context.clear_cookies()
        self.log_in("officer")
        page.goto(self.url("/routines/status/"))
        expect(page.get_by_test_id("status-unit")).to_have_text(self.bureau.name)
        expect(page.get_by_test_id("child-row")).to_have_count(2)
        self.fits()
        page.get_by_test_id("child-row").first.get_by_role("link").click()
        expect(page.get_by_test_id("status-unit")).to_have_text(self.group_1.name)
        self.fits()
        self.screenshot("safecampus-routines-status.png")
        self.assert_no_console_errors()
