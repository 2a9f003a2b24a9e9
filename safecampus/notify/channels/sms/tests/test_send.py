"""SMS through Aliyun and Tencent Cloud, against the local fake of both APIs.

The fake recomputes each provider's signature on its own, checks parameter
shapes and known templates, and answers as scripted.
"""

import datetime as dt
import json
import socket
import time
from typing import Any, ClassVar
from unittest import mock

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import translation

from safecampus.notify.channels.sms.fake import Answer, SmsFake
from safecampus.notify.channels.sms.transport import (
    SmsTransport,
    aliyun_sign,
    tencent_authorization,
)
from safecampus.notify.models import (
    Attempt,
    ContactPreference,
    Delivery,
    DeliveryStatus,
    Notification,
    SmsTemplate,
    Transport,
)
from safecampus.notify.services import notification_create
from safecampus.notify.transports import Message, TransportError
from safecampus.test import BaseTestCase, Personas, TransactionalTestCase
from safecampus.worker.loop import Worker, build_message

TEMPLATES = {"SMS_900001": ["unit", "day", "title"]}


@pytest.fixture(autouse=True)
def _english():
    """Errors are asserted in English (outside a request the default is Chinese)."""
    with translation.override("en"):
        yield


def message(**kwargs: Any) -> Message:
    values: dict[str, Any] = {
        "title": "日报逾期",
        "body": "城关小学 6月1日的日报尚未上报。",
        "urgency": "urgent",
        "idempotency_key": "k" * 32,
        "event": "report_late",
        "template_id": "SMS_900001",
        "template_params": ("城关小学", "6月1日", "日报逾期"),
        "template_names": ("unit", "day", "title"),
    }
    values.update(kwargs)
    return Message(**values)


class Provider:
    """What differs between the providers: answers and how numbers look."""

    provider: ClassVar[str]
    number: ClassVar[str]
    transient: ClassVar[list[Answer]]
    permanent: ClassVar[Answer]
    bad_secret_code: ClassVar[str]
    bad_key_code: ClassVar[str]


class Aliyun(Provider):
    provider = "aliyun"
    number = "13900000002"
    transient = [Answer("isv.BUSINESS_LIMIT_CONTROL"), Answer("isv.BUSINESS_LIMIT_CONTROL")]
    permanent = Answer("isv.MOBILE_NUMBER_ILLEGAL")
    bad_secret_code = "SignatureDoesNotMatch"
    bad_key_code = "InvalidAccessKeyId.NotFound"


class Tencent(Provider):
    provider = "tencent"
    number = "+8613900000002"
    transient = [
        Answer("LimitExceeded.PhoneNumberThirtySecondLimit", per_number=True),
        Answer("RequestLimitExceeded"),
    ]
    permanent = Answer("FailedOperation.PhoneNumberInBlacklist", per_number=True)
    bad_secret_code = "AuthFailure.SignatureFailure"
    bad_key_code = "AuthFailure.SecretIdNotFound"


# --- The signing algorithms, against the providers' documented examples ----------------


