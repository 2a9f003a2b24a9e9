"""The pages: today's checklist, one tap for a gate patrol, the forms keep what was typed, a
failed fire patrol links to the hazard form prefilled, the level above's status and chase, a
bureau's settings; another school's pages are not found."""

import datetime as dt

import time_machine
from django.urls import reverse

from safecampus.notify.models import Notification
from safecampus.routines.models import Code, RoutineKind, RoutineRecord

from .test_services import DAY, RoutineCase, at


class PageTests(RoutineCase):
    def setUp(self) -> None:
        super().setUp()
        self.traveller = time_machine.travel(at(DAY, 10), tick=False)
        self.traveller.start()
        self.addCleanup(self.traveller.stop)

    def new(self, code: str, unit=None) -> str:  # noqa: ANN001
        return reverse("routines:new", args=[(unit or self.school_a).pk, code])

    def test_checklist_one_tap_patrol_and_a_food_sample(self) -> None:
        teacher = self.client_for(self.teacher_a)
        page = teacher.get(reverse("routines:checklist"))
        self.assertContains(page, self.school_a.name)
        self.assertContains(page, 'data-testid="patrol-now"')
        self.assertNotContains(page, self.school_b.name)
        response = teacher.post(self.new(Code.GATE_PATROL))
        self.assertRedirects(response, reverse("routines:unit", args=[self.school_a.pk]))
        self.assertEqual(RoutineRecord.objects.get().done_at, at(DAY, 10))
        bad = teacher.post(
            self.new(Code.FOOD_SAMPLE), {"meal": "lunch", "dish": "红烧鸡块", "grams": ""}
        )
        self.assertContains(bad, "红烧鸡块")  # kept what was typed
        self.assertIn("grams", bad.context["form"].errors)
        late = teacher.post(
            self.new(Code.FOOD_SAMPLE),
            {"meal": "lunch", "dish": "红烧鸡块", "grams": "90", "at": "11:30"},
        )
        self.assertIn("at", late.context["form"].errors)  # 11:30 is still to come at 10:00
        done = teacher.post(
            self.new(Code.FOOD_SAMPLE),
            {"meal": "lunch", "dish": "红烧鸡块", "grams": "90", "at": "09:30"},
            follow=True,
        )
        self.assertContains(done, 'data-testid="underweight"')
        self.assertContains(done, "11-26 09:30")  # kept until: 48 hours on
        self.assertContains(done, 'data-done="1" data-required="1"')

    def test_a_failed_fire_patrol_offers_a_hazard(self) -> None:
        principal = self.client_for(self.principal_a)
        principal.post(
            self.new(Code.FIRE_PATROL),
            {
                "exits_clear": "no",
                "extinguishers_ok": "yes",
                "hazards_found": "no",
                "note": "二楼通道堆放桌椅",
            },
        )
        page = principal.get(reverse("routines:unit", args=[self.school_a.pk]))
        link = page.context["lists"][0].items[0].records[0].hazard_link
        self.assertContains(page, 'data-testid="record-hazard"')
        form = principal.get(link)
        self.assertEqual(form.status_code, 200)
        initial = form.context["form"].initial
        self.assertEqual(
            (str(initial["unit"]), initial["category"]), (str(self.school_a.pk), "fire")
        )
        self.assertIn("二楼通道堆放桌椅", initial["description"])

    def test_other_schools_are_not_found(self) -> None:
        duty_b = self.client_for(self.duty_b)
        for url in (
            reverse("routines:unit", args=[self.school_a.pk]),
            self.new(Code.GATE_PATROL),
            reverse("routines:status") + f"?unit={self.school_a.pk}",
            reverse("routines:status") + f"?unit={self.group_1.pk}",
        ):
            self.assertEqual(duty_b.get(url).status_code, 404, url)
        self.assertEqual(duty_b.post(self.new(Code.GATE_PATROL)).status_code, 404)
        self.assertEqual(
            duty_b.post(reverse("routines:chase", args=[self.group_1.pk])).status_code, 404
        )
        self.assertFalse(RoutineRecord.objects.exists())
        self.assertEqual(duty_b.get(self.new("nonsense", self.school_b)).status_code, 404)
        self.assertEqual(duty_b.get(reverse("routines:kinds")).status_code, 404)
        # B's own: its checklist, but not the food sample (no canteen) as a kind it keeps.
        page = duty_b.get(reverse("routines:checklist"))
        self.assertContains(page, self.school_b.name)
        self.assertNotContains(page, 'data-testid="routine-food_sample"')

    def test_status_chase_and_settings_of_the_bureau(self) -> None:
        officer = self.client_for(self.officer)
        page = officer.get(reverse("routines:status"))
        self.assertEqual(page.context["s"].unit, self.bureau)
        self.assertContains(page, 'data-testid="child-row"', count=2)
        self.assertContains(page, 'data-testid="chase"')
        self.assertEqual(
            self.client_for(self.principal_a)
            .post(reverse("routines:chase", args=[self.bureau.pk]))
            .status_code,
            404,
        )
        officer.post(reverse("routines:chase", args=[self.bureau.pk]))
        chased = Notification.objects.filter(event="routine_chase")
        self.assertEqual({n.unit_id for n in chased}, {self.school_a.pk, self.school_b.pk})
        self.assertEqual(officer.get(reverse("routines:kinds")).status_code, 200)
        self.assertEqual(
            self.client_for(self.principal_a).get(reverse("routines:kinds")).status_code, 404
        )
        bad = officer.post(
            reverse("routines:kinds"),
            {
                "code": "gate_patrol",
                "gate_patrol-period": "school_day",
                "gate_patrol-required": "0",
                "gate_patrol-applies_to": "all",
                "gate_patrol-remind_at": "16:30",
                "gate_patrol-active": "on",
                "gate_patrol-min_grams": "125",
                "gate_patrol-keep_hours": "48",
            },
        )
        self.assertIn("required", bad.context["rows"][3][1].errors)
        officer.post(
            reverse("routines:kinds"),
            {
                "code": "gate_patrol",
                "gate_patrol-period": "school_day",
                "gate_patrol-required": "6",
                "gate_patrol-applies_to": "all",
                "gate_patrol-remind_at": "16:30",
                "gate_patrol-active": "on",
                "gate_patrol-min_grams": "125",
                "gate_patrol-keep_hours": "48",
            },
        )
        row = RoutineKind.objects.get()
        self.assertEqual((row.required, row.remind_at), (6, dt.time(16, 30)))
