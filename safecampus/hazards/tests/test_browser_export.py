"""On a phone (390 px): the principal asks for the ledger in Excel and watches the page follow
the worker's build until the download link shows (not clicked: browser tests download
nothing). Every page fits the screen; no CSP error."""

import os

import pytest

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.hazards import export, services
from safecampus.worker.loop import run_in_thread

from .test_export import HOSTILE, _media

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


class ExportBrowserTest(BrowserTestCase):
    port = 8261

    def test_ask_and_watch_the_build_on_a_phone(self) -> None:
        _media(self)
        for text in HOSTILE[:3]:
            services.hazard_report(
                by=self.principal_a, unit=self.school_a, category="fire", description=text
            )
        page = self.page
        self.log_in("principal.a")
        page.goto(self.url("/hazards/?state=all"))
        page.get_by_test_id("exports").locator("summary").click()
        page.get_by_test_id("export-new").click()
        progress = page.get_by_test_id("export-progress")
        expect(progress).to_have_attribute("data-status", "queued")
        self.assertLessEqual(page.evaluate("document.documentElement.scrollWidth"), PHONE["width"])
        _thread, _stop, join = run_in_thread(poll=0.2, threads=2)
        try:
            expect(page.get_by_test_id("export-download")).to_be_visible(timeout=20_000)
        finally:
            join()
            export.wait_for_builds(30)
        expect(progress).to_have_attribute("data-status", "ready")
        expect(progress).to_contain_text("3")
        self.assertLessEqual(page.evaluate("document.documentElement.scrollWidth"), PHONE["width"])
        self.assert_no_console_errors()
