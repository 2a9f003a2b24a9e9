"""On a phone (390 px): the bureau's safety office launches a self-check round; the school's
principal walks the campus answering item by item (each answer saved at once, by HTMX), a
failure with a photo; the browser is closed half way and nothing is lost; the inspection is
submitted and the failure is in the hazard ledger with its photo and area. Every page fits
the screen."""

import os

import pytest

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.hazards.models import Hazard, Inspection

from .test_photos import jpeg

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


@pytest.mark.browser
class InspectionBrowserTest(BrowserTestCase):
    port = 8243

    def fits(self) -> None:
        self.assertLessEqual(
            self.page.evaluate("document.documentElement.scrollWidth"), PHONE["width"]
        )

    def test_launch_walk_close_the_browser_finish_and_submit(self) -> None:
        page = self.page
        self.log_in("officer")
        page.goto(self.url("/hazards/rounds/new/"))
        form = page.get_by_test_id("round-form")
        form.locator("[name=title]").fill("寒假前饮水安全自查")
        for box in form.locator("[name=categories]").all():
            box.uncheck()
        form.locator("[name=categories][value=water]").check()
        self.fits()
        page.get_by_test_id("save-round").click()
        expect(page.get_by_test_id("not-started")).to_have_text("2")
        inspection = Inspection.objects.get(unit=self.school_a)

        self.context.clear_cookies()
        self.log_in("principal.a")
        page.goto(self.url("/hazards/rounds/"))
        page.get_by_test_id(f"inspect-{inspection.pk}").click()
        items = page.locator(".check-item")
        expect(items).to_have_count(4)
        self.fits()
        first = items.nth(0)
        first.locator("input[value=fail]").check()  # opens what is wrong, where, photos
        first.get_by_test_id("save-item").click()  # a failure needs a note: said in place
        expect(page.locator(".check-item").nth(0).locator("[role=alert]")).to_be_visible()
        first = page.locator(".check-item").nth(0)
        first.locator("input[value=fail]").check()
        first.locator("[name$=note]").fill("二次供水水箱未加锁")
        first.locator("[name$=area]").select_option(str(self.area_a.pk))
        first.locator("input[type=file]").set_input_files(
            files=[{"name": "tank.jpg", "mimeType": "image/jpeg", "buffer": jpeg(1200, 900)}]
        )
        first.get_by_test_id("save-item").click()
        expect(page.locator(".check-item").nth(0)).to_have_attribute("data-result", "fail")
        expect(page.locator(".check-item").nth(0).locator(".photos img")).to_have_count(1)
        page.locator(".check-item").nth(1).locator("input[value=pass]").check()  # saved at once
        expect(page.locator(".check-item").nth(1)).to_have_attribute("data-result", "pass")
        expect(page.get_by_test_id("answered")).to_have_text("2")

        # the browser is closed half way: a new one finds both answers
        self.page.close()
        self.page = self.context.new_page()
        page = self.page
        page.goto(self.url(f"/hazards/inspections/{inspection.pk}/"))
        expect(page.get_by_test_id("answered")).to_have_text("2")
        for n in (2, 3):
            page.locator(".check-item").nth(n).locator("input[value=na]").check()
            expect(page.locator(".check-item").nth(n)).to_have_attribute("data-result", "na")
        page.get_by_test_id("submit-inspection").click()
        expect(page.get_by_test_id("status")).to_have_text("已提交")
        hazard = Hazard.objects.get()
        page.locator(f"a[href='/hazards/{hazard.pk}/']").click()
        expect(page.get_by_test_id("history")).to_contain_text("寒假前饮水安全自查")
        expect(page.get_by_test_id("photo-list").locator("img")).to_have_count(1)
        self.fits()
        self.screenshot("safecampus-inspection-hazard.png")
        self.assertEqual((hazard.area, hazard.responsible), (self.area_a, self.teacher_a))
        self.assert_no_console_errors()
