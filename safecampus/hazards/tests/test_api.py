"""/api/v1/hazards: report, the ledger paged by key, the steps; 404 outside the subtree,
403 for a step the caller may not take, 422 naming the field."""

import datetime as dt

from django.utils import timezone

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.hazards.models import Hazard

from .test_services import HazardCase


class HazardApiTests(HazardCase, ApiTestCase):
    def create(self, person=None, **extra):  # noqa: ANN001, ANN003, ANN201
        body = {
            "unit_id": self.school_a.pk,
            "category": "fire",
            "description": "灭火器过期",
        } | extra
        return self.api(person or self.teacher_a).post("/hazards", body)

    def test_report_page_and_the_whole_workflow(self) -> None:
        response = self.create(area_id=self.area_a.pk)
        self.assertEqual(response.status_code, 201, response.content)
        pk = response.json()["id"]
        self.assertEqual(response.json()["responsible"], self.teacher_a.name)
        for i in range(4):
            self.create(description=f"隐患 {i}")
        principal = self.api(self.principal_a)
        first = principal.get("/hazards", size=3).json()
        self.assertEqual(len(first["items"]), 3)
        second = principal.get("/hazards", size=3, after=first["next"]).json()
        self.assertEqual((len(second["items"]), second["next"]), (2, ""))
        teacher = self.api(self.teacher_a)
        self.assertEqual(teacher.post(f"/hazards/{pk}/fix").json()["status"], "fixing")
        self.assertError(teacher.post(f"/hazards/{pk}/submit", {"note": ""}), 422, "note")
        teacher.post(f"/hazards/{pk}/submit", {"note": "已更换"})
        self.assertError(teacher.post(f"/hazards/{pk}/verify", {"accept": True}), 403)
        self.assertError(principal.post(f"/hazards/{pk}/verify", {"accept": False}), 422, "reason")
        closed = principal.post(f"/hazards/{pk}/verify", {"accept": True}).json()
        self.assertEqual(closed["status"], "closed")
        kinds = [e["kind"] for e in principal.get(f"/hazards/{pk}").json()["events"]]
        self.assertEqual(kinds, ["reported", "fixing", "submitted", "closed"])

    def test_supervise_refer_and_the_walls(self) -> None:
        pk = self.create(severity="major", category="buildings", description="围墙开裂").json()[
            "id"
        ]
        deadline = str(timezone.localdate() + dt.timedelta(days=5))
        body = {
            "supervising_unit_id": self.bureau.pk,
            "supervisor_id": self.officer.pk,
            "deadline": deadline,
        }
        self.assertEqual(
            self.api(self.principal_a).post(f"/hazards/{pk}/supervise", body).status_code, 404
        )
        done = self.api(self.officer).post(f"/hazards/{pk}/supervise", body)
        self.assertEqual(done.json()["supervising_unit_id"], self.bureau.pk, done.content)
        other = self.create(category="surroundings", description="路口无斑马线").json()["id"]
        self.assertError(
            self.api(self.principal_a).post(f"/hazards/{other}/refer", {"authority": ""}),
            422,
            "authority",
        )
        self.assertEqual(
            self.api(self.principal_a)
            .post(f"/hazards/{other}/refer", {"authority": "交警"})
            .json()["status"],
            "referred",
        )
        self.assertEqual(self.create(self.duty_b).status_code, 404)
        self.assertEqual(self.api(self.duty_b).get(f"/hazards/{pk}").status_code, 404)
        self.assertError(self.create(category="volcano"), 422, "category")
        self.assertError(self.create(deadline="2000-01-01"), 422, "deadline")
        self.assertEqual(Hazard.objects.count(), 2)
