"""/api/v1/routines…: record (201; 422 naming the field), a school's checklist, the status of
the level above, the kinds; outside the caller's subtree 404."""

import datetime as dt

import time_machine

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.routines.models import RoutineRecord

from .test_services import DAY, RoutineCase, at


class RoutineApiTests(RoutineCase, ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.traveller = time_machine.travel(at(DAY, 12), tick=False)
        self.traveller.start()
        self.addCleanup(self.traveller.stop)

    def sample(self, person=None, **extra):  # noqa: ANN001, ANN003, ANN201
        body = {
            "unit_id": self.school_a.pk,
            "kind": "food_sample",
            "meal": "lunch",
            "dish": "清炒时蔬",
            "grams": 130,
            "at": "2026-11-24T11:40+08:00",
        } | extra
        return self.api(person or self.principal_a).post("/routines/records", body)

    def test_record_and_read_back(self) -> None:
        created = self.sample()
        self.assertEqual(created.status_code, 201, created.content)
        body = created.json()
        self.assertEqual((body["underweight"], body["recorded_by"]), (False, self.principal_a.name))
        kept = dt.datetime.fromisoformat(body["kept_until"])
        self.assertEqual(kept, at(DAY, 11, 40) + dt.timedelta(hours=48))
        self.assertTrue(self.sample(grams=100).json()["underweight"])
        for _ in range(5):
            self.api(self.teacher_a).post(
                "/routines/records", {"unit_id": self.school_a.pk, "kind": "gate_patrol"}
            )
        checklist = self.api(self.principal_a).get(f"/routines/units/{self.school_a.pk}").json()
        items = {i["kind"]["code"]: i for i in checklist["items"]}
        self.assertEqual(
            set(items), {"fire_patrol", "food_sample", "meal", "gate_patrol", "fire_check"}
        )
        self.assertEqual(
            (items["gate_patrol"]["done"], items["gate_patrol"]["complete"]), (5, True)
        )
        self.assertEqual(len(items["food_sample"]["records"]), 2)
        status = self.api(self.officer).get("/routines/status", date=str(DAY)).json()
        self.assertEqual(status["unit"]["unit_id"], self.bureau.pk)
        rows = {r["unit_id"]: r for r in status["children"]}
        self.assertEqual(rows[self.group_1.pk]["complete"], 2)  # the samples, the gate
        self.assertEqual(rows[self.group_2.pk]["short"], 3)
        kinds = self.api(self.duty_b).get("/routines/kinds", unit_id=self.school_b.pk).json()
        self.assertEqual(next(k for k in kinds if k["code"] == "gate_patrol")["required"], 5)

    def test_422_names_the_field(self) -> None:
        self.assertError(self.sample(grams=None), 422, "grams")
        self.assertError(self.sample(grams=0), 422, "grams")
        self.assertError(self.sample(dish=""), 422, "dish")
        self.assertError(self.sample(meal="supper"), 422, "meal")
        self.assertError(self.sample(kind="nap"), 422, "kind")
        self.assertError(self.sample(at="2026-11-23T11:40+08:00"), 422, "at")
        self.assertError(self.sample(at=0), 422, "at")
        self.assertError(self.sample(note="x" * 501), 422, "note")
        fire = {"unit_id": self.school_a.pk, "kind": "fire_patrol", "exits_clear": True}
        self.assertError(
            self.api(self.principal_a).post("/routines/records", fire), 422, "extinguishers_ok"
        )
        self.assertError(self.sample(person=self.officer, unit_id=self.group_1.pk), 404)
        self.assertFalse(RoutineRecord.objects.exists())

    def test_outside_the_subtree_is_not_found(self) -> None:
        duty_b = self.api(self.duty_b)
        self.assertError(self.sample(person=self.duty_b), 404)
        self.assertError(duty_b.get(f"/routines/units/{self.school_a.pk}"), 404)
        self.assertError(duty_b.get("/routines/status", unit_id=self.group_1.pk), 404)
        self.assertError(duty_b.get("/routines/kinds", unit_id=self.school_a.pk), 404)
        self.assertError(duty_b.get(f"/routines/units/{2**63}"), 404)
        self.assertError(duty_b.get("/routines/status", unit_id=0), 422, "unit_id")
        self.assertError(
            self.api(self.sysadmin).post(
                "/routines/records", {"unit_id": self.school_a.pk, "kind": "gate_patrol"}
            ),
            404,
        )
        self.assertError(self.api(None).get("/routines/status"), 401)
        own = duty_b.get("/routines/status").json()
        self.assertEqual(own["unit"]["unit_id"], self.school_b.pk)
        self.assertFalse(RoutineRecord.objects.exists())
