"""`safecampus demo load`: load the demo district (idempotent) and print the logins."""

from django.core.management.base import BaseCommand

from safecampus.demo.district import DEMO_LOGINS, demo_load, demo_password


class Command(BaseCommand):
    help = "Load the demo district (idempotent) and print the demo logins."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["load"])

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        created = demo_load()
        self.stdout.write("Demo district " + ("loaded." if created else "already present."))
        self.stdout.write(f"Demo logins (password: {demo_password()}):")
        for username, label in DEMO_LOGINS:
            self.stdout.write(f"  {username:<18} {label}")
