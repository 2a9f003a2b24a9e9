"""Robots' rate limits (WeCom and DingTalk 20 a minute, Feishu 5 a second and 100 a minute).

Counted from the Attempt rows of the channel — each recorded right before its
request leaves — by the worker that is about to send, under a lock on the
channel's row (worker.loop.Worker._attempt): every worker sees the same count
and no two decide at once, so the limit holds across any number of workers.
Over the limit a message waits for the slot the window frees; it is never
dropped, and never released for an immediate retry.
"""

import datetime as dt
from collections.abc import Sequence

from .models import Attempt


def window(seconds: int) -> dt.timedelta:
    """A window a little longer than the robot's own: a request reaches the robot a
    moment after its Attempt is recorded, and the robot counts arrivals."""
    return dt.timedelta(seconds=seconds + max(0.25, seconds * 0.02))


def next_slot(
    channel_id: int, limits: Sequence[tuple[int, int]], now: dt.datetime
) -> dt.datetime | None:
    """None when one more request to the channel fits now; else when it will."""
    slot = None
    for limit, seconds in limits:
        since = now - window(seconds)
        recent = Attempt.objects.filter(channel_id=channel_id, at__gt=since)
        count = recent.count()
        if count >= limit:
            # The window must lose the oldest (count - limit + 1) attempts.
            oldest = recent.order_by("at").values_list("at", flat=True)[count - limit]
            free_at = oldest + window(seconds)
            slot = free_at if slot is None else max(slot, free_at)
    return slot
