"""Duty pages: who sees and does what (B cannot see A), planning through the page, who is
on duty now with tap-to-call numbers and the fallback, the log and handover, the gaps."""

import datetime as dt

from django.utils import translation

from safecampus.duty import services
from safecampus.duty.models import DayKind, DutyLogEntry, Shift, ShiftTemplate

from .test_duty_services import MONTH, TUESDAY, DutyCase, at, travel


class DutyPagesTest(DutyCase):
    def test_pages_answer_and_b_cannot_see_a(self) -> None:
        self.plan()
        shift = self.shift_on(TUESDAY, "白班")
        a = self.school_a.pk
        pages = [
            f"/duty/units/{a}/?month=2030-03",
            f"/duty/units/{a}/now/",
            f"/duty/shifts/{shift.pk}/",
            f"/duty/now/?unit={a}",
            f"/duty/gaps/?unit={a}",
        ]
        principal = self.client_for(self.principal_a)
        for url in [*pages, "/duty/", f"/duty/units/{a}/plan/"]:
            self.assertEqual(principal.get(url).status_code, 200, url)
        other = self.client_for(self.duty_b)
        for url in [*pages, f"/duty/units/{a}/plan/"]:
            self.assertEqual(other.get(url).status_code, 404, url)
        self.assertEqual(other.post(f"/duty/units/{a}/chase/").status_code, 404)
        self.assertEqual(other.post(f"/duty/shifts/{shift.pk}/delete/").status_code, 404)
        # Duty staff of A see the roster, but do not plan it; administrators do not either.
        self.assertEqual(
            self.client_for(self.duty_a1).get(f"/duty/units/{a}/plan/").status_code, 403
        )
        self.assertEqual(
            self.client_for(self.sysadmin).get(f"/duty/units/{a}/plan/").status_code, 403
        )

    def test_plan_a_month_through_the_page(self) -> None:
        client = self.client_for(self.principal_a)
        url = f"/duty/units/{self.school_a.pk}/plan/"
        bad = client.post(
            url, {"action": "template", "name": "", "start": "08:00", "end": "18:00", "order": 0}
        )
        self.assertEqual(bad.status_code, 400)
        self.assertContains(bad, "18:00", status_code=400)  # what was typed stays
        client.post(
            url,
            {"action": "template", "name": "全天", "start": "08:00", "end": "08:00", "order": 0},
        )
        template = ShiftTemplate.objects.get(unit=self.school_a)
        self.assertTrue(template.crosses_midnight)
        for kind in DayKind.values:
            response = client.post(
                url,
                {
                    "action": "slot",
                    "template": template.pk,
                    "day_kind": kind,
                    "leader": self.principal_a.pk,
                    "staff": [self.duty_a1.pk],
                },
            )
            self.assertEqual(response.status_code, 302, kind)
        response = client.post(url, {"action": "plan", "month": "2030-03"})
        self.assertRedirects(response, f"/duty/units/{self.school_a.pk}/?month=2030-03")
        self.assertEqual(Shift.objects.filter(unit=self.school_a).count(), 31)
        roster = client.get(f"/duty/units/{self.school_a.pk}/?month=2030-03")
        self.assertEqual(roster.content.decode().count('data-testid="shift-row"'), 31)
        # February was not planned: the only gap is before the first 24-hour shift.
        self.assertContains(roster, 'data-testid="gap-row"', count=1)
        self.assertContains(roster, "03-01 00:00–03-01 08:00")

    def test_a_person_of_another_unit_refused_on_the_page(self) -> None:
        self.templates()
        template = ShiftTemplate.objects.filter(unit=self.school_a).first()
        response = self.client_for(self.principal_a).post(
            f"/duty/units/{self.school_a.pk}/plan/",
            {
                "action": "slot",
                "template": template.pk,
                "day_kind": "mon",
                "staff": [self.duty_b.pk],
            },
        )
        self.assertEqual(response.status_code, 400)  # not offered: not a valid choice

    def test_roster_highlights_a_gap(self) -> None:
        self.plan()
        services.shift_delete(by=self.principal_a, shift=self.shift_on(TUESDAY, "白班"))
        with translation.override("en"):
            response = self.client_for(self.principal_a).get(
                f"/duty/units/{self.school_a.pk}/?month=2030-03"
            )
        # Before the first night shift (February is not planned), the holiday's day shift
        # without a leader, and Tuesday's day shift removed.
        self.assertContains(response, 'data-testid="gap-row"', count=3)
        self.assertContains(response, "03-04 08:00–03-04 18:00 No leader on duty")
        self.assertContains(response, "03-05 08:00–03-05 18:00 Nobody on duty")

    def test_on_duty_now_with_tap_to_call_and_the_fallback(self) -> None:
        self.plan()
        services.shift_delete(by=self.principal_a, shift=self.shift_on(TUESDAY, "白班"))
        services.duty_settings_update(
            by=self.principal_a,
            unit=self.school_a,
            duty_phone="0571-88880000",
            remind_minutes=30,
            spot_check_minutes=5,
        )
        with travel(at(TUESDAY, 9)):
            response = self.client_for(self.officer).get(f"/duty/units/{self.school_a.pk}/now/")
        self.assertContains(response, 'data-testid="gap"')
        # The bureau manages the school: full numbers to call, the head first.
        self.assertContains(response, 'href="tel:13900000002"')
        self.assertContains(response, 'href="tel:13900000011"')
        with travel(at(TUESDAY, 20)):
            response = self.client_for(self.teacher_a).get(f"/duty/units/{self.school_a.pk}/now/")
            self.assertNotContains(response, 'data-testid="gap"')
            # A head teacher may not see colleagues' mobiles: masked, but the duty phone rings.
            self.assertContains(response, "139****0013")
            self.assertNotContains(response, "tel:13900000013")
            self.assertContains(response, 'href="tel:0571-88880000"')
            overview = self.client_for(self.officer).get(f"/duty/now/?unit={self.bureau.pk}")
        self.assertContains(overview, 'data-testid="now-row"', count=5)
        self.assertContains(overview, "tel:13900000013")

    def test_log_handover_and_take_over_through_the_page(self) -> None:
        self.plan()
        day = self.shift_on(TUESDAY, "白班")
        url = f"/duty/shifts/{day.pk}/"
        with travel(at(TUESDAY, 10)):
            client = self.client_for(self.duty_a1)
            response = client.post(url, {"action": "log", "kind": "patrol", "text": "巡查食堂"})
            self.assertEqual(response.status_code, 302)
            empty = client.post(url, {"action": "log", "kind": "patrol", "text": ""})
            self.assertEqual(empty.status_code, 400)
            # Someone not on the shift: no log form, and a post is refused with a message.
            refused = self.client_for(self.duty_a2).post(
                url, {"action": "log", "kind": "call", "text": "x"}
            )
            self.assertEqual(refused.status_code, 400)
        self.assertEqual(list(DutyLogEntry.objects.values_list("text", flat=True)), ["巡查食堂"])
        with travel(at(TUESDAY, 17, 50)):
            # A new session: the morning's has timed out (30 idle minutes).
            response = self.client_for(self.duty_a1).post(
                url, {"action": "handover", "note": "一切正常"}
            )
            self.assertEqual(response.status_code, 302)
            response = self.client_for(self.duty_a2).post(url, {"action": "take_over"})
            self.assertEqual(response.status_code, 302)
        day.refresh_from_db()
        self.assertEqual(day.taken_over_by, self.duty_a2)

    def test_gaps_overview_and_chase(self) -> None:
        self.plan()
        with travel(at(TUESDAY, 0)):
            services.shift_delete(by=self.principal_a, shift=self.shift_on(TUESDAY, "夜班"))
            services.gaps_rescan()
            client = self.client_for(self.officer)
            response = client.get(f"/duty/gaps/?unit={self.bureau.pk}")
            self.assertContains(response, 'data-testid="gap-unit"', count=5)
            response = client.post(
                f"/duty/units/{self.school_a.pk}/chase/", {"root": str(self.bureau.pk)}
            )
            self.assertRedirects(response, f"/duty/gaps/?unit={self.bureau.pk}")
            # The principal sees the gaps of their own school but chases nobody above it.
            response = self.client_for(self.duty_a1).get(f"/duty/gaps/?unit={self.school_a.pk}")
            self.assertNotContains(response, 'data-testid="chase"')

    def test_swap_pages(self) -> None:
        self.plan()
        shift = self.shift_on(dt.date(2030, 3, 20), "白班")
        self.client_for(self.duty_a1).post(
            f"/duty/shifts/{shift.pk}/",
            {"action": "swap", "to_person": self.duty_a2.pk, "reason": "家中有事"},
        )
        swap = shift.swaps.get()
        url = f"/duty/swaps/{swap.pk}/"
        self.client_for(self.safety_a).post(url, {"decision": "accept"})  # not asked: refused
        swap.refresh_from_db()
        self.assertEqual(swap.status, "requested")
        self.client_for(self.duty_a2).post(url, {"decision": "accept"})
        self.client_for(self.principal_a).post(url, {"decision": "approve"})
        swap.refresh_from_db()
        self.assertEqual(swap.status, "approved")
        self.assertEqual(self.client_for(self.duty_b).get(url).status_code, 404)
        self.assertIn(self.duty_a2.pk, shift.members.values_list("person_id", flat=True))
        self.assertEqual(MONTH.month, 3)
