"""A local fake of Aliyun SendSms and Tencent Cloud SendSms, for tests, demos and benchmarks.

One threaded HTTP server on 127.0.0.1 (a random port) answers both APIs: a
form-encoded POST with Action=SendSms is Aliyun's RPC call, a JSON POST with
X-TC-Action: SendSms is Tencent Cloud's. Each request is checked the way the
provider checks it — signature (recomputed here from the provider's documented
algorithm, independently of transport.py), timestamp, nonce, parameter shapes,
known templates and their parameters — and recorded. Answers can be scripted:

    with SmsFake(templates={"SMS_1": ["title", "unit"]}) as fake:
        fake.script("isv.BUSINESS_LIMIT_CONTROL", "isv.BUSINESS_LIMIT_CONTROL")  # then OK
        with override_settings(**fake.settings("aliyun")):
            ...
        fake.requests[-1].params  # {"title": ..., "unit": ...}

Never used in production; nothing here imports Django.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


@dataclass
class Answer:
    """A scripted answer. code "" is success; otherwise the provider's error code.

    per_number (Tencent): the code goes in SendStatusSet, not Response.Error.
    status: an HTTP status without a JSON body (e.g. 502 from a proxy).
    delay: seconds to wait before answering (to test timeouts).
    """

    code: str = ""
    per_number: bool = False
    status: int | None = None
    delay: float = 0.0


@dataclass
class Received:
    """One request as the fake saw it, and what it answered."""

    provider: str  # "aliyun" or "tencent"
    numbers: list[str]
    sign_name: str
    template_id: str
    params: Any  # Aliyun: dict of named values; Tencent: list of values in order
    headers: dict[str, str]
    fields: dict[str, Any]  # form fields (Aliyun) or the JSON body (Tencent)
    signature_ok: bool
    code: str = ""  # the code answered ("OK"/"Ok" on success)
    at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.code in ("OK", "Ok")


class _Refused(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _aliyun_escape(text: str) -> str:
    """Percent-encode per Aliyun's RPC signature rules, byte by byte."""
    return "".join(chr(b) if b in UNRESERVED else f"%{b:02X}" for b in text.encode("utf-8"))


def _hmac_sha256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


