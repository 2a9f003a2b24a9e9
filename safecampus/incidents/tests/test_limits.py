"""Time limits per (category, grade, level): the defaults, a setting that changes the
clocks of the next incident, bounds, and who may set them."""

import datetime as dt

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.incidents import services
from safecampus.incidents.models import Kind, StageLevel

from .base import NOON, IncidentCase


class LimitTests(IncidentCase, ApiTestCase):
    VALUES = {
        "acknowledge_minutes": 5,
        "written_minutes": 40,
        "follow_up_hours": 12,
        "final_days": 5,
    }

    def test_defaults_then_a_setting_moves_the_next_incidents_clocks(self) -> None:
        table = {(r["category"], r["grade"], r["level"]): r for r in services.limits_table()}
        self.assertEqual(len(table), 6 * 4 * 2)
        self.assertEqual(table[("accident", "4", "unit")]["acknowledge_minutes"], 10)
        self.assertEqual(table[("accident", "1", "bureau")]["acknowledge_minutes"], 60)
        self.assertEqual(table[("accident", "4", "bureau")]["acknowledge_minutes"], 120)
        services.limit_set(
            by=self.officer, category="accident", grade="4", level="unit", **self.VALUES
        )
        with time_machine.travel(NOON, tick=False):
            incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
            )
        self.assertEqual(
            incident.stages.get(level=StageLevel.UNIT).due_at, NOON + dt.timedelta(minutes=5)
        )

    def test_bounds_and_who_may_set(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.limit_set(
                by=self.officer,
                category="accident",
                grade="9",
                level="unit",
                **(self.VALUES | {"acknowledge_minutes": 0}),
            )
        self.assertEqual(set(caught.exception.message_dict), {"grade", "acknowledge_minutes"})
        for person in (self.leader_b, self.principal_a):
            with self.assertRaises(PermissionDenied):
                services.limit_set(
                    by=person, category="accident", grade="4", level="unit", **self.VALUES
                )

    def test_page_and_api(self) -> None:
        client = self.client_for(self.officer)
        url = reverse("incidents:limits") + "?category=health&grade=2&level=bureau"
        bad = client.post(url, self.VALUES | {"final_days": 0})
        self.assertEqual(bad.status_code, 200)
        self.assertIn("final_days", bad.context["form"].errors)
        client.post(url, self.VALUES)
        got = self.api(self.leader_b).get("/incidents/limits").json()
        row = next(
            r for r in got if (r["category"], r["grade"], r["level"]) == ("health", "2", "bureau")
        )
        self.assertEqual((row["written_minutes"], row["is_default"]), (40, False))
        put = self.api(self.officer)._send(
            "put", "/incidents/limits/exam/1/unit", self.VALUES | {"written_minutes": 30}
        )
        self.assertEqual(put.json()["written_minutes"], 30)
        self.assertError(
            self.api(self.officer)._send("put", "/incidents/limits/exam/1/unit", {"final_days": 0}),
            422,
        )
        self.assertError(
            self.api(self.leader_b)._send("put", "/incidents/limits/exam/1/unit", self.VALUES), 403
        )
        self.assertEqual(self.client_for(self.leader_b).post(url, self.VALUES).status_code, 403)
