"""Sending a notice reaches every unit of the sender's subtree and no other, in one transaction."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from safecampus.notices.models import Notice, NoticeReceipt
from safecampus.notify.models import Delivery, Notification, Transport, Urgency
from safecampus.orgs.models import Unit, UnitKind
from safecampus.worker.models import Timer

from .base import NoticeTestCase


class NoticeSendTest(NoticeTestCase):
    def test_reaches_every_unit_below_and_no_other(self):
        notice = self.send(urgency=Urgency.URGENT, requires_ack=True)
        below = set(Unit.objects.exclude(pk=self.bureau.pk).values_list("pk", flat=True))
        self.assertEqual(set(notice.receipts.values_list("unit_id", flat=True)), below)
        notifications = Notification.objects.filter(event="notice")
        self.assertEqual(
            set(notifications.values_list("unit_id", flat=True)), below, "one per recipient"
        )
        self.assertEqual(notifications.count(), len(below))
        n = notifications.get(unit=self.school_b)
        self.assertEqual(n.link, f"/notices/{notice.pk}/")
        self.assertTrue(n.requires_ack)
        self.assertEqual(n.urgency, Urgency.URGENT)
        self.assertEqual(n.params["receipt"], notice.receipts.get(unit=self.school_b).pk)
        # School B: its office contact in the inbox, and its enabled robot only.
        deliveries = Delivery.objects.filter(notification=n)
        self.assertEqual(
            set(deliveries.filter(transport=Transport.INBOX).values_list("person", flat=True)),
            {self.duty_b.pk},
        )
        self.assertEqual(
            list(deliveries.exclude(channel=None).values_list("channel", flat=True)),
            [self.robot_b.pk],
        )
        # School A: head and office contact.
        inbox_a = Delivery.objects.filter(
            notification__unit=self.school_a, transport=Transport.INBOX
        )
        self.assertEqual(
            set(inbox_a.values_list("person", flat=True)),
            {self.principal_a.pk, self.teacher_a.pk},
        )

    def test_group_reaches_only_its_own_schools(self):
        from safecampus.orgs.models import Membership, Role
        from safecampus.test import make_person

        head = make_person("head.g2", "西山学区长", "13900000020")
        Membership.objects.create(person=head, unit=self.group_2, role=Role.GROUP_HEAD)
        notice = self.send(by=head, unit=self.group_2)
        self.assertEqual(
            set(notice.receipts.values_list("unit_id", flat=True)),
            {self.school_b.pk, self.kinder_b.pk},
        )
        self.assertFalse(Notification.objects.filter(unit=self.school_a).exists())

    def test_chosen_kinds_only(self):
        notice = self.send(recipient_kinds=[UnitKind.SCHOOL, UnitKind.KINDERGARTEN])
        self.assertEqual(
            set(notice.receipts.values_list("unit_id", flat=True)),
            {self.school_a.pk, self.school_b.pk, self.kinder_b.pk},
        )

    def test_ack_deadline_schedules_one_timer(self):
        deadline = self.soon()
        notice = self.send(requires_ack=True, ack_deadline=deadline)
        timer = Timer.objects.get(key=f"notice:{notice.pk}:ack")
        self.assertEqual((timer.kind, timer.due_at), ("notices.ack_deadline", deadline))
        self.assertFalse(Timer.objects.filter(key__startswith="notice:").exclude(pk=timer.pk))

    def test_rolled_back_send_writes_nothing(self):
        with self.assertRaises(RuntimeError), transaction.atomic():
            self.send(requires_ack=True, ack_deadline=self.soon())
            self.assertTrue(Delivery.objects.exists())
            raise RuntimeError("the caller fails after sending")
        self.assertFalse(Notice.objects.exists())
        self.assertFalse(NoticeReceipt.objects.exists())
        self.assertFalse(Notification.objects.exists())
        self.assertFalse(Delivery.objects.exists())
        self.assertFalse(Timer.objects.filter(key__startswith="notice:").exists())

    def test_only_managers_send_and_only_below(self):
        with self.assertRaises(PermissionDenied):
            self.send(by=self.duty_b, unit=self.school_b)
        with self.assertRaises(PermissionDenied):
            self.send(by=self.principal_a, unit=self.group_1)
        with self.assertRaises(ValidationError) as caught:
            self.send(by=self.principal_a, unit=self.school_a, recipient_kinds=[UnitKind.SCHOOL])
        self.assertIn("recipient_kinds", caught.exception.error_dict)
        self.assertFalse(Notice.objects.exists())

    def test_bad_input_is_refused(self):
        with self.assertRaises(ValidationError) as caught:
            self.send(title=" ", ack_deadline=self.soon(-1), requires_ack=True)
        self.assertEqual(set(caught.exception.error_dict), {"title", "ack_deadline"})
        with self.assertRaises(ValidationError) as caught:
            self.send(ack_deadline=self.soon(), requires_ack=False)
        self.assertIn("ack_deadline", caught.exception.error_dict)
