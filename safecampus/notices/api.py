"""/api/v1/notices: list, read, send (without attachments), acknowledge, chase."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from safecampus.lib.api_types import Instant
from safecampus.orgs import access
from safecampus.orgs.api import Pages

from . import selectors, services

router = Router(tags=["notices"])


class NoticeOut(Schema):
    id: int
    kind: str
    sender_unit_id: int
    title: str
    body: str
    urgency: str
    requires_ack: bool
    ack_deadline: dt.datetime | None
    created_at: dt.datetime


class NoticeListOut(NoticeOut):
    for_me: bool
    me_unread: bool
    me_unacked: bool
    n_total: int
    n_read: int
    n_acked: int


class ReceiptOut(Schema):
    unit_id: int
    unit_name: str
    read_at: dt.datetime | None
    acked_at: dt.datetime | None
    chase_count: int

    @staticmethod
    def resolve_unit_name(obj: Any) -> str:
        return obj.unit.name


class NoticeDetailOut(NoticeOut):
    total: int
    read: int
    acked: int
    pending: int
    receipts: list[ReceiptOut]


class NoticeIn(Schema):
    unit_id: int
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1)
    kind: str = "notice"
    urgency: str = "routine"
    requires_ack: bool = False
    ack_deadline: Instant | None = None
    recipient_kinds: list[str] = []


class AckIn(Schema):
    unit_id: int


class ChaseOut(Schema):
    chased: int


def _detail(request: HttpRequest, pk: int) -> dict[str, Any]:
    notice = selectors.notice_or_404(request.user, pk)
    d = selectors.notice_detail(request.user, notice)
    return {
        **{f: getattr(notice, f) for f in NoticeOut.model_fields},
        "total": d.total,
        "read": d.read,
        "acked": d.acked,
        "pending": d.pending,
        "receipts": d.receipts,
    }


@router.get("/notices", response=list[NoticeListOut])
@paginate(Pages)
def notices(request: HttpRequest) -> Any:
    return selectors.inbox(request.user)


@router.get("/notices/{notice_id}", response=NoticeDetailOut)
def notice_get(request: HttpRequest, notice_id: int) -> Any:
    """Reading a notice through the API marks it read for the caller's units, as the page does."""
    notice = selectors.notice_or_404(request.user, notice_id)
    services.notice_read(by=request.user, notice=notice)
    return _detail(request, notice_id)


@router.post("/notices", response={201: NoticeDetailOut})
def notice_send(request: HttpRequest, payload: NoticeIn) -> Any:
    unit = access.unit_or_404(request.user, payload.unit_id)
    notice = services.notice_send(
        by=request.user,
        unit=unit,
        title=payload.title,
        body=payload.body,
        kind=payload.kind,
        urgency=payload.urgency,
        requires_ack=payload.requires_ack,
        ack_deadline=payload.ack_deadline,
        recipient_kinds=payload.recipient_kinds,
    )
    return Status(201, _detail(request, notice.pk))


@router.post("/notices/{notice_id}/ack", response=NoticeDetailOut)
def notice_ack(request: HttpRequest, notice_id: int, payload: AckIn) -> Any:
    notice = selectors.notice_or_404(request.user, notice_id)
    receipt = selectors.own_receipt_or_404(request.user, notice, payload.unit_id)
    services.notice_acknowledge(by=request.user, receipt=receipt)
    return _detail(request, notice_id)


@router.post("/notices/{notice_id}/chase", response=ChaseOut)
def notice_chase(request: HttpRequest, notice_id: int) -> Any:
    notice = selectors.notice_or_404(request.user, notice_id)
    return {"chased": services.notice_chase(by=request.user, notice=notice)}
