"""A base for browser tests: Debian's Chromium driven by Playwright against a live server.

At a phone-sized viewport, in the default language (Simplified Chinese). No
browser is ever downloaded.
"""

import os
from typing import Any

import pytest
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.utils import translation

from safecampus.orgs.models import Role
from safecampus.test import PASSWORD, Personas, TransactionalTestCase

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
# Where a developer can look at what the phone showed (SCREENSHOT_DIR=/tmp).
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR")


def role_label(role: Role) -> str:
    """The role as the page shows it in the default language (Simplified Chinese)."""
    with translation.override("zh-hans"):
        return str(role.label)


class BrowserTestCase(TransactionalTestCase, Personas, StaticLiveServerTestCase):
    """Log in as a persona on a phone; collect console errors (CSP violations show there)."""

    host = "127.0.0.1"
    _async_unsafe: str | None

    @classmethod
    def setUpClass(cls) -> None:
        # Playwright's sync API runs an event loop in this thread; Django's ORM
        # (the test's own set-up) refuses to run beside one unless told.
        cls._async_unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        super().setUpClass()
        cls.playwright = playwright_sync.sync_playwright().start()
        cls.browser = cls.playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            cls.browser.close()
            cls.playwright.stop()
            super().tearDownClass()
        finally:
            if cls._async_unsafe is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = cls._async_unsafe

    def setUp(self) -> None:
        # The table flush after each test empties the district: build it again.
        self.build_district()
        self.context = self.browser.new_context(
            viewport=PHONE,
            locale="zh-CN",
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
        )
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))

    def tearDown(self) -> None:
        self.context.close()

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def url(self, path: str) -> str:
        return f"{self.live_server_url}{path}"

    def screenshot(self, name: str) -> None:
        if SCREENSHOT_DIR:
            self.page.screenshot(path=os.path.join(SCREENSHOT_DIR, name), full_page=True)

    def log_in(self, username: str) -> None:
        page = self.page
        page.goto(self.url("/login/"))
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        page.locator("input[name=username]").fill(username)
        page.locator("input[name=password]").fill(PASSWORD)
        self.screenshot(f"safecampus-login-{username}.png")
        page.locator("form[action='/login/'] button[type=submit]").click()
        page.wait_for_url(self.url("/"))

    def assert_no_console_errors(self) -> None:
        # A Content-Security-Policy violation (inline script or style) shows here.
        self.assertEqual(self.console_errors, [])