def test_aliyun_signature_matches_the_documented_example() -> None:
    # Aliyun SMS "RPC signature" example (GET, testId / testSecret).
    params = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    assert aliyun_sign(params, "testSecret", method="GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_tencent_signature_matches_the_documented_example() -> None:
    # Tencent Cloud "Signature v3" example (cvm DescribeInstances, 2019-02-25).
    body = (
        b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    )
    assert tencent_authorization(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        host="cvm.tencentcloudapi.com",
        content_type="application/json; charset=utf-8",
        body=body,
        timestamp=1551113065,
        service="cvm",
    ) == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/"
        "tc3_request, SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


# --- The request: shape, signature, template --------------------------------------------


class SendMixin(Provider):
    fake: SmsFake

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.fake = SmsFake(templates=TEMPLATES).start()
        self.addCleanup(self.fake.stop)  # type: ignore[attr-defined]
        SmsTemplate.objects.create(
            event="report_late", template_id="SMS_900001", params="unit,day,title"
        )
        overrides = override_settings(**self.fake.settings(self.provider))
        overrides.enable()
        self.addCleanup(overrides.disable)  # type: ignore[attr-defined]

    def send(self, msg: Message | None = None, address: str = "13900000002") -> None:
        SmsTransport().send(msg or message(), address)

    def test_request_shape_and_signature(self) -> None:
        self.send()
        [got] = self.fake.requests
        assert got.signature_ok and got.ok
        assert got.numbers == [self.number]
        assert got.sign_name == "平安校园"
        assert got.template_id == "SMS_900001"
        if self.provider == "aliyun":
            assert got.fields["Action"] == "SendSms"
            assert got.fields["Version"] == "2017-05-25"
            assert got.fields["Format"] == "JSON"
            assert got.fields["SignatureMethod"] == "HMAC-SHA1"
            assert got.fields["OutId"] == "k" * 32
            assert got.params == {"unit": "城关小学", "day": "6月1日", "title": "日报逾期"}
        else:
            assert got.headers["x-tc-action"] == "SendSms"
            assert got.headers["x-tc-version"] == "2021-01-11"
            assert got.headers["x-tc-region"] == "ap-guangzhou"
            assert got.headers["authorization"].startswith("TC3-HMAC-SHA256 Credential=")
            assert "SignedHeaders=content-type;host" in got.headers["authorization"]
            assert got.fields["SmsSdkAppId"] == self.fake.sdk_app_id
            assert got.fields["SessionContext"] == "k" * 32
            assert got.params == ["城关小学", "6月1日", "日报逾期"]

    def test_every_try_is_signed_afresh(self) -> None:
        self.send()
        self.send()  # Aliyun refuses a reused nonce; the fake checks that too
        assert [r.ok for r in self.fake.requests] == [True, True]

    def test_template_id_and_ordered_params_come_from_the_table(self) -> None:
        self.principal_a.email = ""
        self.principal_a.save()
        ContactPreference.objects.create(person=self.principal_a, order="sms")
        notification = notification_create(
            event="report_late",
            title="日报逾期",
            body="6月1日的日报尚未上报。",
            urgency="urgent",
            unit=self.school_a,
            params={"day": "6月1日"},
            people=[self.principal_a],
        )
        delivery = notification.deliveries.get(transport=Transport.SMS)
        assert delivery.address == "13900000002"
        msg = build_message(delivery)
        assert msg.template_id == "SMS_900001"
        assert msg.template_params == ("城关小学", "6月1日", "日报逾期")
        SmsTransport().send(msg, delivery.address)
        [got] = self.fake.requests
        assert got.ok and got.template_id == "SMS_900001"
        if self.provider == "aliyun":
            # Named variables, in the table's order.
            assert list(json.loads(got.fields["TemplateParam"])) == ["unit", "day", "title"]
            assert got.params == {"unit": "城关小学", "day": "6月1日", "title": "日报逾期"}
        else:
            assert got.params == ["城关小学", "6月1日", "日报逾期"]

    def assert_fails(self, *, permanent: bool, contains: str, **kwargs: Any) -> TransportError:
        try:
            self.send(**kwargs)
        except TransportError as exc:
            assert exc.permanent is permanent, exc
            assert contains in str(exc), exc
            return exc
        raise AssertionError("sent, expected a failure")

    def test_wrong_secret_is_permanent(self) -> None:
        with override_settings(SMS_ACCESS_KEY_SECRET="not-the-secret"):
            self.assert_fails(permanent=True, contains=self.bad_secret_code)
        assert self.fake.requests[0].signature_ok is False

    def test_unknown_access_key_is_permanent(self) -> None:
        with override_settings(SMS_ACCESS_KEY_ID="nobody"):
            self.assert_fails(permanent=True, contains=self.bad_key_code)

    def test_rate_limit_is_transient(self) -> None:
        self.fake.script(self.transient[0])
        self.assert_fails(permanent=False, contains=self.transient[0].code)

    def test_provider_error_is_permanent(self) -> None:
        self.fake.script(self.permanent)
        self.assert_fails(permanent=True, contains=self.permanent.code)

    def test_unapproved_template_is_permanent(self) -> None:
        code = (
            "isv.SMS_TEMPLATE_ILLEGAL"
            if self.provider == "aliyun"
            else "FailedOperation.TemplateIncorrectOrUnapproved"
        )
        SmsTemplate.objects.create(event="other", template_id="SMS_404", params="")
        self.assert_fails(
            permanent=True,
            contains=code,
            msg=message(template_id="SMS_404", template_params=(), template_names=()),
        )

    def test_missing_template_is_permanent_and_sends_nothing(self) -> None:
        self.assert_fails(
            permanent=True,
            contains="no SMS template for event drill",
            msg=message(event="drill", template_id="", template_params=()),
        )
        assert self.fake.requests == []

    def test_bad_mobile_is_permanent_and_sends_nothing(self) -> None:
        self.assert_fails(permanent=True, contains="12345", address="12345")
        self.assert_fails(permanent=True, contains="not a mainland", address="")
        assert self.fake.requests == []

    def test_number_with_country_code_is_accepted(self) -> None:
        self.send(address="+86 139-0000-0002")
        assert self.fake.requests[0].numbers == [self.number]

    def test_not_configured_is_permanent(self) -> None:
        with override_settings(SMS_PROVIDER=""):
            self.assert_fails(permanent=True, contains="SMS is not configured")

    def test_gateway_error_page_is_transient(self) -> None:
        self.fake.script(Answer(status=502))
        self.assert_fails(permanent=False, contains="HTTP 502")

    def test_timeout_is_transient(self) -> None:
        # The gateway answers after 10 s; the 1 s timeout ends the try well before. The
        # bound is loose (a loaded machine), not a speed target.
        self.fake.script(Answer(delay=10))
        start = time.monotonic()
        with override_settings(NOTIFY_HTTP_TIMEOUT=1.0):
            self.assert_fails(permanent=False, contains="timed out")
        assert time.monotonic() - start < 8

    def test_endpoint_down_is_transient(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with override_settings(SMS_ENDPOINT=f"http://127.0.0.1:{port}/"):
            self.assert_fails(permanent=False, contains="ConnectionRefused")


class AliyunSendTests(Aliyun, SendMixin, BaseTestCase):
    pass


class TencentSendTests(Tencent, SendMixin, BaseTestCase):
    def test_blacklisted_number_is_permanent(self) -> None:
        self.fake.blacklist.add("13900000002")
        self.assert_fails(permanent=True, contains="PhoneNumberInBlacklist")


# --- Through the worker: retries, permanent failures, fallback to email ------------------


class WorkerMixin(Provider):
    """Real commits: the worker sends from its own threads, which read SmsTemplate."""

    fake: SmsFake

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.build_district()  # type: ignore[attr-defined]
        self.fake = SmsFake(templates=TEMPLATES).start()
        self.addCleanup(self.fake.stop)  # type: ignore[attr-defined]
        SmsTemplate.objects.create(
            event="report_late", template_id="SMS_900001", params="unit,day,title"
        )
        overrides = override_settings(
            **self.fake.settings(self.provider),
            NOTIFY_BACKOFF=[0, 0],
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        )
        overrides.enable()
        self.addCleanup(overrides.disable)  # type: ignore[attr-defined]
        self.worker = Worker(threads=2, name="test-worker")
        self.addCleanup(self.worker.pool.shutdown)  # type: ignore[attr-defined]
        self.person = self.principal_a  # type: ignore[attr-defined]
        self.person.email = "wang@example.edu.cn"
        self.person.save()
        ContactPreference.objects.create(person=self.person, order="sms,email")

    def notify(self) -> Notification:
        return notification_create(
            event="report_late",
            title="日报逾期",
            body="6月1日的日报尚未上报。",
            urgency="urgent",
            unit=self.school_a,  # type: ignore[attr-defined]
            params={"day": "6月1日"},
            people=[self.person],
        )

    def ticks(self, n: int) -> None:
        for _ in range(n):
            self.worker.tick()

    def test_transient_then_ok_is_delivered_with_attempts_recorded(self) -> None:
        self.fake.script(*self.transient)
        notification = self.notify()
        self.ticks(3)
        sms = notification.deliveries.get(transport=Transport.SMS)
        assert sms.status == DeliveryStatus.SENT
        assert sms.attempts == 3
        tries = list(Attempt.objects.filter(delivery=sms))
        assert [t.ok for t in tries] == [False, False, True]
        assert self.transient[0].code in tries[0].error
        assert self.transient[1].code in tries[1].error
        assert all(t.worker == "test-worker" for t in tries)
        assert [r.code for r in self.fake.requests][-1] in ("OK", "Ok")
        assert len(self.fake.delivered) == 1
        assert not notification.deliveries.filter(transport=Transport.EMAIL).exists()
        assert mail.outbox == []

    def test_permanent_error_fails_at_once_and_falls_back(self) -> None:
        self.fake.script(self.permanent)
        notification = self.notify()
        self.ticks(1)
        sms = notification.deliveries.get(transport=Transport.SMS)
        assert sms.status == DeliveryStatus.FAILED
        assert sms.attempts == 1
        assert self.permanent.code in sms.last_error
        assert len(self.fake.requests) == 1
        email = notification.deliveries.get(transport=Transport.EMAIL)
        assert email.fallback_from == sms
        self.ticks(1)
        email.refresh_from_db()
        assert email.status == DeliveryStatus.SENT
        assert len(mail.outbox) == 1

    def test_no_working_sms_falls_back_to_email_after_the_last_retry(self) -> None:
        # The provider keeps throttling: three tries (NOTIFY_BACKOFF has two waits), then email.
        self.fake.script(*[Answer(self.transient[0].code, per_number=True)] * 10)
        notification = self.notify()
        # Given up as soon as the back-off is used up (the slow retries: test_delivery_give_up).
        with mock.patch("safecampus.notify.services.give_up_after", return_value=dt.timedelta(0)):
            self.ticks(3)
        sms = notification.deliveries.get(transport=Transport.SMS)
        assert sms.status == DeliveryStatus.FAILED
        assert sms.attempts == 3
        assert Attempt.objects.filter(delivery=sms, ok=False).count() == 3
        assert len(self.fake.requests) == 3
        assert self.fake.delivered == []
        self.ticks(1)
        email = notification.deliveries.get(transport=Transport.EMAIL)
        assert email.fallback_from == sms
        assert email.status == DeliveryStatus.SENT
        assert email.address == "wang@example.edu.cn"
        [sent] = mail.outbox
        assert sent.to == ["wang@example.edu.cn"]
        assert "日报逾期" in sent.subject
        assert "6月1日的日报尚未上报。" in sent.body
        # Nothing is left queued, and the person's inbox copy was there from the start.
        assert not Delivery.objects.filter(status=DeliveryStatus.QUEUED).exists()
        assert notification.deliveries.get(transport=Transport.INBOX).status == "sent"

    def test_sms_not_configured_goes_straight_to_email(self) -> None:
        # notify.services skips a transport that is switched off (SMS_PROVIDER "").
        with override_settings(SMS_PROVIDER=""):
            notification = self.notify()
            self.ticks(1)
        assert not notification.deliveries.filter(transport=Transport.SMS).exists()
        assert notification.deliveries.get(transport=Transport.EMAIL).status == "sent"
        assert len(mail.outbox) == 1
        assert self.fake.requests == []


class AliyunWorkerTests(Aliyun, WorkerMixin, Personas, TransactionalTestCase):
    pass


class TencentWorkerTests(Tencent, WorkerMixin, Personas, TransactionalTestCase):
    pass
