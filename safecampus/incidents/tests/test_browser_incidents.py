"""On a phone (390 px), the main flow: a head teacher taps SOS and a type; the principal
acknowledges through the link in the message, without logging in; then logs in, writes the
report up, follows it up and closes it with the final report. Every page fits the screen."""

import os

import pytest
from docx import Document

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.incidents.models import Call, EntryKind, Incident, State
from safecampus.notify.models import Delivery

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


@pytest.mark.browser
class IncidentBrowserTest(BrowserTestCase):
    port = 8231

    def fits(self) -> None:
        self.assertLessEqual(
            self.page.evaluate("document.documentElement.scrollWidth"), PHONE["width"]
        )

    def test_sos_acknowledge_by_link_written_follow_up_final(self) -> None:
        self.principal_a.email = "principal.a@example.edu.cn"
        self.principal_a.save()
        self.school_a.head = self.principal_a
        self.school_a.save()
        page = self.page
        self.log_in("teacher.a")
        page.get_by_test_id("sos").click()
        self.fits()
        expect(
            page.get_by_test_id("emergency-numbers").locator("a[href='tel:119']")
        ).to_be_visible()
        page.get_by_test_id("sos-fire").click()
        expect(page.get_by_test_id("timeline")).to_be_visible()
        self.fits()
        self.screenshot("safecampus-incident-reported.png")
        incident = Incident.objects.get()
        self.assertEqual(incident.unit, self.school_a)

        # the principal's e-mail carries a link that works without logging in
        call = Call.objects.get(stage__incident=incident, person=self.principal_a)
        email = Delivery.objects.get(notification=call.notification, transport="email")
        link_page = self.browser.new_context(viewport=PHONE, is_mobile=True).new_page()
        link_page.goto(self.url(f"/n/ack/{email.ack_token}/"))
        link_page.get_by_test_id("ack").click()
        expect(link_page.get_by_test_id("acked")).to_be_visible()
        link_page.context.close()
        self.assertTrue(incident.timeline.filter(kind=EntryKind.ACKNOWLEDGED).exists())

        self.context.clear_cookies()
        self.log_in("principal.a")
        page.goto(self.url(f"/incidents/{incident.pk}/"))
        page.get_by_test_id("write").click()
        form = page.get_by_test_id("written-form")
        form.locator("[name=source]").fill("班主任报告")
        form.locator("[name=scope]").fill("食堂后厨")
        form.locator("[name=affected]").fill("无人受伤")
        form.locator("[name=trend]").fill("已扑灭")
        form.locator("[name=grade]").select_option("4")
        self.fits()
        page.get_by_test_id("save-report").click()
        # a missing field is named, and what was typed is kept
        expect(page.locator("[name=measures] ~ [role=alert], [role=alert]").first).to_be_visible()
        expect(form.locator("[name=source]")).to_have_value("班主任报告")
        form.locator("[name=measures]").fill("切断燃气，疏散学生")
        page.get_by_test_id("save-report").click()
        page.get_by_test_id("follow-up").click()
        page.locator("[name=changes]").fill("食堂已恢复供餐")
        page.get_by_test_id("save-report").click()
        page.get_by_test_id("final").click()
        for name, text in [
            ("cause", "油锅过热"),
            ("handling", "灭火器扑灭"),
            ("losses", "灶台损坏"),
            ("lessons", "培训不足"),
            ("corrective", "每月消防演练"),
        ]:
            page.locator(f"[name={name}]").fill(text)
        page.get_by_test_id("save-report").click()
        expect(page.get_by_test_id("reports")).to_contain_text("每月消防演练")
        self.fits()
        self.screenshot("safecampus-incident-closed.png")
        incident.refresh_from_db()
        self.assertEqual(incident.state, State.CLOSED)
        self.assertEqual(
            list(incident.reports.values_list("kind", flat=True)),
            ["written", "follow_up", "final"],
        )
        # the report downloads as Word, and opens again with the unit, grade and measures
        with page.expect_download() as download:
            page.get_by_test_id("docx").click()
        text = "\n".join(p.text for p in Document(download.value.path()).paragraphs)
        self.assertIn("城关小学关于", text)
        self.assertIn("IV 一般", text)
        self.assertIn("切断燃气，疏散学生", text)
        self.assertIn("每月消防演练", text)
        self.assert_no_console_errors()
