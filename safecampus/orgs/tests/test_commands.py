"""Management commands: createadmin bootstraps the three administrators."""

import os
from io import StringIO
from unittest import mock

from django.core.management import CommandError, call_command
from django.test import TestCase

from safecampus.orgs.models import AdminRole, Person


class CreateAdminTest(TestCase):
    def test_creates_an_administrator_that_can_log_in(self):
        with mock.patch.dict(os.environ, {"SAFECAMPUS_ADMIN_PASSWORD": "Strong-admin-9"}):
            call_command(
                "createadmin",
                "security",
                "--username",
                "sec1",
                "--name",
                "安全员甲",
                stdout=StringIO(),
            )
        person = Person.objects.get(username="sec1")
        self.assertEqual(person.admin_role, AdminRole.SECURITY)
        self.assertTrue(person.check_password("Strong-admin-9"))
        self.assertIsNotNone(person.password_changed_at)

    def test_refuses_a_weak_password_and_an_existing_username(self):
        with (
            mock.patch.dict(os.environ, {"SAFECAMPUS_ADMIN_PASSWORD": "weakpass"}),
            self.assertRaises(CommandError),
        ):
            call_command(
                "createadmin", "audit", "--username", "a1", "--name", "x", stdout=StringIO()
            )
        self.assertFalse(Person.objects.filter(username="a1").exists())
        Person.objects.create(username="taken", name="x")
        with (
            mock.patch.dict(os.environ, {"SAFECAMPUS_ADMIN_PASSWORD": "Strong-admin-9"}),
            self.assertRaisesMessage(CommandError, "already exists"),
        ):
            call_command(
                "createadmin", "system", "--username", "taken", "--name", "x", stdout=StringIO()
            )
