"""Review 13, finding 5: whoever typed a reset password could log in as the account first.

After a legitimate co-signed reset of the audit administrator's password, the system
administrator knew the new password and could log in as the audit administrator before
its holder did. Now nobody types an administrator's password: the co-signed reset makes
the old one stop working and sends the holder alone a one-time link (e-mail or SMS) to
choose their own; the link is readable by nobody else in the app, nor in the audit trail.
Ordinary accounts keep the typed temporary password that must be changed."""

import json
import re

from django.core import mail
from django.test import Client, override_settings
from django.utils import translation

from safecampus.audit.models import AuditEntry
from safecampus.notify.models import Delivery, Notification, Transport
from safecampus.orgs import services
from safecampus.orgs.models import ApiToken
from safecampus.test import PASSWORD, BaseTestCase
from safecampus.worker.testing import drain

MINE = "Chosen-by-me-2026"
API = "/api/v1"


class AdminResetLinkTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.auditadmin.email = "audit@example.edu.cn"
        self.auditadmin.save()

    def reset(self, **extra: str):
        data = {
            "cosigner_username": self.secadmin.username,
            "cosigner_password": PASSWORD,
            "password": "Typed-by-sysadmin-1",  # ignored: the form has no such field now
            **extra,
        }
        return self.client_for(self.sysadmin).post(
            f"/admin/accounts/{self.auditadmin.pk}/password/", data
        )

    def can_log_in(self, password: str) -> bool:
        answer = Client().post(
            "/login/", {"username": self.auditadmin.username, "password": password}
        )
        return answer.status_code == 302

    def link_path(self) -> str:
        notification = Notification.objects.get(event="password_reset_link")
        return notification.link

    def test_nobody_but_the_holder_knows_the_new_password(self) -> None:
        token = services.token_issue(person=self.auditadmin)
        session = self.client_for(self.auditadmin)
        response = self.reset()
        self.assertRedirects(response, "/admin/accounts/", fetch_redirect_response=False)
        self.auditadmin.refresh_from_db()
        # What the system administrator typed is not the password; the old one stopped.
        self.assertFalse(self.auditadmin.check_password("Typed-by-sysadmin-1"))
        self.assertFalse(self.auditadmin.has_usable_password())
        self.assertFalse(self.can_log_in("Typed-by-sysadmin-1"))
        self.assertFalse(self.can_log_in(PASSWORD))
        # Sessions and API tokens ended.
        self.assertFalse(ApiToken.objects.filter(person=self.auditadmin).exists())
        self.assertEqual(session.get("/audit/").status_code, 302)
        self.assertEqual(
            Client().get(f"{API}/units", headers={"Authorization": f"Bearer {token}"}).status_code,
            401,
        )

    def test_the_holder_chooses_a_password_through_the_link_once(self) -> None:
        self.reset()
        drain()
        [message] = mail.outbox
        self.assertEqual(message.to, ["audit@example.edu.cn"])
        path = self.link_path()
        self.assertIn(path, message.body)
        self.assertRegex(path, r"^/account/reset/[^/]+/[^/]+/$")
        holder = Client(HTTP_ACCEPT_LANGUAGE="en")
        page = holder.get(path, follow=True)  # the token moves into the session
        self.assertEqual(page.status_code, 200)
        self.assertTrue(page.context["validlink"])
        done = holder.post(
            page.redirect_chain[-1][0], {"new_password1": MINE, "new_password2": MINE}
        )
        self.assertRedirects(done, "/login/", fetch_redirect_response=False)
        self.auditadmin.refresh_from_db()
        self.assertTrue(self.auditadmin.check_password(MINE))
        self.assertFalse(self.auditadmin.must_change_password)
        self.assertTrue(self.can_log_in(MINE))
        # Single use: the link does not open again.
        again = Client(HTTP_ACCEPT_LANGUAGE="en").get(path, follow=True)
        self.assertFalse(again.context["validlink"])

    def test_the_link_expires(self) -> None:
        self.reset()
        path = self.link_path()
        with override_settings(PASSWORD_RESET_TIMEOUT=-1):
            page = Client(HTTP_ACCEPT_LANGUAGE="en").get(path, follow=True)
        self.assertFalse(page.context["validlink"])

    def test_a_newer_reset_replaces_the_link(self) -> None:
        self.reset()
        first = self.link_path()
        Notification.objects.all().delete()
        self.reset()
        page = Client(HTTP_ACCEPT_LANGUAGE="en").get(first, follow=True)
        self.assertFalse(page.context["validlink"])

    def test_nobody_else_reads_the_link_in_the_app(self) -> None:
        self.reset()
        notification = Notification.objects.get(event="password_reset_link")
        self.assertIsNone(notification.sender)
        self.assertIsNone(notification.unit)
        for admin in (self.sysadmin, self.secadmin):
            with self.subTest(admin=admin.username):
                client = self.client_for(admin)
                self.assertEqual(
                    client.get(f"/notify/notifications/{notification.pk}/").status_code, 404
                )
                self.assertNotContains(client.get("/notify/sent/"), notification.link)
                token = services.token_issue(person=admin)
                answer = Client().get(
                    f"{API}/notifications/{notification.pk}",
                    headers={"Authorization": f"Bearer {token}"},
                )
                self.assertEqual(answer.status_code, 404)
        # Nor in the audit trail: only that a link went, and on which kinds of channel.
        token_part = notification.link.rstrip("/").rsplit("/", 1)[-1]
        for entry in AuditEntry.objects.all():
            self.assertNotIn(token_part, json.dumps(entry.changes))
        entry = AuditEntry.objects.filter(action="password_reset_link").latest("seq")
        self.assertEqual(entry.changes["sent_to"], [Transport.EMAIL])
        self.assertEqual(entry.changes["cosigned_by"], self.secadmin.username)

    def test_the_form_takes_no_password_for_an_administrator(self) -> None:
        page = self.client_for(self.sysadmin).get(f"/admin/accounts/{self.auditadmin.pk}/password/")
        self.assertNotIn("password", page.context["form"].fields)
        self.assertContains(page, 'data-testid="link-note"')

    def test_a_holder_without_email_or_mobile_is_refused_with_the_server_way(self) -> None:
        self.auditadmin.email = ""
        self.auditadmin.save()
        with translation.override("en"):
            response = self.reset()
        self.assertEqual(response.status_code, 200)
        self.assertIn("changepassword", " ".join(response.context["form"].non_field_errors()))
        self.auditadmin.refresh_from_db()
        self.assertTrue(self.auditadmin.check_password(PASSWORD))  # nothing changed
        self.assertFalse(self.auditadmin.must_change_password)
        self.assertFalse(Delivery.objects.exists())
        self.assertFalse(AuditEntry.objects.filter(action="password_reset_link").exists())

    def test_ordinary_accounts_keep_the_typed_temporary_password(self) -> None:
        response = self.client_for(self.sysadmin).post(
            f"/admin/accounts/{self.teacher_a.pk}/password/", {"password": "Temp-pass-2026"}
        )
        self.assertEqual(response.status_code, 302)
        self.teacher_a.refresh_from_db()
        self.assertTrue(self.teacher_a.check_password("Temp-pass-2026"))
        self.assertTrue(self.teacher_a.must_change_password)

    def test_the_message_says_who_and_how_long(self) -> None:
        with translation.override("en"):
            self.reset()
        notification = Notification.objects.get(event="password_reset_link")
        self.assertIn(self.sysadmin.name, notification.body)
        self.assertIn(self.secadmin.name, notification.body)
        self.assertEqual(notification.urgency, "urgent")
        self.assertTrue(re.search(r"\d+ hours", notification.body))
        self.assertTrue(notification.params["link"].endswith(notification.link))
