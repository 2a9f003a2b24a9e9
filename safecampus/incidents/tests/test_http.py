"""The incident pages and /api/v1/incidents: report, see, acknowledge, write up; other units
answer 404, other roles 403; bad input answers with the field and keeps what was typed."""

import datetime as dt

import time_machine
from django.urls import reverse

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.incidents import services
from safecampus.incidents.models import Call, EntryKind, Incident, Kind, State

from .base import NOON, IncidentCase

WRITTEN = {
    "grade": "4",
    "category": "accident",
    "source": "值班员电话",
    "scope": "食堂后厨",
    "affected": "无人受伤",
    "trend": "已扑灭",
    "measures": "切断燃气，疏散学生",
}
FINAL = {
    "cause": "油锅过热",
    "handling": "灭火器扑灭",
    "losses": "灶台损坏",
    "lessons": "厨房人员培训不足",
    "corrective": "每月消防演练",
}


class IncidentPagesTests(IncidentCase):
    def test_quick_report_from_the_form_then_the_page_shows_chain_and_numbers(self) -> None:
        client = self.client_for(self.duty_b)
        page = client.get(reverse("incidents:new"))
        self.assertContains(page, 'href="tel:119"')
        with time_machine.travel(NOON, tick=False):
            response = client.post(
                reverse("incidents:new"),
                {
                    "unit": self.school_b.pk,
                    "kind": Kind.FIRE,
                    "summary": "食堂后厨起火",
                    "injured": 0,
                    "place": "食堂",
                },
            )
            incident = Incident.objects.get()
            self.assertRedirects(response, reverse("incidents:detail", args=[incident.pk]))
            detail = client.get(reverse("incidents:detail", args=[incident.pk]))
        self.assertContains(detail, "食堂后厨起火")
        self.assertContains(detail, 'data-testid="acknowledge"')  # duty_b was called too
        self.assertContains(detail, self.leader_b.name)

    def test_the_form_keeps_what_was_typed_and_names_the_field(self) -> None:
        client = self.client_for(self.duty_b)
        response = client.post(
            reverse("incidents:new"),
            {"unit": self.school_b.pk, "kind": "", "summary": "门口有陌生人徘徊", "injured": 0},
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "门口有陌生人徘徊")
        self.assertIn("kind", response.context["form"].errors)
        self.assertFalse(Incident.objects.exists())

    def test_sos_reports_in_two_taps_at_ones_own_unit(self) -> None:
        client = self.client_for(self.duty_b)
        page = client.get(reverse("incidents:sos"))
        self.assertContains(page, 'data-testid="sos-fire"')
        response = client.post(reverse("incidents:sos"), {"kind": Kind.FIRE})
        incident = Incident.objects.get()
        self.assertEqual(incident.unit, self.school_b)
        self.assertRedirects(response, reverse("incidents:detail", args=[incident.pk]))
        self.assertTrue(Call.objects.filter(stage__incident=incident).exists())

    def test_another_units_incident_is_not_found_and_writing_it_up_is_refused(self) -> None:
        with time_machine.travel(NOON, tick=False):
            incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
            )
        outsider = self.client_for(self.principal_a)
        self.assertEqual(
            outsider.get(reverse("incidents:detail", args=[incident.pk])).status_code, 404
        )
        self.assertEqual(
            self.client_for(self.duty_b)
            .get(reverse("incidents:written", args=[incident.pk]))
            .status_code,
            403,
        )
        self.assertNotContains(
            self.client_for(self.principal_a).get(reverse("incidents:list")), "起火"
        )

    def test_written_report_form_keeps_what_was_typed_and_names_each_missing_field(self) -> None:
        with time_machine.travel(NOON, tick=False):
            incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
            )
        client = self.client_for(self.leader_b)
        response = client.post(
            reverse("incidents:written", args=[incident.pk]),
            WRITTEN | {"scope": "", "trend": ""},
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(set(response.context["form"].errors), {"scope", "trend"})
        self.assertContains(response, "切断燃气，疏散学生")
        response = client.post(reverse("incidents:written", args=[incident.pk]), WRITTEN)
        self.assertRedirects(response, reverse("incidents:detail", args=[incident.pk]))
        client.post(reverse("incidents:final", args=[incident.pk]), FINAL)
        incident.refresh_from_db()
        self.assertEqual(incident.state, State.CLOSED)

    def test_acknowledge_button_records_the_call(self) -> None:
        with time_machine.travel(NOON, tick=False):
            incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
            )
        client = self.client_for(self.leader_b)
        client.post(reverse("incidents:ack", args=[incident.pk]))
        self.assertTrue(
            Call.objects.get(stage__incident=incident, person=self.leader_b).acknowledged_at
        )
        self.assertNotContains(
            client.get(reverse("incidents:detail", args=[incident.pk])), 'data-testid="acknowledge"'
        )
        # someone the chain did not call: refused
        self.assertEqual(
            self.client_for(self.officer)
            .post(reverse("incidents:ack", args=[incident.pk]))
            .status_code,
            302,  # the officer was called (the bureau's safety office): acknowledged
        )
        self.assertEqual(
            self.client_for(self.teacher_a)
            .post(reverse("incidents:ack", args=[incident.pk]))
            .status_code,
            404,  # school A's teacher does not see school B
        )

    def test_minors_incident_hides_names_from_those_who_do_not_handle_it(self) -> None:
        with time_machine.travel(NOON, tick=False):
            incident = services.incident_report(
                by=self.leader_b, unit=self.school_b, kind=Kind.BULLYING, summary="欺凌"
            )
        duty_page = self.client_for(self.duty_b).get(
            reverse("incidents:detail", args=[incident.pk])
        )
        self.assertNotContains(duty_page, self.leader_b.name)
        self.assertContains(duty_page, "***")
        head_page = self.client_for(self.leader_b).get(
            reverse("incidents:detail", args=[incident.pk])
        )
        self.assertContains(head_page, self.leader_b.name)


