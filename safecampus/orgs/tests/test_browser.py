"""The organisation tree in a real browser, on a phone.

Debian's Chromium (/usr/bin/chromium) driven by Playwright against a live
server, at a phone-sized viewport, in the default language (Simplified
Chinese). No browser is ever downloaded.
"""

import os
import re

import pytest

from safecampus.browser import PHONE, BrowserTestCase, expect, role_label
from safecampus.orgs.models import Role

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


@pytest.mark.browser
class OrgTreeBrowserTest(BrowserTestCase):
    """Log in, browse the tree, open a school, see its areas."""

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
