"""`safecampus audit verify`: is the audit chain intact?"""

from django.core.management.base import BaseCommand, CommandError

from safecampus.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit trail tools. 'verify' walks the hash chain and names the first broken entry."

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        result = audit_verify()
        if result.ok:
            self.stdout.write(
                f"OK: audit chain intact, {result.checked} entries, head {result.head}"
            )
            return
        raise CommandError(
            f"BROKEN at entry {result.broken_seq}: {result.reason} "
            f"({result.checked} entries before it are intact)"
        )