class IncidentApiTests(IncidentCase, ApiTestCase):
    def create(self, person=None, **extra):  # noqa: ANN001, ANN003, ANN201
        body = {"unit_id": self.school_b.pk, "kind": "fire", "summary": "起火"} | extra
        return self.api(person or self.duty_b).post("/incidents", body)

    def test_create_list_get_timeline(self) -> None:
        response = self.create(occurred_at="2026-11-24T11:50")
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        self.assertEqual({s["level"] for s in body["stages"]}, {"unit", "bureau"})
        pk = body["id"]
        officer = self.api(self.officer)
        self.assertEqual([r["id"] for r in officer.get("/incidents", state="open").json()], [pk])
        self.assertEqual(officer.get("/incidents", state="closed").json(), [])
        self.assertEqual(officer.get(f"/incidents/{pk}").json()["unit_id"], self.school_b.pk)
        timeline = officer.get(f"/incidents/{pk}/timeline").json()
        self.assertEqual(timeline[0]["kind"], EntryKind.REPORTED)

    def test_bad_input_answers_422_naming_the_field(self) -> None:
        self.assertError(self.create(kind="meteor"), 422, "kind")
        self.assertError(self.create(summary=""), 422, "summary")
        self.assertError(self.create(occurred_at="2099-01-01T00:00"), 422, "occurred_at")
        self.assertError(self.create(injured=-1), 422, "injured")
        self.assertFalse(Incident.objects.exists())

    def test_outside_the_subtree_is_404_and_a_stranger_cannot_acknowledge(self) -> None:
        self.assertEqual(self.create(self.principal_a).status_code, 404)
        pk = self.create().json()["id"]
        self.assertEqual(self.api(self.principal_a).get(f"/incidents/{pk}").status_code, 404)
        self.assertEqual(self.api(self.principal_a).post(f"/incidents/{pk}/ack").status_code, 404)
        first = self.api(self.leader_b).post(f"/incidents/{pk}/ack")
        self.assertEqual(first.status_code, 200, first.content)
        again = self.api(self.leader_b).post(f"/incidents/{pk}/ack")
        self.assertEqual(again.json()["acknowledged_at"], first.json()["acknowledged_at"])
        self.assertEqual(
            Incident.objects.get().timeline.filter(kind=EntryKind.ACKNOWLEDGED).count(), 1
        )
        # duty_b sees the unit but was called, so may acknowledge; safety_b was not called yet
        self.assertError(self.api(self.safety_b).post(f"/incidents/{pk}/ack"), 403)

    def test_written_follow_up_final_and_missing_fields(self) -> None:
        pk = self.create().json()["id"]
        head = self.api(self.leader_b)
        body = self.assertError(
            head.post(f"/incidents/{pk}/written", WRITTEN | {"source": "", "measures": ""}), 422
        )
        self.assertEqual({e["field"] for e in body["errors"]}, {"source", "measures"})
        self.assertError(head.post(f"/incidents/{pk}/final", FINAL), 422)  # written first
        self.assertEqual(head.post(f"/incidents/{pk}/written", WRITTEN).status_code, 201)
        self.assertEqual(
            head.post(f"/incidents/{pk}/follow-up", {"changes": "已恢复供餐"}).status_code, 201
        )
        self.assertError(self.api(self.duty_b).post(f"/incidents/{pk}/final", FINAL), 403)
        self.assertEqual(head.post(f"/incidents/{pk}/final", FINAL).status_code, 201)
        self.assertEqual(self.api(self.officer).get(f"/incidents/{pk}").json()["state"], "closed")
        self.assertError(head.post(f"/incidents/{pk}/follow-up", {"changes": "x"}), 422)

    def test_escalation_visible_in_the_api_after_the_limit(self) -> None:
        with time_machine.travel(NOON, tick=False):
            pk = self.create().json()["id"]
        with time_machine.travel(NOON + dt.timedelta(minutes=12), tick=False):
            services.stage_limit_passed(
                stage_id=Incident.objects.get().stages.get(level="unit").pk, tier=0
            )
            stages = self.api(self.officer).get(f"/incidents/{pk}").json()["stages"]
        self.assertEqual({s["level"]: s["tier"] for s in stages}, {"unit": 1, "bureau": 0})


