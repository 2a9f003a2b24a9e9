"""/api/v1/campaigns…: launch (201; 422 naming the field), read, phases (set), tasks (create,
done per unit), members, switch-ons (orders, round, a refused schedule), summaries; another
school's tasks and other groups' campaigns are 404."""

import time_machine

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.campaigns.models import Campaign, TaskDone
from safecampus.reports import services as reports

from .test_services import DAY, CampaignCase, at


class CampaignApiTests(CampaignCase, ApiTestCase):
    def create(self, person=None, **extra):  # noqa: ANN001, ANN003, ANN201
        body = {
            "unit_id": self.bureau.pk,
            "name": "冬季安全专项整治行动",
            "goal": "消除隐患",
            "starts_on": "2026-11-24",
            "ends_on": "2026-12-23",
        } | extra
        return self.api(person or self.officer).post("/campaigns", body)

    def test_launch_read_and_run(self) -> None:
        refused = self.create(ends_on="2026-11-20")
        self.assertError(refused, 422, "ends_on", "before it starts")
        self.assertError(self.create(starts_on="11/24/2026"), 422, "starts_on")
        self.assertEqual(self.create(self.principal_a, unit_id=self.school_a.pk).status_code, 403)
        created = self.create()
        self.assertEqual(created.status_code, 201, created.content)
        body = created.json()
        cid = body["id"]
        self.assertEqual([p["name"] for p in body["phases"]][1], "组织实施")
        self.assertEqual(body["current_phase"]["name"], "动员部署")
        self.assertEqual((body["state"], body["summary_due_on"]), ("running", "2026-12-28"))
        api = self.api(self.officer)
        phases = body["phases"]
        outside = [dict(p, starts_on="2026-11-20") if i == 0 else p for i, p in enumerate(phases)]
        self.assertError(
            api.put(f"/campaigns/{cid}/phases", {"phases": outside}),
            422,
            "phases.0.starts_on",
            "outside the campaign's window",
        )
        task = api.post(
            f"/campaigns/{cid}/tasks",
            {"phase_id": phases[0]["id"], "title": "制定方案", "due_on": "2026-11-27"},
        )
        self.assertEqual(task.status_code, 201, task.content)
        tid = task.json()["id"]
        self.assertError(
            api.post(
                f"/campaigns/{cid}/tasks",
                {"phase_id": phases[0]["id"], "title": "x", "due_on": "2027-01-01"},
            ),
            422,
            "due_on",
        )
        school = self.api(self.principal_a)
        done = school.post(f"/campaigns/{cid}/tasks/{tid}/done", {"unit_id": self.school_a.pk})
        self.assertEqual(done.status_code, 201, done.content)
        again = school.post(f"/campaigns/{cid}/tasks/{tid}/done", {"unit_id": self.school_a.pk})
        self.assertEqual((again.status_code, again.json()["created"]), (200, False))
        other = self.api(self.principal_b)
        self.assertEqual(
            other.post(
                f"/campaigns/{cid}/tasks/{tid}/done", {"unit_id": self.school_a.pk}
            ).status_code,
            404,
        )
        self.assertEqual(other.get(f"/campaigns/{cid}/tasks/{tid}").status_code, 403)
        self.assertEqual(TaskDone.objects.count(), 1)
        units = {r["unit_id"]: r["state"] for r in api.get(f"/campaigns/{cid}/tasks/{tid}").json()}
        self.assertEqual(units[self.school_a.pk], "done")
        self.assertEqual(units[self.school_b.pk], "not_done")
        read = api.get(f"/campaigns/{cid}").json()
        self.assertEqual(read["tasks"][0]["done_on_time"], 1)
        self.assertEqual(read["tasks"][0]["not_done"], 3)
        due = school.get("/campaigns/tasks-due").json()
        self.assertEqual(due, [])
        self.assertEqual(len(other.get("/campaigns/tasks-due").json()), 1)
        member = api.post(
            f"/campaigns/{cid}/members",
            {"person_id": self.officer.pk, "position": "leader", "duty": "全面负责"},
        )
        self.assertEqual(member.status_code, 201, member.content)
        self.assertError(
            api.post(f"/campaigns/{cid}/members", {"person_id": self.officer.pk, "position": "x"}),
            422,
            "position",
        )
        self.assertEqual(
            api.delete(f"/campaigns/{cid}/members/{member.json()['id']}").status_code, 204
        )

    def test_switch_ons(self) -> None:
        cid = self.create().json()["id"]
        api = self.api(self.officer)
        orders = api.post(
            f"/campaigns/{cid}/switch-ons/orders",
            {
                "orders": [
                    {"level": 2, "starts_on": "2026-11-24", "ends_on": "2026-11-30"},
                    {"level": 1, "starts_on": "2026-12-01", "ends_on": "2026-12-23"},
                ]
            },
        )
        self.assertEqual(orders.status_code, 201, orders.content)
        self.assertEqual([o["level"] for o in orders.json()], [2, 1])
        self.assertError(
            api.post(
                f"/campaigns/{cid}/switch-ons/orders",
                {"orders": [{"level": 3, "starts_on": "2026-11-24", "ends_on": "2026-11-30"}]},
            ),
            422,
            "orders.0.level",
        )
        round_ = api.post(
            f"/campaigns/{cid}/switch-ons/round",
            {"kind": "self", "title": "专项自查", "categories": ["fire"]},
        )
        self.assertEqual(round_.status_code, 201, round_.content)
        reports.schedule_create(by=self.officer, root=self.bureau, name="日常日报", starts_on=DAY)
        self.assertError(
            api.post(f"/campaigns/{cid}/switch-ons/schedule", {}), 422, "starts_on", "日常日报"
        )
        listed = api.get(f"/campaigns/{cid}/switch-ons").json()
        self.assertEqual([s["kind"] for s in listed], ["order", "order", "round"])
        self.assertEqual(
            self.api(self.principal_a).get(f"/campaigns/{cid}/switch-ons").status_code, 403
        )

    def test_summaries_and_visibility(self) -> None:
        cid = self.create().json()["id"]
        west = self.create(unit_id=self.group_2.pk, name="西山专项").json()["id"]
        self.assertEqual(
            [c["id"] for c in self.api(self.principal_a).get("/campaigns").json()], [cid]
        )
        self.assertEqual(self.api(self.principal_a).get(f"/campaigns/{west}").status_code, 404)
        self.assertEqual(self.api(self.principal_a).get(f"/campaigns/{2**63}").status_code, 404)
        last = Campaign.objects.get(pk=cid).phases.order_by("-position").first()
        with time_machine.travel(at(last.starts_on), tick=False):
            school = self.api(self.principal_a)
            self.assertError(
                school.post(
                    f"/campaigns/{cid}/summaries", {"unit_id": self.school_a.pk, "text": ""}
                ),
                422,
                "text",
            )
            sent = school.post(
                f"/campaigns/{cid}/summaries", {"unit_id": self.school_a.pk, "text": "总结"}
            )
            self.assertEqual(sent.status_code, 201, sent.content)
            self.assertEqual(sent.json()["state"], "submitted")
            self.assertError(
                school.post(
                    f"/campaigns/{cid}/summaries",
                    {"unit_id": self.school_a.pk, "text": "x" * 10001},
                ),
                422,
                "text",
            )
            listed = self.api(self.officer).get(f"/campaigns/{cid}/summaries").json()
            self.assertEqual(
                {r["unit_id"]: r["state"] for r in listed}[self.school_a.pk], "submitted"
            )
            self.assertEqual(school.get(f"/campaigns/{cid}/summaries").status_code, 403)
