"""On a phone (390 px): the bureau's officer orders level 2 for the district; the principal of
school A sees the banner, opens the order from My work, acknowledges it and confirms every
measure with a tap each; the officer sees one unit of four done and the three left. Every page
fits."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.levels.models import AlertOrder, OrderUnit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


@pytest.mark.browser
class LevelBrowserTest(BrowserTestCase):
    port = 8281

    def fits(self) -> None:
        self.assertLessEqual(
            self.page.evaluate("document.documentElement.scrollWidth"), PHONE["width"]
        )

    def test_order_banner_confirm_and_progress_on_a_phone(self) -> None:
        page = self.page
        self.school_a.head = self.principal_a
        self.school_a.save(update_fields=["head"])
        now = timezone.localtime()
        self.log_in("officer")
        page.goto(self.url("/levels/"))
        page.get_by_test_id("issue").click()
        form = page.get_by_test_id("order-form")
        form.locator("[name=level][value='2']").check()
        form.locator("[name=starts_at]").fill(
            (now - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
        )
        form.locator("[name=ends_at]").fill((now + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
        form.locator("[name=reason]").fill("期末考试周，加强校园安全防控")
        self.fits()
        page.get_by_test_id("issue-submit").click()
        expect(page.get_by_test_id("progress-text")).to_contain_text("0")
        expect(page.get_by_test_id("pending").locator("li")).to_have_count(4)
        expect(page.get_by_test_id("alert-banner")).to_be_visible()
        self.fits()
        order = AlertOrder.objects.get()

        self.context.clear_cookies()
        self.log_in("principal.a")
        page.goto(self.url("/"))
        expect(page.get_by_test_id("alert-banner")).to_contain_text("加强防控")
        self.fits()
        page.get_by_test_id("order-to-confirm").click()
        page.get_by_test_id("acknowledge").click()
        expect(page.get_by_test_id("acknowledged")).to_be_visible()
        total = order.measures.count()
        for position in range(1, total + 1):
            page.get_by_test_id(f"confirm-{position}").click()
            expect(page.get_by_test_id(f"confirmed-{position}")).to_be_visible()
        expect(page.get_by_test_id("done")).to_be_visible()
        self.fits()
        self.screenshot("safecampus-levels-confirm.png")
        row = OrderUnit.objects.get(order=order, unit=self.school_a)
        self.assertEqual(row.confirmed, total)
        self.assertIsNotNone(row.done_at)

        self.context.clear_cookies()
        self.log_in("officer")
        page.goto(self.url(f"/levels/orders/{order.pk}/"))
        expect(page.get_by_test_id("pending").locator("li")).to_have_count(3)
        expect(page.get_by_test_id("pending")).not_to_contain_text(self.school_a.name)
        self.fits()
        self.screenshot("safecampus-levels-progress.png")
        self.assert_no_console_errors()
