"""The audit trail is append-only (the database refuses changes) and hash-chained."""

from io import StringIO

from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from safecampus.audit.models import AuditEntry
from safecampus.audit.services import GENESIS, audit_record, audit_verify
from safecampus.orgs import services
from safecampus.orgs.models import Unit, UnitKind
from safecampus.test import BaseTestCase, audit_triggers_dropped


class AuditTrailTest(BaseTestCase):
    def _entries(self, n: int = 5) -> list[AuditEntry]:
        for i in range(n):
            audit_record(action="test", model="tests.thing", object_id=i, changes={"n": [i, i + 1]})
        return list(AuditEntry.objects.order_by("seq"))

    def test_every_change_is_recorded_with_who_what_and_address(self):
        client = self.client_for(self.principal_a)
        response = client.post(
            reverse("orgs:unit-edit", args=[self.school_a.pk]),
            {
                "code": "SA",
                "name": "城关第一小学",
                "kind": UnitKind.SCHOOL,
                "address": "",
                "phone": "0571-1234",
                "head": "",
                "office_contact": "",
            },
            REMOTE_ADDR="10.1.2.3",
        )
        self.assertEqual(response.status_code, 302)
        entry = AuditEntry.objects.filter(model="orgs.unit", action="update").latest("seq")
        self.assertEqual(entry.object_id, str(self.school_a.pk))
        self.assertEqual(entry.actor_id, self.principal_a.pk)
        self.assertEqual(entry.actor_label, "principal.a")
        self.assertEqual(entry.ip, "10.1.2.3")
        self.assertEqual(entry.changes["name"], ["城关小学", "城关第一小学"])
        self.assertEqual(entry.changes["phone"], ["", "0571-1234"])

    def test_create_and_delete_are_recorded(self):
        unit = services.unit_create(
            by=self.officer, parent=self.group_1, code="TMP", name="临时", kind=UnitKind.SCHOOL
        )
        services.unit_delete(by=self.officer, unit=unit)
        actions = list(
            AuditEntry.objects.filter(model="orgs.unit", object_id=str(unit.pk))
            .order_by("seq")
            .values_list("action", flat=True)
        )
        self.assertEqual(actions, ["create", "delete"])

    def test_password_hash_never_enters_the_trail(self):
        services.person_set_password(
            by=self.sysadmin, person=self.teacher_a, password="Another-pass-9"
        )
        for entry in AuditEntry.objects.filter(model="orgs.person"):
            self.assertNotIn("password", entry.changes)
            self.assertNotIn("pbkdf2", str(entry.changes))

    def test_login_and_failed_login_are_recorded(self):
        client = self.client_for(self.officer)
        client.logout()
        client.post(
            reverse("login"), {"username": "officer", "password": "wrong"}, REMOTE_ADDR="10.9.9.9"
        )
        client.post(
            reverse("login"),
            {"username": "officer", "password": "Test-pass-1"},
            REMOTE_ADDR="10.9.9.9",
        )
        failed = AuditEntry.objects.filter(action="login_failed").latest("seq")
        self.assertEqual(failed.changes, {"username": "officer"})
        self.assertEqual(failed.ip, "10.9.9.9")
        login = AuditEntry.objects.filter(action="login").latest("seq")
        self.assertEqual(login.actor_id, self.officer.pk)

    def test_database_refuses_update_and_delete(self):
        entry = self._entries(1)[0]
        for sql in (
            "UPDATE audit_auditentry SET action = 'forged' WHERE id = %s",
            "DELETE FROM audit_auditentry WHERE id = %s",
        ):
            with (
                self.subTest(sql=sql),
                self.assertRaises(DatabaseError),
                transaction.atomic(),
                connection.cursor() as cursor,
            ):
                cursor.execute(sql, [entry.pk])
        entry.refresh_from_db()
        self.assertNotEqual(entry.action, "forged")

    def test_orm_update_and_delete_are_refused_too(self):
        entry = self._entries(1)[0]
        with self.assertRaises(DatabaseError), transaction.atomic():
            AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
        with self.assertRaises(DatabaseError), transaction.atomic():
            entry.delete()

    def test_chain_links_each_entry_to_the_one_before(self):
        entries = self._entries(3)
        self.assertEqual(entries[0].prev_hash, GENESIS)
        for before, after in zip(entries, entries[1:], strict=False):
            self.assertEqual(after.prev_hash, before.hash)
            self.assertEqual(after.seq, before.seq + 1)
        self.assertTrue(audit_verify().ok)

    def test_verify_names_a_changed_entry(self):
        entries = self._entries(5)
        target = entries[2]
        with audit_triggers_dropped():
            AuditEntry.objects.filter(pk=target.pk).update(changes={"n": [0, 999]})
        result = audit_verify()
        self.assertFalse(result.ok)
        self.assertEqual(result.broken_seq, target.seq)
        self.assertEqual(result.kind, "changed")

    def test_verify_names_the_entry_after_a_deleted_one(self):
        entries = self._entries(5)
        with audit_triggers_dropped():
            AuditEntry.objects.filter(pk=entries[2].pk).delete()
        result = audit_verify()
        self.assertFalse(result.ok)
        self.assertEqual(result.broken_seq, entries[3].seq)
        self.assertEqual(result.kind, "missing")

    def test_verify_catches_reordered_entries(self):
        entries = self._entries(5)
        a, b = entries[1], entries[3]
        with audit_triggers_dropped():
            # Swap the two rows' positions in the chain (seq is unique: go through a free value).
            AuditEntry.objects.filter(pk=a.pk).update(seq=-1)
            AuditEntry.objects.filter(pk=b.pk).update(seq=a.seq)
            AuditEntry.objects.filter(pk=a.pk).update(seq=b.seq)
        result = audit_verify()
        self.assertFalse(result.ok)
        self.assertEqual(result.broken_seq, a.seq)

    def test_verify_catches_a_rewritten_entry_with_recomputed_hash(self):
        # A forger who recomputes the entry's own hash still breaks the link after it.
        from safecampus.audit.services import entry_hash

        entries = self._entries(4)
        target = entries[1]
        fields = {
            f: getattr(target, f)
            for f in (
                "seq",
                "at",
                "actor_id",
                "actor_label",
                "ip",
                "action",
                "model",
                "object_id",
                "object_repr",
                "changes",
                "prev_hash",
            )
        }
        fields["action"] = "forged"
        with audit_triggers_dropped():
            AuditEntry.objects.filter(pk=target.pk).update(
                action="forged", hash=entry_hash(**fields)
            )
        result = audit_verify()
        self.assertFalse(result.ok)
        self.assertEqual(result.broken_seq, entries[2].seq)

    def test_command_reports_intact_and_broken(self):
        entries = self._entries(3)
        out = StringIO()
        call_command("audit", "verify", stdout=out)
        self.assertIn("OK", out.getvalue())
        with audit_triggers_dropped():
            AuditEntry.objects.filter(pk=entries[1].pk).update(actor_label="someone else")
        with self.assertRaisesMessage(CommandError, f"BROKEN at entry {entries[1].seq}"):
            call_command("audit", "verify", stdout=StringIO())

    def test_only_the_audit_administrator_reads_the_trail(self):
        self._entries(2)
        for person in (self.officer, self.sysadmin, self.secadmin, self.principal_a):
            response = self.client_for(person).get(reverse("audit:trail"))
            self.assertEqual(response.status_code, 403, person.username)
        client = self.client_for(self.auditadmin)
        response = client.get(reverse("audit:trail"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "tests.thing")
        response = client.post(reverse("audit:verify"), follow=True)
        self.assertTrue(response.context["result"].ok)
        self.assertContains(response, "intact")

    def test_unit_tree_changes_survive_in_trail_after_unit_is_gone(self):
        unit = services.unit_create(
            by=self.officer, parent=self.group_2, code="GONE", name="撤并学校", kind=UnitKind.SCHOOL
        )
        pk = unit.pk
        services.unit_delete(by=self.officer, unit=unit)
        self.assertFalse(Unit.objects.filter(pk=pk).exists())
        self.assertTrue(
            AuditEntry.objects.filter(
                model="orgs.unit", object_id=str(pk), action="delete"
            ).exists()
        )
