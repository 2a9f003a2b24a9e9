"""The worker at a campaign's end: each unit without a summary is asked for one (its office or
head), once — a second run, or a second worker, asks nobody again; a unit that wrote early is
not asked."""

import datetime as dt

import time_machine

from safecampus.campaigns import services, timers
from safecampus.campaigns.models import Campaign
from safecampus.notify.models import Notification
from safecampus.worker.models import Timer
from safecampus.worker.testing import drain

from .test_services import CampaignCase, at


class SummaryRequestTests(CampaignCase):
    def test_asked_at_the_end_once(self) -> None:
        self.school_a.head = self.principal_a
        self.school_a.save(update_fields=["head"])
        campaign = self.launch(ends_on=self.today_plus(9))
        timer = Timer.objects.get(key=f"campaigns:summaries:{campaign.pk}")
        self.assertEqual(timer.due_at, at(self.today_plus(10), 0))
        timers.plan_requests()  # a worker starting: the same timer
        self.assertEqual(Timer.objects.filter(kind=services.SUMMARIES).count(), 1)
        last = campaign.phases.order_by("-position").first()
        with time_machine.travel(at(last.starts_on), tick=False):
            services.summary_submit(
                by=self.principal_b, campaign=campaign, unit=self.school_b, text="已总结"
            )
        with time_machine.travel(at(self.today_plus(9), 23, 59), tick=False):
            drain()
        self.assertFalse(Notification.objects.filter(event="campaigns.summary_request").exists())
        with time_machine.travel(at(self.today_plus(10), 0, 5), tick=False):
            drain()
            drain()
            self.assertEqual(services.summaries_request(campaign_id=campaign.pk), 0)
        asked = Notification.objects.filter(event="campaigns.summary_request")
        self.assertEqual(
            {n.unit_id for n in asked}, {self.group_1.pk, self.group_2.pk, self.school_a.pk}
        )
        mine = asked.get(unit=self.school_a)
        self.assertEqual(
            list(mine.deliveries.values_list("person_id", flat=True).distinct()),
            [self.principal_a.pk],
        )
        self.assertIn(str(campaign.summary_due_on), mine.title)
        self.assertIsNotNone(Campaign.objects.get().summaries_requested_at)

    def today_plus(self, days: int) -> dt.date:
        return dt.date(2026, 11, 24) + dt.timedelta(days=days)
