"""A masked mobile number stays masked in every field that carries it: the username (often
the number itself), the email (13900006054@139.com), the search box, the export, the API, and
the delivery errors a sender reads. Who sees the number: access.can_see_mobile, nothing else."""

from io import BytesIO

from django.test import SimpleTestCase, override_settings
from django.urls import reverse

from safecampus.lib import xlsx
from safecampus.notify import services as notify_services
from safecampus.notify.models import Attempt, ContactPreference, Notification, Transport
from safecampus.orgs import services
from safecampus.orgs.models import Membership, Person, Role, mask_mobiles_in
from safecampus.orgs.selectors import person_shown
from safecampus.test import BaseTestCase

MOBILE = "13900006054"
MASKED = "139****6054"


class MaskingTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        # A teacher of school B registered by mobile alone: the username is the number.
        self.teacher_b = services.person_create(
            by=self.officer,
            unit=self.school_b,
            name="赵老师",
            mobile=MOBILE,
            email=f"{MOBILE}@139.com",
            roles=[Role.HEAD_TEACHER],
        )
        self.assertEqual(self.teacher_b.username, MOBILE)

    def api(self, person: Person, path: str, **params: str):
        token = services.token_issue(person=person)
        return self.client.get(
            f"/api/v1{path}", params, headers={"Authorization": f"Bearer {token}"}
        )


class ReadOnlyAccountTest(MaskingTestCase):
    """The reported case: school B's duty account (read-only) next to a teacher of B."""

    def test_api_people_list_masks_username_mobile_and_email(self):
        response = self.api(self.duty_b, "/people")
        self.assertEqual(response.status_code, 200)
        (row,) = [r for r in response.json()["items"] if r["id"] == self.teacher_b.pk]
        self.assertEqual(row["mobile"], MASKED)
        self.assertEqual(row["username"], MASKED)
        self.assertEqual(row["email"], f"{MASKED}@139.com")
        self.assertNotIn(MOBILE, response.content.decode())

    def test_api_person_masks_username(self):
        response = self.api(self.duty_b, f"/people/{self.teacher_b.pk}")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["username"], MASKED)
        self.assertNotIn(MOBILE, response.content.decode())

    def test_pages_show_no_full_number(self):
        client = self.client_for(self.duty_b)
        for url in [reverse("orgs:people"), reverse("orgs:person", args=[self.teacher_b.pk])]:
            response = client.get(url)
            self.assertEqual(response.status_code, 200, url)
            self.assertContains(response, MASKED)
            self.assertNotContains(response, MOBILE)

    def test_export_people_sheet_shows_no_full_number(self):
        response = self.client_for(self.duty_b).get(reverse("orgs:export"))
        self.assertEqual(response.status_code, 200)
        wb = xlsx.open_workbook(BytesIO(response.content))
        values = [
            str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row
        ]
        self.assertIn(MASKED, values)
        self.assertFalse([v for v in values if MOBILE in v])

    def test_search_does_not_confirm_a_masked_number(self):
        """Searching digit by digit would recover the four hidden digits."""
        client = self.client_for(self.duty_b)
        for query in [MOBILE, MOBILE[:7], "0000"]:
            page = client.get(reverse("orgs:people"), {"q": query})
            self.assertNotContains(page, "赵老师", msg_prefix=query)
            answer = self.api(self.duty_b, "/people", q=query)
            ids = [r["id"] for r in answer.json()["items"]]
            self.assertNotIn(self.teacher_b.pk, ids, query)
        # What the account does see still finds the person.
        for query in ["6054", "赵老师"]:
            self.assertContains(client.get(reverse("orgs:people"), {"q": query}), "赵老师")
            self.assertEqual(self.api(self.duty_b, "/people", q=query).json()["count"], 1)


class WhoSeesTheNumberTest(MaskingTestCase):
    def test_a_manager_and_the_person_see_every_field_in_full(self):
        for viewer in (self.officer, self.teacher_b, self.sysadmin):
            response = self.api(viewer, f"/people/{self.teacher_b.pk}")
            body = response.json()
            self.assertEqual(
                (body["mobile"], body["username"], body["email"]),
                (MOBILE, MOBILE, f"{MOBILE}@139.com"),
                viewer.username,
            )
            found = self.api(viewer, "/people", q=MOBILE).json()["items"]
            self.assertEqual([r["id"] for r in found], [self.teacher_b.pk], viewer.username)

    def test_export_follows_the_same_rule_as_the_pages(self):
        """The export used a second rule (manages the row's unit): a principal of A saw the
        full number of someone who is also in school B, which the people page masks."""
        Membership.objects.create(person=self.teacher_b, unit=self.school_a, role=Role.STAFF)
        response = self.client_for(self.principal_a).get(reverse("orgs:export"))
        wb = xlsx.open_workbook(BytesIO(response.content))
        rows = [r for r in wb["人员"].iter_rows(values_only=True) if r[1] == "赵老师"]
        self.assertEqual([(r[2], r[5]) for r in rows], [(MASKED, MASKED)])
        page = self.client_for(self.principal_a).get(reverse("orgs:people"))
        self.assertNotContains(page, MOBILE)
        self.assertEqual(
            person_shown(self.principal_a, self.teacher_b).mobile, MASKED
        )  # the one rule, access.can_see_mobile


@override_settings(SMS_PROVIDER="aliyun")
class DeliveryErrorsTest(MaskingTestCase):
    def test_a_gateway_error_naming_the_number_is_recorded_masked(self):
        ContactPreference.objects.create(person=self.teacher_b, order="sms")
        self.school_b.office_contact = self.duty_b
        self.school_b.save()
        notification = notify_services.notification_create(
            event="test", title="提醒", body="请巡查。", unit=self.school_b, people=[self.teacher_b]
        )
        sms = notification.deliveries.get(transport=Transport.SMS)
        self.assertEqual(sms.address, MOBILE)  # the delivery keeps the number it needs
        notify_services.delivery_record(
            delivery=sms,
            ok=False,
            error=f"Tencent InvalidParameterValue.IncorrectPhoneNumber: +86{MOBILE} is incorrect",
            permanent=True,
        )
        sms.refresh_from_db()
        attempt = Attempt.objects.get(delivery=sms)
        report = Notification.objects.get(event="delivery_failed")
        for text in (sms.last_error, attempt.error, report.body):
            self.assertIn(f"+86{MASKED}", text)
            self.assertNotIn(MOBILE, text)


class MaskTextTest(SimpleTestCase):
    def test_numbers_inside_text(self):
        cases = {
            MOBILE: MASKED,
            f"{MOBILE}@139.com": f"{MASKED}@139.com",
            f"+86{MOBILE}": f"+86{MASKED}",
            f"zhang{MOBILE}": f"zhang{MASKED}",
            "zhang.san": "zhang.san",
            "139000060541": "139000060541",  # twelve digits: not a mobile number
            "": "",
        }
        for text, expected in cases.items():
            self.assertEqual(mask_mobiles_in(text), expected, text)

    def test_the_persons_own_number_wherever_it_stands(self):
        self.assertEqual(mask_mobiles_in(f"u{MOBILE}0", MOBILE), f"u{MASKED}0")
