"""Cutting off the end of the trail is caught by the heads recorded outside it: the
daily message to the auditors, receipts handed out, heads pasted or given in a file."""

import datetime as dt
import tempfile
from io import StringIO
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from safecampus.administration.audit_heads import KIND, daily_head, last_sent_heads, sent_heads
from safecampus.audit.models import AuditEntry
from safecampus.audit.services import RecordedHead, audit_record, audit_verify, heads_parse
from safecampus.notify.models import Notification
from safecampus.test import BaseTestCase, audit_triggers_dropped
from safecampus.worker.models import Timer


class TruncationTest(BaseTestCase):
    def setUp(self):
        super().setUp()
        for i in range(5):
            audit_record(action="test", model="tests.thing", object_id=i, changes={"n": i})
        self.newest = AuditEntry.objects.order_by("-seq")[:2]
        self.head = self.newest[0]

    def _cut_newest(self, n: int = 2) -> list[int]:
        """Delete the newest n entries, as an owner of the table with the triggers off can."""
        doomed = list(AuditEntry.objects.order_by("-seq").values_list("seq", flat=True)[:n])
        with audit_triggers_dropped():
            AuditEntry.objects.filter(seq__in=doomed).delete()
        return doomed

    def _cut_from(self, seq: int) -> None:
        with audit_triggers_dropped():
            AuditEntry.objects.filter(seq__gte=seq).delete()

    def _heads_file(self, text: str) -> str:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (removed by the cleanup)
            "w", suffix=".txt", delete=False, encoding="utf-8"
        )
        handle.write(text)
        handle.close()
        self.addCleanup(Path(handle.name).unlink)
        return handle.name

    def test_the_chain_alone_cannot_see_its_end_cut_off(self):
        self._cut_newest()
        self.assertTrue(audit_verify().ok)  # why recorded heads are needed

    def test_a_recorded_head_beyond_the_end_is_reported_truncated(self):
        head = RecordedHead(self.head.seq, self.head.hash, "receipt")
        self.assertTrue(audit_verify([head]).ok)
        doomed = self._cut_newest()
        result = audit_verify([head])
        self.assertFalse(result.ok)
        self.assertTrue(result.truncated)
        self.assertEqual(result.kind, "truncated")
        self.assertEqual(result.broken_seq, self.head.seq)
        self.assertEqual(
            [(p.head.seq, p.kind) for p in result.head_problems], [(max(doomed), "cut_off")]
        )

    def test_an_entry_cut_and_written_again_does_not_match_its_receipt(self):
        # Same sequence number, another hash: a rewritten end, not a missing one.
        receipt = RecordedHead(self.head.seq, self.head.hash[:12], "receipt")
        self._cut_newest(1)
        audit_record(action="test", model="tests.thing", object_id="forged")
        result = audit_verify([receipt])
        self.assertTrue(audit_verify().ok)
        self.assertFalse(result.ok)
        self.assertFalse(result.truncated)
        self.assertEqual(
            [(p.head.seq, p.kind) for p in result.head_problems], [(self.head.seq, "mismatch")]
        )

    def test_command_with_heads_file_fails_naming_every_missing_seq(self):
        second = self.newest[1]
        path = self._heads_file(
            f"# heads from the daily messages\n{second.seq} {second.hash}\n"
            f"Head: {self.head.seq} {self.head.hash.upper()}\n"
        )
        out = StringIO()
        call_command("audit", "verify", "--heads", path, stdout=out)
        self.assertIn("OK", out.getvalue())
        self.assertIn("2 recorded heads", out.getvalue())
        self._cut_newest()
        with self.assertRaises(CommandError) as caught:
            call_command("audit", "verify", "--heads", path, stdout=StringIO())
        message = str(caught.exception)
        self.assertIn(f"TRUNCATED: entry {second.seq} ", message)
        self.assertIn(f"TRUNCATED: entry {self.head.seq} ", message)
        self.assertIn(f"the trail ends at entry {second.seq - 1}", message)

    def test_command_refuses_a_heads_file_it_cannot_read(self):
        path = self._heads_file(f"{self.head.hash}\n")
        with self.assertRaisesMessage(CommandError, "Line 1"):
            call_command("audit", "verify", "--heads", path, stdout=StringIO())
        with self.assertRaisesMessage(CommandError, "cannot read"):
            call_command("audit", "verify", "--heads", path + ".gone", stdout=StringIO())

    def test_the_daily_message_is_a_head_every_verification_checks(self):
        Timer.objects.filter(kind=KIND).delete()
        with translation.override("en"):
            daily_head(Timer(kind=KIND, key="k", due_at=timezone.now()))
        note = Notification.objects.get(event="audit_head")
        sent_seq = int(note.params["seq"])
        self.assertIn(f"Head: {sent_seq} {note.params['head']}", note.body)
        self.assertEqual(
            [(h.seq, h.hash) for h in last_sent_heads()], [(sent_seq, note.params["head"])]
        )
        self.assertEqual([h.seq for h in sent_heads()], [sent_seq])
        call_command("audit", "verify", stdout=StringIO())
        self._cut_newest(1)
        with self.assertRaisesMessage(CommandError, f"TRUNCATED: entry {sent_seq} (the daily"):
            call_command("audit", "verify", stdout=StringIO())
        # ... and the next daily message says so.
        Timer.objects.filter(kind=KIND).delete()
        with translation.override("en"), self.captureOnCommitCallbacks(execute=False):
            daily_head(Timer(kind=KIND, key="k2", due_at=timezone.now() + dt.timedelta(days=1)))
        latest = Notification.objects.filter(event="audit_head").order_by("-pk").first()
        self.assertIn("TRUNCATED", latest.body)
        self.assertEqual(latest.urgency, "urgent")

    def test_page_checks_pasted_heads_and_names_the_missing(self):
        client = self.client_for(self.auditadmin)
        pasted = (
            f"Received at 10:02:03. Receipt no. {self.head.seq} · {self.head.hash[:12]}\n"
            "Chain: intact.\n"
        )
        with translation.override("en"):
            response = client.post(reverse("audit:verify"), {"heads": pasted})
            self.assertContains(response, "1 recorded head checked")
            self._cut_from(self.head.seq)
            response = client.post(reverse("audit:verify"), {"heads": pasted})
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["result"].truncated)
        self.assertContains(response, "TRUNCATED")
        self.assertContains(response, f"entry {self.head.seq} (line 1) is missing")
        entry = AuditEntry.objects.filter(action="audit_verify").latest("seq")
        self.assertEqual(entry.changes["heads_missing"], [self.head.seq])
        self.assertFalse(entry.changes["ok"])

    def test_page_keeps_what_was_typed_when_a_line_is_not_understood(self):
        client = self.client_for(self.auditadmin)
        typed = f"12 {self.head.hash}\n{self.head.hash}"
        with translation.override("en"):
            response = client.post(reverse("audit:verify"), {"heads": typed})
        self.assertIsNone(response.context["result"])
        self.assertContains(response, "Line 2")
        self.assertContains(response, self.head.hash)
        self.assertFalse(AuditEntry.objects.filter(action="audit_verify").exists())

    def test_only_the_audit_administrator_verifies(self):
        for person in (self.officer, self.sysadmin, self.secadmin):
            response = self.client_for(person).post(reverse("audit:verify"), {"heads": ""})
            self.assertEqual(response.status_code, 403, person.username)


class HeadsParseTest(BaseTestCase):
    def test_lines(self):
        h = "ab" * 32
        heads = heads_parse(
            f"1 {h}\n\n# a comment 2 {h}\n 3\t{h.upper()}  \n回执号 4 · {h[:12]}\nHead: intact\n"
        )
        self.assertEqual([(x.seq, x.hash) for x in heads], [(1, h), (3, h), (4, h[:12])])

    def test_a_hash_without_its_sequence_number_is_refused_naming_the_line(self):
        with self.assertRaises(ValidationError) as caught, translation.override("en"):
            heads_parse("Head:\nabcdef0123456789")
        self.assertIn("Line 2", str(caught.exception))
        self.assertEqual(heads_parse("5 abc"), [])  # too short for a hash: text
        self.assertEqual(heads_parse(f"0 {'0' * 64}"), [])  # an empty trail's head
        with self.assertRaises(ValidationError):
            heads_parse(f"{'9' * 19} {'ab' * 32}")
