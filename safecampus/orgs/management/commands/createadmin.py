"""`safecampus createadmin system|security|audit --username U --name N`: the first administrators.

A fresh installation has no accounts; this creates the three separated
administrators (三员). The password comes from SAFECAMPUS_ADMIN_PASSWORD or
is asked for.
"""

import getpass
import os

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from safecampus.audit.services import acting_as
from safecampus.orgs.models import AdminRole, Person


class Command(BaseCommand):
    help = "Create an administrator account (system, security or audit)."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("role", choices=AdminRole.values)
        parser.add_argument("--username", required=True)
        parser.add_argument("--name", required=True)

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        if Person.objects.filter(username=options["username"]).exists():
            raise CommandError(f"{options['username']} already exists")
        password = os.environ.get("SAFECAMPUS_ADMIN_PASSWORD") or getpass.getpass("Password: ")
        person = Person(
            username=options["username"], name=options["name"], admin_role=options["role"]
        )
        try:
            validate_password(password, person)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        person.set_password(password)
        person.password_changed_at = timezone.now()
        with acting_as("createadmin"), transaction.atomic():
            person.save()
        self.stdout.write(f"Created {person.username} ({person.get_admin_role_display()}).")
