"""Each day the audit administrators get the chain head, and the next day is scheduled."""

import datetime as dt

import time_machine
from django.utils import timezone

from safecampus.administration.audit_heads import KIND, schedule_next
from safecampus.audit.models import AuditEntry
from safecampus.notify.models import Notification
from safecampus.test import BaseTestCase
from safecampus.worker.loop import Worker
from safecampus.worker.models import Timer


class DailyHeadTest(BaseTestCase):
    def test_head_reaches_the_audit_administrators_and_the_next_is_scheduled(self):
        today = timezone.localdate()
        Timer.objects.filter(kind=KIND).delete()
        schedule_next(today)
        with time_machine.travel(timezone.now() + dt.timedelta(days=1, hours=1)):
            worker = Worker(threads=1)
            worker.tick()
            worker.pool.shutdown()
            head = AuditEntry.objects.order_by("-seq").first()
            note = Notification.objects.get(event="audit_head")
            self.assertIn(note.params["head"], note.body)
            self.assertEqual(
                [d.person for d in note.deliveries.filter(transport="inbox")], [self.auditadmin]
            )
            self.assertLessEqual(int(note.params["seq"]), head.seq)
            upcoming = Timer.objects.filter(kind=KIND, fired_at__isnull=True).get()
            self.assertEqual(
                timezone.localtime(upcoming.due_at).date(),
                timezone.localdate() + dt.timedelta(days=1),
            )

    def test_a_starting_worker_schedules_it_once(self):
        from safecampus.administration.audit_heads import ensure_scheduled

        Timer.objects.filter(kind=KIND).delete()
        ensure_scheduled()
        ensure_scheduled()
        self.assertEqual(Timer.objects.filter(kind=KIND, fired_at__isnull=True).count(), 1)
