"""The organisation tree in a real browser, on a phone.

Debian's Chromium (/usr/bin/chromium) driven by Playwright against a live
server, at a phone-sized viewport, in the default language (Simplified
Chinese). No browser is ever downloaded.
"""

import os
import re
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


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


@pytest.mark.browser
class OrgTreeBrowserTest(TransactionalTestCase, Personas, StaticLiveServerTestCase):
    """Log in, browse the tree, open a school, see its areas."""

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

    def open_node(self, code: str) -> None:
        """Open a tree node and wait for htmx to load its children."""
        node = self.page.get_by_test_id(f"node-{code}")
        node.locator("> details > summary").click()
        expect(node.locator("> details > ul.children > li:not(.muted)").first).to_be_visible()

    def test_principal_browses_own_school_on_a_phone(self) -> None:
        page = self.page
        self.log_in("principal.a")

        # The 工作台 (my work) page, with the unit and role always visible.
        who = page.get_by_test_id("who")
        expect(who).to_contain_text("城关小学")
        expect(who).to_contain_text(role_label(Role.PRINCIPAL))
        expect(who).to_contain_text("王校长")
        self.screenshot("safecampus-home-principal.png")

        # The tree: the principal's own school is the top of what they see.
        page.goto(self.url("/orgs/"))
        tree = page.get_by_test_id("tree")
        expect(tree.get_by_test_id("node-SA")).to_be_visible()
        expect(tree.get_by_test_id("node-SA").get_by_test_id("unassigned-count")).to_contain_text(
            "1"
        )
        self.screenshot("safecampus-tree-principal.png")
        self.assertNotIn("西山小学", page.content())

        tree.get_by_test_id("node-SA").get_by_role("link", name="城关小学").click()
        page.wait_for_url(self.url(f"/orgs/units/{self.school_a.pk}/"))
        expect(page.get_by_test_id("unit-name")).to_contain_text("城关小学")
        rows = page.get_by_test_id("area-row")
        expect(rows).to_have_count(2)
        expect(rows.filter(has_text="教学楼")).to_contain_text("陈老师")
        unassigned = rows.filter(has=page.get_by_test_id("unassigned"))
        expect(unassigned).to_have_count(1)
        expect(unassigned).to_contain_text("食堂")
        self.assertNotIn("西山小学", page.content())
        # Nothing overflows sideways on a phone.
        width = page.evaluate("document.documentElement.scrollWidth")
        self.assertLessEqual(width, PHONE["width"])
        self.screenshot("safecampus-school-a-principal.png")
        self.assert_no_console_errors()

    def test_officer_expands_the_tree_to_school_a(self) -> None:
        page = self.page
        self.log_in("officer")
        expect(page.get_by_test_id("who")).to_contain_text("示例区教育局")

        page.goto(self.url("/orgs/"))
        self.open_node(self.bureau.code)
        self.open_node(self.group_1.code)
        school = page.get_by_test_id(f"node-{self.school_a.code}")
        expect(school).to_contain_text("城关小学")
        # Group 2 stays closed, so school B is not loaded yet.
        expect(page.get_by_test_id(f"node-{self.school_b.code}")).to_have_count(0)
        self.screenshot("safecampus-tree-officer.png")

        school.get_by_role("link", name="城关小学").click()
        page.wait_for_url(self.url(f"/orgs/units/{self.school_a.pk}/"))
        expect(page.get_by_test_id("area-row")).to_have_count(2)
        expect(page.get_by_test_id("unassigned")).to_have_count(1)
        self.assert_no_console_errors()

    def test_duty_b_gets_404_for_school_a(self) -> None:
        page = self.page
        self.log_in("duty.b")
        expect(page.get_by_test_id("who")).to_contain_text("西山小学")

        response = page.goto(self.url(f"/orgs/units/{self.school_a.pk}/"))
        assert response is not None
        self.assertEqual(response.status, 404)
        self.assertNotIn("城关小学", page.content())
        self.assertIsNone(re.search("教学楼|食堂", page.content()))
        self.screenshot("safecampus-404-duty-b.png")
