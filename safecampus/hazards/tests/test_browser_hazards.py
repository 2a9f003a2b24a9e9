"""On a phone (390 px): a head teacher reports a hazard in the area they answer for and
submits the fix; the principal sends it back once, then verifies and closes it. Every page
fits the screen."""

import os

import pytest

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.hazards.models import Hazard, Status

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


@pytest.mark.browser
class HazardBrowserTest(BrowserTestCase):
    port = 8241

    def fits(self) -> None:
        self.assertLessEqual(
            self.page.evaluate("document.documentElement.scrollWidth"), PHONE["width"]
        )

    def test_report_fix_send_back_and_close_on_a_phone(self) -> None:
        page = self.page
        self.log_in("teacher.a")
        page.goto(self.url("/hazards/new/"))
        form = page.get_by_test_id("hazard-form")
        form.locator("[name=category]").select_option("fire")
        form.locator("[name=description]").fill("教学楼二楼灭火器过期")
        form.locator("[name=area]").select_option(str(self.area_a.pk))
        self.fits()
        page.get_by_test_id("save-hazard").click()
        expect(page.get_by_test_id("history")).to_contain_text("教学楼二楼灭火器过期")
        self.fits()
        page.locator("[name=note]").fill("已更换 2 具灭火器")
        page.get_by_test_id("submit-fix").click()
        expect(page.get_by_test_id("status")).to_have_text("待验收")
        hazard = Hazard.objects.get()

        self.context.clear_cookies()
        self.log_in("principal.a")
        page.goto(self.url(f"/hazards/{hazard.pk}/"))
        page.get_by_test_id("send-back").click()  # no reason: refused beside the field
        expect(page.get_by_test_id("verify-form").locator("[role=alert]")).to_be_visible()
        page.get_by_test_id("verify-form").locator("[name=reason]").fill("请补充更换后的照片说明")
        page.get_by_test_id("send-back").click()
        expect(page.get_by_test_id("status")).to_have_text("整改中")

        self.context.clear_cookies()
        self.log_in("teacher.a")
        page.goto(self.url(f"/hazards/{hazard.pk}/"))
        page.locator("[name=note]").fill("已更换，并在灭火器箱贴检查卡")
        page.get_by_test_id("submit-fix").click()

        self.context.clear_cookies()
        self.log_in("principal.a")
        page.goto(self.url(f"/hazards/{hazard.pk}/"))
        page.get_by_test_id("close").click()
        expect(page.get_by_test_id("status")).to_have_text("已销号")
        self.fits()
        self.screenshot("safecampus-hazard-closed.png")
        hazard.refresh_from_db()
        self.assertEqual((hazard.status, hazard.verified_by), (Status.CLOSED, self.principal_a))
        self.assert_no_console_errors()
