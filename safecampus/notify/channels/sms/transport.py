"""SMS through Aliyun SendSms (2017-05-25) or Tencent Cloud SendSms (2021-01-11).

No SDK: each provider is one signed HTTPS POST, built here with the standard
library. Providers send only pre-approved templates: `SmsTemplate` maps the
message's event to the template id and the order of its parameters; the
worker fills `Message.template_id` and `Message.template_params` from it.

Settings: SMS_PROVIDER ("aliyun", "tencent" or "" for off), SMS_ENDPOINT
(default the provider's public endpoint; tests point it at
`safecampus.notify.channels.sms.fake`), SMS_ACCESS_KEY_ID / _SECRET,
SMS_SIGN_NAME, SMS_SDK_APP_ID and SMS_REGION (Tencent). The endpoint is an
operator setting, not user input, so the webhook address guard does not apply;
every request has the NOTIFY_HTTP_TIMEOUT.
"""

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import re
import ssl
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from safecampus.notify.transports import Message, Transport, TransportError

ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
ALIYUN_VERSION = "2017-05-25"
ALIYUN_REGION = "cn-hangzhou"
TENCENT_ENDPOINT = "https://sms.tencentcloudapi.com/"
TENCENT_VERSION = "2021-01-11"
TENCENT_SERVICE = "sms"

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")

# Aliyun answer codes: retrying later can help with these; the named ones cannot.
ALIYUN_TRANSIENT = {
    "isv.BUSINESS_LIMIT_CONTROL",  # per-number flow control (1/min, 5/h, 10/day)
    "isv.AMOUNT_NOT_ENOUGH",  # the account is topped up, then it works
    "isp.SYSTEM_ERROR",
    "isp.RAM_PERMISSION_DENY",
    "InternalError",
    "ServiceUnavailable",
    "Throttling",
    "Throttling.User",
    "Throttling.Api",
    "SignatureNonceUsed",
}
ALIYUN_PERMANENT_PREFIXES = (
    "isv.",  # template, signature, number and account problems
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "Forbidden",
    "MissingParameter",
    "InvalidParameter",
    "InvalidTimeStamp",
    "UnsupportedHTTPMethod",
)
# Tencent Cloud error codes: LimitExceeded.*, InternalError.* pass; the others are ours to fix.
TENCENT_TRANSIENT_PREFIXES = (
    "LimitExceeded",
    "RequestLimitExceeded",
    "InternalError",
    "ResourceUnavailable",
    "FailedOperation.InsufficientBalanceInSmsPackage",
)
TENCENT_PERMANENT_PREFIXES = (
    "AuthFailure",
    "InvalidParameter",
    "InvalidParameterValue",
    "MissingParameter",
    "UnauthorizedOperation",
    "UnsupportedOperation",
    "FailedOperation",
    "UnknownParameter",
)


def _is_permanent(code: str, transient: tuple[str, ...], permanent: tuple[str, ...]) -> bool:
    if code.startswith(transient):
        return False
    return code.startswith(permanent)


# --- Aliyun RPC signature (v1, HMAC-SHA1) --------------------------------------------


def aliyun_encode(value: str) -> str:
    """Percent-encoding of Aliyun's RPC signature: RFC 3986 unreserved kept, space is %20."""
    return quote(value, safe="~")


