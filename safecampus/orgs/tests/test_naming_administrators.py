"""Review 13, finding 6: naming administrators needs only the security administrator.

It may name only an account whose holder has logged in with a password of their own since
it was created or last reset: not an account never used (created with no password, or one
the system administrator set and nobody has logged in with since it was changed), nor one
whose password an administrator's reset withdrew. The trust that remains (a security
administrator naming a second account they really hold) is written in the README."""

from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from safecampus.orgs import access, services
from safecampus.orgs.models import AdminRole
from safecampus.test import PASSWORD, BaseTestCase, make_person


def log_in(username: str) -> bool:
    answer = Client().post("/login/", {"username": username, "password": PASSWORD})
    return answer.status_code == 302


class NamingAdministratorsTest(BaseTestCase):
    def grant(self, person):
        with translation.override("en"):
            return services.admin_role_grant(by=self.secadmin, person=person, role=AdminRole.AUDIT)

    def test_an_account_never_logged_in_is_not_named(self):
        fresh = make_person("fresh", "新账号")  # a password, never used
        with self.assertRaises(ValidationError) as caught:
            self.grant(fresh)
        self.assertIn("log in", str(caught.exception))
        self.assertTrue(log_in("fresh"))
        fresh.refresh_from_db()
        self.assertEqual(self.grant(fresh).admin_role, AdminRole.AUDIT)

    def test_an_account_without_a_usable_password_is_not_named(self):
        person = make_person("nopass", "无密码")
        self.assertTrue(log_in("nopass"))
        person.refresh_from_db()
        person.set_unusable_password()
        person.save()
        self.assertFalse(access.may_be_named_administrator(person))
        with self.assertRaises(ValidationError):
            self.grant(person)

    def test_the_admins_page_says_why(self):
        fresh = make_person("fresh2", "新账号二")
        response = self.client_for(self.secadmin).post(
            "/admin/admins/", {"username": fresh.username, "admin_role": AdminRole.AUDIT}
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["form"].errors)
        fresh.refresh_from_db()
        self.assertEqual(fresh.admin_role, "")
