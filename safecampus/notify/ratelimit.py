"""Robots' rate limits (WeCom and DingTalk 20 a minute, Feishu 5 a second and 100 a minute).

Counted from the Attempt rows of the channel, so every worker sees the same
count. Over the limit a message waits for the window to move; it is never dropped.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count
from django.utils import timezone

from .models import Attempt, Channel
from .transports import Transport, transport_class


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


def allowances(channels: Iterable[Channel]) -> dict[int, tuple[int, dt.datetime]]:
    """allowance() for many channels: one grouped count per window length; the
    detailed look only for a channel that is at its limit."""
    now = timezone.now()
    channels = list(channels)
    windows: dict[int, list[Channel]] = defaultdict(list)
    for channel in channels:
        for _limit, seconds in transport_class(channel.kind).rate_limits:
            windows[seconds].append(channel)
    counts: dict[tuple[int, int], int] = {}
    for seconds, members in windows.items():
        rows = (
            Attempt.objects.filter(channel__in=members, at__gt=now - dt.timedelta(seconds=seconds))
            .values("channel_id")
            .annotate(n=Count("id"))
        )
        for row in rows:
            counts[(row["channel_id"], seconds)] = row["n"]
    result: dict[int, tuple[int, dt.datetime]] = {}
    for channel in channels:
        cls = transport_class(channel.kind)
        left = min(
            (limit - counts.get((channel.pk, seconds), 0) for limit, seconds in cls.rate_limits),
            default=10**6,
        )
        result[channel.pk] = allowance(channel, cls) if left <= 0 else (left, now)
    return result
