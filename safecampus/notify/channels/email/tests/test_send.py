"""Email over SMTP against a local aiosmtpd server (safecampus.notify.testing.SmtpSink)."""

import datetime as dt
import socket
import time
from email.header import decode_header, make_header
from email.message import Message as EmailMessage

import time_machine
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from safecampus.notify.channels.email.transport import EmailTransport
from safecampus.notify.models import Attempt, ContactPreference, DeliveryStatus, Transport
from safecampus.notify.services import notification_create
from safecampus.notify.testing import SmtpSink
from safecampus.notify.transports import Message, TransportError
from safecampus.test import BaseTestCase
from safecampus.worker.loop import Worker

FAST = {"NOTIFY_BACKOFF": [0, 0, 0, 0, 0]}


def subject_of(message: EmailMessage) -> str:
    return str(make_header(decode_header(message["Subject"])))


def body_of(message: EmailMessage) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


class EmailTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.teacher_a.email = "chen@example.edu.cn"
        self.teacher_a.save()
        ContactPreference.objects.create(person=self.teacher_a, order="email")
        self.worker = Worker(threads=2, name="test-worker")
        self.addCleanup(self.worker.pool.shutdown)

    def notify(self, **kwargs):
        values = {
            "event": "hazard_overdue",
            "title": "隐患整改逾期",
            "body": "食堂燃气管道隐患已逾期 3 天未整改。",
            "urgency": "urgent",
            "unit": self.school_a,
            "people": [self.teacher_a],
        }
        values.update(kwargs)
        notification = notification_create(**values)
        return notification, notification.deliveries.get(transport=Transport.EMAIL)

    def smtp(self, sink: SmtpSink, **extra):
        return override_settings(**{**sink.django_settings(), **FAST, **extra})


class EmailArrivesTests(EmailTestCase):
    def test_message_arrives_with_subject_body_ack_link_and_keys(self) -> None:
        with SmtpSink() as sink, self.smtp(sink):
            notification, delivery = self.notify(requires_ack=True, link="/hazards/7/")
            self.worker.tick()
            assert sink.wait_for(1, timeout=5)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENT
        assert delivery.attempts == 1
        [message] = sink.messages
        assert sink.envelopes == [(settings.DEFAULT_FROM_EMAIL, ["chen@example.edu.cn"])]
        assert subject_of(message) == "【平安校园】隐患整改逾期"
        body = body_of(message)
        assert "食堂燃气管道隐患已逾期 3 天未整改。" in body
        site = settings.SITE_URL.rstrip("/")
        assert f"{site}/n/ack/{delivery.ack_token}/" in body
        assert f"{site}/hazards/7/" in body
        assert message["X-Idempotency-Key"] == delivery.idempotency_key
        assert message["Message-ID"] == f"<{delivery.idempotency_key}@safecampus>"
        [attempt] = Attempt.objects.filter(delivery=delivery)
        assert attempt.ok and attempt.worker == "test-worker"

    def test_no_ack_link_unless_acknowledgement_is_required(self) -> None:
        with SmtpSink() as sink, self.smtp(sink):
            _notification, delivery = self.notify(requires_ack=False)
            self.worker.tick()
            assert sink.wait_for(1, timeout=5)
        assert "/n/ack/" not in body_of(sink.messages[0])
        assert delivery.ack_token not in body_of(sink.messages[0])


