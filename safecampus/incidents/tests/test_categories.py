"""A bureau's own incident categories: added by those who run the bureau, offered in the
written report of its units, shown by name in the page and the Word report; archived, no
longer offered; codes of the law's categories or taken ones refused."""

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.incidents import export, services
from safecampus.incidents.models import Kind, LocalCategory

from .base import NOON, IncidentCase
from .test_export import text_of
from .test_http import WRITTEN


class LocalCategoryTests(IncidentCase, ApiTestCase):
    def test_added_offered_used_shown_and_archived(self) -> None:
        own = services.local_category_add(
            by=self.officer, bureau=self.bureau, code="campus-loan", name="校园贷"
        )
        self.assertIn(("campus-loan", "校园贷"), services.categories_for(self.school_b))
        with time_machine.travel(NOON, tick=False):
            incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FRAUD, summary="学生遭遇校园贷"
            )
        page = self.client_for(self.leader_b).get(reverse("incidents:written", args=[incident.pk]))
        self.assertContains(page, 'value="campus-loan"')
        services.incident_write(
            by=self.leader_b, incident=incident, **(WRITTEN | {"category": "campus-loan"})
        )
        incident.refresh_from_db()
        self.assertEqual(services.category_label(incident), "校园贷")
        self.assertContains(
            self.client_for(self.leader_b).get(reverse("incidents:detail", args=[incident.pk])),
            "校园贷",
        )
        self.assertIn("类别：校园贷", text_of(export.report_docx(incident)))
        services.local_category_archive(by=self.officer, category=own)
        self.assertNotIn(("campus-loan", "校园贷"), services.categories_for(self.school_b))
        self.assertEqual(services.category_label(incident), "校园贷")  # kept on the record

    def test_bad_codes_and_outsiders_are_refused(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.local_category_add(by=self.officer, bureau=self.bureau, code="health", name="")
        self.assertEqual(set(caught.exception.message_dict), {"code", "name"})
        with self.assertRaises(ValidationError):
            services.local_category_add(by=self.officer, bureau=self.school_b, code="x", name="x")
        with self.assertRaises(PermissionDenied):
            services.local_category_add(by=self.leader_b, bureau=self.bureau, code="x", name="x")
        with self.assertRaises(ValidationError):  # a category of no bureau above the unit
            with time_machine.travel(NOON, tick=False):
                incident = services.incident_report(
                    by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
                )
            services.incident_write(
                by=self.leader_b, incident=incident, **(WRITTEN | {"category": "nope"})
            )

    def test_page_and_api(self) -> None:
        client = self.client_for(self.officer)
        url = reverse("incidents:categories", args=[self.bureau.pk])
        bad = client.post(url, {"code": "考试", "name": "考试安全"})
        self.assertContains(bad, "考试安全")
        self.assertIn("code", bad.context["form"].errors)
        client.post(url, {"code": "food", "name": "食品安全"})
        own = LocalCategory.objects.get()
        self.assertEqual(own.name, "食品安全")
        rows = self.api(self.duty_b).get("/incidents/categories", unit=self.school_b.pk).json()
        self.assertIn({"code": "food", "name": "食品安全", "bureau_id": self.bureau.pk}, rows)
        added = self.api(self.officer).post(
            "/incidents/categories",
            {"bureau_id": self.bureau.pk, "code": "traffic2", "name": "交通"},
        )
        self.assertEqual(added.status_code, 201)
        self.assertError(
            self.api(self.officer).post(
                "/incidents/categories", {"bureau_id": self.bureau.pk, "code": "food", "name": "x"}
            ),
            422,
            "code",
        )
        self.assertError(
            self.api(self.leader_b).post(
                "/incidents/categories", {"bureau_id": self.bureau.pk, "code": "y", "name": "y"}
            ),
            404,  # a school's principal does not see the bureau
        )
        self.assertEqual(
            self.client_for(self.leader_b).post(url, {"archive": own.pk}).status_code, 404
        )
