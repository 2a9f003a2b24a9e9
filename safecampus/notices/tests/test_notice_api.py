"""/api/v1/notices: send, read, acknowledge, chase — and B cannot see A."""

import json

from safecampus.notices.models import Notice, NoticeReceipt
from safecampus.notices.tests.base import NoticeTestCase
from safecampus.orgs.services import token_issue


class NoticeApiTest(NoticeTestCase):
    def api(self, person):
        client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_issue(person=person)}"
        return client

    def post(self, client, path, body=None):
        return client.post(path, json.dumps(body or {}), content_type="application/json")

    def test_send_read_ack_and_chase(self):
        officer = self.api(self.officer)
        bad = self.post(
            officer, "/api/v1/notices", {"unit_id": self.bureau.pk, "title": "", "body": "x"}
        )
        self.assertEqual(bad.status_code, 422)
        self.assertEqual(bad.json()["errors"][0]["field"], "title")
        sent = self.post(
            officer,
            "/api/v1/notices",
            {
                "unit_id": self.bureau.pk,
                "title": "汛期安全预警",
                "body": "请做好防汛准备。",
                "kind": "warning",
                "urgency": "urgent",
                "requires_ack": True,
                "recipient_kinds": ["school"],
            },
        )
        self.assertEqual(sent.status_code, 201, sent.content)
        notice_id = sent.json()["id"]
        self.assertEqual(sent.json()["total"], 2)  # the two schools

        principal = self.api(self.principal_a)
        listed = principal.get("/api/v1/notices").json()["items"]
        self.assertEqual([(n["id"], n["me_unread"]) for n in listed], [(notice_id, True)])
        detail = principal.get(f"/api/v1/notices/{notice_id}").json()
        self.assertEqual([r["unit_id"] for r in detail["receipts"]], [self.school_a.pk])
        receipt = NoticeReceipt.objects.get(notice_id=notice_id, unit=self.school_a)
        self.assertIsNotNone(receipt.read_at)
        acked = self.post(
            principal, f"/api/v1/notices/{notice_id}/ack", {"unit_id": self.school_a.pk}
        )
        self.assertEqual(acked.status_code, 200, acked.content)
        self.assertEqual(acked.json()["receipts"][0]["acked_at"] is not None, True)
        self.assertEqual(
            self.post(
                principal, f"/api/v1/notices/{notice_id}/ack", {"unit_id": self.school_b.pk}
            ).status_code,
            404,
        )
        self.assertEqual(
            self.post(principal, f"/api/v1/notices/{notice_id}/chase").status_code, 403
        )
        chased = self.post(officer, f"/api/v1/notices/{notice_id}/chase").json()
        self.assertEqual(chased, {"chased": 1})  # school B only

    def test_b_cannot_see_a_notice_of_a(self):
        sent = self.post(
            self.api(self.principal_a),
            "/api/v1/notices",
            {"unit_id": self.school_a.pk, "title": "年级组安全检查", "body": "周五检查。"},
        )
        self.assertEqual(sent.status_code, 201, sent.content)
        notice = Notice.objects.get(pk=sent.json()["id"])
        duty_b = self.api(self.duty_b)
        self.assertEqual(duty_b.get(f"/api/v1/notices/{notice.pk}").status_code, 404)
        self.assertEqual(duty_b.get("/api/v1/notices").json()["items"], [])
        self.assertEqual(
            self.post(
                duty_b, "/api/v1/notices", {"unit_id": self.school_a.pk, "title": "x", "body": "y"}
            ).status_code,
            404,
        )
