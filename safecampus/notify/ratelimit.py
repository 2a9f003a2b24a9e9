"""Robots' rate limits (WeCom and DingTalk 20 a minute, Feishu 5 a second and 100 a minute).

Counted from the Attempt rows of the channel, so every worker sees the same
count. Over the limit a message waits for the window to move; it is never dropped.
"""

import datetime as dt

from django.utils import timezone

from .models import Attempt, Channel
from .transports import Transport


def allowance(channel: Channel, transport: type[Transport]) -> tuple[int, dt.datetime]:
    """(how many more sends fit now, when the tightest window frees a slot)."""
    now = timezone.now()
    remaining, retry_at = 10**6, now
    for limit, seconds in transport.rate_limits:
        since = now - dt.timedelta(seconds=seconds)
        recent = Attempt.objects.filter(channel=channel, at__gt=since)
        count = recent.count()
        left = limit - count
        if left <= 0:
            oldest = recent.order_by("at").values_list("at", flat=True)[max(count - limit, 0)]
            retry_at = max(retry_at, oldest + dt.timedelta(seconds=seconds))
        remaining = min(remaining, left)
    return remaining, retry_at
