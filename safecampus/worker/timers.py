"""Scheduling deadlines, and the table of what each kind of timer does when it fires.

An app registers a handler: ``@on_timer("notices.ack_deadline")`` on a
function taking (timer). The handler runs in the worker, inside a
transaction; anything it writes to the outbox is sent after it commits.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction

from .models import Timer

HANDLERS: dict[str, Callable[[Timer], None]] = {}
# Run when a worker starts: apps make sure their recurring timers exist.
ON_START: list[Callable[[], None]] = []


def on_worker_start(fn: Callable[[], None]) -> Callable[[], None]:
    ON_START.append(fn)
    return fn


def on_timer(kind: str) -> Callable[[Callable[[Timer], None]], Callable[[Timer], None]]:
    def register(fn: Callable[[Timer], None]) -> Callable[[Timer], None]:
        HANDLERS[kind] = fn
        return fn

    return register


@transaction.atomic
def timer_schedule(
    *, kind: str, key: str, due_at: dt.datetime, payload: dict[str, Any] | None = None
) -> Timer:
    """Schedule (or move) a deadline. A timer that already fired is left as it is."""
    timer, created = Timer.objects.get_or_create(
        key=key, defaults={"kind": kind, "due_at": due_at, "payload": payload or {}}
    )
    if not created and timer.fired_at is None:
        Timer.objects.filter(pk=timer.pk, fired_at__isnull=True).update(
            due_at=due_at, payload=payload or timer.payload
        )
        timer.refresh_from_db()
    return timer


def timer_cancel(*, key: str) -> None:
    Timer.objects.filter(key=key, fired_at__isnull=True).delete()
