"""/api/v1/alert-…: a unit's effective level, orders (issue, read, progress, the units that have
not confirmed, chase, end), a unit's acknowledgement and confirmations, a bureau's measures.
Limited to the caller's units; what is outside answers 404, a refused field 422 naming it."""

import datetime as dt
from typing import Any, Literal

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from safecampus.lib.api_types import Instant
from safecampus.orgs import access
from safecampus.orgs.models import Unit

from . import selectors, services
from .models import REASON_MAX, AlertOrder, OrderMeasure, OrderUnit

router = Router(tags=["alert levels"])
MAX_ID = 2**63 - 1


class OrderBrief(Schema):
    id: int
    unit_id: int
    unit: str
    level: int
    label: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    ended_early_at: dt.datetime | None
    units_total: int


class EffectiveOut(Schema):
    unit_id: int
    unit: str
    level: int
    label: str
    order: OrderBrief | None


class MeasureOut(Schema):
    id: int
    position: int
    text: str
    checked_by_system: bool


class ProgressOut(Schema):
    total: int
    acknowledged: int
    done: int


class OrderOut(OrderBrief):
    issued_by: str
    issued_at: dt.datetime
    messages_sent_at: dt.datetime | None
    messages: int
    measures: list[MeasureOut]
    progress: ProgressOut


class OrderIn(Schema):
    unit_id: int = Field(ge=1, le=MAX_ID)
    level: Literal[1, 2]
    starts_at: Instant
    ends_at: Instant
    reason: str = Field(max_length=REASON_MAX)


class PendingOut(Schema):
    unit_id: int
    unit: str
    path: str
    acknowledged_at: dt.datetime | None
    confirmed: int
    chased_at: dt.datetime | None


class ConfirmationOut(Schema):
    measure_id: int
    position: int
    confirmed_at: dt.datetime | None
    confirmed_by: str


class OrderUnitOut(Schema):
    order_id: int
    unit_id: int
    unit: str
    acknowledged_at: dt.datetime | None
    confirmed: int
    done_at: dt.datetime | None
    measures: list[ConfirmationOut]


class ConfirmIn(Schema):
    note: str = Field("", max_length=services.NOTE_MAX)


class ConfirmOut(OrderUnitOut):
    created: bool


class MeasuresIn(Schema):
    unit_id: int = Field(ge=1, le=MAX_ID)
    level: Literal[1, 2]
    lines: list[str] = Field(max_length=services.MEASURES_MAX, description="One measure a line")


class LevelMeasuresOut(Schema):
    level: int
    lines: list[str]


class ChaseOut(Schema):
    units_reminded: int


class ListQuery(Schema):
    state: Literal["all", "live"] = "live"


class PendingQuery(Schema):
    after: str = Field("", max_length=255, description="The last path of the page before")
    limit: int = Field(100, ge=1, le=500)


def _brief(o: AlertOrder) -> dict[str, Any]:
    return {
        "id": o.pk,
        "unit_id": o.unit_id,
        "unit": o.unit.name,
        "level": o.level,
        "label": o.short_level,
        "starts_at": o.starts_at,
        "ends_at": o.ends_at,
        "reason": o.reason,
        "ended_early_at": o.revoked_at,
        "units_total": o.units_total,
    }


def _full(o: AlertOrder) -> dict[str, Any]:
    p = selectors.progress(o)
    return {
        **_brief(o),
        "issued_by": o.issued_by.name,
        "issued_at": o.issued_at,
        "messages_sent_at": o.fanned_out_at,
        "messages": o.messages,
        "measures": [_measure(m) for m in o.measures.all()],
        "progress": {"total": p.total, "acknowledged": p.acknowledged, "done": p.done},
    }


def _measure(m: OrderMeasure) -> dict[str, Any]:
    return {
        "id": m.pk,
        "position": m.position,
        "text": m.label,
        "checked_by_system": bool(m.auto_check),
    }


def _order_unit(row: OrderUnit) -> dict[str, Any]:
    return {
        "order_id": row.order_id,
        "unit_id": row.unit_id,
        "unit": row.unit.name,
        "acknowledged_at": row.acknowledged_at,
        "confirmed": row.confirmed,
        "done_at": row.done_at,
        "measures": [
            {
                "measure_id": m.pk,
                "position": m.position,
                "confirmed_at": c.at if c else None,
                "confirmed_by": c.by.name if c else "",
            }
            for m, c in selectors.measures_with_confirmations(row)
        ],
    }


def _get_order(request: HttpRequest, pk: int) -> AlertOrder:
    if not 1 <= pk <= MAX_ID:
        raise Http404
    order = selectors.orders_visible(request.user).filter(pk=pk).first()
    if order is None:
        raise Http404
    return order


def _get_row(request: HttpRequest, pk: int, unit_id: int) -> OrderUnit:
    order = _get_order(request, pk)
    if not 1 <= unit_id <= MAX_ID:
        raise Http404
    row = (
        OrderUnit.objects.filter(order=order, unit_id=unit_id)
        .select_related("unit", "order")
        .first()
    )
    if row is None or not access.unit_visible(request.user, row.unit):
        raise Http404
    return row


