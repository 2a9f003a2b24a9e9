"""WeCom group robot against a local HTTP server: URL, payload, size, retries, rate limit."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from safecampus.notify import services
from safecampus.notify.channels.wecom.transport import WeComTransport
from safecampus.notify.models import Attempt, Delivery, Notification, Urgency
from safecampus.notify.testing import HttpSink, Request
from safecampus.notify.transports import Message
from safecampus.orgs.models import Unit
from safecampus.test import BaseTestCase
from safecampus.worker.testing import drain

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
PATH = "/cgi-bin/webhook/send"


def wecom_checker(request: Request) -> tuple[int, dict]:
    """Answers as WeCom does: a wrong key is errcode 93000."""
    if request.query.get("key") != KEY:
        return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
    return 200, {"errcode": 0, "errmsg": "ok"}


@override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"], NOTIFY_BACKOFF=[0, 0, 0, 0, 0])
class WeComSendTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sink = HttpSink(handler=wecom_checker).start()
        self.addCleanup(self.sink.stop)
        Unit.objects.filter(pk=self.school_a.pk).update(office_contact=self.principal_a)

    def channel(self, key: str = KEY):
        return services.channel_create(
            by=self.officer,
            unit=self.school_a,
            kind="wecom",
            name="校安全群",
            config={"key": key, "url": self.sink.url + PATH},
        )

    def notify(
        self, channel, title="食堂检查", body="今天下午三点检查食堂。", urgency=Urgency.ROUTINE
    ):
        notification = services.notification_create(
            event="test",
            title=title,
            body=body,
            urgency=urgency,
            unit=self.school_a,
            channels=[channel],
        )
        return notification.deliveries.get(channel=channel)

    # --- Format ---------------------------------------------------------------------

    def test_url_key_and_payload(self) -> None:
        delivery = self.notify(self.channel())
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent")
        [request] = self.sink.requests
        self.assertEqual(request.method, "POST")
        self.assertEqual(request.path, PATH)
        self.assertEqual(request.query, {"key": KEY})
        self.assertTrue(request.header("Content-Type").startswith("application/json"))
        self.assertEqual(
            request.json,
            {"msgtype": "text", "text": {"content": "【食堂检查】\n今天下午三点检查食堂。"}},
        )
        self.assertEqual(request.header("Idempotency-Key"), delivery.idempotency_key)

    def test_mentions(self) -> None:
        transport = WeComTransport({"key": KEY, "url": self.sink.url + PATH})
        with override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"]):
            transport.send(
                Message("标题", "正文", "urgent", "k1", mention_mobiles=("13800000000",)), ""
            )
        self.assertEqual(
            self.sink.requests[0].json["text"],
            {"content": "【标题】\n正文", "mentioned_mobile_list": ["13800000000"]},
        )

    def test_content_at_most_2048_bytes(self) -> None:
        delivery = self.notify(self.channel(), body="校" * 3000)
        drain()
        content = self.sink.requests[0].json["text"]["content"]
        self.assertLessEqual(len(content.encode()), 2048)
        self.assertGreater(len(content.encode()), 2000)
        self.assertTrue(content.endswith("…"))
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent")

    # --- Retries and failures ------------------------------------------------------------

    def assert_sent_after_three_failures(self, delivery: Delivery, error: str) -> None:
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent")
        self.assertEqual(delivery.attempts, 4)
        tries = list(delivery.tries.order_by("pk"))
        self.assertEqual([t.ok for t in tries], [False, False, False, True])
        for attempt in tries[:3]:
            self.assertIn(error, attempt.error)
        keys = {r.header("Idempotency-Key") for r in self.sink.requests}
        self.assertEqual(keys, {delivery.idempotency_key})
        self.assertEqual(len(self.sink.requests), 4)

    def test_500_three_times_then_delivered(self) -> None:
        self.sink.script(500, 500, 500)
        delivery = self.notify(self.channel())
        drain()
        self.assert_sent_after_three_failures(delivery, "HTTP 500")

    def test_too_fast_errcode_is_retried(self) -> None:
        busy = (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
        self.sink.script(busy, busy, busy)
        delivery = self.notify(self.channel())
        drain()
        self.assert_sent_after_three_failures(delivery, "45009")

    def test_an_answer_that_is_not_wecom_json_is_retried(self) -> None:
        self.sink.script((200, "<html>gateway</html>"))
        delivery = self.notify(self.channel())
        drain()
        delivery.refresh_from_db()
        self.assertEqual((delivery.status, delivery.attempts), ("sent", 2))
        self.assertIn("unexpected answer", delivery.tries.order_by("pk").first().error)

    def test_bad_key_fails_at_once_and_tells_the_office(self) -> None:
        delivery = self.notify(self.channel(key="WRONG-key-123"))
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "failed")
        self.assertEqual(delivery.attempts, 1)
        self.assertIn("93000", delivery.last_error)
        self.assertEqual(len(self.sink.requests), 1)
        told = Delivery.objects.get(
            notification__event="delivery_failed", person=self.principal_a, transport="inbox"
        )
        self.assertIn("校安全群", told.notification.body)
        self.assertIn("93000", told.notification.body)

    # --- Configuration ------------------------------------------------------------------

    def assert_refused(self, field: str, config: dict) -> str:
        with self.assertRaises(ValidationError) as caught:
            services.channel_create(
                by=self.officer, unit=self.school_a, kind="wecom", name="群", config=config
            )
        self.assertIn(field, caught.exception.message_dict)
        return " ".join(caught.exception.message_dict[field])

    def test_bad_configuration_is_refused_with_the_reason(self) -> None:
        self.assert_refused("key", {"key": "no spaces here!", "url": self.sink.url})
        self.assert_refused("key", {"url": self.sink.url})
        self.assertIn("http", self.assert_refused("url", {"key": KEY, "url": "qyapi/send"}))
        self.assert_refused("url", {"key": KEY, "url": "ftp://127.0.0.1/send"})
        self.assert_refused("url", {"key": KEY, "url": "https://no-such-host.invalid/send"})
        with override_settings(NOTIFY_ALLOWED_NETWORKS=[]):
            reason = self.assert_refused("url", {"key": KEY, "url": self.sink.url + PATH})
        self.assertIn("private", reason)

    # --- Rate limit ----------------------------------------------------------------------

    def test_over_the_limit_the_rest_wait_for_their_slot_none_lost(self) -> None:
        channel = self.channel()
        deliveries = [self.notify(channel, title=f"通知{i:02d}") for i in range(25)]
        t0 = timezone.now()
        drain()
        # 20 a minute: the first 20 went, each alone; the other 5 wait for the window.
        self.assertEqual(len(self.sink.requests), 20)
        self.assertEqual(Attempt.objects.filter(channel=channel).count(), 20)
        rows = Delivery.objects.filter(pk__in=[d.pk for d in deliveries])
        waiting = rows.filter(status="queued")
        self.assertEqual(waiting.count(), 5)
        for delivery in waiting:
            self.assertEqual(delivery.attempts, 0)
            self.assertEqual(delivery.claim_token, "")
            self.assertGreater(delivery.next_attempt_at, t0 + dt.timedelta(seconds=60))
            self.assertLess(delivery.next_attempt_at, timezone.now() + dt.timedelta(seconds=62))
        # A minute on, the window has moved: they go out, every message once.
        Attempt.objects.filter(channel=channel).update(at=t0 - dt.timedelta(minutes=5))
        waiting.update(next_attempt_at=t0)
        drain()
        self.assertEqual({d.status for d in rows}, {"sent"})
        titles = sorted(r.json["text"]["content"].split("\n")[0] for r in self.sink.requests)
        self.assertEqual(titles, [f"【通知{i:02d}】" for i in range(25)])

    def test_urgent_messages_go_first(self) -> None:
        channel = self.channel()
        routine = [self.notify(channel, title=f"例行{i}") for i in range(4)]
        urgent = [
            self.notify(channel, title=f"紧急{i}", urgency=u)
            for i, u in enumerate([Urgency.URGENT, Urgency.EMERGENCY, Urgency.URGENT])
        ]
        drain()
        for delivery in [*urgent, *routine]:
            delivery.refresh_from_db()
            self.assertEqual(delivery.status, "sent")
            self.assertEqual(delivery.attempts, 1)
        # What the engine promises is the order work is TAKEN in: every urgent message is
        # claimed and its Attempt written (right before its request) ahead of any routine
        # one, the emergency first. Sends run in parallel threads (two to one robot), so
        # two started in the same round may reach the receiver in either order.
        taken = list(
            Attempt.objects.order_by("pk").values_list("delivery__notification__title", flat=True)
        )
        self.assertEqual(taken, ["紧急1", "紧急0", "紧急2", "例行0", "例行1", "例行2", "例行3"])
        texts = sorted(r.json["text"]["content"].split("\n")[0] for r in self.sink.requests)
        self.assertEqual(texts, sorted(f"【{t}】" for t in taken))  # each once

    def test_over_the_limit_nothing_is_sent_until_the_window_moves(self) -> None:
        channel = self.channel()
        earlier = self.notify(channel, title="更早")
        Delivery.objects.filter(pk=earlier.pk).update(status="sent")
        now = timezone.now()
        oldest = now - dt.timedelta(seconds=50)
        Attempt.objects.bulk_create(
            Attempt(delivery=earlier, channel=channel, at=oldest + dt.timedelta(seconds=i), ok=True)
            for i in range(20)
        )
        delivery = self.notify(channel, title="超限")
        drain()
        self.assertEqual(self.sink.requests, [])
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "queued")
        self.assertEqual(delivery.attempts, 0)
        self.assertGreaterEqual(delivery.next_attempt_at, oldest + dt.timedelta(seconds=60))
        self.assertLess(delivery.next_attempt_at, oldest + dt.timedelta(seconds=62))
        self.assertEqual(delivery.claim_token, "")
        # Once the window has moved the message goes out.
        Attempt.objects.filter(channel=channel).update(at=now - dt.timedelta(minutes=5))
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=now)
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent")
        self.assertEqual(Notification.objects.filter(event="delivery_failed").count(), 0)
