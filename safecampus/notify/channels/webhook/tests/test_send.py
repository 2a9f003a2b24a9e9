"""The generic JSON webhook against a local HTTP server that checks the signature."""

import datetime as dt
import hashlib
import hmac

import time_machine
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from safecampus.notify import services
from safecampus.notify.models import Delivery, Urgency
from safecampus.notify.testing import HttpSink, Request
from safecampus.orgs.models import Unit
from safecampus.test import BaseTestCase
from safecampus.worker.testing import drain

SECRET = "s3cret-for-the-receiver"
PATH = "/hooks/safecampus"


def signed_receiver(request: Request) -> tuple[int, dict]:
    """Recomputes the HMAC of the raw body, as a receiver would; 401 when it differs."""
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(request.header("X-Safecampus-Signature"), expected):
        return 401, {"error": "bad signature"}
    return 200, {"ok": True}


@override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"], NOTIFY_BACKOFF=[0, 0, 0, 0, 0])
class WebhookSendTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sink = HttpSink(handler=signed_receiver).start()
        self.addCleanup(self.sink.stop)
        Unit.objects.filter(pk=self.school_a.pk).update(office_contact=self.principal_a)

    def channel(self, **config):
        config = {"url": self.sink.url + PATH, **config}
        return services.channel_create(
            by=self.officer, unit=self.school_a, kind="webhook", name="局平台", config=config
        )

    def notify(self, channel, requires_ack=False) -> Delivery:
        notification = services.notification_create(
            event="incident_reported",
            title="突发事件报告",
            body="城关小学报告一起事件。",
            urgency=Urgency.EMERGENCY,
            requires_ack=requires_ack,
            unit=self.school_a,
            channels=[channel],
        )
        return notification.deliveries.get(channel=channel)

    def test_url_payload_and_signature(self) -> None:
        delivery = self.notify(self.channel(secret=SECRET), requires_ack=True)
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent", delivery.last_error)
        [request] = self.sink.requests
        self.assertEqual((request.method, request.path, request.query), ("POST", PATH, {}))
        self.assertTrue(request.header("Content-Type").startswith("application/json"))
        self.assertEqual(
            request.json,
            {
                "title": "突发事件报告",
                "text": "城关小学报告一起事件。",
                "urgency": "emergency",
                "event": "incident_reported",
                "ack_url": request.json["ack_url"],
                "idempotency_key": delivery.idempotency_key,
            },
        )
        self.assertTrue(request.json["ack_url"].endswith(f"/n/ack/{delivery.ack_token}/"))
        self.assertEqual(request.header("Idempotency-Key"), delivery.idempotency_key)

    def test_unsigned_has_no_signature_header(self) -> None:
        self.sink.handler = None
        delivery = self.notify(self.channel())
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent", delivery.last_error)
        self.assertEqual(self.sink.requests[0].header("X-Safecampus-Signature"), "")
        self.assertEqual(self.sink.requests[0].json["ack_url"], "")

    def test_wrong_signature_fails_at_once_and_tells_the_office(self) -> None:
        delivery = self.notify(self.channel(secret="another-secret-entirely"))
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "failed")
        self.assertEqual(delivery.attempts, 1)
        self.assertIn("HTTP 401", delivery.last_error)
        told = Delivery.objects.get(
            notification__event="delivery_failed", person=self.principal_a, transport="inbox"
        )
        self.assertIn("局平台", told.notification.body)

    def test_500_three_times_then_delivered(self) -> None:
        self.sink.script(500, 500, (503, "maintenance"))
        delivery = self.notify(self.channel(secret=SECRET))
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent")
        self.assertEqual(delivery.attempts, 4)
        tries = list(delivery.tries.order_by("pk"))
        self.assertEqual([t.ok for t in tries], [False, False, False, True])
        self.assertEqual(
            [t.error for t in tries[:3]],
            ["HTTP 500: error", "HTTP 500: error", "HTTP 503: maintenance"],
        )
        self.assertEqual(len(self.sink.requests), 4)
        keys = {r.header("Idempotency-Key") for r in self.sink.requests}
        self.assertEqual(keys, {delivery.idempotency_key})
        self.assertEqual(len({r.body for r in self.sink.requests}), 1)  # the same message each time

    @override_settings(NOTIFY_HTTP_TIMEOUT=0.2)
    def test_timeout_is_retried(self) -> None:
        delivery = self.notify(self.channel(secret=SECRET))
        self.sink.delay = 0.5
        drain(ticks=1)
        self.sink.delay = 0
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent")
        self.assertEqual(delivery.attempts, 2)
        self.assertIn("timed out", delivery.tries.order_by("pk").first().error)

    @override_settings(NOTIFY_SLOW_RETRY=1800, NOTIFY_GIVE_UP_AFTER=72)
    def test_every_try_used_up_then_retried_slowly_until_given_up(self) -> None:
        self.sink.handler = lambda r: 502
        delivery = self.notify(self.channel())
        drain()
        delivery.refresh_from_db()
        # The back-off is used up (the first try and five retries) but the receiver may
        # come back: not given up, tried again in 30 minutes; nobody is told yet.
        self.assertEqual((delivery.status, delivery.attempts), ("queued", 6))
        self.assertIn("HTTP 502", delivery.last_error)
        wait = delivery.next_attempt_at - timezone.now()
        self.assertTrue(dt.timedelta(minutes=29) < wait <= dt.timedelta(minutes=30), wait)
        failure_notices = Delivery.objects.filter(notification__event="delivery_failed")
        self.assertFalse(failure_notices.exists())
        drain()
        self.assertEqual(len(self.sink.requests), 6)  # not before its time
        first_try = delivery.tries.order_by("at").first().at
        with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1)):
            drain()
        delivery.refresh_from_db()
        self.assertEqual((delivery.status, delivery.attempts), ("queued", 7))
        self.assertFalse(failure_notices.exists())
        # NOTIFY_GIVE_UP_AFTER (72 h) after the first try: the next try is the last.
        with time_machine.travel(first_try + dt.timedelta(hours=72, seconds=1)):
            drain()
        delivery.refresh_from_db()
        self.assertEqual((delivery.status, delivery.attempts), ("failed", 8))
        self.assertEqual(len(self.sink.requests), 8)
        self.assertIn("HTTP 502", delivery.last_error)
        self.assertEqual(
            set(failure_notices.values_list("person", flat=True)), {self.principal_a.pk}
        )

    def assert_refused(self, field: str, config: dict) -> str:
        with self.assertRaises(ValidationError) as caught:
            self.channel(**config)
        self.assertIn(field, caught.exception.message_dict)
        return " ".join(caught.exception.message_dict[field])

    def test_bad_configuration_is_refused_with_the_reason(self) -> None:
        self.assert_refused("url", {"url": ""})
        self.assert_refused("url", {"url": "example.org/hook"})
        self.assert_refused("url", {"url": "http://user:pw@127.0.0.1/hook"})
        self.assert_refused("url", {"url": "https://no-such-host.invalid/hook"})
        self.assert_refused("secret", {"secret": "short"})
        with override_settings(NOTIFY_ALLOWED_NETWORKS=[]):
            reason = self.assert_refused("url", {})
        self.assertIn("private", reason)
        self.assertIn("private", self.assert_refused("url", {"url": "http://10.1.2.3/hook"}))
