"""Review of issue 13: a forced change is a change. After a reset, the password someone
else typed stays known to them (and to the co-signer); keeping it as "your own" would
end the forced change, let the account be named administrator, and leave it open."""

from django.utils import translation

from safecampus.administration.services import password_reset
from safecampus.test import BaseTestCase

TEMPORARY = "Tempor4ry-pass"


class SamePasswordTest(BaseTestCase):
    def test_the_password_someone_else_set_cannot_be_kept(self) -> None:
        password_reset(by=self.sysadmin, person=self.teacher_a, password=TEMPORARY)
        client = self.client_for(self.teacher_a)  # a session after the reset
        with translation.override("en"):
            response = client.post(
                "/account/password/",
                {
                    "old_password": TEMPORARY,
                    "new_password1": TEMPORARY,
                    "new_password2": TEMPORARY,
                },
            )
        self.assertEqual(response.status_code, 200)  # the form again
        self.assertContains(response, "Choose a password other than the one you have now.")
        self.teacher_a.refresh_from_db()
        self.assertTrue(self.teacher_a.must_change_password)
        response = client.post(
            "/account/password/",
            {
                "old_password": TEMPORARY,
                "new_password1": "Mine-0wn-pass",
                "new_password2": "Mine-0wn-pass",
            },
        )
        self.assertEqual(response.status_code, 302)
        self.teacher_a.refresh_from_db()
        self.assertFalse(self.teacher_a.must_change_password)
        self.assertTrue(self.teacher_a.check_password("Mine-0wn-pass"))
