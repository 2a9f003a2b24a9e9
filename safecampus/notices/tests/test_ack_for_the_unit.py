"""Review 13, finding 7: acknowledging from the inbox or a message's link skipped
access.can_acknowledge. School A's office contact is a head teacher (not a manager, not
duty staff), and anyone in a robot's chat group may click its link: either acknowledged the
notice for the unit. The rule now: acknowledging FOR THE UNIT follows can_acknowledge on
every path; acknowledging a message addressed to you records only that you read it."""

from django.test import Client
from django.urls import reverse

from safecampus.notify import services as notify_services
from safecampus.notify.models import Delivery, Transport
from safecampus.orgs.models import Membership, Role

from .base import NoticeTestCase


class AckForTheUnitTest(NoticeTestCase):
    def test_an_office_contact_without_the_right_acknowledges_only_the_message(self):
        notice = self.send(requires_ack=True)
        delivery = Delivery.objects.get(
            notification__unit=self.school_a, person=self.teacher_a, transport=Transport.INBOX
        )
        response = self.client_for(self.teacher_a).post(
            reverse("notify:inbox-item", args=[delivery.pk])
        )
        self.assertEqual(response.status_code, 302)
        delivery.refresh_from_db()
        self.assertIsNotNone(delivery.acknowledged_at)  # they read their message
        receipt = notice.receipts.get(unit=self.school_a)
        self.assertIsNone(receipt.acked_at)  # the unit has not confirmed
        self.assertEqual(receipt.read_by, self.teacher_a)

    def test_the_api_inbox_acknowledgement_follows_the_same_rule(self):
        notice = self.send(requires_ack=True)
        delivery = Delivery.objects.get(
            notification__unit=self.school_a, person=self.teacher_a, transport=Transport.INBOX
        )
        from safecampus.orgs import services as orgs_services

        token = orgs_services.token_issue(person=self.teacher_a)
        answer = Client().post(
            f"/api/v1/inbox/{delivery.pk}/ack", headers={"Authorization": f"Bearer {token}"}
        )
        self.assertEqual(answer.status_code, 200)
        self.assertIsNone(notice.receipts.get(unit=self.school_a).acked_at)

    def test_a_robots_link_acknowledges_only_the_message(self):
        notice = self.send(requires_ack=True)
        robot = Delivery.objects.get(channel=self.robot_b)
        response = Client().post(f"/n/ack/{robot.ack_token}/")
        self.assertEqual(response.status_code, 200)
        robot.refresh_from_db()
        self.assertIsNotNone(robot.acknowledged_at)
        receipt = notice.receipts.get(unit=self.school_b)
        self.assertIsNone(receipt.acked_at)
        self.assertIsNotNone(receipt.read_at)  # it reached the unit's group

    def test_a_link_of_someone_who_may_acknowledge_acknowledges_for_the_unit(self):
        # School B's office contact is its duty staff: they confirm for the unit.
        notice = self.send(requires_ack=True)
        delivery = Delivery.objects.filter(
            notification__unit=self.school_b, person=self.duty_b
        ).first()
        Client().post(f"/n/ack/{delivery.ack_token}/")
        receipt = notice.receipts.get(unit=self.school_b)
        self.assertIsNotNone(receipt.acked_at)
        self.assertEqual(receipt.acked_by, self.duty_b)

    def test_once_given_the_right_the_same_message_acknowledges_for_the_unit(self):
        notice = self.send(requires_ack=True)
        Membership.objects.create(person=self.teacher_a, unit=self.school_a, role=Role.DUTY_STAFF)
        delivery = Delivery.objects.get(
            notification__unit=self.school_a, person=self.teacher_a, transport=Transport.INBOX
        )
        notify_services.delivery_acknowledge(delivery=delivery)
        self.assertEqual(notice.receipts.get(unit=self.school_a).acked_by, self.teacher_a)
