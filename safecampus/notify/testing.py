"""Local servers for channel tests, fault tests and benchmarks: an HTTP sink and an SMTP sink.

HttpSink records every request and answers as scripted::

    with HttpSink(responses=[500, 500, 500, 200]) as sink:
        ...  # point a channel at sink.url
        assert len(sink.requests) == 4
        assert sink.requests[-1].json["msgtype"] == "text"

- `responses`: answers used in order, one per request; each an int status, a
  (status, body) pair, or a callable(request) -> status or (status, body).
  When they run out, every request gets `default` (200 with a body every
  robot reads as success).
- `handler`: a callable(request) -> status or (status, body) for every request
  (for checks such as signatures); used when `responses` is empty.
- `delay`: seconds to sleep before answering (timeouts); may be changed live.
- A body is bytes, str, or anything JSON can encode (sent as JSON).

SmtpSink is an aiosmtpd server that keeps each message as an
`email.message.Message`; `stop()` then `start()` brings it back on the same
port (SMTP down, then back). `django_settings()` gives the settings that point
Django's SMTP backend at it::

    with SmtpSink() as smtp, override_settings(**smtp.django_settings()):
        ...
        smtp.stop()   # connections are refused now
        smtp.start()  # and accepted again on the same port
        assert smtp.messages[0]["Subject"] == "..."

To run the real worker until nothing is due: safecampus.worker.testing.drain() (the
worker, which delivers notify's outbox, is above notify in the layers).

Both bind 127.0.0.1 on a free port; tests must allow loopback for the HTTP
sink: `override_settings(NOTIFY_ALLOWED_NETWORKS=["127.0.0.0/8"])`.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# What a sink answers when nothing else is scripted: success for WeCom, DingTalk
# (errcode 0), Feishu (code 0) and a plain webhook alike.
OK_BODY = {"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"}

Answer = int | tuple[int, Any]


@dataclass
class Request:
    """One request the HTTP sink received."""

    method: str
    target: str  # path and query as sent
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float = field(default_factory=time.time)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @cached_property
    def query(self) -> dict[str, str]:
        """The query string, decoded; the last value wins for a repeated name."""
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.target).query).items()}

    @cached_property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


def _encode(body: Any) -> tuple[bytes, str]:
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8"


class _Handler(BaseHTTPRequestHandler):
    """Reads one request after another on a connection and answers each from the sink.

    The request line and headers are split by hand: http.server's email-based
    header parser costs more than the rest of a request together.
    """

    server: _Server
    # Status, headers and body leave in one write, without Nagle's delay.
    wbufsize = 65536
    disable_nagle_algorithm = True

    def handle_one_request(self) -> None:
        line = self.rfile.readline(65537)
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            self.close_connection = True
            return
        method, target, version = parts
        headers: dict[str, str] = {}
        while (header := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        self.close_connection = (
            version != "HTTP/1.1" or headers.get("connection", "").lower() == "close"
        )
        status, payload = self.server.sink._answer(Request(method, target, headers, body))
        data, content_type = _encode(payload)
        reason = self.responses.get(status, ("",))[0]
        connection = "close" if self.close_connection else "keep-alive"
        head = (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(data)}\r\nConnection: {connection}\r\n\r\n"
        )
        self.wfile.write(head.encode("latin-1") + data)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet, and fast
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # benchmarks open many connections at once

    def __init__(self, sink: HttpSink) -> None:
        self.sink = sink
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timed out, was killed) is part of the test, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class HttpSink:
    """A threaded HTTP server on 127.0.0.1 that records requests and answers as scripted."""

    def __init__(
        self,
        responses: Iterable[Answer | Callable[[Request], Answer]] = (),
        *,
        handler: Callable[[Request], Answer] | None = None,
        default: Answer = (200, OK_BODY),
        delay: float = 0.0,
    ) -> None:
        self.requests: list[Request] = []
        self.handler = handler
        self.default = default
        self.delay = delay
        self._responses = list(responses)
        self._cond = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- Lifecycle -------------------------------------------------------------------

    def start(self) -> HttpSink:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HttpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("start the sink first")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """http://127.0.0.1:<port> (no trailing slash); add any path to it."""
        return f"http://127.0.0.1:{self.port}"

    # --- Scripting and reading -----------------------------------------------------------

    def script(self, *responses: Answer | Callable[[Request], Answer]) -> None:
        """Queue answers for the next requests (after those already queued)."""
        with self._cond:
            self._responses.extend(responses)

    def clear(self) -> None:
        with self._cond:
            self.requests.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least `count` requests have arrived; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.requests) >= count, timeout)

    def _answer(self, request: Request) -> tuple[int, Any]:
        with self._cond:
            scripted = self._responses.pop(0) if self._responses else None
            # Recorded before the delay: a client that timed out still left its trace.
            self.requests.append(request)
            self._cond.notify_all()
        if self.delay:
            time.sleep(self.delay)
        answer: Any = scripted if scripted is not None else self.handler or self.default
        if callable(answer):
            answer = answer(request)
        if isinstance(answer, int):
            return answer, OK_BODY if answer < 400 else "error"
        return answer


# --- SMTP --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 that records messages; can go down and come back.

    `messages`: each as email.message.Message; `envelopes`: (mail_from, rcpt_tos).
    Set `refuse` to an SMTP reply (e.g. "451 4.3.0 try again later") to reject
    messages while it is set, without closing the port.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[email.message.Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: str | None = None
        self._lock = threading.Lock()
        self._controller: Any = None

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP command
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def django_settings(self) -> dict[str, Any]:
        """Settings for override_settings() that send Django's mail here."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": self.port,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_SSL": False,
            "EMAIL_USE_TLS": False,
            "EMAIL_TIMEOUT": 5,
        }

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # aiosmtpd handler hook
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.content, policy=email.policy.compat32)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"
