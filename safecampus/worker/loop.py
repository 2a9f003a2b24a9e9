"""The background worker: fires due timers and delivers the outbox.

Like healthchecks' `sendalerts`: the database is the source of truth; due work
is found through indexed deadline columns (partial indexes on unfired timers
and queued deliveries).

- **Timers** are fired by their own thread, never behind deliveries. A small
  batch is taken and fired in one transaction, its rows locked
  (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL): a worker that dies
  mid-batch takes its transaction with it, and the timers are free for
  another worker (or the restarted one) at once, not after a lease.
- **Deliveries** are claimed one per free sender, the most urgent first, by
  writing the worker's claim token and a short lease (`NOTIFY_LEASE_SECONDS`,
  10 s) into rows that nobody holds. The lease is renewed every few seconds
  while the send is in hand, so a dead worker's claims are taken over within
  seconds. Right before a send the claim is checked and the Attempt is
  recorded ('sending', with the claim token) in one transaction — a worker
  that lost its claim does not send, and every request that leaves has its
  Attempt row; the result is written into that row when the receiver answers.
  Robots' rate limits are checked in that same transaction, under a lock on
  the channel row, so they hold across any number of workers.
- **Senders.** Each send occupies one thread for one message. Up to `threads`
  sends run at a time; a send slower than `SLOW_SEND_SECONDS` stops counting
  against that number (a slow receiver holds only its own threads), up to
  `MAX_IN_FLIGHT` in all and `PER_CHANNEL` to one robot or webhook. A few
  senders are kept for urgent messages: routine work never takes the last
  `reserve` of them.

Only the main thread and the timer thread touch the database; send threads
do nothing but the request.
"""

import datetime as dt
import fcntl
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.db import close_old_connections, connection, connections, models, transaction
from django.db.models import Q
from django.utils import timezone

from safecampus.audit.services import acting_as
from safecampus.notify import ratelimit
from safecampus.notify.models import (
    Attempt,
    Channel,
    Delivery,
    DeliveryStatus,
    Priority,
    SmsTemplate,
    Transport,
)
from safecampus.notify.services import delivery_record
from safecampus.notify.transports import (
    Message,
    TransportError,
    allowed_networks,
    transport_class,
)

from .models import Heartbeat, Timer
from .timers import HANDLERS, ON_START

log = logging.getLogger("safecampus.worker")

TIMER_MAX_ATTEMPTS = 5
# Timers fired in one transaction: small, so a crash costs little and locks are short.
TIMER_BATCH = 20
# The batch commits once: it stops after this long, so SQLite's write lock is not
# held for long.
TIMER_BATCH_SECONDS = 1.0
# A send that has taken this long no longer occupies one of the `threads` senders.
SLOW_SEND_SECONDS = 0.1
# Sends in flight at most (slow ones included), and to one robot or webhook.
MAX_IN_FLIGHT = 256
PER_CHANNEL = 2


def _unclaimed(now: dt.datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def claim(
    model: type[models.Model],
    due: Q,
    order: str | list[str],
    *,
    token: str,
    lease: float,
    batch: int,
) -> list[Any]:
    """Claim up to `batch` due rows for this worker; returns the rows it got."""
    if batch <= 0:
        return []
    now = timezone.now()
    until = now + dt.timedelta(seconds=lease)
    order = [order] if isinstance(order, str) else order
    with transaction.atomic():
        candidates = model.objects.filter(due, _unclaimed(now)).order_by(*order)
        if connection.vendor == "postgresql":
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("pk", flat=True)[:batch])
        if not ids:
            return []
        # Conditional: a row another worker claimed in between is not taken.
        model.objects.filter(pk__in=ids).filter(_unclaimed(now)).update(
            claim_token=token, claimed_until=until
        )
    return list(model.objects.filter(pk__in=ids, claim_token=token).order_by(*order))


def _ack_url(delivery: Delivery) -> str:
    if not delivery.notification.requires_ack:
        return ""
    return f"{settings.SITE_URL.rstrip('/')}/n/ack/{delivery.ack_token}/"


