"""Read (已读) and acknowledged (已确认) states, and the counts the sender sees."""

from django.core.exceptions import PermissionDenied
from django.urls import reverse

from safecampus.notices import services
from safecampus.notify import services as notify_services
from safecampus.notify.models import Delivery, Transport

from .base import NoticeTestCase


class NoticeReceiptTest(NoticeTestCase):
    def test_opening_marks_own_unit_read_and_ack_button_acknowledges(self):
        notice = self.send(requires_ack=True)
        officer = self.client_for(self.officer)
        page = officer.get(reverse("notices:detail", args=[notice.pk]))
        self.assertContains(page, 'data-testid="read-count">0/6<')
        self.assertContains(page, 'data-testid="ack-count">0/6<')

        duty = self.client_for(self.duty_b)
        page = duty.get(reverse("notices:detail", args=[notice.pk]))
        self.assertContains(page, 'data-testid="ack"')
        receipt = notice.receipts.get(unit=self.school_b)
        self.assertEqual(receipt.read_by, self.duty_b)
        self.assertIsNotNone(receipt.read_at)
        self.assertIsNone(receipt.acked_at)

        response = duty.post(
            reverse("notices:ack", args=[notice.pk]), {"unit": self.school_b.pk}, follow=True
        )
        self.assertContains(response, "Acknowledged.")
        receipt.refresh_from_db()
        self.assertEqual((receipt.acked_by, receipt.acked_via), (self.duty_b, "app"))

        page = officer.get(reverse("notices:detail", args=[notice.pk]))
        self.assertContains(page, 'data-testid="read-count">1/6<')
        self.assertContains(page, 'data-testid="ack-count">1/6<')
        # The officer opened it, but the bureau is the sender, not a recipient.
        self.assertEqual(notice.receipts.filter(read_at__isnull=False).count(), 1)

    def test_only_members_of_the_unit_acknowledge_for_it(self):
        notice = self.send(requires_ack=True)
        receipt = notice.receipts.get(unit=self.school_a)
        with self.assertRaises(PermissionDenied):
            services.notice_acknowledge(by=self.officer, receipt=receipt)
        response = self.client_for(self.duty_b).post(
            reverse("notices:ack", args=[notice.pk]), {"unit": self.school_a.pk}
        )
        self.assertEqual(response.status_code, 404)
        receipt.refresh_from_db()
        self.assertIsNone(receipt.acked_at)

    def test_acknowledging_the_message_acknowledges_the_notice(self):
        notice = self.send(requires_ack=True)
        # A robot's group: anyone may click; the unit has read it, not confirmed it
        # (test_ack_for_the_unit.py).
        robot = Delivery.objects.get(channel=self.robot_b)
        self.assertEqual(
            services.notice_acknowledge_delivery(delivery=robot),
            notice.receipts.get(unit=self.school_b),
        )
        receipt = notice.receipts.get(unit=self.school_b)
        self.assertIsNone(receipt.acked_at)
        self.assertIsNotNone(receipt.read_at)
        # Another event's delivery, or a tampered link, counts for nothing.
        inbox_a = Delivery.objects.filter(
            notification__unit=self.school_a, transport=Transport.INBOX
        ).first()
        inbox_a.notification.link = "/notices/999/"
        self.assertIsNone(services.notice_acknowledge_delivery(delivery=inbox_a))

    def test_notify_ack_link_acknowledges_the_notice(self):
        notice = self.send(requires_ack=True)
        delivery = Delivery.objects.get(
            notification__unit=self.school_a, person=self.principal_a, transport=Transport.INBOX
        )
        notify_services.delivery_acknowledge(delivery=delivery)
        receipt = notice.receipts.get(unit=self.school_a)
        self.assertEqual((receipt.acked_by, receipt.acked_via), (self.principal_a, "inbox"))

    def test_inbox_highlights_unread_for_own_units(self):
        notice = self.send(requires_ack=True)
        duty = self.client_for(self.duty_b)
        page = duty.get(reverse("notices:inbox"))
        self.assertContains(page, 'data-testid="unread"', count=1)
        self.assertContains(page, notice.title)
        duty.get(reverse("notices:detail", args=[notice.pk]))
        page = duty.get(reverse("notices:inbox"))
        self.assertNotContains(page, 'data-testid="unread"')
        self.assertContains(page, "to acknowledge")
        # The sender sees the counts in the list.
        page = self.client_for(self.officer).get(reverse("notices:inbox"))
        self.assertContains(page, "read 1/6")

    def test_pages_in_chinese(self):
        from django.test import Client

        notice = self.send(requires_ack=True, ack_deadline=self.soon())
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        client.force_login(self.officer)
        self.assertContains(client.get(reverse("notices:inbox")), "已读 0/6")
        page = client.get(reverse("notices:detail", args=[notice.pk]))
        self.assertContains(page, "催办 6 个单位")
        for english in ("Recipients", "acknowledge by", "unread", "not yet", "Chase"):
            self.assertNotContains(page, english)
