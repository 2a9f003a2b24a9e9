"""The demo's drills, loaded on a fixed day late in the year: 城关镇中心小学 on track with a
roll call counted, a photo and a problem made a hazard; 西山镇中心小学 and 城关镇中心幼儿园
behind, worst first; the other schools without a plan, all told at the start of the month."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from safecampus.demo.district import demo_load
from safecampus.drills import selectors
from safecampus.drills.models import Drill, DrillPhoto, DrillProblem
from safecampus.hazards.models import Hazard
from safecampus.notify.models import Notification
from safecampus.orgs.models import Person, Unit

DAY = dt.datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


class DemoTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        with time_machine.travel(DAY, tick=True):
            demo_load()

    def test_one_school_on_track_two_behind_worst_first(self) -> None:
        bureau = Unit.objects.get(depth=1)
        found = selectors.behind(bureau, DAY.date())
        self.assertEqual(
            [p.unit.name for p in found.behind], ["西山镇中心小学", "城关镇中心幼儿园"]
        )
        self.assertEqual(found.on_track, 1)
        self.assertEqual(len(found.no_plan), found.units - 3)
        self.assertGreater(len(found.no_plan), 30)
        self.assertTrue(Notification.objects.filter(event="drill_behind").exists())
        self.assertTrue(Notification.objects.filter(event="drill_no_plan").exists())

    def test_the_latest_drill_has_its_roll_call_photo_and_a_hazard(self) -> None:
        school = Unit.objects.get(name="城关镇中心小学")
        latest = Drill.objects.filter(unit=school).latest("held_at")
        self.assertEqual(latest.roll_call.unit, school)
        self.assertIsNone(latest.roll_call.incident)
        self.assertEqual(latest.roll_call.counts.count(), 2)
        self.assertIsNotNone(latest.roll_call.closed_at)
        self.assertLess(latest.roll_call.started_at, timezone.now() - dt.timedelta(days=2))
        self.assertEqual(DrillPhoto.objects.filter(drill=latest).count(), 1)
        made = DrillProblem.objects.filter(drill=latest, hazard__isnull=False).get()
        hazard = Hazard.objects.get(pk=made.hazard_id)
        self.assertIn(f"/drills/{latest.pk}/", hazard.description)
        self.assertTrue(
            Drill.objects.filter(unit=school, evacuation_seconds__gt=120).exists()
        )  # one over the target
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(Person.objects.get(username="school.safety"))
        page = client.get(reverse("drills:detail", args=[latest.pk]))
        self.assertContains(page, 'data-testid="problem-hazard"', count=1)
        self.assertContains(page, 'data-testid="roll-total"')
        bureau = Client(HTTP_ACCEPT_LANGUAGE="en")
        bureau.force_login(Person.objects.get(username="bureau.admin"))
        index = bureau.get(reverse("drills:index"))
        self.assertContains(index, 'data-testid="behind-row"', count=2)
