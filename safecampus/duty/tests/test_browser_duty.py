"""In a real browser, on a phone (390 px): a principal plans a month of duty, sees who is on
duty now one tap from the school's page, writes the shift's log and hands over; the next
shift's duty teacher takes over (交接班)."""

import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest
import time_machine

from safecampus.browser import BrowserTestCase, expect
from safecampus.duty import services
from safecampus.duty.models import DayKind, DutyLogEntry, Shift
from safecampus.orgs.models import Membership, Person, Role
from safecampus.test import make_person

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLANNED_AT = dt.datetime(2030, 2, 27, 9, 0, tzinfo=SHANGHAI)
LAST_HOUR = dt.datetime(2030, 3, 1, 17, 30, tzinfo=SHANGHAI)  # the day shift's last hour


@pytest.mark.browser
class DutyBrowserTest(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.traveller = time_machine.travel(PLANNED_AT, tick=True)
        self.clock = self.traveller.start()
        self.addCleanup(self.traveller.stop)
        self.night = make_person("duty.night", "钱值班", "13900000013")
        Membership.objects.create(person=self.night, unit=self.school_a, role=Role.DUTY_STAFF)
        Person.objects.update(password_changed_at=PLANNED_AT)
        day = services.shift_template_create(
            by=self.principal_a, unit=self.school_a, name="白班", start=dt.time(8), end=dt.time(18)
        )
        night = services.shift_template_create(
            by=self.principal_a, unit=self.school_a, name="夜班", start=dt.time(18), end=dt.time(8)
        )
        for kind in DayKind.values:
            services.pattern_slot_set(
                by=self.principal_a,
                template=day,
                day_kind=kind,
                leader=self.principal_a,
                staff=[self.teacher_a],
            )
            services.pattern_slot_set(
                by=self.principal_a,
                template=night,
                day_kind=kind,
                leader=None,
                staff=[self.night],
            )

    def test_plan_see_on_duty_log_hand_over_take_over(self) -> None:
        page = self.page
        self.log_in("principal.a")
        page.goto(self.url(f"/duty/units/{self.school_a.pk}/plan/"))
        page.get_by_test_id("plan-form").locator("input[name=month]").fill("2030-03")
        page.get_by_test_id("plan-form").locator("button[type=submit]").click()
        page.wait_for_url(self.url(f"/duty/units/{self.school_a.pk}/?month=2030-03"))
        expect(page.get_by_test_id("shift-row")).to_have_count(62)
        self.assertEqual(Shift.objects.filter(unit=self.school_a).count(), 62)
        self.screenshot("safecampus-duty-roster.png")

        # The day shift's last hour: who is on duty now, one tap from the school's page.
        self.clock.move_to(LAST_HOUR)
        self.context.clear_cookies()
        self.log_in("principal.a")
        page.goto(self.url(f"/orgs/units/{self.school_a.pk}/"))
        page.get_by_test_id("duty-now").click()
        leaders = page.get_by_test_id("leaders")
        expect(leaders).to_contain_text("王校长")
        expect(leaders.get_by_test_id("tel")).to_have_attribute("href", "tel:13900000002")
        expect(page.get_by_test_id("gap")).to_have_count(0)
        self.screenshot("safecampus-duty-now.png")

        page.get_by_test_id("on-duty").locator("a").first.click()
        form = page.get_by_test_id("log-form")
        form.locator("textarea[name=text]").fill("巡查教学楼，一切正常")
        form.locator("button[type=submit]").click()
        expect(page.get_by_test_id("log-entry")).to_contain_text("巡查教学楼")
        handover = page.get_by_test_id("handover-form")
        handover.locator("textarea[name=note]").fill("东门锁坏了，已报修")
        handover.locator("button[type=submit]").click()
        expect(page.get_by_test_id("handover-note")).to_contain_text("东门锁坏了")
        shift_url = page.url

        # The night shift's duty teacher takes over.
        self.context.clear_cookies()
        self.log_in("duty.night")
        page.goto(shift_url)
        expect(page.get_by_test_id("handover-note")).to_contain_text("东门锁坏了")
        page.get_by_test_id("take-over").click()
        expect(page.get_by_test_id("taken-over")).to_contain_text("钱值班")
        self.screenshot("safecampus-duty-handover.png")
        self.assert_no_console_errors()

        shift = Shift.objects.get(unit=self.school_a, day=dt.date(2030, 3, 1), name="白班")
        self.assertEqual(shift.taken_over_by, self.night)
        self.assertEqual(DutyLogEntry.objects.get().by, self.principal_a)