class PlanPagesAndApiTests(IncidentCase, ApiTestCase):
    def test_the_incident_page_shows_its_plan_and_a_called_person_ticks_a_step(self) -> None:
        with time_machine.travel(NOON, tick=False):
            incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
            )
        client = self.client_for(self.duty_b)
        page = client.get(reverse("incidents:detail", args=[incident.pk]))
        self.assertContains(page, "火灾事故应急预案")
        step = incident.steps.get(order=1)
        client.post(reverse("incidents:step", args=[incident.pk, step.pk]))
        step.refresh_from_db()
        self.assertEqual(step.done_by, self.duty_b)
        steps = self.api(self.officer).get(f"/incidents/{incident.pk}/steps").json()
        self.assertIsNotNone(steps[0]["done_at"])
        self.assertIsNone(steps[1]["done_at"])
        # another unit's step id through this incident: 404
        self.assertEqual(
            self.api(self.duty_b).post(f"/incidents/{incident.pk}/steps/999999/done").status_code,
            404,
        )

    def test_plans_page_edit_and_api(self) -> None:
        client = self.client_for(self.leader_b)
        page = client.get(reverse("incidents:plans", args=[self.school_b.pk]))
        self.assertContains(page, 'data-testid="edit-fire"')
        response = client.post(
            reverse("incidents:plan-edit", args=[self.school_b.pk, "fire"]),
            {"title": "本校火灾预案", "steps": "", "roles": "校长"},
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "本校火灾预案")  # kept
        self.assertIn("steps", response.context["form"].errors)
        client.post(
            reverse("incidents:plan-edit", args=[self.school_b.pk, "fire"]),
            {"title": "本校火灾预案", "steps": "报警\n疏散"},
        )
        got = self.api(self.duty_b).get(f"/incidents/plans/{self.school_b.pk}/fire").json()
        self.assertEqual(got["steps"], ["报警", "疏散"])
        put = self.api(self.leader_b)._send(
            "put", f"/incidents/plans/{self.school_b.pk}/drowning", {"title": "防溺水", "steps": []}
        )
        self.assertError(put, 422, "steps")
        refused = self.api(self.duty_b)._send(
            "put", f"/incidents/plans/{self.school_b.pk}/drowning", {"title": "x", "steps": ["a"]}
        )
        self.assertError(refused, 403)
        self.assertEqual(
            self.client_for(self.duty_b)
            .get(reverse("incidents:plan-edit", args=[self.school_b.pk, "fire"]))
            .status_code,
            403,
        )
        self.assertEqual(
            self.api(self.principal_a).get(f"/incidents/plans/{self.school_b.pk}/fire").status_code,
            404,
        )


