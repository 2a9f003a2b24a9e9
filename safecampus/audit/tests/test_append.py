"""Appending to the chain: the same hashes however an entry is written (plain
statements on SQLite, one function call on PostgreSQL), and no two writers ever
append after the same entry."""

import hashlib
import threading

import pytest
from django.db import connection, connections, transaction

from safecampus.audit.models import AuditEntry
from safecampus.audit.services import (
    Actor,
    audit_pending,
    audit_record,
    audit_verify,
    entry_hash,
    hash_prefix,
    jsonable,
)
from safecampus.test import BaseTestCase, TransactionalTestCase

AWKWARD = {
    "name": ["城关小学", '城关第一小学 "一校"'],
    "path\\": "a\\b",
    "emoji": "🔥",
    "nested": {"z": [1, 2.5, None, True], "a": {"b": ""}},
    "zzz": "sorts after prev_hash and seq inside changes, not beside them",
}


class HashPrefixTest(BaseTestCase):
    def test_prefix_completed_by_the_chain_gives_the_entry_hash(self):
        pending = audit_pending(
            action="update",
            model="orgs.unit",
            object_id=7,
            object_repr="城关小学",
            changes=AWKWARD,
            actor=Actor(id=None, label="系统", ip="10.0.0.1"),
        )
        prev = hashlib.sha256(b"x").hexdigest()
        completed = hash_prefix(pending) + f'"prev_hash":"{prev}","seq":42}}'
        self.assertEqual(
            hashlib.sha256(completed.encode()).hexdigest(),
            entry_hash(seq=42, prev_hash=prev, **pending),
        )

    def test_awkward_entries_verify_after_being_written(self):
        for i in range(3):
            entry = audit_record(
                action="test", model="tests.thing", object_id=i, object_repr="检查", changes=AWKWARD
            )
            stored = AuditEntry.objects.get(pk=entry.pk)
            self.assertEqual((stored.seq, stored.hash), (entry.seq, entry.hash))
            self.assertEqual(stored.changes, jsonable(AWKWARD))  # a float is kept as text
        result = audit_verify()
        self.assertTrue(result.ok, result.reason)
        self.assertEqual(result.checked, AuditEntry.objects.count())
        self.assertEqual(result.head, AuditEntry.objects.order_by("seq").last().hash)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent connections: PostgreSQL")
class ConcurrentAppendTest(TransactionalTestCase):
    def test_two_writers_at_once_keep_one_unbroken_chain(self):
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def write(name: str) -> None:
            try:
                start.wait(timeout=10)
                for i in range(60):
                    with transaction.atomic():
                        audit_record(action="test", object_id=f"{name}{i}", changes={"i": i})
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=write, args=(name,)) for name in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(errors, [])
        seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
        self.assertEqual(seqs, list(range(1, 121)))
        result = audit_verify()
        self.assertTrue(result.ok, result.reason)
        self.assertEqual(result.checked, 120)
