"""/api/v1/duty: who is on duty now (a unit, a subtree), shifts, templates and the
pattern, planning, swaps, log and handover, spot checks, the feed link; B cannot see A."""

import datetime as dt

import time_machine

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.duty import spotchecks
from safecampus.duty.models import Shift, SpotCheck

from .edge_base import NOON, DutyCase


class DutyApiTests(DutyCase, ApiTestCase):
    def test_who_is_on_duty_now_for_a_unit_and_a_subtree(self) -> None:
        with time_machine.travel(NOON, tick=False):
            (b,) = self.api(self.officer).get("/duty/now", unit=self.school_b.pk).json()
            self.assertFalse(b["is_gap"])
            self.assertEqual([p["id"] for p in b["leaders"]], [self.leader_b.pk])
            self.assertEqual([p["id"] for p in b["staff"]], [self.duty_b.pk])
            self.assertEqual(b["leaders"][0]["mobile"], "13900000011")  # the level above: in full
            self.assertEqual(b["phone"], "0571-8888")
            self.assertEqual(b["at"], "2026-11-24T04:00:00Z")
            (asked,) = (
                self.api(self.officer)
                .get("/duty/now", unit=self.school_b.pk, at="2026-11-24T13:00:00+08:00")
                .json()
            )
            self.assertEqual(asked["at"], "2026-11-24T05:00:00Z")
            rows = self.api(self.officer).get("/duty/now", under=self.bureau.pk).json()
            by_unit = {r["unit_id"]: r for r in rows}
            self.assertIn(self.school_a.pk, by_unit)
            a = by_unit[self.school_a.pk]
            self.assertTrue(a["is_gap"])
            self.assertEqual([p["id"] for p in a["fallback"]], [self.safety_a.pk])
            # duty_b sees its own school; the leader's number masked, its own in full.
            (mine,) = self.api(self.duty_b).get("/duty/now", unit=self.school_b.pk).json()
            self.assertNotEqual(mine["leaders"][0]["mobile"], "13900000011")
            self.assertEqual(mine["staff"][0]["mobile"], "13900000003")

    def test_who_is_on_duty_at_one_unit_in_three_queries(self) -> None:
        """The token and its person; the unit with its duty phone, head and the people of
        the shifts covering the moment; the safety officers."""
        with time_machine.travel(NOON, tick=False):
            api = self.api(self.officer)
            api.get("/duty/now", unit=self.school_b.pk)  # the token's first use is written
            with self.assertNumQueries(3):
                (b,) = api.get("/duty/now", unit=self.school_b.pk).json()
            self.assertEqual([p["id"] for p in b["fallback"]], [self.leader_b.pk])

    def test_who_is_on_duty_at_a_unit_that_does_not_exist_is_404(self) -> None:
        api = self.api(self.officer)
        for pk in (999_999, 0, -1):
            self.assertError(api.get("/duty/now", unit=pk), 404)

    def test_b_cannot_see_a(self) -> None:
        api = self.api(self.duty_b)
        for path, params in [
            ("/duty/now", {"unit": self.school_a.pk}),
            ("/duty/now", {"under": self.school_a.pk}),
            ("/duty/shifts", {"unit": self.school_a.pk}),
            (f"/duty/units/{self.school_a.pk}/templates", {}),
            (f"/duty/units/{self.school_a.pk}/members", {}),
            ("/duty/gaps", {"under": self.school_a.pk}),
            ("/duty/spot-checks", {"unit": self.school_a.pk}),
        ]:
            with self.subTest(path=path):
                self.assertError(api.get(path, **params), 404)
        a_shift = Shift.objects.create(
            unit=self.school_a,
            name="x",
            day=NOON.date(),
            starts_at=NOON,
            ends_at=NOON + dt.timedelta(hours=1),
        )
        self.assertError(api.get(f"/duty/shifts/{a_shift.pk}"), 404)
        self.assertError(api.post(f"/duty/shifts/{a_shift.pk}/log", {"text": "巡查"}), 404)

    def test_shift_create_update_delete_and_overlap_refused(self) -> None:
        api = self.api(self.officer)
        start = NOON + dt.timedelta(days=3)
        with time_machine.travel(NOON, tick=False):
            made = api.post(
                "/duty/shifts",
                {
                    "unit_id": self.school_b.pk,
                    "name": "夜班",
                    "starts_at": start.isoformat(),
                    "ends_at": (start + dt.timedelta(hours=12)).isoformat(),
                    "leader_id": self.leader_b.pk,
                    "staff_ids": [self.duty_b.pk],
                },
            )
            self.assertEqual(made.status_code, 201, made.content)
            shift_id = made.json()["id"]
            # Sent in +08:00, answered in UTC like the same shift read back later.
            self.assertEqual(made.json()["starts_at"], "2026-11-27T04:00:00Z")
            self.assertEqual(made.json()["ends_at"], "2026-11-27T16:00:00Z")
            read = api.get(f"/duty/shifts/{shift_id}").json()
            self.assertEqual(
                (read["starts_at"], read["ends_at"]),
                (made.json()["starts_at"], made.json()["ends_at"]),
            )
            self.assertEqual(
                [(m["person_id"], m["role"]) for m in made.json()["members"]],
                [(self.leader_b.pk, "leader"), (self.duty_b.pk, "staff")],
            )
            clash = api.post(
                "/duty/shifts",
                {
                    "unit_id": self.school_b.pk,
                    "name": "加班",
                    "starts_at": (start + dt.timedelta(hours=1)).isoformat(),
                    "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
                    "staff_ids": [self.duty_b.pk],
                },
            )
            self.assertEqual(clash.status_code, 422)
            stranger = api.post(
                "/duty/shifts",
                {
                    "unit_id": self.school_b.pk,
                    "name": "x",
                    "starts_at": (start + dt.timedelta(days=1)).isoformat(),
                    "ends_at": (start + dt.timedelta(days=1, hours=2)).isoformat(),
                    "staff_ids": [self.teacher_a.pk],
                },
            )
            self.assertError(stranger, 422, "staff_ids")
            patched = api.patch(f"/duty/shifts/{shift_id}", {"name": "夜班二", "phone": "110"})
            self.assertEqual((patched.json()["name"], patched.json()["phone"]), ("夜班二", "110"))
            self.assertEqual(len(patched.json()["members"]), 2)
            # duty_b reads but does not plan.
            self.assertError(self.api(self.duty_b).delete(f"/duty/shifts/{shift_id}"), 403)
            self.assertEqual(api.delete(f"/duty/shifts/{shift_id}").status_code, 204)
            self.assertFalse(Shift.objects.filter(pk=shift_id).exists())

    def test_templates_pattern_and_planning_a_month(self) -> None:
        api = self.api(self.officer)
        with time_machine.travel(NOON, tick=False):
            day = api.post(
                f"/duty/units/{self.school_b.pk}/templates",
                {"name": "白班", "start": "08:00", "end": "20:00"},
            )
            night = api.post(
                f"/duty/units/{self.school_b.pk}/templates",
                {"name": "夜班", "start": "20:00", "end": "08:00"},
            )
            self.assertEqual(night.json()["crosses_midnight"], True)
            self.assertError(
                api.post(
                    f"/duty/units/{self.school_b.pk}/templates",
                    {"name": "x", "start": "25:00", "end": "08:00"},
                ),
                422,
                "start",
            )
            for kind in ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"):
                for t in (day, night):
                    r = api.client.put(
                        f"/api/v1/duty/templates/{t.json()['id']}/pattern",
                        {
                            "day_kind": kind,
                            "leader_id": self.leader_b.pk,
                            "staff_ids": [self.duty_b.pk],
                        },
                        content_type="application/json",
                        headers=api.headers,
                    )
                    self.assertEqual(r.status_code, 200, r.content)
            self.assertEqual(len(api.get(f"/duty/units/{self.school_b.pk}/pattern").json()), 16)
            planned = api.post(f"/duty/units/{self.school_b.pk}/plan", {"month": "2026-12"})
            self.assertEqual(planned.status_code, 200, planned.content)
            self.assertEqual(planned.json()["created"], 62)
            shifts = api.get(
                "/duty/shifts", unit=self.school_b.pk, date_from="2026-12-01", date_to="2026-12-31"
            ).json()
            self.assertEqual(len(shifts), 62)
            # November is not planned: only the night before December 1 is uncovered.
            gaps = api.get(f"/duty/units/{self.school_b.pk}/roster-gaps", month="2026-12").json()
            self.assertEqual(
                [(g["kind"], g["starts_at"], g["ends_at"]) for g in gaps],
                # Both ends in UTC, as every instant the API answers: 00:00–08:00 local.
                [("nobody", "2026-11-30T16:00:00Z", "2026-12-01T00:00:00Z")],
            )
            self.assertError(
                api.post(f"/duty/units/{self.school_b.pk}/plan", {"month": "2026-13"}), 422, "month"
            )
            members = api.get(f"/duty/units/{self.school_b.pk}/members").json()
            self.assertEqual({m["id"] for m in members}, {self.leader_b.pk, self.duty_b.pk})

    def test_spot_check_send_answer_and_list(self) -> None:
        with time_machine.travel(NOON, tick=False):
            sent = self.api(self.officer).post("/duty/spot-checks", {"unit_id": self.school_b.pk})
            self.assertEqual(sent.status_code, 201, sent.content)
            (check,) = sent.json()
            self.assertEqual(check["outcome"], "waiting")
            self.assertError(
                self.api(self.leader_b).post("/duty/spot-checks", {"unit_id": self.school_b.pk}),
                403,
            )
            self.assertError(
                self.api(self.teacher_a).post(f"/duty/spot-checks/{check['id']}/answer"), 404
            )
        with time_machine.travel(NOON + dt.timedelta(minutes=6), tick=False):
            answered = self.api(self.duty_b).post(f"/duty/spot-checks/{check['id']}/answer")
            self.assertEqual(answered.json()["outcome"], "late")
            again = self.api(self.leader_b).post(f"/duty/spot-checks/{check['id']}/answer")
            self.assertEqual(again.json()["answered_by_id"], self.duty_b.pk)
            listed = (
                self.api(self.officer)
                .get("/duty/spot-checks", unit=self.bureau.pk, month="2026-11")
                .json()
            )
            self.assertEqual([c["id"] for c in listed], [check["id"]])
            tally = (
                self.api(self.officer)
                .get("/duty/spot-checks/tally", unit=self.bureau.pk, month="2026-11")
                .json()
            )
            self.assertEqual([(t["unit_id"], t["late"]) for t in tally], [(self.school_b.pk, 1)])
            sample = self.api(self.officer).post(
                "/duty/spot-checks", {"under_id": self.bureau.pk, "sample": 2}
            )
            self.assertEqual(len(sample.json()), 2)
            self.assertError(self.api(self.officer).post("/duty/spot-checks", {}), 422, "unit_id")
        self.assertEqual(SpotCheck.objects.count(), 3)
        self.assertEqual(spotchecks.outcome(SpotCheck.objects.get(pk=check["id"])), "late")

    def test_log_handover_and_take_over(self) -> None:
        with time_machine.travel(NOON, tick=False):
            logged = self.api(self.duty_b).post(
                f"/duty/shifts/{self.shift_b.pk}/log",
                {"text": "校门巡查，无异常", "kind": "patrol"},
            )
            self.assertEqual(logged.status_code, 201, logged.content)
            self.assertEqual(
                [
                    e["text"]
                    for e in self.api(self.officer)
                    .get(f"/duty/shifts/{self.shift_b.pk}/log")
                    .json()
                ],
                ["校门巡查，无异常"],
            )
            self.assertError(
                self.api(self.duty_b).post(
                    f"/duty/shifts/{self.shift_b.pk}/log", {"text": "x", "kind": "nap"}
                ),
                422,
                "kind",
            )
        with time_machine.travel(NOON.replace(hour=17, minute=50), tick=False):
            handed = self.api(self.duty_b).post(
                f"/duty/shifts/{self.shift_b.pk}/handover", {"note": "钥匙在值班室"}
            )
            self.assertEqual(handed.status_code, 200, handed.content)
            self.assertEqual(handed.json()["handover_note"], "钥匙在值班室")

    def test_feed_link(self) -> None:
        api = self.api(self.duty_b)
        self.assertEqual(api.get("/duty/feed").json()["url"], None)
        made = api.post("/duty/feed")
        self.assertEqual(made.status_code, 201)
        url = made.json()["url"]
        self.assertRegex(url, r"/duty/feed/[\w-]+\.ics$")
        self.assertEqual(api.delete("/duty/feed").status_code, 204)
        self.assertEqual(api.get("/duty/feed").json()["url"], None)
        self.assertError(self.api(self.sysadmin).post("/duty/feed"), 403)
