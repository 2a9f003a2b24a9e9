"""/api/v1/daily-reports: submit, double tap, correction, versions, status, and bad input."""

import datetime as dt
import json

import time_machine
from django.utils import timezone

from safecampus.orgs.services import token_issue
from safecampus.reports import services
from safecampus.reports.api import ReportOut
from safecampus.reports.models import DailyReport
from safecampus.test import BaseTestCase

DAY = dt.date(2026, 11, 23)
MORNING = timezone.make_aware(dt.datetime(2026, 11, 23, 9, 0))  # noqa: DTZ001 (local)


class ReportApiTest(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.travel = time_machine.travel(MORNING, tick=False)
        self.travel.start()
        self.schedule = services.schedule_create(
            by=self.officer, root=self.bureau, name="冬季日报", starts_on=DAY
        )
        services.day_open(schedule=self.schedule, day=DAY)

    def tearDown(self):
        self.travel.stop()
        super().tearDown()

    def api(self, person):
        client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_issue(person=person)}"
        return client

    def post(self, client, body):
        return client.post(
            "/api/v1/daily-reports", json.dumps(body), content_type="application/json"
        )

    def test_zero_report_double_tap_and_correction(self):
        client = self.api(self.principal_a)
        body = {"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True}
        first = self.post(client, body)
        self.assertEqual(first.status_code, 201, first.content)
        # The answer is written without ninja's validation: it must still be ReportOut.
        self.assertEqual(first["Content-Type"], "application/json; charset=utf-8")
        self.assertEqual(
            ReportOut.model_validate(first.json()).model_dump(mode="json"), first.json()
        )
        self.assertFalse(first.json()["late"])
        self.assertEqual(len(first.json()["receipt"]["hash"]), 64)
        again = self.post(client, body)
        self.assertEqual(again.status_code, 200)
        self.assertEqual(again.json()["id"], first.json()["id"])
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)

        changed = {**body, "zero": False, "items": [{"what": "学生摔伤", "measures": "已送医"}]}
        refused = self.post(client, changed)
        self.assertEqual(refused.status_code, 422)
        self.assertEqual(refused.json()["errors"][0]["field"], "reason")
        corrected = self.post(client, {**changed, "reason": "漏报一起轻微伤"})
        self.assertEqual(corrected.status_code, 201, corrected.content)
        self.assertEqual(corrected.json()["version"], 2)
        versions = client.get(f"/api/v1/daily-reports/{corrected.json()['id']}/versions").json()
        self.assertEqual([v["version"] for v in versions], [1, 2])
        self.assertTrue(versions[0]["zero"])

    def test_status_counts_for_the_unit_and_children(self):
        self.post(
            self.api(self.principal_a),
            {"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True},
        )
        status = (
            self.api(self.officer)
            .get(f"/api/v1/daily-reports/status?unit={self.bureau.pk}&date={DAY.isoformat()}")
            .json()
        )
        # The counts are the schools'; the groups' and the bureau's own reports apart.
        self.assertEqual(status["unit"]["level"], "school")
        self.assertEqual(status["unit"]["counts"], {"on_time": 1, "not_due": 1})
        self.assertEqual(
            status["unit"]["by_level"],
            {
                "school": {"on_time": 1, "not_due": 1},
                "group": {"not_due": 2},
                "bureau": {"not_due": 1},
            },
        )
        by_child = {c["unit"]: c for c in status["children"]}
        self.assertEqual(by_child[self.group_1.pk]["counts"], {"on_time": 1})
        self.assertEqual(by_child[self.group_1.pk]["status"], "not_due")
        self.assertEqual(by_child[self.group_2.pk]["counts"], {"not_due": 1})
        hidden = self.api(self.duty_b).get(
            f"/api/v1/daily-reports/status?unit={self.school_a.pk}&date={DAY.isoformat()}"
        )
        self.assertEqual(hidden.status_code, 404)

    def test_bad_input(self):
        client = self.api(self.duty_b)
        outside = self.post(
            client, {"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True}
        )
        self.assertEqual(outside.status_code, 403)
        future = self.post(
            client,
            {
                "unit": self.school_b.pk,
                "date": (DAY + dt.timedelta(days=1)).isoformat(),
                "zero": True,
            },
        )
        self.assertEqual((future.status_code, future.json()["errors"][0]["field"]), (422, "date"))
        unscheduled = self.post(
            client, {"unit": self.school_b.pk, "date": "2026-10-01", "zero": True}
        )
        self.assertEqual(unscheduled.status_code, 422)
        self.assertIn("no report due", unscheduled.json()["errors"][0]["reason"])
        empty = self.post(
            client, {"unit": self.school_b.pk, "date": DAY.isoformat(), "zero": False}
        )
        self.assertEqual((empty.status_code, empty.json()["errors"][0]["field"]), (422, "items"))
        self.assertEqual(
            self.post(client, {"unit": 10**30, "date": "x", "zero": 1}).status_code, 422
        )
        # A null character, which no database text column holds: refused, not a 500.
        today = {"unit": self.school_b.pk, "date": DAY.isoformat()}
        for body in [
            {**today, "zero": False, "items": [{"what": "门卫\u0000"}]},
            {**today, "zero": False, "items": [{"what": "门卫", "measures": "\u0000"}]},
            {**today, "zero": True, "reason": "\u0000"},
        ]:
            refused = self.post(client, body)
            self.assertEqual(refused.status_code, 422, body)
            self.assertIn("Null characters", refused.json()["errors"][0]["reason"])

    def test_the_token_decides_before_anything_is_written(self):
        body = json.dumps({"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True})
        token = token_issue(person=self.principal_a)
        for header in [None, "Bearer wrong", f"Basic {token}", "Bearer", f"bearer{token}"]:
            client = self.client_class(enforce_csrf_checks=True)
            extra = {"HTTP_AUTHORIZATION": header} if header else {}
            response = client.post(
                "/api/v1/daily-reports", body, content_type="application/json", **extra
            )
            self.assertEqual(response.status_code, 401, header)
        self.assertFalse(DailyReport.objects.exists())
        # A bearer token needs no CSRF token, on the shortest way as on the usual one.
        client = self.client_class(enforce_csrf_checks=True)
        response = client.post(
            "/api/v1/daily-reports",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        self.assertEqual(response.status_code, 201, response.content)
        listed = client.get("/api/v1/daily-reports", HTTP_AUTHORIZATION=f"Bearer {token}")
        self.assertEqual(listed.json()["items"][0]["id"], response.json()["id"])
        schema = self.client.get("/api/v1/openapi.json").json()
        self.assertIn("post", schema["paths"]["/api/v1/daily-reports"])

    def test_who_and_which_unit_answer_in_order(self):
        # The token first (401), then the body (422), then the unit (404, 403).
        body = {"unit": self.school_b.pk, "date": DAY.isoformat(), "zero": True}
        bad_token = self.client_class(HTTP_AUTHORIZATION="Bearer not-a-token")
        self.assertEqual(self.post(bad_token, body).status_code, 401)
        no_token = self.client_class()
        self.assertEqual(self.post(no_token, body).status_code, 401)
        duty_b = self.api(self.duty_b)
        self.assertEqual(self.post(duty_b, {**body, "unit": self.school_a.pk}).status_code, 403)
        self.assertEqual(self.post(duty_b, {**body, "unit": 999_999}).status_code, 404)
        self.assertEqual(self.post(duty_b, {**body, "unit": 2**63}).status_code, 422)
        self.assertEqual(self.post(duty_b, {**body, "date": "2026-13-01"}).status_code, 422)
        # A unit written as a string: validation accepts it, the view reads the unit.
        as_text = self.post(duty_b, {**body, "unit": str(self.school_b.pk)})
        self.assertEqual(as_text.status_code, 201, as_text.content)
        self.assertEqual(as_text.json()["unit"], self.school_b.pk)
        self.assertEqual(DailyReport.objects.filter(unit=self.school_b).count(), 1)
        again = self.post(duty_b, body)
        self.assertEqual((again.status_code, again.json()["id"]), (200, as_text.json()["id"]))

    def test_a_body_over_the_size_limit_is_refused_not_a_server_error(self):
        # The body is read once, by the API framework, after the token.
        body = {"unit": self.school_b.pk, "date": DAY.isoformat(), "zero": True}
        body["reason"] = "x" * 2000
        with self.settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
            response = self.post(self.api(self.duty_b), body)
        self.assertIn(response.status_code, (400, 413), response.content)
        self.assertFalse(DailyReport.objects.filter(unit=self.school_b).exists())

    def test_late_report_from_an_offline_phone_is_accepted_and_marked(self):
        with time_machine.travel(
            timezone.make_aware(dt.datetime(2026, 11, 23, 15, 0)),  # noqa: DTZ001
            tick=False,
        ):
            late = self.post(
                self.api(self.principal_a),
                {"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True},
            )
        self.assertEqual(late.status_code, 201)
        self.assertTrue(late.json()["late"])
        self.assertEqual(late.json()["late_seconds"], 90 * 60)  # school deadline 13:30
        listed = self.api(self.officer).get("/api/v1/daily-reports?late=true").json()
        self.assertEqual([r["unit"] for r in listed["items"]], [self.school_a.pk])
        self.assertEqual(self.api(self.duty_b).get("/api/v1/daily-reports").json()["items"], [])

    def test_trend_from_the_counters_and_its_bounds(self):
        self.post(
            self.api(self.principal_a),
            {"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True},
        )
        client = self.api(self.officer)
        trend = client.get(
            f"/api/v1/daily-reports/trend?unit={self.bureau.pk}"
            f"&start={DAY.isoformat()}&end={DAY.isoformat()}"
        ).json()
        self.assertEqual(
            trend,
            [
                {
                    "date": DAY.isoformat(),
                    "not_due": 4,
                    "on_time": 1,
                    "late": 0,
                    "missing": 0,
                    "exempt": 0,
                }
            ],
        )
        schools = client.get(
            f"/api/v1/daily-reports/trend?unit={self.bureau.pk}&level=school"
            f"&start={DAY.isoformat()}&end={DAY.isoformat()}"
        ).json()
        self.assertEqual((schools[0]["on_time"], schools[0]["not_due"]), (1, 1))
        school = client.get(
            f"/api/v1/daily-reports/trend?unit={self.school_a.pk}"
            f"&start={DAY.isoformat()}&end={DAY.isoformat()}"
        ).json()
        self.assertEqual(school[0]["on_time"], 1)  # below the counters: counted directly
        too_long = client.get(
            f"/api/v1/daily-reports/trend?unit={self.bureau.pk}&start=2025-01-01&end=2026-11-23"
        )
        self.assertEqual(too_long.status_code, 422)
        hidden = self.api(self.duty_b).get(
            f"/api/v1/daily-reports/trend?unit={self.school_a.pk}"
            f"&start={DAY.isoformat()}&end={DAY.isoformat()}"
        )
        self.assertEqual(hidden.status_code, 404)


class LateScheduleTest(BaseTestCase):
    def test_a_schedule_created_after_the_first_deadline_starts_the_next_day(self):
        from safecampus.worker.models import Timer

        afternoon = timezone.make_aware(dt.datetime(2026, 11, 23, 15, 0))  # noqa: DTZ001
        with time_machine.travel(afternoon, tick=False):
            schedule = services.schedule_create(
                by=self.officer, root=self.bureau, name="日报", starts_on=DAY
            )
        opening = Timer.objects.get(kind="reports.open", key__startswith=f"reports:{schedule.pk}:")
        self.assertEqual(opening.payload["day"], "2026-11-24")


class SubmitInputTest(BaseTestCase):
    """Bodies the submission refuses: each a 4xx in the API's error shape, naming the
    field; nothing stored."""

    def setUp(self):
        super().setUp()
        self.enterContext(time_machine.travel(MORNING, tick=False))
        schedule = services.schedule_create(
            by=self.officer, root=self.bureau, name="冬季日报", starts_on=DAY
        )
        services.day_open(schedule=schedule, day=DAY)
        self.token = token_issue(person=self.principal_a)
        self.body = {"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True}

    def post(self, body, token=None, **extra):
        client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        content = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return client.post(
            "/api/v1/daily-reports",
            content,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token or self.token}",
            **extra,
        )

    def assert_refused(self, response, status, field=None):
        self.assertEqual(response.status_code, status, response.content)
        self.assertEqual(response["Content-Type"].split(";")[0], "application/json")
        answer = response.json()
        self.assertTrue(answer["detail"])
        self.assertIsInstance(answer["errors"], list)
        if field is not None:
            self.assertIn(field, [e["field"] for e in answer["errors"]], answer)
        self.assertFalse(DailyReport.objects.exists())

    def test_deeply_nested_json_is_a_400_not_a_server_error(self):
        nested = "[" * 3000 + "]" * 3000
        self.assert_refused(self.post(nested), 400)
        # A made-up token: who is asking is answered first, before the body is read.
        self.assert_refused(self.post(nested, token="made-up"), 401)
        nested_inside = '{"unit": 1, "date": "2026-11-23", "zero": true, "items": ' + nested + "}"
        self.assert_refused(self.post(nested_inside), 400)

    def test_items_beyond_what_a_report_holds_are_refused_naming_the_field(self):
        from safecampus.reports.models import (
            CORRECTION_REASON_MAX,
            ITEM_TEXT_MAX,
            REPORT_MAX_ITEMS,
        )

        items = [{"what": "x"}] * (REPORT_MAX_ITEMS + 1)
        body = {**self.body, "zero": False}
        self.assert_refused(self.post({**body, "items": items}), 422, "items")
        long = "字" * (ITEM_TEXT_MAX + 1)
        items = [{"what": "a"}, {"what": "b"}, {"what": "c"}, {"what": long}]
        self.assert_refused(self.post({**body, "items": items}), 422, "items.3.what")
        items = [{"what": "a", "measures": long}]
        self.assert_refused(self.post({**body, "items": items}), 422, "items.0.measures")
        reason = "因" * (CORRECTION_REASON_MAX + 1)
        self.assert_refused(self.post({**self.body, "reason": reason}), 422, "reason")
        at_the_limits = [{"what": "字" * ITEM_TEXT_MAX, "measures": "措"}] * REPORT_MAX_ITEMS
        stored = self.post({**body, "items": at_the_limits})
        self.assertEqual(stored.status_code, 201, stored.content)

    def test_an_incident_or_hazard_out_of_range_is_refused_naming_the_field(self):
        body = {**self.body, "zero": False}
        for name in ("incident_id", "hazard_id"):
            for value in [2**70, 2**63, 0, -5]:
                items = [{"what": "a"}, {"what": "b", name: value}]
                with self.subTest(name=name, value=value):
                    self.assert_refused(self.post({**body, "items": items}), 422, f"items.1.{name}")
        items = [{"what": "a", "incident_id": 2**63 - 1}]
        stored = self.post({**body, "items": items})
        self.assertEqual(stored.status_code, 201, stored.content)
        self.assertEqual(stored.json()["items"][0]["incident_id"], 2**63 - 1)

    def test_the_same_correction_sent_twice_answers_the_stored_version(self):
        first = self.post(self.body)
        self.assertEqual(first.status_code, 201)
        correction = {
            **self.body,
            "zero": False,
            "items": [{"what": "学生摔伤", "measures": "已送医"}],
            "reason": "漏报一起摔伤",
        }
        made = self.post(correction)
        again = self.post(correction)
        self.assertEqual((made.status_code, made.json()["version"]), (201, 2))
        self.assertEqual((again.status_code, again.json()["id"]), (200, made.json()["id"]))
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 2)
