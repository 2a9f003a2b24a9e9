"""WeCom (企业微信) group robot: POST …/cgi-bin/webhook/send?key=KEY, text ≤ 2,048 bytes.

The key in the URL is the secret. At most 20 messages a minute per robot;
messages over it wait for their slot (notify/ratelimit.py).
"""

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from safecampus.notify.transports import Message, Transport, TransportError, post, validate_url

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
KEY_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")


class WeComTransport(Transport):
    kind = "wecom"
    rate_limits = ((20, 60),)
    max_bytes = 2048

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        key = str(config.get("key", "")).strip()
        if not KEY_RE.match(key):
            raise ValidationError(
                {
                    "key": _(
                        "The robot key is 8–64 letters, digits or '-' "
                        "(the key=… part of the robot's address)."
                    )
                }
            )
        base = str(config.get("url") or WECOM_URL).strip()
        return {"key": key, "url": validate_url(base)}

    def send(self, message: Message, address: str) -> None:
        url = f"{self.config.get('url') or WECOM_URL}?key={self.config['key']}"
        text: dict[str, Any] = {"content": message.text(limit=self.max_bytes)}
        if message.mention_mobiles:
            text["mentioned_mobile_list"] = list(message.mention_mobiles)
        answer = post(
            url,
            {"msgtype": "text", "text": text},
            headers={"Idempotency-Key": message.idempotency_key},
        ).json()
        if not isinstance(answer, dict):
            # Not WeCom's JSON (a proxy's page?): nothing says it arrived.
            raise TransportError(f"WeCom: unexpected answer {str(answer)[:200]}")
        code = answer.get("errcode", 0)
        if code:
            # 93000 bad key, 45009 over the frequency limit: retry later.
            raise TransportError(
                f"WeCom errcode {code}: {answer.get('errmsg', '')}",
                permanent=code in (93000, 93004, 40013),
            )
