"""On a phone (390×844), in a real browser: the duty officer goes from the home page to
today's report in one tap; the status page's button and table headers stay on one line;
a collapsed tree node shows the red flags under it."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from safecampus.browser import BrowserTestCase, expect
from safecampus.orgs import access
from safecampus.reports import services

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]

LAST_MINUTE = dt.time(23, 59, 59)
# How many lines an element's text takes: one rectangle per line box.
LINES = "el => { const r = document.createRange(); r.selectNodeContents(el); return r.getClientRects().length; }"  # noqa: E501


@pytest.mark.browser
class PhoneBrowserTest(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        today = timezone.localdate()
        # Deadlines at the end of the day: the report is due whenever the test runs.
        schedule = services.schedule_create(
            by=self.officer,
            root=self.bureau,
            name="冬季安全日报",
            starts_on=today,
            **{f"deadline_{level}": LAST_MINUTE for level in services.LEVEL_ORDER},
        )
        services.day_open(schedule=schedule, day=today)

    def assert_fits_the_screen(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        self.assertLessEqual(width, 390, "the page scrolls sideways")

    def test_duty_officer_home_to_todays_report_in_one_tap(self) -> None:
        page = self.page
        self.log_in("duty.b")
        card = page.get_by_test_id("today-report")
        expect(card).to_have_count(1)
        expect(card).to_contain_text("西山小学")
        expect(card).to_be_in_viewport()  # above the fold, no scrolling
        expect(page.get_by_test_id("notices-unread")).to_be_visible()
        expect(page.get_by_test_id("inbox-unread")).to_be_visible()
        self.assert_fits_the_screen()
        self.screenshot("safecampus-phone-home-duty.png")

        card.click()
        page.wait_for_url(self.url(f"/reports/#unit-{self.school_b.pk}"))
        unit = page.locator(f"#unit-{self.school_b.pk}")
        expect(unit).to_be_in_viewport()
        if access.can_report(self.duty_b, self.school_b):
            unit.get_by_test_id("zero-report").click()
            expect(unit.get_by_test_id("receipt")).to_be_visible()
            page.goto(self.url("/"))
            expect(page.get_by_test_id("today-status")).to_have_text("按时")
        self.assert_no_console_errors()

    def test_status_page_button_and_headers_on_one_line(self) -> None:
        page = self.page
        self.log_in("officer")
        page.goto(self.url("/reports/status/"))
        show = page.locator("form.day-picker button[type=submit]")
        self.assertEqual(show.evaluate(LINES), 1, "the Show button wraps")
        headers = page.locator("table.status-table th")
        self.assertGreater(headers.count(), 0)
        for i in range(headers.count()):
            th = headers.nth(i)
            self.assertEqual(th.evaluate(LINES), 1, f"header {th.inner_text()!r} wraps")
        self.assert_fits_the_screen()
        self.screenshot("safecampus-phone-status.png")
        self.assert_no_console_errors()

    def test_collapsed_tree_node_shows_the_flags_below(self) -> None:
        page = self.page
        self.log_in("officer")
        page.goto(self.url("/orgs/"))
        bureau = page.get_by_test_id(f"node-{self.bureau.code}")
        below = bureau.locator("summary").first.get_by_test_id("unassigned-below")
        expect(below).to_be_visible()
        expect(below).to_contain_text("2")
        bureau.locator("summary").first.click()
        expect(page.get_by_test_id(f"node-{self.group_1.code}")).to_be_visible()
        expect(below).to_be_hidden()  # opened: each group shows its own
        group = page.get_by_test_id(f"node-{self.group_1.code}")
        expect(group.get_by_test_id("unassigned-below")).to_contain_text("1")
        self.assert_fits_the_screen()
        self.assert_no_console_errors()
