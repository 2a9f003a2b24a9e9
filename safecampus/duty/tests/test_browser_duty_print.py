"""In a real browser, on a phone (390 px): a principal taps from the menu to every duty page
(the roster, its print view and Excel file, the spot checks, the calendar link), and the
print view of a month of three shifts a day prints to one A4 page a week."""

import datetime as dt
import io
import os
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from pypdf import PdfReader

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.duty import services
from safecampus.duty.models import DayKind
from safecampus.orgs.models import Membership, Person, Role
from safecampus.test import make_person

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLANNED_AT = dt.datetime(2030, 2, 27, 9, 0, tzinfo=SHANGHAI)
IN_MARCH = dt.datetime(2030, 3, 12, 10, 0, tzinfo=SHANGHAI)
# March 2030 runs Friday 1st to Sunday 31st: five Monday-to-Sunday weeks touch it.
MARCH_WEEKS = 5


@pytest.mark.browser
class DutyPrintBrowserTest(BrowserTestCase):
    port = 8191

    def setUp(self) -> None:
        super().setUp()
        self.traveller = time_machine.travel(PLANNED_AT, tick=True)
        self.clock = self.traveller.start()
        self.addCleanup(self.traveller.stop)
        self.late = make_person("duty.late", "孙中班", "13900000021")
        self.night = make_person("duty.night", "钱夜班", "13900000022")
        for person in (self.late, self.night):
            Membership.objects.create(person=person, unit=self.school_a, role=Role.DUTY_STAFF)
        Person.objects.update(password_changed_at=PLANNED_AT)
        three = [
            ("早班", dt.time(8), dt.time(16), self.principal_a, self.teacher_a),
            ("中班", dt.time(16), dt.time(0), None, self.late),
            ("夜班", dt.time(0), dt.time(8), None, self.night),
        ]
        for order, (name, start, end, leader, staff) in enumerate(three):
            template = services.shift_template_create(
                by=self.principal_a,
                unit=self.school_a,
                name=name,
                start=start,
                end=end,
                order=order,
            )
            for kind in DayKind.values:
                services.pattern_slot_set(
                    by=self.principal_a,
                    template=template,
                    day_kind=kind,
                    leader=leader,
                    staff=[staff],
                )
        services.roster_plan(unit=self.school_a, month=dt.date(2030, 3, 1), by=self.principal_a)
        self.clock.move_to(IN_MARCH)

    def tap(self, test_id: str) -> None:
        """Tap a link the phone shows whole, inside its 390 px."""
        link = self.page.get_by_test_id(test_id).first
        expect(link).to_be_visible()
        box = link.bounding_box()
        self.assertIsNotNone(box)
        self.assertLessEqual(box["x"] + box["width"], PHONE["width"] + 0.5, test_id)
        link.tap()

    def open_menu(self) -> None:
        self.page.locator("header.shell summary").tap()

    def test_tap_to_every_duty_page_and_print_a_week_a_page(self) -> None:
        page = self.page
        self.log_in("principal.a")
        self.open_menu()
        self.tap("menu-duty")
        page.wait_for_url(self.url("/duty/"))
        self.tap("roster-link")
        page.wait_for_url(self.url(f"/duty/units/{self.school_a.pk}/"))
        expect(page.get_by_test_id("shift-row")).to_have_count(93)  # 31 days × 3 shifts

        # The print view: one section, and one A4 page, a week.
        self.tap("print-link")
        page.wait_for_url("**/roster/print/?month=2030-03")
        expect(page.get_by_test_id("week")).to_have_count(MARCH_WEEKS)
        pdf = PdfReader(io.BytesIO(page.pdf(format="A4", print_background=True)))
        self.assertEqual(len(pdf.pages), MARCH_WEEKS)
        box = pdf.pages[0].mediabox
        self.assertAlmostEqual(float(box.width), 595.3, delta=1.5)  # A4: 210 × 297 mm
        self.assertAlmostEqual(float(box.height), 841.9, delta=1.5)
        self.assertIn("早班", pdf.pages[1].extract_text())
        with page.expect_download() as download:
            self.tap("back")  # ← the roster …
            page.wait_for_url(self.url(f"/duty/units/{self.school_a.pk}/?month=2030-03"))
            self.tap("xlsx-link")  # … and its Excel file
        self.assertTrue(download.value.suggested_filename.endswith(".xlsx"))

        self.tap("spot-checks-link")
        page.wait_for_url(f"**/duty/units/{self.school_a.pk}/spot-checks/")
        expect(page.get_by_test_id("tally")).to_be_visible()

        # From the menu: the spot checks waiting for me, and my units' spot checks.
        self.open_menu()
        self.tap("menu-spot-checks")
        page.wait_for_url(self.url("/duty/spot-checks/mine/"))
        expect(page.get_by_test_id("spot-units")).to_contain_text(self.school_a.name)

        # From the duty page: my shifts in my phone's calendar.
        self.open_menu()
        self.tap("menu-duty")
        page.wait_for_url(self.url("/duty/"))
        self.tap("feed-link")
        page.wait_for_url(self.url("/duty/feed/"))
        self.tap("feed-new")
        expect(page.get_by_test_id("feed-url")).to_have_value(re.compile(r"/duty/feed/.+\.ics$"))
        self.assert_no_console_errors()