@router.get("/alert-levels/effective", response=EffectiveOut)
def effective(request: HttpRequest, unit_id: int = Query(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
    """The unit's level now: the strictest order in force over it (its own or an ancestor's)."""
    unit = access.unit_or_404(request.user, unit_id)
    e = selectors.effective_level(unit)
    return {
        "unit_id": unit.pk,
        "unit": unit.name,
        "level": e.level,
        "label": e.label,
        "order": _brief(e.order) if e.order else None,
    }


@router.get("/alert-measures", response=list[LevelMeasuresOut])
def measure_list(request: HttpRequest, unit_id: int = Query(..., ge=1, le=MAX_ID)) -> list[Any]:
    """The lists of levels 2 and 1 as the unit's bureau uses them (its own or the shipped)."""
    unit = access.unit_or_404(request.user, unit_id)
    bureau = unit if unit.is_root() else Unit.objects.get(path=unit.path[: Unit.steplen])
    return [
        {"level": level, "lines": [m.text for m in services.measures_of(bureau, level)]}
        for level in (2, 1)
    ]


@router.put("/alert-measures", response=LevelMeasuresOut)
def measure_edit(request: HttpRequest, payload: MeasuresIn) -> dict[str, Any]:
    """Replace a level's list for the bureau `unit_id` (a root of the tree you run). Orders
    already out keep theirs."""
    bureau = access.unit_or_404(request.user, payload.unit_id)
    rows = services.measures_edit(
        by=request.user, bureau=bureau, level=payload.level, lines=payload.lines
    )
    return {"level": payload.level, "lines": [m.text for m in rows]}


@router.get("/alert-orders", response=list[OrderBrief])
def order_list(request: HttpRequest, q: Query[ListQuery]) -> list[Any]:
    """Orders you see (issued in your units or above them), newest first: not ended (`live`,
    the default) or all (the last 200)."""
    orders = selectors.orders_visible(request.user).order_by("-issued_at")
    if q.state == "live":
        orders = orders.filter(revoked_at__isnull=True, ends_at__gt=timezone.now())
    return [_brief(o) for o in orders[:200]]


@router.post("/alert-orders", response={201: OrderOut})
def order_create(request: HttpRequest, payload: OrderIn) -> Status[dict[str, Any]]:
    """Issue an order for the unit's subtree. Refused (422, field `level`) when an ancestor has
    ordered a stricter level for part of the window."""
    unit = access.unit_or_404(request.user, payload.unit_id)
    order = services.order_issue(
        by=request.user,
        unit=unit,
        level=payload.level,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        reason=payload.reason,
    )
    return Status(201, _full(order))


@router.get("/alert-orders/{order_id}", response=OrderOut)
def order_get(request: HttpRequest, order_id: int) -> dict[str, Any]:
    return _full(_get_order(request, order_id))


@router.get("/alert-orders/{order_id}/pending", response=list[PendingOut])
def order_pending(request: HttpRequest, order_id: int, q: Query[PendingQuery]) -> list[Any]:
    """The units that have not confirmed every measure, in tree order, a page at a time (pass
    the last `path` as `after`). The issuing level and those above it."""
    order = _get_order(request, order_id)
    access.require(access.can_issue_alert_order(request.user, order.unit))
    rows = selectors.pending_units(order, after=q.after, limit=q.limit)
    return [
        {
            "unit_id": r.unit_id,
            "unit": r.unit.name,
            "path": r.path,
            "acknowledged_at": r.acknowledged_at,
            "confirmed": r.confirmed,
            "chased_at": r.chased_at,
        }
        for r in rows
    ]


@router.post("/alert-orders/{order_id}/chase", response=ChaseOut)
def order_chase(request: HttpRequest, order_id: int) -> dict[str, Any]:
    """Remind every unit that has not confirmed (its head and who is on duty), urgently."""
    order = _get_order(request, order_id)
    return {"units_reminded": services.order_chase(by=request.user, order=order)}


@router.post("/alert-orders/{order_id}/end", response=OrderOut)
def order_end(request: HttpRequest, order_id: int) -> dict[str, Any]:
    order = _get_order(request, order_id)
    return _full(services.order_end(by=request.user, order=order))


@router.get("/alert-orders/{order_id}/units/{unit_id}", response=OrderUnitOut)
def order_unit(request: HttpRequest, order_id: int, unit_id: int) -> dict[str, Any]:
    return _order_unit(_get_row(request, order_id, unit_id))


@router.post("/alert-orders/{order_id}/units/{unit_id}/acknowledge", response=OrderUnitOut)
def acknowledge(request: HttpRequest, order_id: int, unit_id: int) -> dict[str, Any]:
    row = services.order_acknowledge(
        by=request.user, order_unit=_get_row(request, order_id, unit_id)
    )
    return _order_unit(row)


@router.post(
    "/alert-orders/{order_id}/units/{unit_id}/measures/{measure_id}/confirm", response=ConfirmOut
)
def confirm(
    request: HttpRequest, order_id: int, unit_id: int, measure_id: int, payload: ConfirmIn
) -> dict[str, Any]:
    """Confirm a measure for the unit (a second call changes nothing: `created` false)."""
    row = _get_row(request, order_id, unit_id)
    measure = (
        OrderMeasure.objects.filter(pk=measure_id, order_id=row.order_id).first()
        if 1 <= measure_id <= MAX_ID
        else None
    )
    if measure is None:
        raise Http404
    _c, created = services.measure_confirm(
        by=request.user, order_unit=row, measure=measure, note=payload.note
    )
    row.refresh_from_db()
    return {**_order_unit(row), "created": created}