def build_message(delivery: Delivery) -> Message:
    notification = delivery.notification
    template_id, template_params, template_names = "", (), ()
    if delivery.transport == Transport.SMS:
        template = (
            SmsTemplate.objects.filter(event=notification.event).first()
            or SmsTemplate.objects.filter(event="*").first()
        )
        if template is not None:
            values = {
                "title": notification.title,
                "unit": getattr(notification.unit, "name", ""),
                **notification.params,
            }
            template_id = template.template_id
            template_names = tuple(template.param_names)
            template_params = tuple(str(values.get(name, "")) for name in template_names)
    return Message(
        title=notification.title,
        body=notification.body,
        urgency=notification.urgency,
        idempotency_key=delivery.idempotency_key,
        event=notification.event,
        ack_url=_ack_url(delivery),
        link=notification.link,
        params=notification.params,
        template_id=template_id,
        template_params=template_params,
        template_names=template_names,
    )


@dataclass
class Send:
    """A send in flight: its delivery, its Attempt row, and what the receiver answered."""

    delivery: Delivery
    attempt: Attempt
    started: float = field(default_factory=time.monotonic)
    ok: bool = False
    error: str = ""
    permanent: bool = False
    duration_ms: int = 0

    @property
    def receiver(self) -> tuple[str, int | None]:
        """Robots and webhooks each their own; all email (or SMS) goes to one server."""
        if self.delivery.channel_id is not None:
            return ("channel", self.delivery.channel_id)
        return (self.delivery.transport, None)


