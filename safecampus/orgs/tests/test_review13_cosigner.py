"""Review of issue 13: a co-signer whose password someone else set is no second person.

After a legitimate reset of an administrator's password (two administrators of two roles),
the one who typed the new password knows it until the holder has chosen their own. That
account must not co-sign another reset meanwhile: the system administrator alone would use
it to reset the security administrator's password (and so on round the three)."""

from django.core.exceptions import PermissionDenied

from safecampus.administration.services import admin_password_reset
from safecampus.orgs import access, services
from safecampus.test import PASSWORD, BaseTestCase

TEMPORARY = "Tempor4ry-pass"
NEW = "Taken-0ver!"


class PendingCosignerTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        # The audit administrator forgot their password: reset by two, as the README says
        # (nobody typed the next one since: the holder has a link; the rule stands anyway).
        self.auditadmin.email = "audit@example.edu.cn"
        self.auditadmin.save()
        admin_password_reset(by=self.sysadmin, person=self.auditadmin, cosigner=self.secadmin)
        self.auditadmin.refresh_from_db()
        self.assertTrue(self.auditadmin.must_change_password)

    def test_the_rule_refuses_a_cosigner_with_a_pending_reset(self) -> None:
        self.assertFalse(
            access.password_reset_cosigner(self.sysadmin, self.secadmin, self.auditadmin)
        )

    def test_the_system_administrator_cannot_use_it_to_reset_the_security_admin(self) -> None:
        response = self.client_for(self.sysadmin).post(
            f"/admin/accounts/{self.secadmin.pk}/password/",
            {
                "password": NEW,
                "cosigner_username": self.auditadmin.username,
                "cosigner_password": TEMPORARY,
            },
        )
        self.assertEqual(response.status_code, 200)  # the form again, with the reason
        self.secadmin.refresh_from_db()
        self.assertTrue(self.secadmin.check_password(PASSWORD))
        self.assertFalse(self.secadmin.must_change_password)
        with self.assertRaises(PermissionDenied):
            services.person_password_withdraw(
                by=self.sysadmin, person=self.secadmin, cosigner=self.auditadmin
            )

    def test_once_the_holder_has_chosen_a_password_they_cosign_again(self) -> None:
        self.auditadmin.must_change_password = False
        self.auditadmin.save()
        self.assertTrue(
            access.password_reset_cosigner(self.sysadmin, self.secadmin, self.auditadmin)
        )
