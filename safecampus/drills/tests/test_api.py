"""/api/v1/drills…: record (201; 422 naming the field and why), list and one drill, photos
(multipart, checked by content), a problem into the ledger (201, then 200 with the same
hazard), the roll call, plans (GET the default, PUT), who is behind; outside the caller's
units 404."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from safecampus.api.tests.test_api import API, ApiTestCase
from safecampus.drills.models import Drill, DrillPlan
from safecampus.hazards.models import Hazard
from safecampus.orgs.services import token_issue

from .base import DrillCase, jpeg


def body(unit_id: int, **extra: object) -> dict[str, object]:
    return {
        "unit_id": unit_id,
        "kind": "fire",
        "held_at": "2026-11-23T09:30+08:00",
        "enrolled": 500,
        "evacuated": 490,
        "staff": 30,
        "evacuation_seconds": 118,
        "floors": 4,
        "problems": ["三楼东侧疏散指示灯不亮"],
    } | extra


class DrillApiTests(DrillCase, ApiTestCase):
    def test_record_read_list_and_make_a_problem_a_hazard(self) -> None:
        created = self.api(self.principal_a).post("/drills", body(self.school_a.pk))
        self.assertEqual(created.status_code, 201, created.content)
        drill = created.json()
        self.assertEqual(
            (drill["evacuation_time"], drill["target_met"], drill["recorded_by"]),
            ("1:58", True, self.principal_a.name),
        )
        (problem,) = drill["problems"]
        self.assertIsNone(problem["hazard_id"])
        got = self.api(self.teacher_a).get(f"/drills/{drill['id']}")
        self.assertEqual(got.json()["problems"], drill["problems"])
        url = f"/drills/{drill['id']}/problems/{problem['id']}/hazard"
        first = self.api(self.principal_a).post(url)
        self.assertEqual(first.status_code, 201, first.content)
        again = self.api(self.officer).post(url)
        self.assertEqual(again.status_code, 200, again.content)
        self.assertEqual(again.json()["hazard_id"], first.json()["hazard_id"])
        self.assertFalse(again.json()["created"])
        self.assertEqual(Hazard.objects.count(), 1)
        self.assertEqual(
            self.api(self.principal_a)
            .get(f"/drills/{drill['id']}")
            .json()["problems"][0]["hazard_id"],
            first.json()["hazard_id"],
        )
        listed = self.api(self.officer).get("/drills", unit_id=self.group_1.pk, year=2026)
        self.assertEqual(
            (listed.json()["count"], listed.json()["items"][0]["id"]), (1, drill["id"])
        )
        self.assertEqual(self.api(self.officer).get("/drills", kind="flood").json()["count"], 0)

    def test_refusals_name_the_field_and_the_reason(self) -> None:
        api = self.api(self.principal_a)
        self.assertError(
            api.post("/drills", body(self.school_a.pk, enrolled=500, evacuated=520)),
            422,
            "evacuated",
            "Evacuated 520 but only 500 enrolled",
        )
        self.assertError(
            api.post("/drills", body(self.school_a.pk, held_at="2026-12-01T09:00+08:00")),
            422,
            "held_at",
            "still to come",
        )
        self.assertError(api.post("/drills", body(self.school_a.pk, kind="tsunami")), 422, "kind")
        self.assertError(api.post("/drills", body(self.school_a.pk, staff=-1)), 422, "staff")
        self.assertError(
            api.post("/drills", body(self.school_a.pk, evacuation_seconds=0)),
            422,
            "evacuation_seconds",
        )
        self.assertError(
            api.post("/drills", body(self.school_a.pk, held_at="2026-11-23")), 422, "held_at"
        )
        self.assertError(
            api.post("/drills", body(self.school_a.pk, held_at="2026-11-23T09:30")),
            422,
            "held_at",
            "time zone",
        )
        self.assertFalse(Drill.objects.exists())

    def test_school_b_gets_404_for_everything_of_school_a(self) -> None:
        drill = self.api(self.principal_a).post("/drills", body(self.school_a.pk)).json()
        b = self.api(self.principal_b)
        self.assertError(b.post("/drills", body(self.school_a.pk)), 404)
        self.assertError(b.get(f"/drills/{drill['id']}"), 404)
        problem = drill["problems"][0]["id"]
        self.assertError(b.post(f"/drills/{drill['id']}/problems/{problem}/hazard"), 404)
        self.assertError(b.post(f"/drills/{drill['id']}/roll-call"), 404)
        self.assertError(b.get(f"/drills/plans/{self.school_a.pk}"), 404)
        self.assertError(
            b.put(f"/drills/plans/{self.school_a.pk}", {"year": 2026, "counts": {"fire": 1}}), 404
        )
        self.assertError(b.get("/drills/behind", unit_id=self.school_a.pk), 404)
        self.assertEqual(b.get("/drills").json()["count"], 0)
        self.assertError(self.api(self.teacher_a).post("/drills", body(self.school_a.pk)), 403)
        self.assertEqual(Drill.objects.count(), 1)
        self.assertEqual(Hazard.objects.count(), 0)

    def test_photos_checked_by_what_they_are(self) -> None:
        drill = self.api(self.principal_a).post("/drills", body(self.school_a.pk)).json()
        token = token_issue(person=self.principal_a)
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{API}/drills/{drill['id']}/photos"
        fake = SimpleUploadedFile("evil.jpg", b"<html>no</html>", content_type="image/jpeg")
        refused = client.post(url, {"photos": [fake]}, headers=headers)
        self.assertError(refused, 422, "photos", "evil.jpg is not a photo")
        good = SimpleUploadedFile("drill.jpg", jpeg(), content_type="image/jpeg")
        added = client.post(url, {"photos": [good]}, headers=headers)
        self.assertEqual(added.status_code, 201, added.content)
        (photo,) = added.json()
        self.assertEqual(client.get(photo["url"]).status_code, 302)  # pages: log in first
        self.assertEqual(
            self.api(self.teacher_a).get(f"/drills/{drill['id']}").json()["photos"][0]["id"],
            photo["id"],
        )
        other = Client(HTTP_ACCEPT_LANGUAGE="en")
        other.force_login(self.principal_b)
        self.assertEqual(other.get(photo["url"]).status_code, 404)

    def test_roll_call_open_count_close(self) -> None:
        drill = self.api(self.principal_a).post("/drills", body(self.school_a.pk)).json()
        url = f"/drills/{drill['id']}/roll-call"
        self.assertError(self.api(self.principal_a).get(url), 404)  # not opened yet
        self.assertError(self.api(self.teacher_a).post(url), 403)
        opened = self.api(self.principal_a).post(url)
        self.assertEqual(opened.status_code, 201, opened.content)
        self.assertEqual(
            sorted(opened.json()["not_counted"]),
            sorted([self.teacher_a.name, self.teacher_a2.name]),
        )
        counted = self.api(self.teacher_a).post(
            f"{url}/counts", {"class_name": "一年级一班", "present": 40, "absent": 1}
        )
        self.assertEqual((counted.json()["present"], counted.json()["absent"]), (40, 1))
        self.assertError(
            self.api(self.teacher_a2).post(
                f"{url}/counts", {"class_name": "", "present": 30, "absent": 0}
            ),
            422,
            "class_name",
        )
        self.assertError(
            self.api(self.duty_b).post(
                f"{url}/counts", {"class_name": "x", "present": 1, "absent": 0}
            ),
            404,
        )
        closed = self.api(self.principal_a).post(f"{url}/close")
        self.assertIsNotNone(closed.json()["closed_at"])
        self.assertEqual(
            self.api(self.principal_a).get(f"/drills/{drill['id']}").json()["roll_call_result"],
            "Present 40, absent 1, 1 class counted.",
        )

    def test_plans_and_who_is_behind(self) -> None:
        url = f"/drills/plans/{self.school_a.pk}"
        default = self.api(self.teacher_a).get(url).json()
        self.assertFalse(default["has_plan"])
        self.assertEqual(default["lines"][0]["kind"], "fire")
        self.assertEqual(default["lines"][0]["planned"], 10)
        self.assertError(
            self.api(self.principal_a).put(url, {"year": 2026, "counts": {"fire": 61}}),
            422,
            "counts.fire",
        )
        self.assertError(
            self.api(self.principal_a).put(url, {"year": 2026, "counts": {"tsunami": 1}}), 422
        )
        self.assertError(
            self.api(self.principal_a).put(url, {"year": 2031, "counts": {"fire": 4}}),
            422,
            "year",
        )
        saved = self.api(self.principal_a).put(
            url, {"year": 2026, "counts": {"fire": 10, "earthquake": 2}}
        )
        self.assertEqual(saved.status_code, 200, saved.content)
        self.assertTrue(saved.json()["has_plan"])
        self.assertEqual(DrillPlan.objects.filter(unit=self.school_a).count(), 2)
        self.assertError(
            self.api(self.teacher_a).put(url, {"year": 2026, "counts": {"fire": 1}}), 403
        )
        behind = self.api(self.officer).get("/drills/behind").json()
        self.assertEqual(behind["unit_id"], self.bureau.pk)
        self.assertEqual([p["unit_id"] for p in behind["behind"]], [self.school_a.pk])
        self.assertEqual(behind["behind"][0]["short"], 9)  # 8 fire, 1 earthquake
        self.assertEqual([p["unit_id"] for p in behind["no_plan"]], [self.school_b.pk])
        group = self.api(self.officer).get("/drills/behind", unit_id=self.group_2.pk).json()
        self.assertEqual((group["behind"], group["units"]), ([], 1))
        self.assertError(
            self.api(self.officer).get("/drills/behind", date="2027-01-01"), 422, "date"
        )
