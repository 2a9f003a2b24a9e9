"""The outbox end to end: preferences, fallback, failure reports, acknowledgement, pages, API."""

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from safecampus.notify import services
from safecampus.notify.models import (
    Attempt,
    Channel,
    ContactPreference,
    Delivery,
    DeliveryStatus,
    Notification,
    Transport,
    Urgency,
)
from safecampus.notify.transports import TransportError
from safecampus.orgs.services import token_issue
from safecampus.test import BaseTestCase
from safecampus.worker.loop import Worker
from safecampus.worker.models import Heartbeat

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAST = override_settings(
    NOTIFY_BACKOFF=[0, 0], NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"], SMS_PROVIDER="aliyun"
)


def _tick(times: int = 1) -> None:
    worker = Worker(threads=1)
    for _ in range(times):
        worker.tick()
    worker.pool.shutdown()


@FAST
class OutboxFlowTest(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.teacher_a.email = "teacher@example.edu.cn"
        self.teacher_a.save()
        ContactPreference.objects.create(person=self.teacher_a, order="email,sms")

    def _send(self, **kwargs):
        defaults = {
            "event": "test",
            "title": "防溺水提醒",
            "body": "请加强巡查。",
            "unit": self.school_a,
            "people": [self.teacher_a],
        }
        return services.notification_create(**{**defaults, **kwargs})

    def test_inbox_at_once_and_first_channel_queued(self):
        notification = self._send()
        rows = {d.transport: d for d in notification.deliveries.all()}
        self.assertEqual(set(rows), {Transport.INBOX, Transport.EMAIL})
        self.assertEqual(rows[Transport.INBOX].status, DeliveryStatus.SENT)
        self.assertEqual(rows[Transport.EMAIL].status, DeliveryStatus.QUEUED)
        self.assertEqual(rows[Transport.EMAIL].address, "teacher@example.edu.cn")

    def test_failed_channel_falls_back_to_the_next_then_tells_the_office(self):
        notification = self._send()
        failing = mock.patch(
            "safecampus.notify.channels.email.transport.EmailTransport.send",
            side_effect=TransportError("SMTP refused"),
        )
        failing_sms = mock.patch(
            "safecampus.notify.channels.sms.transport.SmsTransport.send",
            side_effect=TransportError("gateway down"),
        )
        self.school_a.office_contact = self.principal_a
        self.school_a.save()
        # Given up as soon as the back-off is used up (the slow retries: test_delivery_give_up).
        at_once = mock.patch(
            "safecampus.notify.services.give_up_after", return_value=dt.timedelta(0)
        )
        with failing, failing_sms, at_once:
            _tick(8)
        email = notification.deliveries.get(transport=Transport.EMAIL)
        self.assertEqual(email.status, DeliveryStatus.FAILED)
        self.assertEqual(email.attempts, 3)  # first try and two retries
        self.assertEqual(Attempt.objects.filter(delivery=email, ok=False).count(), 3)
        sms = notification.deliveries.get(transport=Transport.SMS)
        self.assertEqual(sms.fallback_from, email)
        self.assertEqual(sms.address, "13900000004")
        self.assertEqual(sms.status, DeliveryStatus.FAILED)
        report = Notification.objects.get(event="delivery_failed")
        self.assertEqual(report.unit, self.school_a)
        office = report.deliveries.get()
        self.assertEqual((office.person, office.transport), (self.principal_a, Transport.INBOX))
        self.assertIn("gateway down", report.body)

    def test_permanent_error_skips_the_retries(self):
        notification = self._send()
        with mock.patch(
            "safecampus.notify.channels.email.transport.EmailTransport.send",
            side_effect=TransportError("no such mailbox", permanent=True),
        ):
            _tick(1)
        email = notification.deliveries.get(transport=Transport.EMAIL)
        self.assertEqual((email.status, email.attempts), (DeliveryStatus.FAILED, 1))

    def test_a_rolled_back_change_sends_nothing(self):
        from django.db import transaction

        before = Delivery.objects.count()
        try:
            with transaction.atomic():
                self._send()
                raise RuntimeError("the event failed")
        except RuntimeError:
            pass
        self.assertEqual(Delivery.objects.count(), before)

    def test_quiet_hours_delay_routine_but_not_emergencies(self):
        pref = self.teacher_a.contact
        pref.quiet_start, pref.quiet_end = dt.time(22, 0), dt.time(7, 0)
        pref.save()
        night = dt.datetime(2026, 11, 23, 23, 30, tzinfo=SHANGHAI)
        with time_machine.travel(night, tick=False):
            routine = self._send().deliveries.get(transport=Transport.EMAIL)
            emergency = self._send(urgency=Urgency.EMERGENCY).deliveries.get(
                transport=Transport.EMAIL
            )
        morning = dt.datetime(2026, 11, 24, 7, 0, tzinfo=SHANGHAI)
        self.assertEqual(routine.next_attempt_at, morning)
        self.assertEqual(emergency.next_attempt_at, night)

    def test_acknowledge_by_link_without_login(self):
        notification = self._send(requires_ack=True, urgency=Urgency.URGENT)
        email = notification.deliveries.get(transport=Transport.EMAIL)
        client = self.client_class()
        page = client.get(reverse("ack", args=[email.ack_token]))
        self.assertContains(page, "防溺水提醒")
        client.post(reverse("ack", args=[email.ack_token]))
        self.assertEqual(notification.deliveries.filter(acknowledged_at__isnull=False).count(), 2)
        self.assertEqual(client.get(reverse("ack", args=["x" * 32])).status_code, 404)

    def test_sender_sees_every_delivery_others_only_their_own(self):
        notification = self._send(sender=self.principal_a, requires_ack=True)
        url = reverse("notify:notification", args=[notification.pk])
        page = self.client_for(self.principal_a).get(url)
        self.assertContains(page, "delivery-queued")
        self.assertEqual(self.client_for(self.duty_b).get(url).status_code, 404)
        inbox = self.client_for(self.teacher_a).get(reverse("notify:inbox"))
        self.assertContains(inbox, "防溺水提醒")
        row = notification.deliveries.get(transport=Transport.INBOX)
        self.client_for(self.teacher_a).post(reverse("notify:inbox-item", args=[row.pk]))
        row.refresh_from_db()
        self.assertIsNotNone(row.acknowledged_at)
        self.assertEqual(
            self.client_for(self.duty_b)
            .get(reverse("notify:inbox-item", args=[row.pk]))
            .status_code,
            404,
        )


@FAST
class ChannelPagesTest(BaseTestCase):
    def test_bad_configuration_is_refused_with_the_reason_and_kept(self):
        client = self.client_for(self.principal_a)
        url = reverse("notify:channel-new", args=[self.school_a.pk])
        response = client.post(url, {"kind": "webhook", "name": "值班群", "url": "ftp://x"})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Not a usable URL")
        self.assertContains(response, 'value="值班群"')
        response = client.post(url, {"kind": "wecom", "name": "群", "key": "bad key!"})
        self.assertContains(response, "robot key")
        self.assertFalse(Channel.objects.exists())
        with override_settings(NOTIFY_ALLOWED_NETWORKS=[]):
            response = client.post(
                url, {"kind": "webhook", "name": "内网", "url": "http://127.0.0.1:9/hook"}
            )
        self.assertContains(response, "private")
        self.assertFalse(Channel.objects.exists())

    def test_test_button_queues_a_message_the_page_shows(self):
        channel = services.channel_create(
            by=self.principal_a,
            unit=self.school_a,
            kind="webhook",
            name="值班群",
            config={"url": "http://127.0.0.1:9/hook"},
        )
        client = self.client_for(self.principal_a)
        response = client.post(reverse("notify:channel-test", args=[channel.pk]), follow=True)
        self.assertContains(response, "delivery-queued")
        delivery = Delivery.objects.get(channel=channel)
        self.assertEqual(delivery.notification.urgency, Urgency.URGENT)

    def test_b_cannot_see_or_change_a_robots(self):
        channel = services.channel_create(
            by=self.principal_a,
            unit=self.school_a,
            kind="webhook",
            name="值班群",
            config={"url": "http://127.0.0.1:9/hook"},
        )
        client = self.client_for(self.duty_b)
        for url in (
            reverse("notify:channels", args=[self.school_a.pk]),
            reverse("notify:channel-edit", args=[channel.pk]),
        ):
            self.assertEqual(client.get(url).status_code, 404, url)
        self.assertEqual(
            client.post(reverse("notify:channel-test", args=[channel.pk])).status_code, 404
        )
        self.assertEqual(
            self.client_for(self.teacher_a)
            .get(reverse("notify:channels", args=[self.school_a.pk]))
            .status_code,
            403,
        )

    def test_preferences_keep_input_on_error(self):
        client = self.client_for(self.teacher_a)
        response = client.post(
            reverse("notify:preferences"),
            {"first": "sms", "second": "email", "quiet_start": "22:00"},
        )
        self.assertContains(response, "both ends")
        response = client.post(
            reverse("notify:preferences"),
            {"first": "sms", "second": "email", "quiet_start": "22:00", "quiet_end": "07:00"},
        )
        self.assertEqual(response.status_code, 302)
        pref = ContactPreference.objects.get(person=self.teacher_a)
        self.assertEqual((pref.order, pref.quiet_end), ("sms,email", dt.time(7, 0)))


class WatchTheWatcherTest(BaseTestCase):
    def test_banner_when_the_worker_is_silent(self):
        client = self.client_for(self.officer)
        self.assertContains(client.get(reverse("home")), 'data-testid="worker-down"')
        Heartbeat.objects.create(name="w1", started_at=timezone.now(), last_seen=timezone.now())
        self.assertNotContains(client.get(reverse("home")), 'data-testid="worker-down"')
        self.assertNotContains(
            self.client_for(self.teacher_a).get(reverse("home")), 'data-testid="worker-down"'
        )

    @override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
    def test_worker_check_emails_the_administrators(self):
        from django.core import mail
        from django.core.management import CommandError, call_command

        self.sysadmin.email = "admin@example.edu.cn"
        self.sysadmin.save()
        with self.assertRaises(CommandError):
            call_command("worker", "check")
        self.assertEqual(mail.outbox[0].to, ["admin@example.edu.cn"])
        Heartbeat.objects.create(name="w1", started_at=timezone.now(), last_seen=timezone.now())
        call_command("worker", "check")
        self.assertEqual(len(mail.outbox), 1)


@FAST
class NotifyApiTest(BaseTestCase):
    def _api(self, person):
        client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_issue(person=person)}"
        return client

    def test_inbox_ack_and_channels(self):
        services.notification_create(
            event="test",
            title="寒潮预警",
            body="注意防寒。",
            unit=self.school_a,
            people=[self.teacher_a],
            requires_ack=True,
        )
        client = self._api(self.teacher_a)
        items = client.get("/api/v1/inbox").json()["items"]
        self.assertEqual([i["notification"]["title"] for i in items], ["寒潮预警"])
        acked = client.post(f"/api/v1/inbox/{items[0]['id']}/ack").json()
        self.assertIsNotNone(acked["acknowledged_at"])
        self.assertEqual(
            self._api(self.duty_b).post(f"/api/v1/inbox/{items[0]['id']}/ack").status_code, 404
        )

        principal = self._api(self.principal_a)
        bad = principal.post(
            "/api/v1/channels",
            {"unit_id": self.school_a.pk, "kind": "wecom", "name": "群", "config": {"key": "!"}},
            content_type="application/json",
        )
        self.assertEqual(bad.status_code, 422)
        self.assertEqual(bad.json()["errors"][0]["field"], "key")
        made = principal.post(
            "/api/v1/channels",
            {
                "unit_id": self.school_a.pk,
                "kind": "webhook",
                "name": "群",
                "config": {"url": "http://127.0.0.1:9/x"},
            },
            content_type="application/json",
        )
        self.assertEqual(made.status_code, 201, made.content)
        test = principal.post(f"/api/v1/channels/{made.json()['id']}/test")
        self.assertEqual(test.status_code, 202)
        detail = principal.get(f"/api/v1/notifications/{test.json()['notification_id']}")
        self.assertEqual(detail.json()["deliveries"][0]["status"], "queued")
        hidden = self._api(self.duty_b)
        self.assertEqual(hidden.get(f"/api/v1/channels?unit={self.school_a.pk}").status_code, 404)
        self.assertEqual(hidden.post(f"/api/v1/channels/{made.json()['id']}/test").status_code, 404)
        self.assertEqual(
            hidden.get(f"/api/v1/notifications/{test.json()['notification_id']}").status_code, 404
        )
