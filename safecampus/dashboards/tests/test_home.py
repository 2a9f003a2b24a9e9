"""工作台 (My work): a reporter reaches today's report and the notices waiting in one tap."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.urls import reverse
from django.utils import translation

from safecampus.notices import services as notices
from safecampus.orgs import access
from safecampus.reports import services as reports
from safecampus.test import BaseTestCase

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 24)
MORNING = dt.datetime(2026, 11, 24, 9, 0, tzinfo=TZ)


class HomeTodayTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        clock = time_machine.travel(MORNING, tick=False)
        clock.start()
        self.addCleanup(clock.stop)
        schedule = reports.schedule_create(
            by=self.officer, root=self.bureau, name="冬季安全日报", starts_on=DAY
        )
        reports.day_open(schedule=schedule, day=DAY)

    def home(self, person):
        return self.client_for(person).get(reverse("home"))

    def test_duty_officer_sees_todays_report_waiting_with_one_tap_to_it(self):
        page = self.home(self.duty_b)
        rows = page.context["own_reports"]
        self.assertEqual([r.unit for r in rows], [self.school_b])
        self.assertTrue(rows[0].waiting)
        link = f'href="{reverse("reports:today")}#unit-{self.school_b.pk}"'
        self.assertContains(page, link)
        self.assertContains(page, 'data-testid="today-report"', count=1)
        self.assertContains(page, "Due by 13:30")  # the client asks for English
        # Who may file it is orgs.access's to say; the page offers what that allows.
        may = access.can_report(self.duty_b, self.school_b)
        self.assertEqual(rows[0].can_report, may)
        self.assertContains(page, "Report now" if may else "View ›")

    def test_a_principal_is_offered_to_report_now(self):
        page = self.home(self.principal_a)
        self.assertContains(page, f'href="{reverse("reports:today")}#unit-{self.school_a.pk}"')
        self.assertContains(page, "Report now")

    def test_after_the_report_the_home_page_says_when(self):
        with translation.override("zh-hans"):
            reports.report_submit(by=self.duty_b, unit=self.school_b, day=DAY, zero=True)
        page = self.home(self.duty_b)
        row = page.context["own_reports"][0]
        self.assertTrue(row.reported)
        self.assertFalse(row.waiting)
        self.assertContains(page, "Reported at 09:00")
        self.assertNotContains(page, "Report now")

    def test_notices_waiting_are_counted_and_linked(self):
        self.assertEqual(self.home(self.duty_b).context["notices_waiting"].unread, 0)
        notice = notices.notice_send(
            by=self.officer,
            unit=self.bureau,
            title="关于做好防溺水工作的通知",
            body="各学校：请落实防溺水要求。",
            requires_ack=True,
            ack_deadline=MORNING + dt.timedelta(days=1),
        )
        page = self.home(self.duty_b)
        waiting = page.context["notices_waiting"]
        self.assertEqual((waiting.unread, waiting.unacknowledged), (1, 1))
        self.assertContains(page, f'href="{reverse("notices:inbox")}"')
        self.assertContains(page, "1 to acknowledge")
        notices.notice_read(by=self.duty_b, notice=notice)
        waiting = self.home(self.duty_b).context["notices_waiting"]
        self.assertEqual((waiting.unread, waiting.unacknowledged), (0, 1))
        # Another school's officer is not told about school B's notice being read.
        self.assertEqual(self.home(self.principal_a).context["notices_waiting"].unread, 1)

    def test_bureau_sees_its_own_report_and_a_way_to_the_schools(self):
        page = self.home(self.officer)
        self.assertEqual([r.unit for r in page.context["own_reports"]], [self.bureau])
        self.assertContains(page, f"{reverse('reports:status')}?unit={self.bureau.pk}")

    def test_an_administrator_has_no_report_panel(self):
        page = self.home(self.sysadmin)
        self.assertEqual(page.context["own_reports"], [])
        self.assertNotContains(page, 'data-testid="today"')
