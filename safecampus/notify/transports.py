"""What every channel implements, and the table of channels.

Adding a channel (the healthchecks way): copy notify/channels/webhook/, write
its `Config` (validated when the channel is saved) and `Transport.send`,
add one line to TRANSPORTS, and test it against a local server.
"""

from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from safecampus.lib import http


class TransportError(Exception):
    """Sending failed. permanent=True: retrying cannot help (bad credentials, bad address)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    urgency: str
    idempotency_key: str
    event: str = ""
    ack_url: str = ""
    link: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    mention_mobiles: tuple[str, ...] = ()
    # SMS: the provider's pre-approved template and its values in order (SmsTemplate).
    template_id: str = ""
    template_params: tuple[str, ...] = ()
    template_names: tuple[str, ...] = ()

    def text(self, limit: int | None = None) -> str:
        """Title, body and the acknowledgement link as one plain text."""
        parts = [headline(self.title), self.body]
        if self.ack_url:
            parts.append(f"确认收到 / Acknowledge: {self.ack_url}")
        text = "\n".join(p for p in parts if p)
        if limit is not None:
            encoded = text.encode()
            if len(encoded) > limit:
                text = encoded[: limit - 3].decode("utf-8", "ignore") + "…"
        return text


def headline(title: str) -> str:
    """A title as the first line of a chat or text message: 【title】. A title that already
    opens with its own tag (a warning notice's 【预警】…) is not bracketed again."""
    title = title.strip()
    if not title or title.startswith("【"):
        return title
    return f"【{title}】"


class Transport:
    """Base of every channel. Subclasses set `kind` and implement `send`."""

    kind: ClassVar[str] = ""
    # Most messages a robot takes: (count, seconds) windows; none for person channels.
    rate_limits: ClassVar[tuple[tuple[int, int], ...]] = ()
    max_bytes: ClassVar[int] = 20_000

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = config or {}

    @classmethod
    def validate(cls, config: dict[str, Any]) -> dict[str, Any]:
        """Check a configuration when a channel is saved; raise ValidationError."""
        return config

    def send(self, message: Message, address: str) -> None:
        raise TransportError(f"{self.kind} cannot send", permanent=True)


_allowed_db: list[str] = []


def allowed_networks(*, refresh: bool = False) -> list[str]:
    """Private ranges webhooks may reach: the setting, and the administrator's list.

    The worker refreshes the list once per round (main thread); send threads and
    the HTTP helper read that copy and touch no database.
    """
    from .models import AllowedNetwork

    if refresh:
        _allowed_db[:] = AllowedNetwork.objects.values_list("cidr", flat=True)
    return [*settings.NOTIFY_ALLOWED_NETWORKS, *_allowed_db]


def post(url: str, payload: Any, *, headers: dict[str, str] | None = None) -> http.Response:
    """POST for channels: maps the HTTP helper's errors to TransportError."""
    try:
        response = http.post_json(
            url,
            payload,
            headers=headers,
            timeout=settings.NOTIFY_HTTP_TIMEOUT,
            allowed=allowed_networks(),
        )
    except http.BlockedAddress as exc:
        raise TransportError(str(exc), permanent=True) from None
    except http.RequestFailed as exc:
        raise TransportError(str(exc)) from None
    except ValueError as exc:
        raise TransportError(str(exc), permanent=True) from None
    if response.status >= 500 or response.status == 429:
        raise TransportError(f"HTTP {response.status}: {response.text[:200]}")
    if 300 <= response.status < 400:
        # Redirects are not followed (the new address was never checked): not delivered.
        raise TransportError(f"HTTP {response.status}: redirects are not followed", permanent=True)
    if response.status >= 400:
        raise TransportError(
            f"HTTP {response.status}: {response.text[:200]}",
            permanent=response.status in (401, 403, 404),
        )
    return response


# The robots' own public addresses: saved without a DNS lookup (a school's server may
# resolve outside names only through a proxy); still checked when sending.
VENDOR_HOSTS = {"qyapi.weixin.qq.com", "oapi.dingtalk.com", "open.feishu.cn"}


def validate_url(url: Any, field_name: str = "url") -> str:
    """A URL a channel may be saved with: http(s), no credentials, not a private address."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError({field_name: _("Enter the address (URL).")})
    url = url.strip()
    try:
        _scheme, host, port, _path = http.check_url(url)
        if host not in VENDOR_HOSTS:  # a vendor's own public host needs no lookup here
            http.resolve_checked(host, port, allowed_networks(refresh=True))
    except ValueError as exc:
        raise ValidationError(
            {field_name: _("Not a usable URL: %(reason)s.") % {"reason": exc}}
        ) from None
    except http.BlockedAddress as exc:
        raise ValidationError(
            {field_name: _("%(reason)s; an administrator can allow that range.") % {"reason": exc}}
        ) from None
    except http.RequestFailed as exc:
        raise ValidationError({field_name: str(exc)}) from None
    return url


def _table() -> dict[str, type[Transport]]:
    from .channels.dingtalk.transport import DingTalkTransport
    from .channels.email.transport import EmailTransport
    from .channels.feishu.transport import FeishuTransport
    from .channels.inbox.transport import InboxTransport
    from .channels.sms.transport import SmsTransport
    from .channels.webhook.transport import WebhookTransport
    from .channels.wecom.transport import WeComTransport

    return {
        t.kind: t
        for t in (
            InboxTransport,
            EmailTransport,
            SmsTransport,
            WeComTransport,
            DingTalkTransport,
            FeishuTransport,
            WebhookTransport,
        )
    }


TRANSPORTS: dict[str, type[Transport]] = {}


def transport_class(kind: str) -> type[Transport]:
    if not TRANSPORTS:
        TRANSPORTS.update(_table())
    return TRANSPORTS[kind]