def aliyun_sign(params: dict[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(
        f"{aliyun_encode(k)}={aliyun_encode(v)}" for k, v in sorted(params.items())
    )
    to_sign = f"{method}&{aliyun_encode('/')}&{aliyun_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


# --- Tencent Cloud TC3-HMAC-SHA256 ---------------------------------------------------


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def tencent_authorization(
    *,
    secret_id: str,
    secret_key: str,
    host: str,
    content_type: str,
    body: bytes,
    timestamp: int,
    service: str = TENCENT_SERVICE,
) -> str:
    date = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC).strftime("%Y-%m-%d")
    signed_headers = "content-type;host"
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            # Header values are signed trimmed and in lower case.
            f"content-type:{content_type.strip().lower()}\nhost:{host.strip().lower()}\n",
            signed_headers,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac256(f"TC3{secret_key}".encode(), date)
    key = _hmac256(key, service)
    key = _hmac256(key, "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )


# --- HTTP -----------------------------------------------------------------------------


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """POST to the provider; (status, parsed JSON or None). No answer: a transient error."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(_("SMS_ENDPOINT is not an http(s) URL."), permanent=True)
    timeout = settings.NOTIFY_HTTP_TIMEOUT
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("POST", parts.path or "/", body=body, headers=headers)
        answer = conn.getresponse()
        text = answer.read(65536).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if data is None and (answer.status >= 500 or answer.status == 429):
        raise TransportError(f"HTTP {answer.status}: {text[:200]}")
    if not isinstance(data, dict):
        raise TransportError(f"HTTP {answer.status}: not a JSON answer: {text[:200]}")
    return answer.status, data


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


class SmsTransport(Transport):
    kind = "sms"

    def send(self, message: Message, address: str) -> None:
        provider = settings.SMS_PROVIDER
        if not provider:
            raise TransportError(_("SMS is not configured"), permanent=True)
        if not message.template_id:
            raise TransportError(
                _("no SMS template for event %(event)s") % {"event": message.event or "-"},
                permanent=True,
            )
        mobile = re.sub(r"[\s-]", "", address or "")
        mobile = re.sub(r"^(\+86|0086|86)(?=1\d{10}$)", "", mobile)
        if not MOBILE_RE.match(mobile):
            raise TransportError(
                _("not a mainland mobile number: %(number)s") % {"number": address or "-"},
                permanent=True,
            )
        if provider == "aliyun":
            self._aliyun(message, mobile)
        elif provider == "tencent":
            self._tencent(message, mobile)
        else:
            raise TransportError(
                _("unknown SMS provider %(provider)s") % {"provider": provider}, permanent=True
            )

    # Aliyun ---------------------------------------------------------------------------

    @staticmethod
    def _param_names(message: Message) -> list[str]:
        """Aliyun templates take named variables: the SmsTemplate's parameter names,
        which the worker put beside the values (no database access in a send thread)."""
        names = list(message.template_names)
        if len(names) != len(message.template_params):
            raise TransportError(
                _("SMS template %(id)s takes %(n)d parameters, %(m)d given")
                % {"id": message.template_id, "n": len(names), "m": len(message.template_params)},
                permanent=True,
            )
        return names

    def _aliyun(self, message: Message, mobile: str) -> None:
        names = self._param_names(message)
        params = {
            "AccessKeyId": settings.SMS_ACCESS_KEY_ID,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": (
                settings.SMS_REGION if settings.SMS_REGION.startswith("cn-") else ALIYUN_REGION
            ),
            "SignatureMethod": "HMAC-SHA1",
            # Fresh on every try: Aliyun refuses a nonce it has seen in the last 15 minutes.
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": ALIYUN_VERSION,
            "PhoneNumbers": mobile,
            "SignName": settings.SMS_SIGN_NAME,
            "TemplateCode": message.template_id,
            "TemplateParam": json.dumps(
                dict(zip(names, message.template_params, strict=True)),
                ensure_ascii=False,
                separators=(",", ":"),
            ),
            # Echoed back in delivery receipts: the same key on every retry.
            "OutId": message.idempotency_key,
        }
        params["Signature"] = aliyun_sign(params, settings.SMS_ACCESS_KEY_SECRET)
        body = "&".join(f"{aliyun_encode(k)}={aliyun_encode(v)}" for k, v in params.items())
        url = settings.SMS_ENDPOINT or ALIYUN_ENDPOINT
        status, answer = _post(
            url,
            body.encode(),
            {
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Accept": "application/json",
                "User-Agent": "safecampus",
            },
        )
        code = str(answer.get("Code", ""))
        if code == "OK":
            return
        if not code:
            raise TransportError(f"Aliyun HTTP {status}: {json.dumps(answer)[:200]}")
        raise TransportError(
            f"Aliyun {code}: {answer.get('Message', '')}",
            permanent=code not in ALIYUN_TRANSIENT
            and _is_permanent(code, (), ALIYUN_PERMANENT_PREFIXES),
        )

    # Tencent Cloud --------------------------------------------------------------------

    def _tencent(self, message: Message, mobile: str) -> None:
        url = settings.SMS_ENDPOINT or TENCENT_ENDPOINT
        payload = {
            "PhoneNumberSet": [f"+86{mobile}"],
            "SmsSdkAppId": settings.SMS_SDK_APP_ID,
            "SignName": settings.SMS_SIGN_NAME,
            "TemplateId": message.template_id,
            "TemplateParamSet": list(message.template_params),
            # Echoed back in delivery receipts: the same key on every retry.
            "SessionContext": message.idempotency_key,
        }
        body = json.dumps(payload, ensure_ascii=False).encode()
        content_type = "application/json; charset=utf-8"
        host = _netloc(url)
        timestamp = int(dt.datetime.now(tz=dt.UTC).timestamp())
        headers = {
            "Content-Type": content_type,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": TENCENT_VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": settings.SMS_REGION,
            "User-Agent": "safecampus",
            "Authorization": tencent_authorization(
                secret_id=settings.SMS_ACCESS_KEY_ID,
                secret_key=settings.SMS_ACCESS_KEY_SECRET,
                host=host,
                content_type=content_type,
                body=body,
                timestamp=timestamp,
            ),
        }
        status, answer = _post(url, body, headers)
        response = answer.get("Response")
        if not isinstance(response, dict):
            raise TransportError(f"Tencent HTTP {status}: {json.dumps(answer)[:200]}")
        error = response.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code", ""))
            raise TransportError(
                f"Tencent {code}: {error.get('Message', '')}",
                permanent=_is_permanent(
                    code, TENCENT_TRANSIENT_PREFIXES, TENCENT_PERMANENT_PREFIXES
                ),
            )
        statuses = response.get("SendStatusSet") or []
        if not statuses:
            raise TransportError(f"Tencent HTTP {status}: no SendStatusSet")
        for item in statuses:
            code = str(item.get("Code", ""))
            if code != "Ok":
                raise TransportError(
                    f"Tencent {code}: {item.get('Message', '')}",
                    permanent=_is_permanent(
                        code, TENCENT_TRANSIENT_PREFIXES, TENCENT_PERMANENT_PREFIXES
                    ),
                )
