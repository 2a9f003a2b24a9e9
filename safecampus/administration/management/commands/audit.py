"""`safecampus audit verify [--heads FILE]`: is the audit chain intact, and does it
still hold every head recorded outside it?"""

import sys
from dataclasses import replace
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, no_translations

from safecampus.administration.audit_heads import sent_heads
from safecampus.audit.services import audit_verify, heads_parse


class Command(BaseCommand):
    help = (
        "Audit trail tools. 'verify' walks the hash chain and names the first broken "
        "entry, then checks the heads sent to the auditors each day and those given "
        "with --heads (a file of 'seq hash' lines copied from the daily messages and "
        "from receipts): a head missing from the trail means its end was cut off."
    )

    def add_arguments(self, parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["verify"])
        parser.add_argument(
            "--heads",
            action="append",
            default=[],
            metavar="FILE",
            help="a file of recorded heads, one 'seq hash' a line ('-' reads standard "
            "input); may be given more than once",
        )

    @no_translations
    def handle(self, *args, **options) -> None:  # type: ignore[no-untyped-def]
        heads = []
        for name in options["heads"]:
            try:
                text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"cannot read {name}: {exc.strerror}") from exc
            except UnicodeDecodeError as exc:
                raise CommandError(f"{name} is not UTF-8 text") from exc
            try:
                parsed = heads_parse(text)
            except ValidationError as exc:
                raise CommandError(f"{name}: {' '.join(exc.message_dict['heads'])}") from exc
            heads += [replace(h, source=f"{name} {h.source}") for h in parsed]
        heads += sent_heads()
        result = audit_verify(heads)
        if result.ok:
            self.stdout.write(
                f"OK: audit chain intact, {result.checked} entries, "
                f"head {result.head_seq} {result.head}; "
                f"{result.heads_checked} recorded heads all present"
            )
            return
        lines = []
        if result.chain_broken:
            lines.append(
                f"BROKEN at entry {result.broken_seq}: {result.reason} "
                f"({result.checked} entries before it are intact)"
            )
        for problem in result.head_problems:
            word = "TRUNCATED" if problem.kind == "cut_off" else "BROKEN"
            lines.append(f"{word}: {problem.message}")
        raise CommandError("\n".join(lines))
