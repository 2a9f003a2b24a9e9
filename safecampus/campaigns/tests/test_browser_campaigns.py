"""On a phone (390 px): the bureau's officer launches a campaign, switches on level 2 for the
first week then level 1 until the end, adds a task and brings the summary phase forward; the
principal of school A marks the task done with a note and writes the school's summary. Every
page fits the screen."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from safecampus.browser import PHONE, BrowserTestCase, expect
from safecampus.campaigns.models import Campaign, Summary, TaskDone
from safecampus.levels.models import AlertOrder

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"), reason="no Chromium"),
]


@pytest.mark.browser
class CampaignBrowserTest(BrowserTestCase):
    port = 8271

    def fits(self) -> None:
        self.assertLessEqual(
            self.page.evaluate("document.documentElement.scrollWidth"), PHONE["width"]
        )

    def test_launch_switch_on_levels_and_a_school_does_its_part(self) -> None:
        page = self.page
        today = timezone.localdate()
        end = today + dt.timedelta(days=29)
        self.log_in("officer")
        page.goto(self.url("/campaigns/"))
        page.get_by_test_id("launch").click()
        form = page.get_by_test_id("campaign-form")
        form.locator("[name=name]").fill("冬季安全专项整治行动")
        form.locator("[name=goal]").fill("消除校园火灾、食品和交通隐患")
        form.locator("[name=starts_on]").fill(today.isoformat())
        form.locator("[name=ends_on]").fill(end.isoformat())
        self.fits()
        page.get_by_test_id("save-campaign").click()
        expect(page.get_by_test_id("campaign-name")).to_have_text("冬季安全专项整治行动")
        expect(page.get_by_test_id("current-phase")).to_have_text("动员部署")
        self.fits()
        campaign = Campaign.objects.get()

        # Level 2 for the first week, then level 1 until the end: the form proposes it.
        page.get_by_test_id("switch-orders").click()
        switch = page.get_by_test_id("switch-form")
        expect(switch.locator("[name=until_1]")).to_have_value(
            (today + dt.timedelta(days=6)).isoformat()
        )
        expect(switch.locator("[name=until_2]")).to_have_value(end.isoformat())
        self.fits()
        page.get_by_test_id("save").click()
        expect(page.get_by_test_id("switch-order")).to_have_count(2)
        self.assertEqual(
            list(AlertOrder.objects.order_by("starts_at").values_list("level", flat=True)), [2, 1]
        )

        page.get_by_test_id("add-task").click()
        task_form = page.get_by_test_id("task-form")
        task_form.locator("[name=title]").fill("制定本校专项行动方案")
        task_form.locator("[name=due_on]").fill((today + dt.timedelta(days=3)).isoformat())
        self.fits()
        page.get_by_test_id("save").click()
        expect(page.get_by_test_id("phase-1").locator("[data-count=not-done]")).to_contain_text(
            "4/4"
        )
        # The summary phase brought forward to today, so the school can write it now.
        page.get_by_test_id("edit-phase-4").click()
        page.locator("[name=starts_on]").fill(today.isoformat())
        page.get_by_test_id("save").click()
        expect(page.get_by_test_id("phase-4")).to_contain_text(today.isoformat())
        self.fits()
        self.screenshot("safecampus-campaign.png")

        # The principal of school A: the task is on the list; done with a note; the summary.
        self.context.clear_cookies()
        self.log_in("principal.a")
        page.goto(self.url("/campaigns/"))
        task = campaign.tasks.get()
        page.get_by_test_id(f"due-{task.pk}-{self.school_a.pk}").click()
        expect(page.get_by_test_id("unit-name")).to_have_text(self.school_a.name)
        item = page.get_by_test_id(f"unit-task-{task.pk}")
        item.locator("textarea[name=note]").fill("方案已印发")
        self.fits()
        item.get_by_test_id("mark-done").click()
        expect(page.get_by_test_id(f"unit-task-{task.pk}").get_by_test_id("done")).to_be_visible()
        page.get_by_test_id("summary-link").click()
        page.locator("textarea[name=text]").fill("一、工作开展情况\n二、存在问题\n三、下一步打算")
        self.fits()
        page.get_by_test_id("submit-summary").click()
        expect(page.get_by_test_id("summary-state")).to_be_visible()
        self.fits()
        self.screenshot("safecampus-campaign-school.png")
        done = TaskDone.objects.get()
        self.assertEqual((done.unit, done.note), (self.school_a, "方案已印发"))
        self.assertEqual(Summary.objects.get().unit, self.school_a)
        self.assert_no_console_errors()
