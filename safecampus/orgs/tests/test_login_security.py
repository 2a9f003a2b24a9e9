"""Log-in by username or mobile, lockout, idle timeout, password rules, secure headers."""

from datetime import timedelta

import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from safecampus.orgs import services
from safecampus.test import PASSWORD, BaseTestCase


def _login(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


class LoginTest(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.client = Client(HTTP_ACCEPT_LANGUAGE="en")

    def test_login_by_username_or_mobile(self):
        for name in ("principal.a", "13900000002"):
            with self.subTest(name=name):
                response = _login(self.client, name, PASSWORD)
                self.assertRedirects(response, reverse("home"), fetch_redirect_response=False)
                self.assertEqual(int(self.client.session["_auth_user_id"]), self.principal_a.pk)
                self.client.post(reverse("logout"))

    def test_unknown_user_and_wrong_password_get_the_same_answer(self):
        wrong = _login(self.client, "principal.a", "Wrong-pass-1")
        unknown = _login(self.client, "nobody.here", "Wrong-pass-1")
        self.assertEqual(wrong.status_code, unknown.status_code)
        self.assertEqual(wrong.context["error"], unknown.context["error"])
        self.assertContains(unknown, "Wrong username/mobile or password.")
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_lockout_after_repeated_failures_even_with_the_right_password(self):
        for _ in range(5):
            _login(self.client, "principal.a", "Wrong-pass-1")
        response = _login(self.client, "principal.a", PASSWORD)
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Too many failed attempts", status_code=429)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_lockout_message_is_the_same_for_unknown_accounts(self):
        for _ in range(5):
            _login(self.client, "ghost", "Wrong-pass-1")
        ghost = _login(self.client, "ghost", "Wrong-pass-1")
        for _ in range(5):
            _login(self.client, "principal.a", "Wrong-pass-1")
        real = _login(self.client, "principal.a", "Wrong-pass-1")
        self.assertEqual(ghost.status_code, real.status_code)
        self.assertEqual(ghost.context["error"], real.context["error"])

    def test_mobile_and_username_failures_count_for_one_account(self):
        for name in ["13900000002"] * 3 + ["principal.a"] * 2:
            _login(self.client, name, "Wrong-pass-1")
        self.assertEqual(_login(self.client, "principal.a", PASSWORD).status_code, 429)

    def test_lockout_ends_after_the_cool_off(self):
        for _ in range(5):
            _login(self.client, "principal.a", "Wrong-pass-1")
        self.assertEqual(_login(self.client, "principal.a", PASSWORD).status_code, 429)
        with time_machine.travel(timezone.now() + timedelta(minutes=16)):
            response = _login(self.client, "principal.a", PASSWORD)
            self.assertEqual(response.status_code, 302)

    def test_policy_changes_the_failure_limit(self):
        services.policy_update(by=self.secadmin, failure_limit=3)
        from safecampus.orgs.policy import forget_policy

        forget_policy()
        for _ in range(3):
            _login(self.client, "principal.a", "Wrong-pass-1")
        self.assertEqual(_login(self.client, "principal.a", PASSWORD).status_code, 429)

    def test_idle_session_ends_after_thirty_minutes(self):
        self.assertEqual(_login(self.client, "principal.a", PASSWORD).status_code, 302)
        self.assertEqual(self.client.get(reverse("home")).status_code, 200)
        with time_machine.travel(timezone.now() + timedelta(minutes=29)):
            self.assertEqual(self.client.get(reverse("home")).status_code, 200)
        with time_machine.travel(timezone.now() + timedelta(minutes=29 + 31)):
            response = self.client.get(reverse("home"))
            self.assertRedirects(
                response, reverse("login") + "?next=/", fetch_redirect_response=False
            )

    def test_expired_password_must_be_changed(self):
        self.principal_a.password_changed_at = timezone.now() - timedelta(days=91)
        self.principal_a.save()
        client = self.client_for(self.principal_a)
        response = client.get(reverse("orgs:tree"))
        self.assertRedirects(
            response, reverse("password_change") + "?expired=1", fetch_redirect_response=False
        )
        response = client.post(
            reverse("password_change"),
            {
                "old_password": PASSWORD,
                "new_password1": "Brand-new-42",
                "new_password2": "Brand-new-42",
            },
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(client.get(reverse("orgs:tree")).status_code, 200)

    def test_next_parameter_cannot_send_the_user_elsewhere(self):
        response = self.client.post(
            reverse("login") + "?next=https://evil.example/",
            {"username": "principal.a", "password": PASSWORD},
        )
        self.assertEqual(response["Location"], reverse("home"))


class PasswordRulesTest(BaseTestCase):
    def test_length_and_three_of_four_classes(self):
        for bad in ("Ab1!", "abcdefgh1", "ABCDEFGH!", "abcdefgh!"[:7] + "x"):
            with self.subTest(password=bad), self.assertRaises(ValidationError):
                validate_password(bad, self.teacher_a)
        for good in ("Qingshan7", "qingshan7!", "QINGSH7!x"):
            with self.subTest(password=good):
                validate_password(good, self.teacher_a)

    def test_the_policy_can_raise_the_minimum_length(self):
        services.policy_update(by=self.secadmin, min_password_length=12)
        from safecampus.orgs.policy import forget_policy

        forget_policy()
        with self.assertRaises(ValidationError):
            validate_password("Abcdefg1!", self.teacher_a)
        validate_password("Abcdefg1!xyz", self.teacher_a)


class SecureHeadersTest(BaseTestCase):
    def test_strict_content_security_policy_and_headers(self):
        response = Client().get(reverse("login"))
        csp = response["Content-Security-Policy"]
        self.assertIn("default-src 'self'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(response["X-Frame-Options"], "DENY")
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        self.assertEqual(response["Referrer-Policy"], "same-origin")

    def test_pages_load_no_script_or_style_from_outside(self):
        client = self.client_for(self.officer)
        for url in (
            reverse("login"),
            reverse("home"),
            reverse("orgs:tree"),
            reverse("orgs:unit", args=[self.school_a.pk]),
        ):
            body = client.get(url).content.decode()
            self.assertNotIn("<script>", body)
            self.assertNotIn("style=", body)
            self.assertNotIn("http://", body.replace("http://testserver", ""))
            self.assertNotIn("https://", body)

    def test_post_without_csrf_token_is_refused(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.officer)
        response = client.post(reverse("orgs:unit-archive", args=[self.school_b.pk]))
        self.assertEqual(response.status_code, 403)
        self.school_b.refresh_from_db()
        self.assertIsNone(self.school_b.archived_at)
