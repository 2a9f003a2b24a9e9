"""The background worker: fires due timers and delivers the outbox.

Like healthchecks' `sendalerts`: the database is the source of truth; due work
is found through indexed deadline columns (partial indexes on unfired timers
and queued deliveries); a worker claims a batch by writing its claim token
into rows that nobody holds (`UPDATE … WHERE claim expired`), with
`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL so that several workers on
several machines share the work. A claim is a lease: rows of a worker that
died are taken over when the lease ends, and sent again with the same
idempotency key (at least once).

Sending happens in a small thread pool, outside any transaction; results are
recorded by the main thread, one short transaction each.
"""

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, connections, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import acting_as
from safecampus.notify import ratelimit
from safecampus.notify.models import Delivery, DeliveryStatus, SmsTemplate, Transport, Urgency
from safecampus.notify.services import deliveries_sent, delivery_record
from safecampus.notify.transports import (
    Message,
    TransportError,
    allowed_networks,
    headline,
    transport_class,
)

from .models import Heartbeat, Timer
from .timers import HANDLERS, ON_START

log = logging.getLogger("safecampus.worker")

TIMER_MAX_ATTEMPTS = 5
# Timers fired before the next round of deliveries: small, so messages flow early.
TIMER_BATCH = 100
# The batch commits once: it stops after this long (and within half the lease), so
# SQLite's write lock is not held for long and no claim runs out while it fires.
TIMER_BATCH_SECONDS = 2.0


def _unclaimed(now: dt.datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def claim(
    model: type[models.Model], due: Q, order: str, *, token: str, lease: float, batch: int
) -> list[Any]:
    """Claim up to `batch` due rows for this worker; returns the rows it got."""
    now = timezone.now()
    until = now + dt.timedelta(seconds=lease)
    with transaction.atomic():
        candidates = model.objects.filter(due, _unclaimed(now)).order_by(order)
        if connection.vendor == "postgresql":
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("pk", flat=True)[:batch])
        if not ids:
            return []
        # Conditional: a row another worker claimed in between is not taken.
        model.objects.filter(pk__in=ids).filter(_unclaimed(now)).update(
            claim_token=token, claimed_until=until
        )
    return list(model.objects.filter(claim_token=token).order_by(order))


@dataclass
class Outcome:
    delivery: Delivery
    token: str
    ok: bool
    error: str = ""
    permanent: bool = False
    duration_ms: int = 0


def _ack_url(delivery: Delivery) -> str:
    if not delivery.notification.requires_ack:
        return ""
    return f"{settings.SITE_URL.rstrip('/')}/n/ack/{delivery.ack_token}/"


def build_message(delivery: Delivery, body: str | None = None, title: str | None = None) -> Message:
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
        title=notification.title if title is None else title,
        body=notification.body if body is None else body,
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


