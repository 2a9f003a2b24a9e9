"""A reset goes through administration.services.password_reset, which tells the holder in
the reset's transaction; orgs alone (below notify) changes the account and tells nobody."""

from django.core.exceptions import PermissionDenied

from safecampus.administration.services import password_reset
from safecampus.notify.models import Notification
from safecampus.orgs import services
from safecampus.test import BaseTestCase

NEW = "Reset-by-admin-7"


class PasswordResetTest(BaseTestCase):
    def told(self, person):
        return Notification.objects.filter(event="password_reset", deliveries__person=person)

    def test_the_reset_page_tells_the_holder(self):
        response = self.client_for(self.sysadmin).post(
            f"/admin/accounts/{self.principal_a.pk}/password/", {"password": NEW}
        )
        self.assertEqual(response.status_code, 302)
        self.principal_a.refresh_from_db()
        self.assertTrue(self.principal_a.check_password(NEW))
        self.assertEqual(self.told(self.principal_a).count(), 1)

    def test_a_refused_reset_tells_nobody(self):
        with self.assertRaises(PermissionDenied):
            password_reset(by=self.sysadmin, person=self.auditadmin, password=NEW)
        self.assertFalse(Notification.objects.filter(event="password_reset").exists())

    def test_orgs_alone_sets_the_password_and_tells_nobody(self):
        services.person_set_password(by=self.sysadmin, person=self.teacher_a, password=NEW)
        self.teacher_a.refresh_from_db()
        self.assertTrue(self.teacher_a.must_change_password)
        self.assertFalse(self.told(self.teacher_a).exists())

    def test_changing_your_own_password_through_it_tells_nobody(self):
        password_reset(by=self.principal_a, person=self.principal_a, password=NEW)
        self.assertFalse(self.told(self.principal_a).exists())
