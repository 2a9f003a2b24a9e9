"""DingTalk (钉钉) custom robot: POST …/robot/send?access_token=T, in signed or keyword mode.

Signed mode adds `&timestamp=<ms>&sign=<s>` to the URL, where s is the
URL-encoded base64 of HMAC-SHA256(key=secret, msg=f"{ms}\\n{secret}"); the
secret starts with "SEC". Keyword mode: the robot takes only messages that
contain one of its keywords, so the keyword is put in front of every text.
At most 20 messages a minute per robot (or it is throttled for 10 minutes);
messages over it wait for their slot (notify/ratelimit.py).

DingTalk answers HTTP 200 with {"errcode": n, "errmsg": ...}.
"""

import base64
import hashlib
import hmac
import re
import time
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from safecampus.notify.transports import Message, Transport, TransportError, post, validate_url

DINGTALK_URL = "https://oapi.dingtalk.com/robot/send"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
SECRET_RE = re.compile(r"^SEC[A-Za-z0-9]{16,128}$")
KEYWORD_MAX = 20

# 310000: keyword missing, signature wrong or stale, IP not allowed — retrying cannot help.
# 300001 / 300005: the access token does not exist (the robot was removed).
PERMANENT_CODES = {310000, 300001, 300005}
# 130101: sending too fast (over 20 a minute); other codes are retried too, up to the cap.


def sign(secret: str, timestamp_ms: int) -> str:
    """The `sign` query value (already URL-encoded)."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest).decode())


class DingTalkTransport(Transport):
    kind = "dingtalk"
    rate_limits = ((20, 60),)
    max_bytes = 20_000

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        token = str(config.get("access_token") or "").strip()
        base = str(config.get("url") or DINGTALK_URL).strip()
        if "access_token=" in token:
            # The robot's whole address was pasted: split it into its base and token.
            parts = urlsplit(token)
            token = (parse_qs(parts.query).get("access_token") or [""])[0]
            if parts.scheme and parts.netloc:
                base = f"{parts.scheme}://{parts.netloc}{parts.path}"
        if not TOKEN_RE.match(token):
            raise ValidationError(
                {
                    "access_token": _(
                        "The access token is the access_token=… part of the robot's address "
                        "(16–128 letters and digits)."
                    )
                }
            )
        secret = str(config.get("secret") or "").strip()
        if secret and not SECRET_RE.match(secret):
            raise ValidationError(
                {"secret": _("The signing secret starts with SEC followed by letters and digits.")}
            )
        keyword = str(config.get("keyword") or "").strip()
        if len(keyword) > KEYWORD_MAX or "\n" in keyword:
            raise ValidationError(
                {
                    "keyword": _("A keyword is one line of at most %(n)d characters.")
                    % {"n": KEYWORD_MAX}
                }
            )
        if not secret and not keyword:
            raise ValidationError(
                {
                    "secret": _(
                        "Give the robot's signing secret (SEC…) or one of its keywords, "
                        "as set in its security settings."
                    )
                }
            )
        if "?" in base:
            raise ValidationError({"url": _("Give the address without the ?… part.")})
        return {
            "access_token": token,
            "secret": secret,
            "keyword": keyword,
            "url": validate_url(base),
        }

    def url(self, now_ms: int | None = None) -> str:
        url = f"{self.config.get('url') or DINGTALK_URL}?access_token={self.config['access_token']}"
        secret = self.config.get("secret")
        if secret:
            ms = now_ms if now_ms is not None else int(time.time() * 1000)
            url += f"&timestamp={ms}&sign={sign(secret, ms)}"
        return url

    def payload(self, message: Message) -> dict[str, Any]:
        keyword = self.config.get("keyword") or ""
        # A mention shows only when the text names the mobile too.
        tail = "".join(f" @{m}" for m in message.mention_mobiles)
        prefix = f"[{keyword}] " if keyword else ""
        limit = self.max_bytes - len(prefix.encode()) - len(tail.encode()) - 500
        text = message.text(limit=limit)
        if keyword and keyword in text:
            prefix = ""
        return {
            "msgtype": "text",
            "text": {"content": prefix + text + tail},
            "at": {"atMobiles": list(message.mention_mobiles), "isAtAll": False},
        }

    def send(self, message: Message, address: str) -> None:
        answer = post(
            self.url(),
            self.payload(message),
            headers={"Idempotency-Key": message.idempotency_key},
        ).json()
        if not isinstance(answer, dict) or "errcode" not in answer:
            raise TransportError(f"DingTalk: unexpected answer {str(answer)[:200]}")
        code = answer["errcode"]
        if code:
            raise TransportError(
                f"DingTalk errcode {code}: {answer.get('errmsg', '')}",
                permanent=code in PERMANENT_CODES,
            )