class Worker:
    def __init__(
        self,
        *,
        name: str | None = None,
        batch: int = 200,
        poll: float = 0.25,
        threads: int = 8,
        lease: float | None = None,
    ) -> None:
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.batch = batch
        self.poll = poll
        self.lease = lease if lease is not None else settings.NOTIFY_LEASE_SECONDS
        self.threads = threads
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send")
        self.handled = 0
        self.started_at = timezone.now()
        self._last_beat = 0.0
        # Deliveries of this round that carry others joined into them.
        self._carriers: set[int] = set()

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
            while not stop.is_set():
                close_old_connections()
                try:
                    done = self.tick()
                    # Only a worker that gets through its rounds looks alive: one whose
                    # every round fails is reported by `worker check` like a dead one.
                    self.beat()
                except Exception:
                    log.exception("worker tick failed")
                    done = 0
                if once:
                    break
                if not done:
                    stop.wait(self.poll)
        self.pool.shutdown(wait=True)
        log.info("worker %s stopped after %d items", self.name, self.handled)

    def tick(self) -> int:
        done = self.fire_timers() + self.deliver()
        self.handled += done
        return done

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
        token = uuid.uuid4().hex
        timers = claim(
            Timer,
            Q(fired_at__isnull=True, due_at__lte=timezone.now()),
            "due_at",
            token=token,
            lease=self.lease,
            batch=min(self.batch, TIMER_BATCH),
        )
        if not timers:
            return 0
        # One commit for the batch, a savepoint for each timer: a failing handler
        # rolls back alone; a crash rolls back the "fired" marks with what the
        # handlers wrote, so every timer still fires exactly once.
        deadline = time.monotonic() + min(TIMER_BATCH_SECONDS, self.lease / 2)
        fired = 0
        with transaction.atomic():
            for timer in timers:
                if fired and time.monotonic() > deadline:
                    break
                self._fire(timer, token)
                fired += 1
        if fired < len(timers):
            # Out of time: hand the rest back at once, for the next round.
            Timer.objects.filter(pk__in=[t.pk for t in timers[fired:]], claim_token=token).update(
                claim_token="", claimed_until=None
            )
        return fired

    def _fire(self, timer: Timer, token: str) -> None:
        handler = HANDLERS.get(timer.kind)
        now = timezone.now()
        late_ms = int((now - timer.due_at).total_seconds() * 1000)
        try:
            with transaction.atomic():
                # Mark it fired first, conditionally: if the claim was lost, nothing runs.
                if (
                    Timer.objects.filter(
                        pk=timer.pk, claim_token=token, fired_at__isnull=True
                    ).update(
                        fired_at=now,
                        late_ms=late_ms,
                        claim_token="",
                        claimed_until=None,
                        attempts=models.F("attempts") + 1,
                    )
                    != 1
                ):
                    return
                if handler is None:
                    raise LookupError(f"no handler for timer kind {timer.kind!r}")
                handler(timer)
        except Exception as exc:
            log.exception("timer %s (%s) failed", timer.pk, timer.kind)
            attempts = timer.attempts + 1
            give_up = attempts >= TIMER_MAX_ATTEMPTS
            Timer.objects.filter(pk=timer.pk, claim_token=token).update(
                attempts=attempts,
                last_error=str(exc)[:500],
                claim_token="",
                claimed_until=None if give_up else now + dt.timedelta(seconds=30 * attempts),
                fired_at=now if give_up else None,
                late_ms=late_ms if give_up else None,
            )

    # --- Deliveries ----------------------------------------------------------------

    def deliver(self) -> int:
        token = uuid.uuid4().hex
        allowed_networks(refresh=True)  # read here, once, not by every send thread
        due = Q(status=DeliveryStatus.QUEUED, next_attempt_at__lte=timezone.now())
        rows = claim(
            Delivery, due, "next_attempt_at", token=token, lease=self.lease, batch=self.batch
        )
        if not rows:
            return 0
        rows = list(
            Delivery.objects.filter(pk__in=[r.pk for r in rows])
            .select_related("notification", "channel", "notification__unit")
            .order_by("next_attempt_at", "pk")
        )
        self._carriers.clear()
        jobs = self._plan(rows, token)
        # Record each result as soon as it is in (a slow robot does not hold back the
        # others), and let sending run at most two per thread ahead of recording: a
        # worker killed mid-batch sends again only what it had sent but not yet
        # recorded, a handful rather than the rest of its batch.
        # Results are written a few at a time in one transaction (one commit, not one
        # each); a worker killed meanwhile resends at most those few, same key.
        pending: set[Future[Outcome]] = set()
        finished: list[Outcome] = []
        for job in jobs:
            pending.add(self.pool.submit(self._send, *job))
            # Sent but not yet recorded, finished or in flight: at most two per thread.
            while len(pending) + len(finished) >= 2 * self.threads:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                finished.extend(future.result() for future in done)
                if len(finished) >= self.threads:
                    self._record(finished)
        for future in as_completed(pending):
            finished.append(future.result())
            if len(finished) >= self.threads:
                self._record(finished)
        self._record(finished)
        return len(rows)

    def _record(self, outcomes: list[Outcome]) -> None:
        """Write these results in one transaction, then forget them."""
        if not outcomes:
            return
        plain = [o for o in outcomes if o.ok and o.delivery.pk not in self._carriers]
        with transaction.atomic():
            by_token: dict[str, list[tuple[Delivery, int]]] = defaultdict(list)
            for outcome in plain:
                by_token[outcome.token].append((outcome.delivery, outcome.duration_ms))
            for token, sent in by_token.items():
                deliveries_sent(deliveries=sent, worker=self.name, claim_token=token)
            for outcome in outcomes:
                if outcome.ok and outcome.delivery.pk not in self._carriers:
                    continue  # recorded above
                delivery_record(
                    delivery=outcome.delivery,
                    ok=outcome.ok,
                    error=outcome.error,
                    permanent=outcome.permanent,
                    duration_ms=outcome.duration_ms,
                    worker=self.name,
                    claim_token=outcome.token,
                    joined=outcome.delivery.pk in self._carriers,
                )
        outcomes.clear()

    def _plan(self, rows: list[Delivery], token: str) -> list[tuple[Delivery, Message, str]]:
        """What to send now: inbox rows need nothing; robots within their rate limits,
        with routine messages to one robot joined into one."""
        jobs: list[tuple[Delivery, Message, str]] = []
        by_channel: dict[int, list[Delivery]] = defaultdict(list)
        for row in rows:
            if row.channel_id is not None:
                by_channel[row.channel_id].append(row)
            else:
                jobs.append((row, build_message(row), token))
        channels = {group[0].channel for group in by_channel.values()}
        limits = ratelimit.allowances(channels)
        for group in by_channel.values():
            jobs.extend(self._plan_channel(group, token, limits[group[0].channel_id]))
        return jobs

    def _plan_channel(
        self, group: list[Delivery], token: str, limit: tuple[int, dt.datetime]
    ) -> list[tuple[Delivery, Message, str]]:
        """Within the robot's rate limit: urgent messages one by one, first; routine
        ones joined into one message where the robot takes that. The rest waits."""
        channel = group[0].channel
        cls = transport_class(channel.kind)
        allowance, retry_at = limit
        # Urgent messages, and those awaiting acknowledgement (each has its own
        # link), go one by one; routine ones may be joined.
        alone = [
            d
            for d in group
            if d.notification.urgency != Urgency.ROUTINE or d.notification.requires_ack
        ]
        routine = [d for d in group if d not in alone]
        jobs: list[tuple[Delivery, Message, str]] = []
        planned: set[int] = set()
        for delivery in alone[: max(allowance, 0)]:
            jobs.append((delivery, build_message(delivery), token))
            planned.add(delivery.pk)
        allowance -= len(jobs)
        if routine and allowance > 0 and cls.coalesce and len(routine) > 1:
            carrier, joined, body = routine[0], [], ""
            for delivery in routine:
                line = (
                    f"{len(joined) + 1}. {headline(delivery.notification.title)}"
                    f"{delivery.notification.body}"
                )
                candidate = f"{body}\n\n{line}" if body else line
                if joined and len(candidate.encode()) > cls.max_bytes - 300:
                    break
                joined.append(delivery)
                body = candidate
            Delivery.objects.filter(pk__in=[d.pk for d in joined[1:]]).update(
                coalesced_into=carrier
            )
            title = _("%(n)d messages") % {"n": len(joined)} if len(joined) > 1 else None
            jobs.append((carrier, build_message(carrier, body=body, title=title), token))
            if len(joined) > 1:
                self._carriers.add(carrier.pk)
            planned |= {d.pk for d in joined}
            allowance -= 1
        else:
            for delivery in routine[: max(allowance, 0)]:
                jobs.append((delivery, build_message(delivery), token))
                planned.add(delivery.pk)
            allowance -= min(len(routine), max(allowance, 0))
        waiting = [d.pk for d in group if d.pk not in planned]
        if waiting:
            # Over the robot's limit (or too long to join now): wait, lose nothing.
            Delivery.objects.filter(pk__in=waiting, claim_token=token).update(
                next_attempt_at=retry_at if allowance <= 0 else timezone.now(),
                claim_token="",
                claimed_until=None,
            )
        return jobs

    def _send(self, delivery: Delivery, message: Message, token: str) -> Outcome:
        if delivery.transport == Transport.INBOX:
            return Outcome(delivery, token, ok=True)
        transport = transport_class(delivery.transport)(
            delivery.channel.config if delivery.channel_id else {}
        )
        start = time.monotonic()
        try:
            transport.send(message, delivery.address)
        except TransportError as exc:
            return Outcome(
                delivery,
                token,
                ok=False,
                error=str(exc),
                permanent=exc.permanent,
                duration_ms=int((time.monotonic() - start) * 1000),
            )
        except Exception as exc:  # a bug in a transport must not stop the worker
            log.exception("transport %s crashed", delivery.transport)
            return Outcome(
                delivery,
                token,
                ok=False,
                error=f"{type(exc).__name__}: {exc}",
                duration_ms=int((time.monotonic() - start) * 1000),
            )
        finally:
            close_old_connections()
        return Outcome(delivery, token, ok=True, duration_ms=int((time.monotonic() - start) * 1000))


def worker_status(stale_after: float | None = None) -> tuple[bool, dt.datetime | None]:
    """(alive, last seen): alive when any worker wrote a heartbeat recently."""
    stale_after = stale_after or settings.WORKER_STALE_SECONDS
    last = Heartbeat.objects.aggregate(last=models.Max("last_seen"))["last"]
    alive = last is not None and timezone.now() - last < dt.timedelta(seconds=stale_after)
    return alive, last


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
