"""Follow-ups to the API rules: expired passwords, archived units, parents out of sight."""

from datetime import timedelta

from django.utils import timezone

from safecampus.api.tests.test_api import ApiClient, ApiTestCase
from safecampus.orgs import services
from safecampus.test import PASSWORD


class ApiPolicyTest(ApiTestCase):
    def test_expired_password_gets_no_token(self) -> None:
        self.principal_a.password_changed_at = timezone.now() - timedelta(days=91)
        self.principal_a.save()
        response = ApiClient(None).post(
            "/auth/token", {"username": "principal.a", "password": PASSWORD}
        )
        self.assertError(response, 403)
        self.assertIn("expired", response.json()["detail"])

    def test_no_area_in_an_archived_unit(self) -> None:
        services.unit_archive(by=self.officer, unit=self.school_b)
        response = self.api(self.officer).post(
            "/areas", {"unit_id": self.school_b.pk, "name": "新区域", "kind": "other"}
        )
        self.assertError(response, 422, "unit", "archived")

    def test_parent_of_the_top_you_see_is_hidden(self) -> None:
        mine = self.api(self.duty_b).get(f"/units/{self.school_b.pk}").json()
        self.assertIsNone(mine["parent_id"])
        officer = self.api(self.officer).get(f"/units/{self.school_b.pk}").json()
        self.assertEqual(officer["parent_id"], self.group_2.pk)
        listed = self.api(self.duty_b).get("/units").json()["items"]
        self.assertEqual([(u["id"], u["parent_id"]) for u in listed], [(self.school_b.pk, None)])

    def test_null_for_a_text_field_is_refused_by_the_service_too(self) -> None:
        from django.core.exceptions import ValidationError

        with self.assertRaises(ValidationError) as caught:
            services.unit_update(by=self.officer, unit=self.school_a, name=None)
        self.assertIn("name", caught.exception.error_dict)
        unit = services.unit_update(by=self.officer, unit=self.school_a, address=None)
        self.assertEqual(unit.address, "")
