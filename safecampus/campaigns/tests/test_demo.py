"""The demo's campaigns: the bureau's winter campaign in its implementation phase with a level-2
order in force issued through it and its measures about half confirmed, tasks done and overdue;
a group's past campaign with its summaries (one missing). Its pages open for the demo logins."""

from django.test import TestCase
from django.utils import timezone, translation

from safecampus.campaigns import selectors
from safecampus.campaigns.models import Campaign, SwitchKind
from safecampus.demo.district import demo_load
from safecampus.levels import selectors as levels
from safecampus.orgs.models import Person, Unit


class DemoCampaignTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        demo_load()

    def setUp(self) -> None:
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def test_a_campaign_in_its_implementation_phase_with_a_level_two_order(self) -> None:
        today = timezone.localdate()
        campaign = Campaign.objects.get(unit__name="清河区教育局")
        self.assertEqual(campaign.state(today), "running")
        self.assertEqual(selectors.current_phase(campaign, today).name, "组织实施")
        self.assertGreaterEqual(campaign.members.count(), 3)
        switch = campaign.switches.get(kind=SwitchKind.ORDER)
        self.assertTrue(switch.order.in_force(timezone.now()))
        school = Unit.objects.get(name="城关镇中心小学")
        self.assertEqual(levels.effective_level(school).level, 2)
        progress = levels.progress(switch.order)
        self.assertGreater(progress.done, progress.total // 4)
        self.assertLess(progress.done, progress.total * 3 // 4)
        tasks = selectors.task_progress(campaign)
        self.assertTrue(selectors.overdue(tasks))
        self.assertTrue(any(p.done for p in tasks))

    def test_a_past_campaign_with_summaries_one_missing(self) -> None:
        past = Campaign.objects.get(unit__name="城关学区")
        self.assertEqual(past.state(), "over")
        self.assertIsNotNone(past.summaries_requested_at)
        counts = selectors.summary_counts(selectors.summaries(past))
        self.assertEqual(counts["missing"], 1)
        self.assertEqual(counts["late"], 1)
        self.assertGreater(counts["submitted"], 3)

    def test_the_pages_open_for_the_demo_logins(self) -> None:
        campaign = Campaign.objects.get(unit__name="清河区教育局")
        school = Unit.objects.get(name="城关镇中心小学")
        west = Unit.objects.get(name="西山镇中心小学")
        for username in ("bureau.admin", "school.principal", "school.safety", "other.principal"):
            client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
            client.force_login(Person.objects.get(username=username))
            self.assertEqual(client.get("/campaigns/").status_code, 200, username)
            page = client.get(f"/campaigns/{campaign.pk}/")
            self.assertContains(page, "组织实施", msg_prefix=username)
        principal = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        principal.force_login(Person.objects.get(username="school.principal"))
        self.assertContains(principal.get(f"/campaigns/{campaign.pk}/units/{school.pk}/"), "Done")
        self.assertEqual(
            principal.get(f"/campaigns/{campaign.pk}/units/{west.pk}/").status_code, 404
        )
        other = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        other.force_login(Person.objects.get(username="other.principal"))
        self.assertContains(other.get("/campaigns/"), "overdue")