class OverviewTests(IncidentCase, ApiTestCase):
    def test_open_by_grade_waiting_late_steps_by_category_and_unit(self) -> None:
        now = dt.datetime.now(tz=NOON.tzinfo).replace(microsecond=0)
        with time_machine.travel(now - dt.timedelta(hours=3), tick=False):
            fire = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火", grade="2"
            )
        with time_machine.travel(now - dt.timedelta(minutes=5), tick=False):
            services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.INFECTIOUS, summary="发热"
            )
        with time_machine.travel(now - dt.timedelta(hours=1), tick=False):
            services.incident_write(by=self.leader_b, incident=fire, **(WRITTEN | {"grade": "2"}))
        stats = self.api(self.officer).get("/incidents/stats").json()
        grades = {r["grade"]: r for r in stats["open_by_grade"]}
        self.assertEqual(grades["2"]["under_24h"], 1)
        self.assertEqual(grades["4"]["under_1h"], 1)
        self.assertEqual(stats["month_total"], 2)
        self.assertEqual(stats["waiting"], 4)  # nobody acknowledged: two stages each
        self.assertEqual(stats["overdue"], 2)  # the fire's unit (10 min) and bureau (1 h)
        self.assertEqual(stats["late_steps"], 1)  # the written report, 2 h after (limit 1 h)
        self.assertEqual(
            {r["key"]: r["n"] for r in stats["by_category"]}, {"accident": 1, "health": 1}
        )
        self.assertEqual(
            stats["by_unit"], [{"unit_id": self.school_b.pk, "unit": "西山小学", "n": 2, "late": 1}]
        )
        page = self.client_for(self.officer).get(reverse("incidents:overview"))
        self.assertContains(page, 'data-testid="late-steps">1<')
        # another group's principal sees none of it
        other = self.api(self.principal_a).get("/incidents/stats").json()
        self.assertEqual((other["month_total"], other["waiting"]), (0, 0))
        self.assertError(self.api(self.officer).get("/incidents/stats", month="2026-13"), 422)


class LessonToHazardTests(IncidentCase):
    def test_one_action_puts_the_lesson_in_the_ledger_once(self) -> None:
        from safecampus.hazards.models import Hazard

        with time_machine.travel(NOON, tick=False):
            incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
            )
        client = self.client_for(self.leader_b)
        client.post(reverse("incidents:to-hazard", args=[incident.pk]))  # no final report yet
        self.assertFalse(Hazard.objects.exists())
        services.incident_write(by=self.leader_b, incident=incident, **WRITTEN)
        services.incident_close(by=self.leader_b, incident=incident, **FINAL)
        page = client.get(reverse("incidents:detail", args=[incident.pk]))
        self.assertContains(page, 'data-testid="to-hazard"')
        response = client.post(reverse("incidents:to-hazard", args=[incident.pk]))
        hazard = Hazard.objects.get()
        self.assertRedirects(response, reverse("hazards:detail", args=[hazard.pk]))
        self.assertEqual((hazard.unit, hazard.category), (self.school_b, "fire"))
        self.assertIn(FINAL["lessons"], hazard.description)
        self.assertEqual(hazard.interim, FINAL["corrective"])
        client.post(reverse("incidents:to-hazard", args=[incident.pk]))
        self.assertEqual(Hazard.objects.count(), 1)
        self.assertEqual(
            self.client_for(self.duty_b)
            .post(reverse("incidents:to-hazard", args=[incident.pk]))
            .status_code,
            403,
        )
