"""Reads for the notification pages: the inbox, what a user sent, delivery records."""

from typing import Any

from django.db.models import Count, Q, QuerySet

from safecampus.orgs import access

from .models import Channel, Delivery, Notification, Transport


def inbox(user: Any) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(person=user, transport=Transport.INBOX)
        .select_related("notification", "notification__unit")
        .order_by("-id")
    )


def inbox_unread_count(user: Any) -> int:
    return Delivery.objects.filter(
        person=user, transport=Transport.INBOX, read_at__isnull=True
    ).count()


def notifications_sent(user: Any) -> QuerySet[Notification]:
    """What the user sent, or what concerns units they manage, with delivery counts."""
    manage = access.manageable_paths(user)
    scope = Q(sender=user)
    if manage is None:
        scope |= Q(unit__isnull=False)
    elif manage:
        for path in manage:
            scope |= access.subtree(path, "unit__path")
    return (
        Notification.objects.filter(scope)
        .select_related("unit", "sender")
        .annotate(
            total=Count("deliveries", filter=~Q(deliveries__transport=Transport.INBOX)),
            sent=Count(
                "deliveries",
                filter=Q(deliveries__status="sent") & ~Q(deliveries__transport=Transport.INBOX),
            ),
            failed=Count("deliveries", filter=Q(deliveries__status="failed")),
            queued=Count("deliveries", filter=Q(deliveries__status="queued")),
            acked=Count("deliveries", filter=Q(deliveries__acknowledged_at__isnull=False)),
        )
        .order_by("-created_at", "-pk")
    )


def notification_visible(user: Any, notification: Notification) -> bool:
    if notification.sender_id == getattr(user, "pk", None):
        return True
    if notification.unit is not None and access.can_manage(user, notification.unit):
        return True
    return notification.deliveries.filter(person=user).exists()


def notification_deliveries(notification: Notification) -> QuerySet[Delivery]:
    return (
        notification.deliveries.select_related("person", "channel")
        .prefetch_related("tries")
        .order_by("person__name", "channel__name", "pk")
    )


def unit_channels(unit: Any) -> QuerySet[Channel]:
    return Channel.objects.filter(unit=unit).order_by("name")
