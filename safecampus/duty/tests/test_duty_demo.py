"""The demo district's duty: this month's rosters in every unit, and exactly one gap."""

from django.test import TestCase, override_settings
from django.utils import timezone

from safecampus.demo.district import demo_load
from safecampus.duty import selectors, services
from safecampus.duty.models import CoverageGap, GapKind, Shift
from safecampus.orgs.models import Unit


@override_settings(SAFECAMPUS_DEMO_PASSWORD="Demo-check-77")
class DutyDemoTest(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        demo_load()

    def test_every_unit_has_this_months_roster_and_one_gap(self) -> None:
        units = Unit.objects.filter(kind__in=services.DUTY_KINDS)
        first, last = services.month_bounds(timezone.localdate())
        planned = set(
            Shift.objects.filter(day__gte=first, day__lte=last).values_list("unit_id", flat=True)
        )
        self.assertEqual(planned, set(units.values_list("pk", flat=True)))
        services.gaps_rescan()
        gaps = CoverageGap.objects.filter(kind=GapKind.NOBODY)
        self.assertEqual(set(gaps.values_list("unit__name", flat=True)), {"西山镇中心小学"})
        self.assertFalse(CoverageGap.objects.filter(kind=GapKind.NO_LEADER).exists())
        bureau = Unit.objects.get(depth=1)
        answers = selectors.on_duty_under(bureau)
        self.assertTrue(all(not a.is_gap for a in answers))
        self.assertEqual([r.unit.name for r in selectors.gaps_under(bureau)], ["西山镇中心小学"])
