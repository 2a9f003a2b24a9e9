"""In a real browser, on a phone: a principal connects a robot, tests it, sees it arrive."""

import os

import pytest
from django.test import override_settings

from safecampus.browser import BrowserTestCase, expect
from safecampus.notify.testing import HttpSink
from safecampus.worker.loop import run_in_thread

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


@pytest.mark.browser
@override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"])
class RobotTestMessageBrowserTest(BrowserTestCase):
    def test_connect_a_webhook_send_a_test_and_see_it_delivered(self) -> None:
        page = self.page
        with HttpSink() as sink:
            _thread, _stop, join = run_in_thread(poll=0.2, threads=2)
            try:
                self.log_in("principal.a")
                page.goto(self.url(f"/orgs/units/{self.school_a.pk}/"))
                page.get_by_role("button", name="群机器人").click()
                page.get_by_role("button", name="接入机器人").click()
                page.locator("select[name=kind]").select_option("webhook")
                page.locator("input[name=name]").fill("城关小学值班群")
                page.locator("input[name=url]").fill(sink.url + "/hook")
                page.get_by_role("button", name="保存").click()
                expect(page.get_by_text("城关小学值班群")).to_be_visible()
                page.get_by_role("button", name="发送测试消息").click()
                # The delivery table refreshes itself (htmx) until the robot answered.
                expect(page.get_by_test_id("delivery-sent")).to_be_visible(timeout=15_000)
                self.screenshot("safecampus-robot-test.png")
            finally:
                join()
            self.assertEqual(len(sink.requests), 1)
            request = sink.requests[0]
            self.assertEqual(request.path, "/hook")
            self.assertEqual(request.json["event"], "test")
            self.assertTrue(request.header("Idempotency-Key"))
        self.assert_no_console_errors()
