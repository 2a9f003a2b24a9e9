"""The demo's routine checks: 城关镇中心小学's last school days, one missed (three gate patrols
of five) and told to its group; today begun; 城关镇第一中学 short today."""

from django.test import TestCase
from django.utils import timezone

from safecampus.demo.district import demo_load
from safecampus.notify.models import Notification
from safecampus.orgs.models import Unit
from safecampus.routines import selectors
from safecampus.routines.models import Code, RoutineTally


class DemoTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        demo_load()

    def test_history_with_one_missed_day_and_a_school_short_today(self) -> None:
        school = Unit.objects.get(name="城关镇中心小学")
        missed = RoutineTally.objects.filter(unit=school, missed=True, period="school_day")
        self.assertEqual(list(missed.values_list("code", "done")), [(Code.GATE_PATROL, 3)])
        self.assertEqual(
            RoutineTally.objects.filter(unit=school, period="school_day")
            .exclude(period_start=timezone.localdate())
            .filter(closed_at__isnull=True)
            .count(),
            0,
        )
        self.assertTrue(Notification.objects.filter(event="routine_missed").exists())
        other = Unit.objects.get(name="城关镇第一中学")
        (cl,) = selectors.checklists([other], timezone.localdate())
        gate = next(i for i in cl.items if i.kind.code == Code.GATE_PATROL)
        self.assertEqual((gate.done, gate.complete), (2, False))
        group = Unit.objects.get(path=school.path[: -Unit.steplen])
        status = selectors.status(group, missed.get().period_start)
        rows = {r.unit.pk: r for r in status.children}
        self.assertEqual(rows[school.pk].missed, 1)
