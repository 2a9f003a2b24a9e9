"""A channel that is down: after the back-off the message falls back to the person's next
channel and the first keeps being tried slowly, for as long as the administrator set;
then it is failed and someone who can act on it is told — never only the person not
reached."""

import datetime as dt

import time_machine
from django.test import override_settings
from django.utils import timezone

from safecampus.notify.models import ContactPreference, Delivery, DeliveryStatus, Transport
from safecampus.notify.services import (
    delivery_record,
    delivery_settings_set,
    give_up_after,
    notification_create,
)
from safecampus.orgs.models import AdminRole, Person, Unit
from safecampus.test import BaseTestCase


@override_settings(NOTIFY_BACKOFF=[10, 30], NOTIFY_SLOW_RETRY=1800, SMS_PROVIDER="aliyun")
class GiveUpTests(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        for person in (self.teacher_a, self.principal_a):
            person.email = f"{person.username}@example.cn"
            person.mobile = person.mobile or "13900000001"
            person.save()
        ContactPreference.objects.create(person=self.teacher_a, order="email,sms")
        ContactPreference.objects.create(person=self.principal_a, order="email")
        self.t0 = timezone.now()

    def email_to(self, person: Person) -> Delivery:
        notification = notification_create(
            event="test", title="停水通知", body="b", unit=self.school_a, people=[person]
        )
        return notification.deliveries.get(transport=Transport.EMAIL)

    def fail(self, delivery: Delivery, at: dt.datetime) -> str:
        with time_machine.travel(at, tick=False):
            delivery.refresh_from_db()
            return delivery_record(delivery=delivery, ok=False, error="SMTP down")

    def failure_notices(self) -> list[set[str]]:
        rows = Delivery.objects.filter(notification__event="delivery_failed")
        return [set(rows.values_list("person__username", flat=True))] if rows else []

    def test_after_the_back_off_it_falls_back_and_keeps_trying_until_given_up(self):
        Unit.objects.filter(pk=self.school_a.pk).update(office_contact=self.principal_a)
        email = self.email_to(self.teacher_a)
        statuses = [self.fail(email, self.t0 + dt.timedelta(seconds=s)) for s in (0, 10, 40)]
        self.assertEqual(statuses, ["queued", "queued", "queued"])
        email.refresh_from_db()
        self.assertEqual(email.next_attempt_at, self.t0 + dt.timedelta(seconds=40 + 1800))
        # The person's next channel is tried meanwhile, once.
        sms = Delivery.objects.get(notification=email.notification, transport=Transport.SMS)
        self.assertEqual(sms.fallback_from, email)
        self.assertEqual(self.fail(email, self.t0 + dt.timedelta(hours=5)), "queued")
        self.assertEqual(Delivery.objects.filter(transport=Transport.SMS).count(), 1)
        self.assertEqual(self.failure_notices(), [])
        # Three days after the first try: given up, and the office hears of it.
        self.assertEqual(self.fail(email, self.t0 + dt.timedelta(hours=72)), "failed")
        self.assertEqual(self.failure_notices(), [{self.principal_a.username}])

    def test_the_administrator_sets_how_long(self):
        self.assertEqual(give_up_after(), dt.timedelta(hours=72))
        delivery_settings_set(by=self.sysadmin, give_up_after_hours=2)
        self.assertEqual(give_up_after(), dt.timedelta(hours=2))
        email = self.email_to(self.principal_a)
        for s in (0, 10, 40):
            self.fail(email, self.t0 + dt.timedelta(seconds=s))
        self.assertEqual(self.fail(email, self.t0 + dt.timedelta(hours=2)), "failed")

    def test_the_notice_never_goes_only_to_the_person_it_failed_to_reach(self):
        Unit.objects.filter(pk=self.school_a.pk).update(
            office_contact=self.principal_a, head=self.principal_a
        )
        self.school_a.refresh_from_db()
        email = self.email_to(self.principal_a)
        for s in (0, 10, 40):
            self.fail(email, self.t0 + dt.timedelta(seconds=s))
        self.fail(email, self.t0 + dt.timedelta(hours=73))
        admins = set(
            Person.objects.filter(admin_role=AdminRole.SYSTEM, is_active=True).values_list(
                "username", flat=True
            )
        )
        self.assertTrue(admins)
        self.assertEqual(self.failure_notices(), [admins])
        self.assertNotIn(self.principal_a.username, admins)
        email.refresh_from_db()
        self.assertEqual(email.status, DeliveryStatus.FAILED)