class SmtpDownTests(EmailTestCase):
    def test_smtp_down_then_back_delivers_and_records_the_retries(self) -> None:
        sink = SmtpSink()  # a free port, nobody listening yet
        self.addCleanup(sink.stop)
        with self.smtp(sink):
            _notification, delivery = self.notify()
            self.worker.tick()
            self.worker.tick()
            delivery.refresh_from_db()
            assert delivery.status == DeliveryStatus.QUEUED
            assert delivery.attempts == 2
            failed = list(Attempt.objects.filter(delivery=delivery))
            assert [a.ok for a in failed] == [False, False]
            for attempt in failed:
                assert "ConnectionRefusedError" in attempt.error
                assert "refused" in attempt.error.lower()
            assert "ConnectionRefusedError" in delivery.last_error

            sink.start()  # the server comes back on the same port
            self.worker.tick()
            assert sink.wait_for(1, timeout=5)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENT
        assert delivery.attempts == 3
        assert delivery.last_error == ""
        assert [a.ok for a in Attempt.objects.filter(delivery=delivery)] == [False, False, True]
        assert len(sink.messages) == 1
        assert sink.messages[0]["X-Idempotency-Key"] == delivery.idempotency_key

    def test_smtp_down_past_the_last_retry_keeps_trying_slowly_then_sends(self) -> None:
        sink = SmtpSink()
        with self.smtp(sink, NOTIFY_BACKOFF=[0, 0]):
            notification, delivery = self.notify()
            for _ in range(3):
                self.worker.tick()
            delivery.refresh_from_db()
            # The back-off is used up, the server is still down: not given up.
            assert delivery.status == DeliveryStatus.QUEUED
            assert delivery.attempts == 3
            later = delivery.next_attempt_at - timezone.now()
            assert dt.timedelta(minutes=29) < later <= dt.timedelta(minutes=30)
            assert not self.school_a.notifications.filter(event="delivery_failed").exists()
            self.worker.tick()
            assert Attempt.objects.filter(delivery=delivery).count() == 3  # not before its time
            sink.start()
            self.addCleanup(sink.stop)
            with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1)):
                self.worker.tick()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENT
        assert [a.ok for a in Attempt.objects.filter(delivery=delivery)] == [False] * 3 + [True]
        assert len(sink.messages) == 1
        assert notification.deliveries.get(transport=Transport.INBOX).status == "sent"

    def test_temporary_rejection_is_retried(self) -> None:
        with SmtpSink() as sink, self.smtp(sink):
            sink.refuse = "451 4.3.0 try again later"
            _notification, delivery = self.notify()
            self.worker.tick()
            delivery.refresh_from_db()
            assert delivery.status == DeliveryStatus.QUEUED
            assert "451" in delivery.last_error
            sink.refuse = None
            self.worker.tick()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENT
        assert delivery.attempts == 2

    def test_permanent_rejection_fails_at_once(self) -> None:
        with SmtpSink() as sink, self.smtp(sink):
            sink.refuse = "550 5.7.1 message rejected"
            _notification, delivery = self.notify()
            self.worker.tick()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.attempts == 1
        assert "550" in delivery.last_error


class EmailTimeoutTests(EmailTestCase):
    def silent_server(self) -> int:
        """A port that accepts TCP connections (the kernel's backlog) but never says a word."""
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        self.addCleanup(server.close)
        return server.getsockname()[1]

    def test_email_timeout_is_honoured(self) -> None:
        port = self.silent_server()
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_TIMEOUT=1,
            **FAST,
        ):
            _notification, delivery = self.notify()
            start = time.monotonic()
            self.worker.tick()
            elapsed = time.monotonic() - start
        # The server never answers: without the timeout the try would hang. The bound is
        # loose (a loaded machine), not a speed target.
        assert elapsed < 15, f"the attempt took {elapsed:.1f}s with EMAIL_TIMEOUT=1"
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.QUEUED  # a timeout is worth retrying
        [attempt] = Attempt.objects.filter(delivery=delivery)
        assert not attempt.ok
        assert "timed out" in attempt.error
        assert 900 <= attempt.duration_ms < 15_000


class EmailTransportTests(BaseTestCase):
    def test_no_address_is_permanent(self) -> None:
        message = Message(title="t", body="b", urgency="routine", idempotency_key="k")
        with self.assertRaises(TransportError) as caught:
            EmailTransport().send(message, "")
        assert caught.exception.permanent
