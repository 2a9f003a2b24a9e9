"""/api/v1/ endpoints: the inbox, delivery records, a unit's robots and their test."""

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from safecampus.orgs import access
from safecampus.orgs.api import Pages

from . import selectors, services
from .models import Channel, Delivery, Notification

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    event: str
    title: str
    body: str
    urgency: str
    requires_ack: bool
    unit_id: int | None
    created_at: dt.datetime


class InboxOut(Schema):
    id: int
    notification: NotificationOut
    read_at: dt.datetime | None
    acknowledged_at: dt.datetime | None


class AttemptOut(Schema):
    at: dt.datetime
    # None: recorded as the request left, no answer recorded (the worker stopped).
    ok: bool | None
    error: str


class DeliveryOut(Schema):
    id: int
    transport: str
    person_id: int | None
    channel_id: int | None
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str
    acknowledged_at: dt.datetime | None
    fallback_from_id: int | None
    tries: list[AttemptOut]

    @staticmethod
    def resolve_tries(obj: Delivery) -> list[Any]:
        return list(obj.tries.all())


class NotificationDetailOut(NotificationOut):
    deliveries: list[DeliveryOut]


class ChannelOut(Schema):
    id: int
    unit_id: int
    kind: str
    name: str
    enabled: bool


class ChannelIn(Schema):
    unit_id: int
    kind: str
    name: str = Field(min_length=1, max_length=100)
    config: dict[str, str]


class ChannelPatch(Schema):
    name: str = Field(min_length=1, max_length=100)
    config: dict[str, str]
    enabled: bool = True


class TestOut(Schema):
    notification_id: int
    delivery_id: int


def _channel_or_404(request: HttpRequest, pk: int) -> Channel:
    channel = Channel.objects.select_related("unit").filter(pk=pk).first()
    if channel is None or not access.unit_visible(request.user, channel.unit):
        raise Http404
    if not access.can_connect_robots(request.user, channel.unit):
        raise PermissionDenied
    return channel


@router.get("/inbox", response=list[InboxOut])
@paginate(Pages)
def inbox(request: HttpRequest) -> Any:
    return selectors.inbox(request.user)


@router.post("/inbox/{delivery_id}/ack", response=InboxOut)
def inbox_ack(request: HttpRequest, delivery_id: int) -> Any:
    delivery = selectors.inbox(request.user).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404
    services.delivery_read(delivery=delivery)
    services.delivery_acknowledge(delivery=delivery)
    delivery.refresh_from_db()
    return delivery


@router.get("/notifications/{notification_id}", response=NotificationDetailOut)
def notification_get(request: HttpRequest, notification_id: int) -> Any:
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None or not selectors.notification_visible(request.user, notification):
        raise Http404
    deliveries = selectors.notification_deliveries(notification)
    if not (
        notification.sender_id == request.user.pk
        or (notification.unit and access.can_manage(request.user, notification.unit))
    ):
        deliveries = deliveries.filter(person=request.user)
    return {
        **{f: getattr(notification, f) for f in NotificationOut.model_fields},
        "deliveries": list(deliveries),
    }


@router.get("/channels", response=list[ChannelOut])
def channels(request: HttpRequest, unit: int) -> Any:
    target = access.unit_or_404(request.user, unit)
    if not access.can_connect_robots(request.user, target):
        raise PermissionDenied
    return list(selectors.unit_channels(target))


@router.post("/channels", response={201: ChannelOut})
def channel_create(request: HttpRequest, payload: ChannelIn) -> Any:
    unit = access.unit_or_404(request.user, payload.unit_id)
    channel = services.channel_create(
        by=request.user, unit=unit, kind=payload.kind, name=payload.name, config=payload.config
    )
    return Status(201, channel)


@router.patch("/channels/{channel_id}", response=ChannelOut)
def channel_update(request: HttpRequest, channel_id: int, payload: ChannelPatch) -> Any:
    channel = _channel_or_404(request, channel_id)
    return services.channel_update(
        by=request.user,
        channel=channel,
        name=payload.name,
        config=payload.config,
        enabled=payload.enabled,
    )


@router.post("/channels/{channel_id}/test", response={202: TestOut})
def channel_test(request: HttpRequest, channel_id: int) -> Any:
    delivery = services.channel_test(by=request.user, channel=_channel_or_404(request, channel_id))
    return Status(202, {"notification_id": delivery.notification_id, "delivery_id": delivery.pk})
