"""Review: odd input on the notice pages and API answers 4xx, never 500 or data."""

import json

from safecampus.notices.models import Notice, NoticeReceipt
from safecampus.notices.tests.base import NoticeTestCase
from safecampus.orgs.services import token_issue


class NoticeOddInputTest(NoticeTestCase):
    def api(self, person):
        client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_issue(person=person)}"
        return client

    def test_ack_with_a_unit_that_is_not_a_number_is_404(self):
        notice = self.send(requires_ack=True)
        client = self.client_for(self.principal_a)
        for unit in ("abc", "1.5", "99999999999999999999999"):
            response = client.post(f"/notices/{notice.pk}/ack/", {"unit": unit})
            self.assertEqual(response.status_code, 404, unit)
        self.assertFalse(NoticeReceipt.objects.filter(acked_at__isnull=False).exists())

    def test_huge_ids_are_404(self):
        notice = self.send()
        client = self.client_for(self.officer)
        huge = "99999999999999999999999"
        for path in (
            f"/notices/{huge}/",
            f"/notices/{notice.pk}/files/{huge}/",
            f"/notices/templates/{huge}/edit/",
        ):
            self.assertEqual(client.get(path).status_code, 404, path)

    def test_huge_ids_to_prefill_a_new_notice_are_ignored(self):
        # ?template= and ?unit= only prefill the form: an id that is no template (or
        # none of the sender's units) opens the blank form for the first unit.
        client = self.client_for(self.officer)
        huge = "99999999999999999999999"
        for query in (f"template={huge}", f"unit={huge}", "template=x", "unit=-1"):
            response = client.get(f"/notices/new/?{query}")
            self.assertEqual(response.status_code, 200, query)
            initial = response.context["form"].initial
            self.assertEqual(initial, {"unit": self.bureau.pk, "urgency": "routine"}, query)

    def test_api_naive_deadline_is_read_as_local_time(self):
        officer = self.api(self.officer)
        body = {"unit_id": self.bureau.pk, "title": "汛期", "body": "请防汛。"}
        body |= {"requires_ack": True, "ack_deadline": "2099-01-01T10:00:00"}
        response = officer.post("/api/v1/notices", json.dumps(body), "application/json")
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["ack_deadline"], "2099-01-01T02:00:00Z")  # 10:00 +08

    def test_api_wrong_types_are_refused_not_500(self):
        officer = self.api(self.officer)
        base = {"unit_id": self.bureau.pk, "title": "汛期", "body": "请防汛。"}
        for extra, status, field in (
            ({"recipient_kinds": "school"}, 422, "recipient_kinds"),
            ({"urgency": None}, 422, "urgency"),
            ({"ack_deadline": 4102444800}, 422, "ack_deadline"),
            ({"unit_id": 99999999999999999999999}, 404, None),
            ({"title": "   "}, 422, "title"),
        ):
            response = officer.post(
                "/api/v1/notices", json.dumps(base | extra), content_type="application/json"
            )
            self.assertEqual(response.status_code, status, (extra, response.content))
            fields = [e["field"] for e in response.json()["errors"]]
            self.assertEqual(fields, [field] if field else [], extra)
        self.assertFalse(Notice.objects.exists())

    def test_api_ack_for_a_unit_outside_mine_is_404(self):
        notice = self.send(requires_ack=True)
        principal = self.api(self.principal_a)
        for unit_id in (self.school_b.pk, self.group_1.pk, 99999999999999999999999):
            response = principal.post(
                f"/api/v1/notices/{notice.pk}/ack",
                json.dumps({"unit_id": unit_id}),
                content_type="application/json",
            )
            self.assertEqual(response.status_code, 404, unit_id)

    def test_non_manager_cannot_send_or_chase(self):
        notice = self.send(requires_ack=True)
        duty = self.api(self.duty_b)
        sent = duty.post(
            "/api/v1/notices",
            json.dumps({"unit_id": self.school_b.pk, "title": "x", "body": "y"}),
            content_type="application/json",
        )
        self.assertEqual(sent.status_code, 403)
        self.assertEqual(duty.post(f"/api/v1/notices/{notice.pk}/chase").status_code, 403)
        page = self.client_for(self.duty_b)
        self.assertEqual(page.get("/notices/new/").status_code, 403)
        self.assertEqual(page.post(f"/notices/{notice.pk}/chase/").status_code, 403)


class NoticeAttachmentTest(NoticeTestCase):
    def test_names_cannot_climb_out_and_downloads_are_attachments_for_those_who_see(self):
        from django.core.files.uploadedfile import SimpleUploadedFile

        evil = SimpleUploadedFile("../../etc/evil.txt", b"hello", content_type="text/html")
        notice = self.send(unit=self.group_1, attachments=[evil])
        item = notice.attachments.get()
        self.assertNotIn("..", item.file.name)
        self.assertTrue(item.file.name.startswith("notices/"))
        self.assertEqual(item.name, "evil.txt")
        url = f"/notices/{notice.pk}/files/{item.pk}/"
        response = self.client_for(self.principal_a).get(url)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response["Content-Disposition"].startswith("attachment;"))
        self.assertNotIn("html", response["Content-Type"])
        self.assertEqual(self.client_for(self.duty_b).get(url).status_code, 404)

    def test_oversized_or_unknown_files_are_refused_by_the_service(self):
        from django.core.exceptions import ValidationError
        from django.core.files.uploadedfile import SimpleUploadedFile

        from safecampus.notices.models import ATTACHMENT_MAX_BYTES

        big = SimpleUploadedFile("big.pdf", b"x" * (ATTACHMENT_MAX_BYTES + 1))
        html = SimpleUploadedFile("page.html", b"<script>alert(1)</script>")
        for f in (big, html):
            with self.assertRaises(ValidationError):
                self.send(attachments=[f])
