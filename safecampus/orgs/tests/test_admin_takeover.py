"""No administrator takes over another's account (三员分立 stays three).

Reproduced first as an attacker would: the system administrator set a new
password for the audit administrator's account, logged in as that account and
read the audit trail. Now an administrator's password is reset only by two
administrators of two different roles, neither of them its holder; any reset
forces a change at the next login (pages and the API's token endpoint), ends the
account's API tokens and sessions, and tells the holder. Nor can an
administrator change another's username, mobile or e-mail (the ways to log in),
disable them, or grant itself roles through the API.
"""

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import translation

from safecampus.administration.services import admin_password_reset
from safecampus.notify.models import Delivery, Notification
from safecampus.orgs import services
from safecampus.orgs.models import AdminRole, ApiToken, Person, Role
from safecampus.test import PASSWORD, BaseTestCase, make_person

NEW = "Taken-0ver!"
API = "/api/v1"


class AdminTakeoverTest(BaseTestCase):
    def reset_page(self, by: Person, target: Person, **extra: str):
        return self.client_for(by).post(
            f"/admin/accounts/{target.pk}/password/", {"password": NEW, **extra}
        )

    def log_in(self, person: Person, password: str) -> Client | None:
        """The login page, as a person (or an attacker) would; None when refused."""
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        response = client.post("/login/", {"username": person.username, "password": password})
        return client if response.status_code == 302 else None

    def can_log_in(self, person: Person, password: str) -> bool:
        return self.log_in(person, password) is not None

    def token_answer(self, person: Person, password: str):
        return Client(HTTP_ACCEPT_LANGUAGE="en").post(
            f"{API}/auth/token",
            json.dumps({"username": person.username, "password": password}),
            content_type="application/json",
        )

    # --- The attack as reported -----------------------------------------------------

    def test_system_admin_alone_cannot_set_the_audit_admins_password(self) -> None:
        response = self.reset_page(self.sysadmin, self.auditadmin)
        self.assertEqual(response.status_code, 200)  # the form again, with the reason
        self.assertContains(response, 'data-testid="cosign-note"')
        self.assertFalse(self.can_log_in(self.auditadmin, NEW))
        self.assertTrue(self.can_log_in(self.auditadmin, PASSWORD))
        with self.assertRaises(PermissionDenied):
            services.person_set_password(by=self.sysadmin, person=self.auditadmin, password=NEW)
        self.assertFalse(self.can_log_in(self.auditadmin, NEW))

    def test_the_reset_page_asks_for_a_second_administrator_only_for_administrators(self):
        client = self.client_for(self.sysadmin)
        self.assertContains(
            client.get(f"/admin/accounts/{self.auditadmin.pk}/password/"), "cosigner_password"
        )
        self.assertNotContains(
            client.get(f"/admin/accounts/{self.principal_a.pk}/password/"), "cosigner_password"
        )

    def test_the_cosigner_must_hold_another_role_and_not_be_the_holder(self) -> None:
        other_sys = make_person("sysadmin2", "系统管理员二", admin_role=AdminRole.SYSTEM)
        for cosigner, password in [
            (self.auditadmin, PASSWORD),  # the holder signs their own reset
            (other_sys, PASSWORD),  # a second system administrator: the same role
            (self.principal_a, PASSWORD),  # not an administrator
            (self.secadmin, "wrong-Passw0rd"),  # the right person, a wrong password
        ]:
            with self.subTest(cosigner=cosigner.username, password=password):
                response = self.reset_page(
                    self.sysadmin,
                    self.auditadmin,
                    cosigner_username=cosigner.username,
                    cosigner_password=password,
                )
                self.assertEqual(response.status_code, 200)
                self.assertTrue(response.context["form"].errors)
                self.assertFalse(self.can_log_in(self.auditadmin, NEW))

    def test_two_administrators_of_two_other_roles_reset_it(self) -> None:
        self.auditadmin.email = "audit@example.edu.cn"
        self.auditadmin.save()
        response = self.reset_page(
            self.sysadmin,
            self.auditadmin,
            cosigner_username=self.secadmin.username,
            cosigner_password=PASSWORD,
        )
        self.assertRedirects(response, "/admin/accounts/", fetch_redirect_response=False)
        self.auditadmin.refresh_from_db()
        # Nobody typed the next one: the holder chooses it through a link sent to them
        # (administration/tests/test_admin_reset_link.py).
        self.assertFalse(self.auditadmin.has_usable_password())
        self.assertTrue(self.auditadmin.must_change_password)
        from safecampus.audit.models import AuditEntry

        entry = AuditEntry.objects.filter(action="password_reset_link").latest("seq")
        self.assertEqual(entry.changes.get("cosigned_by"), self.secadmin.username)

    def test_only_the_system_administrator_starts_a_reset(self) -> None:
        for by in (self.secadmin, self.auditadmin, self.officer, self.principal_a):
            with self.subTest(by=by.username):
                response = self.reset_page(by, self.teacher_a)
                self.assertIn(response.status_code, (403, 404))
        self.teacher_a.refresh_from_db()
        self.assertTrue(self.teacher_a.check_password(PASSWORD))

    # --- After any reset ------------------------------------------------------------

    def test_after_a_reset_the_holder_must_change_it_before_anything_else(self) -> None:
        services.person_set_password(by=self.sysadmin, person=self.principal_a, password=NEW)
        client = self.log_in(self.principal_a, NEW)
        self.assertIsNotNone(client)
        response = client.get("/orgs/")
        self.assertRedirects(response, "/account/password/?reset=1", fetch_redirect_response=False)
        self.assertContains(client.get("/account/password/?reset=1"), 'data-testid="reset-note"')
        # The API issues no token either, with the reason.
        answer = self.token_answer(self.principal_a, NEW)
        self.assertEqual(answer.status_code, 403)
        self.assertIn("reset", answer.json()["detail"])
        # The holder chooses their own: everything opens again.
        changed = client.post(
            "/account/password/",
            {"old_password": NEW, "new_password1": "Mine-2026!x", "new_password2": "Mine-2026!x"},
        )
        self.assertEqual(changed.status_code, 302)
        self.principal_a.refresh_from_db()
        self.assertFalse(self.principal_a.must_change_password)
        self.assertEqual(client.get("/orgs/").status_code, 200)
        self.assertEqual(self.token_answer(self.principal_a, "Mine-2026!x").status_code, 200)

    def test_an_ordinary_reset_also_forces_a_change_and_ends_tokens_and_sessions(self) -> None:
        token = services.token_issue(person=self.principal_a)
        session = self.client_for(self.principal_a)
        self.assertEqual(session.get("/orgs/").status_code, 200)
        response = self.reset_page(self.sysadmin, self.principal_a)
        self.assertEqual(response.status_code, 302)
        self.principal_a.refresh_from_db()
        self.assertTrue(self.principal_a.must_change_password)
        self.assertFalse(ApiToken.objects.filter(person=self.principal_a).exists())
        api = Client().get(f"{API}/units", headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(api.status_code, 401)
        # The session opened with the old password has ended.
        self.assertRedirects(
            session.get("/orgs/"), "/login/?next=/orgs/", fetch_redirect_response=False
        )

    def test_changing_your_own_password_forces_nothing(self) -> None:
        services.person_set_password(by=self.principal_a, person=self.principal_a, password=NEW)
        self.principal_a.refresh_from_db()
        self.assertFalse(self.principal_a.must_change_password)
        self.assertFalse(
            Notification.objects.filter(event="password_reset", deliveries__person=self.principal_a)
        )

    def test_the_holder_is_told_through_their_channels(self) -> None:
        self.auditadmin.email = "audit@example.edu.cn"
        self.auditadmin.save()
        with translation.override("zh-hans"):
            admin_password_reset(by=self.sysadmin, person=self.auditadmin, cosigner=self.secadmin)
        notification = Notification.objects.get(event="password_reset_link")
        deliveries = Delivery.objects.filter(notification=notification)
        self.assertEqual({d.person_id for d in deliveries}, {self.auditadmin.pk})
        self.assertIn(self.sysadmin.name, notification.body)
        self.assertIn(self.secadmin.name, notification.body)
        self.assertEqual(notification.urgency, "urgent")

    # --- The same class elsewhere ---------------------------------------------------

    def test_no_administrator_changes_another_administrators_login_details(self) -> None:
        """Username, mobile and e-mail are ways in (login by mobile, a reset by mail):
        only the holder changes them."""
        for field, value in [
            ("username", "mine"),
            ("mobile", "13900009999"),
            ("email", "me@example.com"),
            ("name", "冒名"),
        ]:
            for target in (self.auditadmin, self.secadmin):
                with (
                    self.subTest(field=field, target=target.username),
                    self.assertRaises(PermissionDenied),
                ):
                    services.person_update(by=self.sysadmin, person=target, **{field: value})
        token = services.token_issue(person=self.sysadmin)
        answer = Client().patch(
            f"{API}/people/{self.auditadmin.pk}",
            json.dumps({"mobile": "13900009999"}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        self.assertIn(answer.status_code, (403, 404))
        self.auditadmin.refresh_from_db()
        self.assertIsNone(self.auditadmin.mobile)
        # The holder may.
        services.person_update(by=self.auditadmin, person=self.auditadmin, mobile="13900009999")

    def test_the_system_administrator_cannot_disable_another_administrator(self) -> None:
        client = self.client_for(self.sysadmin)
        client.post(f"/admin/accounts/{self.auditadmin.pk}/toggle/")
        self.auditadmin.refresh_from_db()
        self.assertTrue(self.auditadmin.is_active)
        # Once the security administrator has taken the role away, it can.
        services.admin_role_grant(by=self.secadmin, person=self.auditadmin, role="")
        client.post(f"/admin/accounts/{self.auditadmin.pk}/toggle/")
        self.auditadmin.refresh_from_db()
        self.assertFalse(self.auditadmin.is_active)

    def test_a_reset_account_is_not_named_administrator_until_its_holder_chose(self) -> None:
        """The system administrator resets an ordinary account and knows its password:
        the security administrator cannot then make it an administrator's account."""
        services.person_set_password(by=self.sysadmin, person=self.teacher_a, password=NEW)
        with self.assertRaises(ValidationError):
            services.admin_role_grant(by=self.secadmin, person=self.teacher_a, role="audit")
        services.person_set_password(by=self.teacher_a, person=self.teacher_a, password=PASSWORD)
        self.assertTrue(self.can_log_in(self.teacher_a, PASSWORD))
        self.teacher_a.refresh_from_db()
        services.admin_role_grant(by=self.secadmin, person=self.teacher_a, role="audit")

    def test_no_administrator_grants_itself_a_role_through_the_api(self) -> None:
        for admin in (self.sysadmin, self.secadmin):
            token = services.token_issue(person=admin)
            with self.subTest(admin=admin.username):
                answer = Client().post(
                    f"{API}/memberships",
                    json.dumps(
                        {"person_id": admin.pk, "unit_id": self.school_a.pk, "role": Role.PRINCIPAL}
                    ),
                    content_type="application/json",
                    headers={"Authorization": f"Bearer {token}"},
                )
                self.assertEqual(answer.status_code, 403)
                self.assertFalse(admin.memberships.exists())
        with self.assertRaises(PermissionDenied):
            services.admin_role_grant(by=self.secadmin, person=self.secadmin, role=AdminRole.SYSTEM)
