"""On a phone (390 px): the spot-check page's tables fit the screen (the unit's name on a
line, not a character a line; the counts as badges), and on /duty/ the page title is not
smaller than its sections' headings."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.duty.spotchecks import spot_check_demo_missed
from safecampus.orgs.models import Unit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]

LONG_NAME = "城关镇第二中心小学附属幼儿园"


@pytest.mark.browser
class DutyPhoneBrowserTest(BrowserTestCase):
    port = 8221

    def test_spot_checks_fit_a_phone_and_the_title_is_the_largest_heading(self) -> None:
        Unit.objects.filter(pk=self.school_a.pk).update(name=LONG_NAME)
        for unit in (self.school_a, self.school_b):
            unit.refresh_from_db()
            spot_check_demo_missed(
                by=self.officer, unit=unit, at=timezone.now() - dt.timedelta(hours=1)
            )
        page = self.page
        self.log_in("officer")
        page.goto(self.url(f"/duty/units/{self.bureau.pk}/spot-checks/"))
        expect(page.get_by_test_id("tally")).to_be_visible()
        size = "e => parseFloat(getComputedStyle(e).fontSize)"
        self.screenshot("safecampus-duty-spot-checks.png")
        self.assertLessEqual(page.evaluate("document.documentElement.scrollWidth"), PHONE["width"])
        for test_id in ("tally", "checks"):
            box = page.get_by_test_id(test_id).bounding_box()
            self.assertLessEqual(box["x"] + box["width"], PHONE["width"] + 0.5, test_id)
        # The unit's name is read across, not down: at least five characters a line.
        for name in page.locator("[data-testid=tally] td:first-child a").all():
            width = name.evaluate("e => e.getBoundingClientRect().width")
            em = name.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
            text = name.inner_text()
            self.assertGreaterEqual(width, min(5, len(text)) * em, text)
        # The month's "Show" button keeps its word on one line.
        show = page.locator("main form[method=get] button")
        lines = show.evaluate(
            "e => { const s = getComputedStyle(e);"
            " return (e.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom))"
            " / parseFloat(s.lineHeight); }"
        )
        self.assertLess(lines, 1.5, "Show")
        expect(page.locator("[data-testid=tally] [data-count=missed]")).to_have_count(2)

        page.goto(self.url("/duty/"))
        title = page.locator("main h1").evaluate(size)
        for heading in page.locator("main h2").all():
            self.assertGreater(title, heading.evaluate(size), heading.inner_text())
        self.assert_no_console_errors()
