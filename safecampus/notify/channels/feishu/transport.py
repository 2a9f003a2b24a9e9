"""Feishu (飞书) custom bot: POST https://open.feishu.cn/open-apis/bot/v2/hook/<token>.

Body {"timestamp": "<seconds>", "sign": s, "msg_type": "text", "content": {"text": ...}};
timestamp and sign only when the bot has a signing secret. s is the base64 of
HMAC-SHA256 with key f"{seconds}\\n{secret}" and an EMPTY message (the string
is the key). At most 5 messages a second and 100 a minute per bot; a body of
at most 20 KB. Feishu answers {"code": 0, "msg": "success"} (older bots
{"StatusCode": 0}).
"""

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from safecampus.notify.transports import Message, Transport, TransportError, post, validate_url

FEISHU_HOOK = "https://open.feishu.cn/open-apis/bot/v2/hook/"
TOKEN_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9]{8,64}$")

# 19021: signature wrong or timestamp over an hour off; 19024: keyword missing.
PERMANENT_CODES = {19021, 19024}
# 9499 / 11232: too many requests; other codes are retried too, up to the cap.


def sign(secret: str, timestamp: int) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuTransport(Transport):
    kind = "feishu"
    rate_limits = ((5, 1), (100, 60))
    max_bytes = 20_000

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        token = str(config.get("token") or "").strip()
        url = str(config.get("url") or "").strip()
        if token:
            if not TOKEN_RE.match(token):
                raise ValidationError(
                    {"token": _("The bot token is the last part of its address (…/hook/<token>).")}
                )
            url = f"{(url or FEISHU_HOOK).rstrip('/')}/{token}"
        elif not url:
            raise ValidationError(
                {
                    "url": _(
                        "Enter the bot's address (https://open.feishu.cn/open-apis/bot/v2/hook/…)."
                    )
                }
            )
        else:
            parts = urlsplit(url)
            last = parts.path.rstrip("/").rsplit("/", 1)[-1]
            if parts.query or not TOKEN_RE.match(last):
                raise ValidationError(
                    {"url": _("The bot's address ends in /hook/<token>, without a ?… part.")}
                )
        secret = str(config.get("secret") or "").strip()
        if secret and not SECRET_RE.match(secret):
            raise ValidationError(
                {"secret": _("The signing secret is 8–64 letters and digits, as Feishu shows it.")}
            )
        return {"url": validate_url(url), "secret": secret}

    def payload(self, message: Message, now: int | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        secret = self.config.get("secret")
        if secret:
            seconds = now if now is not None else int(time.time())
            payload = {"timestamp": str(seconds), "sign": sign(secret, seconds)}
        payload["msg_type"] = "text"
        # Room for the JSON around the text (and escapes of quotes and newlines).
        payload["content"] = {"text": message.text(limit=self.max_bytes - 1_000)}
        while len(json.dumps(payload, ensure_ascii=False).encode()) > self.max_bytes:
            text = payload["content"]["text"]
            payload["content"]["text"] = text[: len(text) * 9 // 10] + "…"
        return payload

    def send(self, message: Message, address: str) -> None:
        answer = post(
            self.config["url"],
            self.payload(message),
            headers={"Idempotency-Key": message.idempotency_key},
        ).json()
        if not isinstance(answer, dict):
            raise TransportError(f"Feishu: unexpected answer {str(answer)[:200]}")
        code = answer.get("code", answer.get("StatusCode"))
        if code is None:
            raise TransportError(f"Feishu: unexpected answer {str(answer)[:200]}")
        if code:
            raise TransportError(
                f"Feishu code {code}: {answer.get('msg') or answer.get('StatusMessage', '')}",
                permanent=code in PERMANENT_CODES,
            )
