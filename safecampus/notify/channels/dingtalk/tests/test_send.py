"""DingTalk custom robot against a local HTTP server that checks the signature as DingTalk does."""

import base64
import hashlib
import hmac
import time

from django.core.exceptions import ValidationError
from django.test import override_settings

from safecampus.notify import services
from safecampus.notify.channels.dingtalk.transport import DingTalkTransport
from safecampus.notify.models import Delivery, Urgency
from safecampus.notify.testing import HttpSink, Request
from safecampus.notify.transports import Message
from safecampus.orgs.models import Unit
from safecampus.test import BaseTestCase
from safecampus.worker.testing import drain

TOKEN = "1f0c5a2b9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
SECRET = "SEC" + "0123456789abcdef" * 4
KEYWORD = "平安校园"
PATH = "/robot/send"
SECURITY_FAIL = {"errcode": 310000, "errmsg": "sign not match"}


def expected_sign(timestamp: str, secret: str = SECRET) -> str:
    """Recomputed here, independently of the transport (as DingTalk's docs show it)."""
    string_to_sign = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(
        hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    ).decode()


def signed_robot(request: Request) -> tuple[int, dict]:
    if request.query.get("access_token") != TOKEN:
        return 200, {"errcode": 300001, "errmsg": "token is not exist"}
    timestamp = request.query.get("timestamp", "")
    if not timestamp.isdigit() or abs(int(timestamp) - time.time() * 1000) > 3600_000:
        return 200, SECURITY_FAIL
    if not hmac.compare_digest(request.query.get("sign", ""), expected_sign(timestamp)):
        return 200, SECURITY_FAIL
    return 200, {"errcode": 0, "errmsg": "ok"}


def keyword_robot(request: Request) -> tuple[int, dict]:
    if KEYWORD not in request.json["text"]["content"]:
        return 200, {"errcode": 310000, "errmsg": "keywords not in content"}
    return 200, {"errcode": 0, "errmsg": "ok"}


