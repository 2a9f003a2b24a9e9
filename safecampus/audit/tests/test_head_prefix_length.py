"""Review 13, finding 10: a recorded head with only 8 hex characters of its hash was
accepted. 32 bits can be matched by brute force by whoever rewrites the tail with access to
the database; verification now requires at least 12 (what receipts print)."""

import tempfile
from io import StringIO
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import translation

from safecampus.audit.models import AuditEntry
from safecampus.audit.services import (
    HEAD_HASH_MIN,
    RecordedHead,
    audit_record,
    audit_verify,
    heads_parse,
)
from safecampus.test import BaseTestCase


class HeadPrefixLengthTest(BaseTestCase):
    def setUp(self):
        super().setUp()
        audit_record(action="test", model="tests.thing", object_id=1, changes={"n": 1})
        self.head = AuditEntry.objects.order_by("-seq").first()

    def test_twelve_characters_is_what_receipts_print(self):
        self.assertEqual(HEAD_HASH_MIN, 12)
        [head] = heads_parse(f"{self.head.seq} {self.head.hash[:12]}")
        self.assertEqual(head.hash, self.head.hash[:12])
        self.assertTrue(audit_verify([head]).ok)

    def test_eight_to_eleven_characters_are_refused_naming_the_line(self):
        for n in (8, 11):
            with (
                self.subTest(n=n),
                translation.override("en"),
                self.assertRaises(ValidationError) as caught,
            ):
                heads_parse(f"Head: intact\n{self.head.seq} {self.head.hash[:n]}")
            self.assertIn("Line 2", str(caught.exception))
            self.assertIn("12", str(caught.exception))

    def test_the_command_refuses_a_short_head(self):
        path = Path(self.enterContext(tempfile.TemporaryDirectory())) / "h.txt"
        path.write_text(f"{self.head.seq} {self.head.hash[:8]}\n", encoding="utf-8")
        with self.assertRaisesMessage(CommandError, "Line 1"):
            call_command("audit", "verify", "--heads", str(path), stdout=StringIO())

    def test_a_short_head_given_directly_does_not_verify(self):
        short = RecordedHead(seq=self.head.seq, hash=self.head.hash[:8], source="x")
        result = audit_verify([short])
        self.assertFalse(result.ok)
        self.assertEqual([p.kind for p in result.head_problems], ["mismatch"])
