"""Outgoing HTTP for notification channels: timeouts always, no requests to private networks.

A webhook URL that resolves to a loopback, private, link-local or otherwise
reserved address is refused unless that range is allowed (settings
NOTIFY_ALLOWED_NETWORKS, plus the ranges an administrator adds). The address
that was checked is the one connected to, so a second DNS answer cannot
redirect the request (DNS rebinding).
"""

import http.client
import ipaddress
import json
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 10.0


class BlockedAddress(Exception):
    """The URL points at an address this server may not call."""


class RequestFailed(Exception):
    """No answer: refused, timed out, unreachable."""


@dataclass(frozen=True)
class Response:
    status: int
    text: str

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None


def _networks(allowed: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in allowed]


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # is_global also leaves out the shared range 100.64.0.0/10, where cloud metadata
    # services live (Aliyun's 100.100.100.200), which is_private does not cover.
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def resolve_checked(host: str, port: int, allowed: Iterable[str] = ()) -> str:
    """The first address of host that is public or in an allowed range."""
    networks = _networks(allowed)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RequestFailed(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if is_public(ip) or any(ip in net for net in networks):
            return str(ip)
    raise BlockedAddress(f"{host} resolves to a private or reserved address")


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, ip: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._ip = ip

    def connect(self) -> None:
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, ip: str, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._ip = ip

    def connect(self) -> None:
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


def check_url(url: str) -> tuple[str, str, int, str]:
    """Split a URL we are willing to call: (scheme, host, port, path+query)."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        # http.client would refuse it with the whole path (and a robot's key) in the error.
        raise ValueError("spaces or control characters in the URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL")
    if parts.username or parts.password:
        raise ValueError("credentials in the URL are not allowed")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


def post_json(
    url: str,
    payload: Any,
    *,
    headers: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allowed: Iterable[str] = (),
) -> Response:
    """POST a JSON body; raise BlockedAddress, RequestFailed, or return the answer."""
    scheme, host, port, path = check_url(url)
    ip = resolve_checked(host, port, allowed)
    body = json.dumps(payload, ensure_ascii=False).encode()
    if scheme == "https":
        conn: http.client.HTTPConnection = _PinnedHTTPSConnection(
            host, ip, port=port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = _PinnedHTTPConnection(host, ip, port=port, timeout=timeout)
    try:
        conn.request(
            "POST",
            path,
            body=body,
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "safecampus",
                **(headers or {}),
            },
        )
        answer = conn.getresponse()
        text = answer.read(65536).decode("utf-8", "replace")
        return Response(answer.status, text)
    except (OSError, http.client.HTTPException) as exc:
        raise RequestFailed(f"{type(exc).__name__}: {exc}") from None
    finally:
        conn.close()
