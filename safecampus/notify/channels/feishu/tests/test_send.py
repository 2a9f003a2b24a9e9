"""Feishu custom bot against a local HTTP server that checks the signature as Feishu does."""

import base64
import hashlib
import hmac
import time

from django.core.exceptions import ValidationError
from django.test import override_settings

from safecampus.notify import services
from safecampus.notify.channels.feishu.transport import FeishuTransport
from safecampus.notify.models import Delivery, Urgency
from safecampus.notify.testing import HttpSink, Request
from safecampus.notify.transports import Message
from safecampus.orgs.models import Unit
from safecampus.test import BaseTestCase
from safecampus.worker.testing import drain

TOKEN = "e5ac2bd0-1c1f-4f3d-9f5a-2b8c3d4e5f60"
SECRET = "qDnLbGeNbOa5x9bzjpEu7c"
PATH = f"/open-apis/bot/v2/hook/{TOKEN}"
SIGN_FAIL = {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}


def expected_sign(timestamp: str, secret: str = SECRET) -> str:
    """Recomputed here, independently: the string is the key, the message is empty."""
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def signed_bot(request: Request) -> tuple[int, dict]:
    if request.path != PATH:
        return 404, {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
    body = request.json or {}
    timestamp = body.get("timestamp", "")
    if not isinstance(timestamp, str) or not timestamp.isdigit():
        return 200, SIGN_FAIL
    if abs(int(timestamp) - time.time()) > 3600:
        return 200, SIGN_FAIL
    if not hmac.compare_digest(body.get("sign", ""), expected_sign(timestamp)):
        return 200, SIGN_FAIL
    return 200, {"code": 0, "msg": "success", "data": {}}


@override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"], NOTIFY_BACKOFF=[0, 0, 0, 0, 0])
class FeishuSendTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sink = HttpSink(handler=signed_bot).start()
        self.addCleanup(self.sink.stop)
        Unit.objects.filter(pk=self.school_a.pk).update(office_contact=self.principal_a)

    def channel(self, **config):
        config = {"url": self.sink.url + PATH, **config}
        return services.channel_create(
            by=self.officer, unit=self.school_a, kind="feishu", name="飞书安全群", config=config
        )

    def notify(self, channel, body="明日高温，请调整户外活动。") -> Delivery:
        notification = services.notification_create(
            event="test",
            title="高温预警",
            body=body,
            urgency=Urgency.URGENT,
            unit=self.school_a,
            channels=[channel],
        )
        return notification.deliveries.get(channel=channel)

    def test_signed_payload(self) -> None:
        delivery = self.notify(self.channel(secret=SECRET))
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent", delivery.last_error)
        [request] = self.sink.requests
        self.assertEqual(request.path, PATH)
        self.assertEqual(request.query, {})
        body = request.json
        self.assertEqual(list(body), ["timestamp", "sign", "msg_type", "content"])
        self.assertIsInstance(body["timestamp"], str)
        self.assertLess(abs(int(body["timestamp"]) - time.time()), 60)
        self.assertEqual(body["sign"], expected_sign(body["timestamp"]))
        self.assertEqual(body["msg_type"], "text")
        self.assertEqual(body["content"], {"text": "【高温预警】\n明日高温，请调整户外活动。"})
        self.assertEqual(request.header("Idempotency-Key"), delivery.idempotency_key)

    def test_unsigned_payload(self) -> None:
        self.sink.handler = None  # the default answer: {"code": 0, ...}
        delivery = self.notify(self.channel())
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent", delivery.last_error)
        self.assertEqual(
            self.sink.requests[0].json,
            {"msg_type": "text", "content": {"text": "【高温预警】\n明日高温，请调整户外活动。"}},
        )

    def test_token_and_base_url(self) -> None:
        channel = self.channel(
            url=self.sink.url + "/open-apis/bot/v2/hook/", token=TOKEN, secret=SECRET
        )
        self.assertEqual(channel.config, {"url": self.sink.url + PATH, "secret": SECRET})
        delivery = self.notify(channel)
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent", delivery.last_error)

    def test_body_at_most_20_kb(self) -> None:
        transport = FeishuTransport({"url": self.sink.url + PATH, "secret": SECRET})
        with override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"]):
            transport.send(Message("长", '安"\n' * 20_000, "urgent", "k"), "")
        request = self.sink.requests[0]
        self.assertLessEqual(len(request.body), 20_000)
        self.assertGreater(len(request.body), 15_000)
        self.assertTrue(request.json["content"]["text"].endswith("…"))

    def test_wrong_secret_fails_at_once_and_tells_the_office(self) -> None:
        delivery = self.notify(self.channel(secret="WrongSecret12345"))
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "failed")
        self.assertEqual(delivery.attempts, 1)
        self.assertIn("19021", delivery.last_error)
        self.assertTrue(
            Delivery.objects.filter(
                notification__event="delivery_failed", person=self.principal_a, transport="inbox"
            ).exists()
        )

    def test_missing_keyword_is_permanent(self) -> None:
        self.sink.handler = lambda r: (200, {"code": 19024, "msg": "Key Words Not Found"})
        delivery = self.notify(self.channel())
        drain()
        delivery.refresh_from_db()
        self.assertEqual((delivery.status, delivery.attempts), ("failed", 1))

    def assert_sent_after_three_failures(self, delivery: Delivery, errors: list[str]) -> None:
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent")
        self.assertEqual(delivery.attempts, 4)
        tries = list(delivery.tries.order_by("pk"))
        self.assertEqual([t.ok for t in tries], [False, False, False, True])
        for attempt, error in zip(tries[:3], errors, strict=True):
            self.assertIn(error, attempt.error)
        self.assertEqual(len(self.sink.requests), 4)
        keys = {r.header("Idempotency-Key") for r in self.sink.requests}
        self.assertEqual(keys, {delivery.idempotency_key})

    def test_frequency_limit_and_500_are_retried(self) -> None:
        self.sink.script(
            (200, {"code": 9499, "msg": "too many request"}),
            (200, {"code": 11232, "msg": "frequency limited"}),
            500,
        )
        delivery = self.notify(self.channel(secret=SECRET))
        drain()
        self.assert_sent_after_three_failures(delivery, ["9499", "11232", "HTTP 500"])

    def assert_refused(self, field: str, config: dict) -> str:
        with self.assertRaises(ValidationError) as caught:
            self.channel(**config)
        self.assertIn(field, caught.exception.message_dict)
        return " ".join(caught.exception.message_dict[field])

    def test_bad_configuration_is_refused_with_the_reason(self) -> None:
        self.assert_refused("url", {"url": ""})
        self.assert_refused("url", {"url": "open.feishu.cn/open-apis/bot/v2/hook/abcdefgh"})
        self.assert_refused("url", {"url": self.sink.url + "/open-apis/bot/v2/hook/"})
        self.assert_refused("url", {"url": self.sink.url + PATH + "?x=1"})
        self.assert_refused("token", {"token": "bad token!"})
        self.assert_refused("secret", {"secret": "has spaces in it"})
        self.assert_refused("url", {"url": f"https://no-such-host.invalid/hook/{TOKEN}"})
        with override_settings(NOTIFY_ALLOWED_NETWORKS=[]):
            reason = self.assert_refused("url", {})
        self.assertIn("private", reason)
