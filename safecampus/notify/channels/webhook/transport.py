"""A generic JSON webhook: POST {"title", "text", "urgency", ...} to a URL of the unit's choosing.

The receiver gets an `Idempotency-Key` header (the same on every retry of one
delivery) and, when a secret is set, `X-Safecampus-Signature: sha256=<hex>`,
the HMAC-SHA256 of the raw body with that secret.
"""

import hashlib
import hmac
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from safecampus.notify.transports import Message, Transport, post, validate_url


class WebhookTransport(Transport):
    kind = "webhook"
    rate_limits = ((600, 60),)

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        secret = config.get("secret", "") or ""
        if not isinstance(secret, str) or (secret and len(secret) < 16):
            raise ValidationError({"secret": _("A secret has at least 16 characters.")})
        return {"url": validate_url(config.get("url")), "secret": secret}

    @staticmethod
    def payload(message: Message) -> dict[str, Any]:
        return {
            "title": message.title,
            "text": message.body,
            "urgency": message.urgency,
            "event": message.event,
            "ack_url": message.ack_url,
            "idempotency_key": message.idempotency_key,
        }

    @staticmethod
    def signature(secret: str, body: bytes) -> str:
        return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

    def send(self, message: Message, address: str) -> None:
        payload = self.payload(message)
        headers = {"Idempotency-Key": message.idempotency_key}
        secret = self.config.get("secret")
        if secret:
            body = json.dumps(payload, ensure_ascii=False).encode()
            headers["X-Safecampus-Signature"] = self.signature(secret, body)
        post(self.config["url"], payload, headers=headers)