class Worker:
    def __init__(
        self,
        *,
        name: str | None = None,
        batch: int = 200,
        poll: float = 0.25,
        threads: int = 32,
        lease: float | None = None,
    ) -> None:
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        # Timers fired per transaction at most (the deliveries are claimed one per sender).
        self.batch = batch
        self.poll = poll
        self.lease = lease if lease is not None else settings.NOTIFY_LEASE_SECONDS
        self.threads = max(threads, 1)
        # Senders routine messages never take: urgent ones always find one free.
        self.reserve = max(1, self.threads // 4) if self.threads > 1 else 0
        # One claim token for the life of the worker: renewing its leases is one UPDATE.
        self.token = uuid.uuid4().hex
        self.pool = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix="send")
        self.in_flight: dict[int, Send] = {}
        self.results: queue.Queue[Send] = queue.Queue()
        self.handled = 0
        self.started_at = timezone.now()
        self._last_beat = 0.0
        self._last_renewal = 0.0

    # --- The loop ------------------------------------------------------------------

    def run(self, stop: threading.Event | None = None, *, once: bool = False) -> None:
        stop = stop or threading.Event()
        log.info("worker %s started", self.name)
        with acting_as(f"worker {self.name}"):
            for start in ON_START:
                try:
                    start()
                except Exception:
                    log.exception("start-up hook %s failed", start.__name__)
            timers = None
            if not once:
                timers = threading.Thread(
                    target=self._timer_loop, args=(stop,), name="timers", daemon=True
                )
                timers.start()
            while not stop.is_set():
                close_old_connections()
                try:
                    done = self.tick() if once else self.step()
                    # Only a worker that gets through its rounds looks alive: one whose
                    # every round fails is reported by `worker check` like a dead one.
                    self.beat()
                except Exception:
                    log.exception("worker round failed")
                    done = 0
                    stop.wait(self.poll)
                if once:
                    break
                if not done:
                    self._collect(timeout=self.poll)
            self._finish()
            if timers is not None:
                timers.join(timeout=30)
        self.pool.shutdown(wait=True)
        log.info("worker %s stopped after %d items", self.name, self.handled)

    def _timer_loop(self, stop: threading.Event) -> None:
        """Deadlines on their own thread: never behind deliveries."""
        with acting_as(f"worker {self.name}"):
            try:
                while not stop.is_set():
                    close_old_connections()
                    try:
                        fired = self.fire_timers()
                    except Exception:
                        log.exception("firing timers failed")
                        fired = 0
                    if not fired:
                        stop.wait(self.poll)
            finally:
                connections.close_all()

    def step(self) -> int:
        """One turn of the delivery loop: record results, renew leases, start what is due."""
        recorded = self._collect(timeout=0)
        self._renew()
        return recorded + len(self._fill())

    def tick(self) -> int:
        """A whole round, synchronously (tests, `--once`): due timers, then every due
        delivery tried once."""
        return self.fire_timers() + self.deliver()

    def beat(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_beat < settings.WORKER_HEARTBEAT_SECONDS:
            return
        self._last_beat = time.monotonic()
        now = timezone.now()
        Heartbeat.objects.update_or_create(
            name=self.name,
            defaults={"last_seen": now, "started_at": self.started_at, "handled": self.handled},
        )

    # --- Timers ----------------------------------------------------------------------

    def fire_timers(self) -> int:
        now = timezone.now()
        due = Timer.objects.filter(fired_at__isnull=True, due_at__lte=now).filter(
            Q(retry_at__isnull=True) | Q(retry_at__lte=now)
        )
        # Looked at first without a transaction: an idle poll takes no write lock.
        if not due.exists():
            return 0
        deadline = time.monotonic() + TIMER_BATCH_SECONDS
        fired = 0
        # One commit for the batch, a savepoint for each timer: a failing handler
        # rolls back alone; a crash rolls back the "fired" marks with what the
        # handlers wrote, and the row locks go with the dead connection: every
        # timer still fires exactly once, and at once.
        with transaction.atomic():
            rows = due.order_by("due_at")
            if connection.vendor == "postgresql":
                rows = rows.select_for_update(skip_locked=True)
            for timer in rows[: min(self.batch, TIMER_BATCH)]:
                if fired and time.monotonic() > deadline:
                    break
                self._fire(timer)
                fired += 1
        self.handled += fired
        return fired

    def _fire(self, timer: Timer) -> None:
        handler = HANDLERS.get(timer.kind)
        now = timezone.now()
        late_ms = int((now - timer.due_at).total_seconds() * 1000)
        try:
            with transaction.atomic():
                Timer.objects.filter(pk=timer.pk, fired_at__isnull=True).update(
                    fired_at=now,
                    late_ms=late_ms,
                    retry_at=None,
                    attempts=models.F("attempts") + 1,
                )
                if handler is None:
                    raise LookupError(f"no handler for timer kind {timer.kind!r}")
                handler(timer)
        except Exception as exc:
            log.exception("timer %s (%s) failed", timer.pk, timer.kind)
            attempts = timer.attempts + 1
            give_up = attempts >= TIMER_MAX_ATTEMPTS
            Timer.objects.filter(pk=timer.pk).update(
                attempts=attempts,
                last_error=str(exc)[:500],
                retry_at=None if give_up else now + dt.timedelta(seconds=30 * attempts),
                fired_at=now if give_up else None,
                late_ms=late_ms if give_up else None,
            )

    # --- Deliveries ----------------------------------------------------------------

    def deliver(self) -> int:
        """Try every due delivery once and wait for the answers (tick(), tests)."""
        tried: set[int] = set()
        while True:
            tried |= self._fill(exclude=tried)
            if not self.in_flight and self.results.empty():
                break
            self._collect(timeout=settings.NOTIFY_HTTP_TIMEOUT + 30)
        return len(tried)

    def _free(self) -> tuple[int, int]:
        """(senders free for urgent messages, for routine ones)."""
        now = time.monotonic()
        busy = sum(1 for s in self.in_flight.values() if now - s.started < SLOW_SEND_SECONDS)
        free = min(self.threads - busy, MAX_IN_FLIGHT - len(self.in_flight))
        return free, free - self.reserve

    def _full(self) -> Q:
        """Rows whose receiver already has its share of sends in flight."""
        counts = Counter(s.receiver for s in self.in_flight.values())
        channels = [c for (kind, c), n in counts.items() if kind == "channel" and n >= PER_CHANNEL]
        transports = [k for (k, _), n in counts.items() if k != "channel" and n >= self.threads]
        return Q(channel_id__in=channels) | Q(transport__in=transports)

    def _fill(self, exclude: set[int] | None = None) -> set[int]:
        """Claim due deliveries for the free senders, most urgent first, and start them.
        Returns the deliveries dealt with (sent, or held back by a rate limit)."""
        tried: set[int] = set()
        free_urgent, free_routine = self._free()
        if free_urgent <= 0:
            return tried
        allowed_networks(refresh=True)  # read here, once, not by every send thread
        due = Q(status=DeliveryStatus.QUEUED, next_attempt_at__lte=timezone.now()) & ~self._full()
        if exclude:
            due &= ~Q(pk__in=exclude)
        order = ["priority", "next_attempt_at", "pk"]
        rows = claim(
            Delivery,
            due & Q(priority__lt=Priority.ROUTINE),
            order,
            token=self.token,
            lease=self.lease,
            batch=free_urgent,
        )
        rows += claim(
            Delivery,
            due & Q(priority=Priority.ROUTINE),
            order,
            token=self.token,
            lease=self.lease,
            batch=min(free_routine, free_urgent - len(rows)),
        )
        if not rows:
            return tried
        deliveries = Delivery.objects.select_related(
            "notification", "notification__unit", "channel"
        ).filter(pk__in=[r.pk for r in rows])
        per_channel = Counter(s.receiver for s in self.in_flight.values())
        starts: list[tuple[Delivery, Message | None]] = []
        for delivery in sorted(deliveries, key=lambda d: (d.priority, d.next_attempt_at, d.pk)):
            if delivery.channel_id is not None:
                per_channel[("channel", delivery.channel_id)] += 1
                if per_channel[("channel", delivery.channel_id)] > PER_CHANNEL:
                    # This robot already has its share in flight: back, to be claimed again.
                    self._release(delivery, at=None)
                    continue
            tried.add(delivery.pk)
            inbox = delivery.transport == Transport.INBOX
            starts.append((delivery, None if inbox else build_message(delivery)))
        # Right before the sends, in one transaction: the claims checked, the Attempts written.
        with transaction.atomic():
            attempts = [(d, m, self._attempt(d)) for d, m in starts]
        sends = [(Send(d, a), m) for d, m, a in attempts if a is not None]
        for send, message in sends:
            if message is None:  # the in-app inbox: nothing leaves
                send.ok = True
                self.results.put(send)
            else:
                self.in_flight[send.delivery.pk] = send
                self.pool.submit(self._send, send, message)
        return tried

    def _attempt(self, delivery: Delivery) -> Attempt | None:
        """Right before the send: the robot's rate limit (under a lock on its channel
        row), the claim (conditional UPDATE), the Attempt row ('sending').
        None: not to be sent now (over the limit: it waits for its slot; claim lost)."""
        with transaction.atomic():
            now = timezone.now()
            if delivery.channel_id is not None:
                limits = transport_class(delivery.channel.kind).rate_limits
                if limits:
                    list(Channel.objects.select_for_update().filter(pk=delivery.channel_id))
                    # The time is read once the lock is held: a worker that waited for it
                    # counts, and records its Attempt, after the one that held it.
                    now = timezone.now()
                    slot = ratelimit.next_slot(delivery.channel_id, limits, now)
                    if slot is not None:
                        self._release(delivery, at=slot)
                        return None
            held = Delivery.objects.filter(
                pk=delivery.pk, claim_token=self.token, status=DeliveryStatus.QUEUED
            ).update(
                attempts=models.F("attempts") + 1,
                claimed_until=now + dt.timedelta(seconds=self.lease),
            )
            if held != 1:
                return None  # another worker took it over: it is theirs to send
            delivery.attempts += 1
            return Attempt.objects.create(
                delivery=delivery,
                channel_id=delivery.channel_id,
                at=now,
                ok=None,
                worker=self.name[:100],
                claim_token=self.token,
            )

    def _release(self, delivery: Delivery, *, at: dt.datetime | None) -> None:
        changes: dict[str, Any] = {"claim_token": "", "claimed_until": None}
        if at is not None:
            changes["next_attempt_at"] = at
        Delivery.objects.filter(pk=delivery.pk, claim_token=self.token).update(**changes)

    def _send(self, send: Send, message: Message) -> None:
        """In a send thread: the request, nothing else (no database)."""
        delivery = send.delivery
        transport = transport_class(delivery.transport)(
            delivery.channel.config if delivery.channel_id else {}
        )
        start = time.monotonic()
        try:
            transport.send(message, delivery.address)
            send.ok = True
        except TransportError as exc:
            send.error, send.permanent = str(exc), exc.permanent
        except Exception as exc:  # a bug in a transport must not stop the worker
            log.exception("transport %s crashed", delivery.transport)
            send.error = f"{type(exc).__name__}: {exc}"
        send.duration_ms = int((time.monotonic() - start) * 1000)
        self.results.put(send)

    def _collect(self, *, timeout: float) -> int:
        """Record the answers that are in (waiting up to `timeout` for the first)."""
        recorded = 0
        try:
            first = self.results.get(timeout=timeout) if timeout > 0 else self.results.get_nowait()
        except queue.Empty:
            return 0
        sends = [first, *self._drain()]
        try:
            # One commit for the answers that are in, a savepoint each.
            with transaction.atomic():
                for send in sends:
                    self._record(send)
                    recorded += 1
        except Exception:
            # Unrecorded: the lease runs out and another try is made (at least once).
            log.exception("recording %d results failed", len(sends))
        for send in sends:
            self.in_flight.pop(send.delivery.pk, None)
        self.handled += recorded
        return recorded

    def _drain(self) -> list[Send]:
        sends = []
        while True:
            try:
                sends.append(self.results.get_nowait())
            except queue.Empty:
                return sends

    def _record(self, send: Send) -> None:
        delivery_record(
            delivery=send.delivery,
            attempt=send.attempt,
            ok=send.ok,
            error=send.error,
            permanent=send.permanent,
            duration_ms=send.duration_ms,
            claim_token=self.token,
        )

    def _renew(self, force: bool = False) -> None:
        """Extend the lease of every delivery in hand: a live worker keeps its claims."""
        if not self.in_flight:
            return
        if not force and time.monotonic() - self._last_renewal < self.lease / 3:
            return
        self._last_renewal = time.monotonic()
        Delivery.objects.filter(
            pk__in=list(self.in_flight), claim_token=self.token, status=DeliveryStatus.QUEUED
        ).update(claimed_until=timezone.now() + dt.timedelta(seconds=self.lease))

    def _finish(self) -> None:
        """Stopping: wait for the sends in flight and record them."""
        deadline = time.monotonic() + settings.NOTIFY_HTTP_TIMEOUT + 5
        while self.in_flight and time.monotonic() < deadline:
            self._renew()
            self._collect(timeout=0.5)


def worker_status(stale_after: float | None = None) -> tuple[bool, dt.datetime | None]:
    """(alive, last seen): alive when any worker wrote a heartbeat recently."""
    stale_after = stale_after or settings.WORKER_STALE_SECONDS
    last = Heartbeat.objects.aggregate(last=models.Max("last_seen"))["last"]
    alive = last is not None and timezone.now() - last < dt.timedelta(seconds=stale_after)
    return alive, last


class AnotherWorkerRuns(Exception):
    pass


def single_worker_lock(path: Path | None = None) -> TextIO | None:
    """On SQLite one worker runs: hold var/worker.lock (fcntl.flock) for the life of the
    process, or raise AnotherWorkerRuns naming the pid that holds it. None on PostgreSQL."""
    if connection.vendor != "sqlite":
        return None
    path = path or Path(settings.VAR_DIR) / "worker.lock"
    handle = open(path, "a+")  # noqa: SIM115 - held open while the worker runs
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "?"
        handle.close()
        raise AnotherWorkerRuns(
            f"another worker (pid {pid}) is running on this SQLite database ({path}); "
            "on SQLite only one worker may run — stop it first, or use PostgreSQL "
            "to run several"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def run_in_thread(**kwargs: Any) -> tuple[threading.Thread, threading.Event, Callable[[], None]]:
    """Start a worker in a thread (tests and benchmarks); returns (thread, stop, join)."""
    stop = threading.Event()
    worker = Worker(**kwargs)

    def run() -> None:
        try:
            worker.run(stop)
        finally:
            # This thread's connection would otherwise outlive it (and keep a test
            # database from being dropped).
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> None:
        stop.set()
        thread.join(timeout=30)

    return thread, stop, join