@override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"], NOTIFY_BACKOFF=[0, 0, 0, 0, 0])
class DingTalkSendTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.sink = HttpSink(handler=signed_robot).start()
        self.addCleanup(self.sink.stop)
        Unit.objects.filter(pk=self.school_a.pk).update(office_contact=self.principal_a)

    def channel(self, **config):
        config = {"access_token": TOKEN, "url": self.sink.url + PATH, **config}
        return services.channel_create(
            by=self.officer, unit=self.school_a, kind="dingtalk", name="钉钉安全群", config=config
        )

    def notify(self, channel, urgency=Urgency.URGENT) -> Delivery:
        notification = services.notification_create(
            event="test",
            title="汛期预警",
            body="今晚有暴雨，请做好防范。",
            urgency=urgency,
            unit=self.school_a,
            channels=[channel],
        )
        return notification.deliveries.get(channel=channel)

    def test_signed_url_and_payload(self) -> None:
        delivery = self.notify(self.channel(secret=SECRET))
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent", delivery.last_error)
        [request] = self.sink.requests
        self.assertEqual(request.path, PATH)
        self.assertEqual(set(request.query), {"access_token", "timestamp", "sign"})
        self.assertEqual(request.query["sign"], expected_sign(request.query["timestamp"]))
        # The sign travels URL-encoded: base64's "+", "/" and "=" are escaped.
        raw_sign = request.target.split("sign=", 1)[1]
        self.assertNotRegex(raw_sign, r"[+/=]")
        self.assertEqual(
            request.json,
            {
                "msgtype": "text",
                "text": {"content": "【汛期预警】\n今晚有暴雨，请做好防范。"},
                "at": {"atMobiles": [], "isAtAll": False},
            },
        )
        self.assertEqual(request.header("Idempotency-Key"), delivery.idempotency_key)

    def test_keyword_mode_puts_the_keyword_in_the_text(self) -> None:
        self.sink.handler = keyword_robot
        delivery = self.notify(self.channel(keyword=KEYWORD))
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent", delivery.last_error)
        [request] = self.sink.requests
        self.assertEqual(request.query, {"access_token": TOKEN})
        self.assertEqual(
            request.json["text"]["content"], f"[{KEYWORD}] 【汛期预警】\n今晚有暴雨，请做好防范。"
        )

    def test_mentions_are_in_the_text_and_the_at_list(self) -> None:
        transport = DingTalkTransport({"access_token": TOKEN, "keyword": KEYWORD, "url": "x"})
        payload = transport.payload(
            Message(f"{KEYWORD}提醒", "正文", "urgent", "k", mention_mobiles=("13800000000",))
        )
        self.assertEqual(
            payload,
            {
                "msgtype": "text",
                "text": {"content": f"【{KEYWORD}提醒】\n正文 @13800000000"},
                "at": {"atMobiles": ["13800000000"], "isAtAll": False},
            },
        )

    def test_wrong_secret_fails_at_once_and_tells_the_office(self) -> None:
        delivery = self.notify(self.channel(secret="SEC" + "f" * 64))
        drain()
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "failed")
        self.assertEqual(delivery.attempts, 1)
        self.assertIn("310000", delivery.last_error)
        self.assertEqual(len(self.sink.requests), 1)
        self.assertTrue(
            Delivery.objects.filter(
                notification__event="delivery_failed", person=self.principal_a, transport="inbox"
            ).exists()
        )

    def assert_sent_after_three_failures(self, delivery: Delivery, error: str) -> None:
        delivery.refresh_from_db()
        self.assertEqual(delivery.status, "sent")
        self.assertEqual(delivery.attempts, 4)
        tries = list(delivery.tries.order_by("pk"))
        self.assertEqual([t.ok for t in tries], [False, False, False, True])
        for attempt in tries[:3]:
            self.assertIn(error, attempt.error)
        self.assertEqual(len(self.sink.requests), 4)
        keys = {r.header("Idempotency-Key") for r in self.sink.requests}
        self.assertEqual(keys, {delivery.idempotency_key})
        # A fresh timestamp and signature on every try.
        for request in self.sink.requests:
            self.assertEqual(request.query["sign"], expected_sign(request.query["timestamp"]))

    def test_too_fast_is_retried(self) -> None:
        too_fast = (200, {"errcode": 130101, "errmsg": "send too fast"})
        self.sink.script(too_fast, too_fast, too_fast)
        delivery = self.notify(self.channel(secret=SECRET))
        drain()
        self.assert_sent_after_three_failures(delivery, "130101")

    def test_500_three_times_then_delivered(self) -> None:
        self.sink.script(500, 500, 500)
        delivery = self.notify(self.channel(secret=SECRET))
        drain()
        self.assert_sent_after_three_failures(delivery, "HTTP 500")

    def assert_refused(self, field: str, config: dict) -> str:
        with self.assertRaises(ValidationError) as caught:
            self.channel(**config)
        self.assertIn(field, caught.exception.message_dict)
        return " ".join(caught.exception.message_dict[field])

    def test_bad_configuration_is_refused_with_the_reason(self) -> None:
        self.assert_refused("secret", {"secret": "0123456789abcdef"})  # no SEC prefix
        self.assert_refused("secret", {"secret": "SEC short!"})
        self.assert_refused("secret", {})  # neither secret nor keyword
        self.assert_refused("access_token", {"access_token": "abc", "secret": SECRET})
        self.assert_refused("keyword", {"keyword": "x" * 21})
        self.assert_refused("url", {"secret": SECRET, "url": "oapi.dingtalk.com/robot/send"})
        with override_settings(NOTIFY_ALLOWED_NETWORKS=[]):
            reason = self.assert_refused("url", {"secret": SECRET})
        self.assertIn("private", reason)

    def test_pasted_robot_address_is_split(self) -> None:
        channel = self.channel(
            access_token=f"{self.sink.url}{PATH}?access_token={TOKEN}", secret=SECRET
        )
        self.assertEqual(
            channel.config,
            {"access_token": TOKEN, "secret": SECRET, "keyword": "", "url": self.sink.url + PATH},
        )
