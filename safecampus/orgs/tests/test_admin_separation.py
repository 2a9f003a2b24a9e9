"""Three separated administrators (三员分立); nobody grants a role to themselves."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from safecampus.orgs import services
from safecampus.orgs.models import AdminRole, Membership, Role
from safecampus.test import PASSWORD, BaseTestCase


class AdminSeparationTest(BaseTestCase):
    def test_security_admin_names_administrators_but_not_itself(self):
        # An account its holder has logged in to (access.may_be_named_administrator).
        Client().post("/login/", {"username": self.teacher_a.username, "password": PASSWORD})
        self.teacher_a.refresh_from_db()
        services.admin_role_grant(by=self.secadmin, person=self.teacher_a, role=AdminRole.AUDIT)
        self.teacher_a.refresh_from_db()
        self.assertEqual(self.teacher_a.admin_role, AdminRole.AUDIT)
        with self.assertRaises(PermissionDenied):
            services.admin_role_grant(by=self.secadmin, person=self.secadmin, role=AdminRole.SYSTEM)

    def test_no_account_holds_two_administrator_roles(self):
        with self.assertRaises(ValidationError):
            services.admin_role_grant(by=self.secadmin, person=self.sysadmin, role=AdminRole.AUDIT)
        self.sysadmin.refresh_from_db()
        self.assertEqual(self.sysadmin.admin_role, AdminRole.SYSTEM)

    def test_only_the_security_admin_grants_administrator_roles(self):
        for person in (self.sysadmin, self.auditadmin, self.officer):
            with self.subTest(person=person.username), self.assertRaises(PermissionDenied):
                services.admin_role_grant(by=person, person=self.teacher_a, role=AdminRole.SYSTEM)

    def test_nobody_grants_a_role_to_themselves(self):
        with self.assertRaises(PermissionDenied):
            services.membership_grant(
                by=self.principal_a,
                person=self.principal_a,
                unit=self.school_a,
                role=Role.SAFETY_OFFICER,
            )
        with self.assertRaises(PermissionDenied):
            services.membership_grant(
                by=self.secadmin, person=self.secadmin, unit=self.bureau, role=Role.BUREAU_LEADER
            )

    def test_principal_grants_roles_only_in_their_school(self):
        services.membership_grant(
            by=self.principal_a, person=self.teacher_a, unit=self.school_a, role=Role.SAFETY_OFFICER
        )
        with self.assertRaises(PermissionDenied):
            services.membership_grant(
                by=self.principal_a,
                person=self.teacher_a,
                unit=self.school_b,
                role=Role.SAFETY_OFFICER,
            )

    def test_system_admin_places_people_but_grants_no_rights(self):
        services.membership_grant(
            by=self.sysadmin, person=self.teacher_a, unit=self.school_b, role=Role.STAFF
        )
        with self.assertRaises(PermissionDenied):
            services.membership_grant(
                by=self.sysadmin, person=self.teacher_a, unit=self.school_b, role=Role.PRINCIPAL
            )

    def test_pages_of_each_administrator(self):
        pages = {
            self.sysadmin: ["admin:accounts"],
            self.secadmin: ["admin:policy", "admin:admins"],
            self.auditadmin: ["audit:trail"],
        }
        everything = [name for names in pages.values() for name in names]
        for person, own in pages.items():
            client = self.client_for(person)
            for name in everything:
                expected = 200 if name in own else 403
                with self.subTest(person=person.username, page=name):
                    self.assertEqual(client.get(reverse(name)).status_code, expected)

    def test_policy_form_refuses_bad_values_and_keeps_input(self):
        client = self.client_for(self.secadmin)
        response = client.post(
            reverse("admin:policy"),
            {
                "min_password_length": 4,
                "failure_limit": 5,
                "cooloff_minutes": 15,
                "idle_timeout_minutes": 30,
                "password_max_age_days": 90,
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Between 8 and 64")
        self.assertContains(response, 'value="4"')
        response = client.post(
            reverse("admin:policy"),
            {
                "min_password_length": 10,
                "failure_limit": 5,
                "cooloff_minutes": 15,
                "idle_timeout_minutes": 20,
                "password_max_age_days": 90,
            },
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(services.policy_get().idle_timeout_minutes, 20)

    def test_audit_admin_sees_no_units(self):
        client = self.client_for(self.auditadmin)
        self.assertEqual(client.get(reverse("orgs:unit", args=[self.school_a.pk])).status_code, 404)
        self.assertNotContains(client.get(reverse("orgs:tree")), "城关小学")

    def test_revoking_a_role_from_yourself_is_refused(self):
        own = Membership.objects.get(person=self.principal_a, unit=self.school_a)
        response = self.client_for(self.principal_a).post(
            reverse("orgs:role-revoke", args=[own.pk])
        )
        self.assertEqual(response.status_code, 302)
        self.assertTrue(Membership.objects.filter(pk=own.pk).exists())