class SmsFake:
    """Start with `start()` or as a context manager; `url` is the endpoint to configure."""

    def __init__(
        self,
        *,
        access_key_id: str = "fake-access-key",
        access_key_secret: str = "fake-access-secret",  # noqa: S107 - the fake's own
        sdk_app_id: str = "1400000001",
        sign_name: str = "",
        templates: dict[str, list[str]] | None = None,
        blacklist: Iterable[str] = (),
        max_skew: int = 300,
    ) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name  # "" takes any non-empty signature name
        self.templates = templates  # None takes any template; else id → parameter names
        self.blacklist = set(blacklist)
        self.max_skew = max_skew
        self.requests: list[Received] = []
        self._answers: deque[Answer] = deque()
        self._nonces: set[str] = set()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- Control -----------------------------------------------------------------------

    def start(self) -> "SmsFake":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sms-fake", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "SmsFake":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"  # noqa: S101
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def settings(self, provider: str) -> dict[str, Any]:
        """Keyword arguments for override_settings() that point the SMS channel here."""
        return {
            "SMS_PROVIDER": provider,
            "SMS_ENDPOINT": self.url,
            "SMS_ACCESS_KEY_ID": self.access_key_id,
            "SMS_ACCESS_KEY_SECRET": self.access_key_secret,
            "SMS_SIGN_NAME": self.sign_name or "平安校园",
            "SMS_SDK_APP_ID": self.sdk_app_id,
            "SMS_REGION": "ap-guangzhou" if provider == "tencent" else "cn-hangzhou",
        }

    def script(self, *answers: Answer | str) -> None:
        """Answer the next well-formed requests so, in order; then success again."""
        with self._lock:
            self._answers.extend(a if isinstance(a, Answer) else Answer(a) for a in answers)

    @property
    def delivered(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.ok]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` messages were accepted; returns them (fewer on timeout)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while sum(r.ok for r in self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return [r for r in self.requests if r.ok]

    # --- Serving -----------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if "x-tc-action" in headers:
            status, answer = self._tencent(headers, raw)
        else:
            status, answer = self._aliyun(headers, raw)
        if isinstance(answer, str):
            body, content_type = answer.encode(), "text/html"
        else:
            body, content_type = json.dumps(answer, ensure_ascii=False).encode(), "application/json"
        request.send_response(status)
        request.send_header("Content-Type", f"{content_type}; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def _next_answer(self) -> Answer:
        with self._lock:
            answer = self._answers.popleft() if self._answers else Answer()
        if answer.delay:
            time.sleep(answer.delay)
        return answer

    def _record(self, received: Received) -> None:
        with self._arrived:
            self.requests.append(received)
            self._arrived.notify_all()

    # --- Aliyun ------------------------------------------------------------------------

    def _aliyun(self, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        request_id = str(uuid.uuid4()).upper()
        fields = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        received = Received(
            provider="aliyun",
            numbers=[n for n in fields.get("PhoneNumbers", "").split(",") if n],
            sign_name=fields.get("SignName", ""),
            template_id=fields.get("TemplateCode", ""),
            params=None,
            headers=headers,
            fields=fields,
            signature_ok=False,
        )
        try:
            received.signature_ok = self._aliyun_check(headers, fields)
            received.params = self._aliyun_params(fields)
            answer = self._next_answer()
        except _Refused as exc:
            received.code = exc.code
            self._record(received)
            return exc.status, {"Code": exc.code, "Message": exc.message, "RequestId": request_id}
        if answer.status is not None and not answer.code:
            received.code = f"HTTP {answer.status}"
            self._record(received)
            return answer.status, f"<html><body>{answer.status}</body></html>"
        received.code = answer.code or "OK"
        self._record(received)
        if answer.code:
            return answer.status or 200, {
                "Code": answer.code,
                "Message": f"scripted {answer.code}",
                "RequestId": request_id,
            }
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": f"{int(time.time() * 1000)}^0",
            "RequestId": request_id,
        }

    def _aliyun_check(self, headers: dict[str, str], fields: dict[str, str]) -> bool:
        if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raise _Refused("InvalidParameter", "expected a form-encoded body")
        for name in (
            "AccessKeyId",
            "Action",
            "Format",
            "SignatureMethod",
            "SignatureNonce",
            "SignatureVersion",
            "Timestamp",
            "Version",
            "Signature",
        ):
            if not fields.get(name):
                raise _Refused(f"Missing{name}", f"{name} is mandatory for this action.")
        if fields["Action"] != "SendSms":
            raise _Refused("InvalidAction.NotFound", "Specified api is not found.", 404)
        if fields["Version"] != "2017-05-25":
            raise _Refused("InvalidVersion", "Specified parameter Version is not valid.")
        if fields["SignatureMethod"] != "HMAC-SHA1" or fields["SignatureVersion"] != "1.0":
            raise _Refused("InvalidParameter", "SignatureMethod/SignatureVersion not supported.")
        try:
            stamp = dt.datetime.strptime(fields["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=dt.UTC
            )
        except ValueError:
            raise _Refused("InvalidTimeStamp.Format", "Timestamp is not ISO8601 UTC.") from None
        if abs((dt.datetime.now(tz=dt.UTC) - stamp).total_seconds()) > 900:
            raise _Refused("InvalidTimeStamp.Expired", "Timestamp is more than 15 minutes off.")
        if fields["AccessKeyId"] != self.access_key_id:
            raise _Refused("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        # The signature: over every field but Signature, sorted, escaped twice.
        pairs = sorted((k, v) for k, v in fields.items() if k != "Signature")
        query = "&".join(_aliyun_escape(k) + "=" + _aliyun_escape(v) for k, v in pairs)
        text = "POST&%2F&" + _aliyun_escape(query)
        key = (self.access_key_secret + "&").encode("utf-8")
        expected = base64.b64encode(hmac.new(key, text.encode("utf-8"), hashlib.sha1).digest())
        if not hmac.compare_digest(expected.decode(), fields["Signature"]):
            raise _Refused(
                "SignatureDoesNotMatch",
                f"Specified signature is not matched with our calculation. server string to "
                f"sign is:{text}",
            )
        with self._lock:
            if fields["SignatureNonce"] in self._nonces:
                raise _Refused("SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces.add(fields["SignatureNonce"])
        return True

    def _aliyun_params(self, fields: dict[str, str]) -> dict[str, str]:
        numbers = fields.get("PhoneNumbers", "").split(",")
        if not numbers or len(numbers) > 1000 or not all(MOBILE_RE.match(n) for n in numbers):
            raise _Refused("isv.MOBILE_NUMBER_ILLEGAL", "invalid mobile number", 200)
        sign = fields.get("SignName", "")
        if not sign or (self.sign_name and sign != self.sign_name):
            raise _Refused("isv.SMS_SIGNATURE_ILLEGAL", "signature name not approved", 200)
        code = fields.get("TemplateCode", "")
        if not code or (self.templates is not None and code not in self.templates):
            raise _Refused("isv.SMS_TEMPLATE_ILLEGAL", "template not approved", 200)
        try:
            params = json.loads(fields.get("TemplateParam") or "{}")
        except ValueError:
            raise _Refused("isv.INVALID_JSON_PARAM", "TemplateParam is not JSON", 200) from None
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise _Refused("isv.INVALID_JSON_PARAM", "TemplateParam: object of strings", 200)
        if self.templates is not None and set(params) != set(self.templates[code]):
            raise _Refused(
                "isv.TEMPLATE_MISSING_PARAMETERS",
                f"template takes {self.templates[code]}, got {sorted(params)}",
                200,
            )
        return params

    # --- Tencent Cloud -----------------------------------------------------------------

    def _tencent(self, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        request_id = str(uuid.uuid4())
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        fields = body if isinstance(body, dict) else {}
        received = Received(
            provider="tencent",
            numbers=list(fields.get("PhoneNumberSet") or []),
            sign_name=str(fields.get("SignName", "")),
            template_id=str(fields.get("TemplateId", "")),
            params=fields.get("TemplateParamSet"),
            headers=headers,
            fields=fields,
            signature_ok=False,
        )

        def error(code: str, message: str) -> tuple[int, Any]:
            received.code = code
            self._record(received)
            return 200, {
                "Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}
            }

        try:
            received.signature_ok = self._tencent_check(headers, raw)
            if not isinstance(body, dict):
                raise _Refused("InvalidParameter", "the body is not a JSON object")
            self._tencent_params(fields)
            answer = self._next_answer()
        except _Refused as exc:
            return error(exc.code, exc.message)
        if answer.status is not None and not answer.code:
            received.code = f"HTTP {answer.status}"
            self._record(received)
            return answer.status, f"<html><body>{answer.status}</body></html>"
        if answer.code and not answer.per_number:
            return error(answer.code, f"scripted {answer.code}")
        statuses = []
        for number in received.numbers:
            code, message = "Ok", "send success"
            if not (number.startswith("+86") and MOBILE_RE.match(number[3:])):
                code, message = "InvalidParameterValue.IncorrectPhoneNumber", "bad number"
            elif number[3:] in self.blacklist or number in self.blacklist:
                code, message = "FailedOperation.PhoneNumberInBlacklist", "number in blacklist"
            elif answer.code:
                code, message = answer.code, f"scripted {answer.code}"
            statuses.append(
                {
                    "SerialNo": uuid.uuid4().hex,
                    "PhoneNumber": number,
                    "Fee": 1 if code == "Ok" else 0,
                    "SessionContext": str(fields.get("SessionContext", "")),
                    "Code": code,
                    "Message": message,
                    "IsoCode": "CN",
                }
            )
        codes = {s["Code"] for s in statuses}
        received.code = "Ok" if codes == {"Ok"} else next(c for c in codes if c != "Ok")
        self._record(received)
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}

    def _tencent_check(self, headers: dict[str, str], raw: bytes) -> bool:
        if headers.get("x-tc-action") != "SendSms":
            raise _Refused("InvalidAction", "the action is not SendSms")
        if headers.get("x-tc-version") != "2021-01-11":
            raise _Refused("NoSuchVersion", "the version is not 2021-01-11")
        if not headers.get("x-tc-region"):
            raise _Refused("MissingParameter", "X-TC-Region is missing")
        try:
            timestamp = int(headers.get("x-tc-timestamp", ""))
        except ValueError:
            raise _Refused("MissingParameter", "X-TC-Timestamp is missing") from None
        if abs(time.time() - timestamp) > self.max_skew:
            raise _Refused("AuthFailure.SignatureExpire", "the signature has expired")
        match = re.fullmatch(
            r"TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            headers.get("authorization", ""),
        )
        if match is None:
            raise _Refused("AuthFailure.InvalidAuthorization", "malformed Authorization")
        secret_id, date, service, signed, signature = match.groups()
        if secret_id != self.access_key_id:
            raise _Refused("AuthFailure.SecretIdNotFound", "the SecretId does not exist")
        day = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
        if date != day or service != "sms":
            raise _Refused("AuthFailure.SignatureFailure", "credential scope does not match")
        names = signed.split(";")
        if "content-type" not in names or "host" not in names or names != sorted(names):
            raise _Refused("AuthFailure.SignatureFailure", "content-type and host must be signed")
        canonical_headers = "".join(
            f"{name}:{' '.join(headers.get(name, '').split()).lower()}\n" for name in names
        )
        canonical = f"POST\n/\n\n{canonical_headers}\n{signed}\n{hashlib.sha256(raw).hexdigest()}"
        text = (
            f"TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n"
            f"{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
        )
        key = ("TC3" + self.access_key_secret).encode("utf-8")
        for part in (date, service, "tc3_request"):
            key = _hmac_sha256(key, part)
        expected = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise _Refused("AuthFailure.SignatureFailure", "the signature does not match")
        return True

    def _tencent_params(self, fields: dict[str, Any]) -> None:
        numbers = fields.get("PhoneNumberSet")
        if not isinstance(numbers, list) or not 1 <= len(numbers) <= 200:
            raise _Refused("InvalidParameterValue.IncorrectPhoneNumber", "PhoneNumberSet: 1–200")
        if not all(isinstance(n, str) for n in numbers):
            raise _Refused("InvalidParameter", "PhoneNumberSet: strings")
        if str(fields.get("SmsSdkAppId", "")) != self.sdk_app_id:
            raise _Refused("InvalidParameterValue.SdkAppIdNotExist", "SmsSdkAppId does not exist")
        sign = fields.get("SignName", "")
        if not isinstance(sign, str) or not sign or (self.sign_name and sign != self.sign_name):
            raise _Refused(
                "FailedOperation.SignatureIncorrectOrUnapproved", "signature not approved"
            )
        template = fields.get("TemplateId", "")
        if not isinstance(template, str) or not template:
            raise _Refused("MissingParameter", "TemplateId is missing")
        if self.templates is not None and template not in self.templates:
            raise _Refused("FailedOperation.TemplateIncorrectOrUnapproved", "template not approved")
        params = fields.get("TemplateParamSet", [])
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise _Refused("InvalidParameterValue.TemplateParameterFormatError", "strings only")
        if self.templates is not None and len(params) != len(self.templates[template]):
            raise _Refused(
                "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                f"template takes {len(self.templates[template])} parameters, got {len(params)}",
            )
