from django.urls import reverse

from safecampus.test import BaseTestCase


class PagesSmokeTest(BaseTestCase):
    def test_principal_sees_school_page_with_flagged_area(self):
        client = self.client_for(self.principal_a)
        response = client.get(reverse("orgs:unit", args=[self.school_a.pk]))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "城关小学")
        self.assertContains(response, 'data-testid="unassigned"', count=1)

    def test_duty_b_gets_404_for_school_a(self):
        client = self.client_for(self.duty_b)
        for name in ("orgs:unit", "orgs:unit-edit", "orgs:children", "orgs:area-new"):
            response = client.get(reverse(name, args=[self.school_a.pk]))
            self.assertEqual(response.status_code, 404, name)

    def test_404_and_403_pages_are_in_the_app_shell(self):
        client = self.client_for(self.duty_b)
        response = client.get(reverse("orgs:unit", args=[self.school_a.pk]))
        self.assertContains(response, "outside the units you can see", status_code=404)
        self.assertContains(response, 'data-testid="who"', status_code=404)
        self.assertNotContains(response, "城关小学", status_code=404)
        response = client.get(reverse("orgs:unit-edit", args=[self.school_b.pk]))
        self.assertContains(response, "Your role does not allow this", status_code=403)
