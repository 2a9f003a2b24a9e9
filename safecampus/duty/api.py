"""/api/v1/duty/…: rosters (templates, the weekly pattern, planning a month, shifts and
their people), who is on duty now (a unit, or every unit of a subtree), coverage gaps,
swaps, duty logs and handover, spot checks (查岗) and the private calendar link.

Every answer is limited to the caller's units (orgs.access); what is outside answers 404.
The endpoints call duty.services / duty.selectors (and duty.spotchecks, duty.feeds)."""

import datetime as dt
import re
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, BaseModel, BeforeValidator
from pydantic_core import PydanticCustomError

from safecampus.lib.api_types import Day, Instant
from safecampus.orgs import access
from safecampus.orgs.models import Person, Unit, mask_mobile

from . import feeds, selectors, services, spotchecks
from .models import (
    DayKind,
    DutyLogEntry,
    LogKind,
    MemberRole,
    PatternSlot,
    Shift,
    ShiftTemplate,
    SpotCheck,
    SwapRequest,
)

router = Router(tags=["duty"])

MAX_ID = 2**63 - 1
MAX_SHIFTS = 2000  # a list answers at most this many shifts (a unit's quarter)

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?")
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _clock(value: Any) -> Any:
    if isinstance(value, dt.time) or (isinstance(value, str) and _CLOCK.fullmatch(value)):
        return value
    raise PydanticCustomError("time_parsing", "Input should be a time of day as HH:MM")


def _month(value: Any) -> Any:
    if isinstance(value, str) and _MONTH.fullmatch(value):
        return value
    raise PydanticCustomError("month_parsing", "Input should be a month as YYYY-MM")


Clock = Annotated[dt.time, BeforeValidator(_clock)]
Month = Annotated[str, BeforeValidator(_month)]
# Every instant the duty API answers is in UTC ("…Z"), as across the API: a time read back
# from the database, one computed in local time (a gap that starts at local midnight) and
# one echoed from the request (+08:00) answer alike.
Moment = Annotated[dt.datetime, AfterValidator(lambda v: v.astimezone(dt.UTC))]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# --- Schemas ----------------------------------------------------------------------------------


# Who is on duty now answers a thousand units at once (a city): its two schemas are plain
# pydantic models, validated by pydantic's core alone. A ninja Schema wraps every object it
# validates in an attribute getter (for ORM objects), a third of that request's time;
# these are only ever given dicts.


class PersonRef(BaseModel):
    id: int
    name: str
    mobile: str = Field(description="In full for those who run the unit, else masked.")


class OnDutyOut(BaseModel):
    unit_id: int
    unit: str
    at: Moment
    is_gap: bool = Field(description="No shift covers the moment: call the fallback.")
    no_leader: bool
    shift_ids: list[int]
    leaders: list[PersonRef]
    staff: list[PersonRef]
    phone: str = Field(description="The duty phone: the shift's, else the unit's duty phone.")
    fallback: list[PersonRef] = Field(
        description="Who to call where nobody is on duty: the head, then the safety officers."
    )


class NowFilter(Schema):
    unit: int | None = Field(None, description="One unit.")
    under: int | None = Field(None, description="Every unit keeping duty in this subtree.")
    at: Instant | None = Field(None, description="Another moment than now.")


class TemplateOut(Schema):
    id: int
    unit_id: int
    name: str
    start: dt.time
    end: dt.time
    crosses_midnight: bool
    order: int
    archived: bool


class TemplateIn(Schema):
    name: str = Field(min_length=1, max_length=40)
    start: Clock
    end: Clock
    order: int = Field(0, ge=0, le=1000)


class TemplatePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=40)
    start: Clock | None = None
    end: Clock | None = None
    order: int | None = Field(None, ge=0, le=1000)
    archived: bool | None = None


class SlotOut(Schema):
    template_id: int
    day_kind: str
    leader_id: int | None
    staff_ids: list[int]


class SlotIn(Schema):
    day_kind: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]
    leader_id: Id | None = None
    staff_ids: list[Id] = Field(default_factory=list, max_length=50)


class PlanIn(Schema):
    month: Month = Field(description="YYYY-MM")


class PlanOut(Schema):
    created: int
    replaced: int
    kept: int
    holidays: list[dt.date]


class MemberOut(Schema):
    person_id: int
    name: str
    role: str


class ShiftOut(Schema):
    id: int
    unit_id: int
    template_id: int | None
    name: str
    day: dt.date
    starts_at: Moment
    ends_at: Moment
    phone: str
    members: list[MemberOut]
    handover_note: str
    handed_over_at: Moment | None
    taken_over_by_id: int | None
    taken_over_at: Moment | None


class ShiftFilter(Schema):
    unit: int = Field(description="The unit (required).")
    date_from: Day | None = None
    date_to: Day | None = None


class ShiftIn(Schema):
    unit_id: Id
    name: str = Field(min_length=1, max_length=40)
    starts_at: Instant
    ends_at: Instant
    leader_id: Id | None = None
    staff_ids: list[Id] = Field(default_factory=list, max_length=50)
    phone: str = Field("", max_length=32)


class ShiftPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=40)
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    leader_id: Id | None = None
    staff_ids: list[Id] | None = Field(None, max_length=50)
    phone: str | None = Field(None, max_length=32)


class UnitPersonOut(Schema):
    id: int
    name: str


class GapOut(Schema):
    unit_id: int
    unit: str
    hours: float
    nobody_hours: float
    first_at: Moment
    gaps: int


class RosterGapOut(Schema):
    kind: str
    starts_at: Moment
    ends_at: Moment


class SwapOut(Schema):
    id: int
    shift_id: int
    from_person_id: int
    to_person_id: int
    in_exchange_id: int | None
    reason: str
    status: str
    created_at: Moment
    accepted_at: Moment | None
    decided_by_id: int | None
    decided_at: Moment | None


class SwapIn(Schema):
    shift_id: Id
    to_person_id: Id
    in_exchange_id: Id | None = None
    reason: str = Field("", max_length=200)


class DecideIn(Schema):
    approve: bool


class LogOut(Schema):
    id: int
    shift_id: int
    at: Moment
    kind: str
    text: str
    by_id: int


class LogIn(Schema):
    text: str = Field(min_length=1, max_length=500)
    kind: Literal["patrol", "event", "call", "other"] = LogKind.PATROL
    at: Instant | None = None


class HandoverIn(Schema):
    note: str = Field("", max_length=2000)


class SpotCheckOut(Schema):
    id: int
    unit_id: int
    shift_id: int | None
    fallback: bool = Field(description="Nobody was on duty: it went to the fallback.")
    batch: str | None
    sent_by_id: int
    sent_at: Moment
    due_at: Moment
    answered_by_id: int | None
    answered_at: Moment | None
    missed_at: Moment | None
    outcome: Literal["on_time", "late", "missed", "waiting"]


class SpotCheckIn(Schema):
    unit_id: Id | None = Field(None, description="Check this unit …")
    under_id: Id | None = Field(
        None, description="… or a random sample of the units under this one"
    )
    sample: int = Field(5, ge=1, le=spotchecks.MAX_SAMPLE)


class SpotCheckFilter(Schema):
    unit: int = Field(description="The unit (its subtree).")
    month: Month | None = Field(None, description="YYYY-MM; this month by default.")


class TallyOut(Schema):
    unit_id: int
    unit: str
    sent: int
    on_time: int
    late: int
    missed: int
    waiting: int
    fallback: int


class MonthFilter(Schema):
    month: Month | None = Field(None, description="YYYY-MM; this month by default.")


class FeedOut(Schema):
    url: str | None = Field(description="The private link, or null when there is none.")
    created_at: Moment | None


# --- Helpers ----------------------------------------------------------------------------------


def _pk(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise Http404
    return value


def _unit(request: HttpRequest, pk: int) -> Unit:
    """The unit if the caller may see it (access.unit_visible), else 404."""
    unit = Unit.objects.filter(pk=_pk(pk)).first()
    if unit is None or not access.unit_visible(request.user, unit):
        raise Http404
    return unit


def _people(unit: Unit, ids: list[int], field: str) -> list[Person]:
    """The unit's people by id, in order; an id that is not one of them is refused by name."""
    if not ids:
        return []
    found = services.unit_people(unit).in_bulk(ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError(
            {
                field: _("%(id)d is not one of %(unit)s's people.")
                % {"id": missing[0], "unit": unit.name}
            }
        )
    return [found[i] for i in dict.fromkeys(ids)]


def _ref(user: Any, person: Person, full: bool) -> dict[str, Any]:
    mobile = person.mobile or ""
    if not (full or getattr(user, "pk", None) == person.pk):
        mobile = mask_mobile(mobile)
    return {"id": person.pk, "name": person.name, "mobile": mobile}


def _on_duty_out(user: Any, answer: selectors.OnDuty) -> dict[str, Any]:
    full = access.can_call_on_duty(user, answer.unit)
    return {
        "unit_id": answer.unit.pk,
        "unit": answer.unit.name,
        "at": answer.at,
        "is_gap": answer.is_gap,
        "no_leader": answer.no_leader,
        "shift_ids": [s.pk for s in answer.shifts],
        "leaders": [_ref(user, p, full) for p in answer.leaders],
        "staff": [_ref(user, p, full) for p in answer.staff],
        "phone": answer.phone,
        "fallback": [_ref(user, p, full) for p in answer.fallback],
    }


def _template(request: HttpRequest, pk: int) -> ShiftTemplate:
    template = ShiftTemplate.objects.select_related("unit").filter(pk=_pk(pk)).first()
    if template is None or not access.can_see_duty(request.user, template.unit):
        raise Http404
    return template


def _template_out(t: ShiftTemplate) -> dict[str, Any]:
    return {
        "id": t.pk,
        "unit_id": t.unit_id,
        "name": t.name,
        "start": t.start,
        "end": t.end,
        "crosses_midnight": t.crosses_midnight,
        "order": t.order,
        "archived": t.archived_at is not None,
    }


def _slot_out(slot: PatternSlot) -> dict[str, Any]:
    return {
        "template_id": slot.template_id,
        "day_kind": slot.day_kind,
        "leader_id": slot.leader_id,
        "staff_ids": sorted(p.pk for p in slot.staff.all()),
    }


def _shift(request: HttpRequest, pk: int) -> Shift:
    return selectors.shift_or_404(request.user, _pk(pk))


def _shift_out(s: Shift) -> dict[str, Any]:
    return {
        "id": s.pk,
        "unit_id": s.unit_id,
        "template_id": s.template_id,
        "name": s.name,
        "day": s.day,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "phone": s.phone,
        "members": [
            {"person_id": m.person_id, "name": m.person.name, "role": m.role}
            for m in sorted(s.members.all(), key=lambda m: (m.role != MemberRole.LEADER, m.pk))
        ],
        "handover_note": s.handover_note,
        "handed_over_at": s.handed_over_at,
        "taken_over_by_id": s.taken_over_by_id,
        "taken_over_at": s.taken_over_at,
    }


def _fresh(shift: Shift) -> dict[str, Any]:
    return _shift_out(Shift.objects.prefetch_related("members__person").get(pk=shift.pk))


def _swap_out(s: SwapRequest) -> dict[str, Any]:
    return {
        "id": s.pk,
        "shift_id": s.shift_id,
        "from_person_id": s.from_person_id,
        "to_person_id": s.to_person_id,
        "in_exchange_id": s.in_exchange_id,
        "reason": s.reason,
        "status": s.status,
        "created_at": s.created_at,
        "accepted_at": s.accepted_at,
        "decided_by_id": s.decided_by_id,
        "decided_at": s.decided_at,
    }


def _log_out(e: DutyLogEntry) -> dict[str, Any]:
    return {
        "id": e.pk,
        "shift_id": e.shift_id,
        "at": e.at,
        "kind": e.kind,
        "text": e.text,
        "by_id": e.by_id,
    }


def _check_out(c: SpotCheck, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": c.pk,
        "unit_id": c.unit_id,
        "shift_id": c.shift_id,
        "fallback": c.shift_id is None,
        "batch": str(c.batch) if c.batch else None,
        "sent_by_id": c.sent_by_id,
        "sent_at": c.sent_at,
        "due_at": c.due_at,
        "answered_by_id": c.answered_by_id,
        "answered_at": c.answered_at,
        "missed_at": c.missed_at,
        "outcome": spotchecks.outcome(c, now),
    }


def _month_date(value: str | None) -> dt.date:
    if not value:
        return timezone.localdate().replace(day=1)
    year, month = value.split("-")
    return dt.date(int(year), int(month), 1)


# --- Who is on duty now -----------------------------------------------------------------------


@router.get("/duty/now", response=list[OnDutyOut])
def duty_now(request: HttpRequest, filters: Query[NowFilter]) -> list[dict[str, Any]]:
    """Who is on duty at a unit (`unit`) or at every unit keeping duty in a subtree
    (`under`), now or at `at`. Where nobody is, `is_gap` says so and `fallback` names who
    to call."""
    if (filters.unit is None) == (filters.under is None):
        raise ValidationError({"unit": _("Give either a unit or a subtree (under).")})
    if filters.unit is not None:
        # The unit is read with who is on duty there: one query fewer than reading it first.
        answer = selectors.on_duty_now(_pk(filters.unit), filters.at)
        if answer is None or not access.unit_visible(request.user, answer.unit):
            raise Http404
        return [_on_duty_out(request.user, answer)]
    root = _unit(request, filters.under or 0)
    return [_on_duty_out(request.user, a) for a in selectors.on_duty_under(root, filters.at)]


# --- Templates and the weekly pattern ---------------------------------------------------------


@router.get("/duty/units/{unit_id}/templates", response=list[TemplateOut])
def templates_list(request: HttpRequest, unit_id: int) -> list[dict[str, Any]]:
    unit = _unit(request, unit_id)
    return [_template_out(t) for t in ShiftTemplate.objects.filter(unit=unit)]


@router.post("/duty/units/{unit_id}/templates", response={201: TemplateOut})
def template_create(
    request: HttpRequest, unit_id: int, payload: TemplateIn
) -> Status[dict[str, Any]]:
    template = services.shift_template_create(
        by=request.user,
        unit=_unit(request, unit_id),
        name=payload.name,
        start=payload.start,
        end=payload.end,
        order=payload.order,
    )
    return Status(201, _template_out(template))


@router.patch("/duty/templates/{template_id}", response=TemplateOut)
def template_update(request: HttpRequest, template_id: int, payload: TemplatePatch) -> Any:
    template = _template(request, template_id)
    data = payload.dict(exclude_unset=True)
    nulls = [k for k, v in data.items() if v is None]
    if nulls:
        raise ValidationError({k: _("This field cannot be null.") for k in nulls})
    template = services.shift_template_update(
        by=request.user,
        template=template,
        name=data.get("name", template.name),
        start=data.get("start", template.start),
        end=data.get("end", template.end),
        order=data.get("order", template.order),
        archived=data.get("archived", template.archived_at is not None),
    )
    return _template_out(template)


@router.get("/duty/units/{unit_id}/pattern", response=list[SlotOut])
def pattern_get(request: HttpRequest, unit_id: int) -> list[dict[str, Any]]:
    unit = _unit(request, unit_id)
    slots = (
        PatternSlot.objects.filter(template__unit=unit)
        .prefetch_related("staff")
        .order_by("template__order", "template_id", "day_kind")
    )
    return [_slot_out(s) for s in slots]


@router.put("/duty/templates/{template_id}/pattern", response=SlotOut)
def pattern_set(request: HttpRequest, template_id: int, payload: SlotIn) -> Any:
    """On days of `day_kind` this shift is held by these people with this leader; nobody
    at all removes the slot (answers it empty)."""
    template = _template(request, template_id)
    access.require(access.can_plan_duty(request.user, template.unit))
    leader = _people(template.unit, [payload.leader_id] if payload.leader_id else [], "leader_id")
    slot = services.pattern_slot_set(
        by=request.user,
        template=template,
        day_kind=DayKind(payload.day_kind),
        leader=leader[0] if leader else None,
        staff=_people(template.unit, payload.staff_ids, "staff_ids"),
    )
    if slot is None:
        return {
            "template_id": template.pk,
            "day_kind": payload.day_kind,
            "leader_id": None,
            "staff_ids": [],
        }
    return _slot_out(slot)


@router.post("/duty/units/{unit_id}/plan", response=PlanOut)
def plan_month(request: HttpRequest, unit_id: int, payload: PlanIn) -> Any:
    """Plan a month from the templates and the pattern (the official calendar decides
    which days are holidays); shifts with a log entry are kept."""
    result = services.roster_plan(
        unit=_unit(request, unit_id), month=_month_date(payload.month), by=request.user
    )
    return {
        "created": result.created,
        "replaced": result.replaced,
        "kept": result.kept,
        "holidays": result.holidays,
    }


@router.get("/duty/units/{unit_id}/members", response=list[UnitPersonOut])
def unit_members(request: HttpRequest, unit_id: int) -> list[dict[str, Any]]:
    """Who may be put on the unit's duty (its own people)."""
    unit = _unit(request, unit_id)
    return [{"id": p.pk, "name": p.name} for p in services.unit_people(unit)]


@router.get("/duty/units/{unit_id}/roster-gaps", response=list[RosterGapOut])
def roster_gaps(
    request: HttpRequest, unit_id: int, month: Query[MonthFilter]
) -> list[dict[str, Any]]:
    """The month's gaps in 24-hour coverage (nobody, or no leader), from its roster."""
    unit = _unit(request, unit_id)
    _days, gaps = selectors.roster(unit, _month_date(month.month))
    return [{"kind": g.kind, "starts_at": g.starts_at, "ends_at": g.ends_at} for g in gaps]


# --- Shifts -----------------------------------------------------------------------------------


@router.get("/duty/shifts", response=list[ShiftOut])
def shifts_list(request: HttpRequest, filters: Query[ShiftFilter]) -> list[dict[str, Any]]:
    unit = _unit(request, filters.unit)
    today = timezone.localdate()
    first = filters.date_from or today.replace(day=1)
    last = filters.date_to or first + dt.timedelta(days=31)
    if last < first:
        raise ValidationError({"date_to": _("The end is before the start.")})
    shifts = (
        Shift.objects.filter(unit=unit, day__gte=first, day__lte=last)
        .prefetch_related("members__person")
        .order_by("starts_at", "pk")[:MAX_SHIFTS]
    )
    return [_shift_out(s) for s in shifts]


@router.get("/duty/shifts/{shift_id}", response=ShiftOut)
def shift_get(request: HttpRequest, shift_id: int) -> Any:
    return _fresh(_shift(request, shift_id))


@router.post("/duty/shifts", response={201: ShiftOut})
def shift_create(request: HttpRequest, payload: ShiftIn) -> Status[dict[str, Any]]:
    unit = _unit(request, payload.unit_id)
    access.require(access.can_plan_duty(request.user, unit))
    leader = _people(unit, [payload.leader_id] if payload.leader_id else [], "leader_id")
    shift = services.shift_create(
        by=request.user,
        unit=unit,
        name=payload.name,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        leader=leader[0] if leader else None,
        staff=_people(unit, payload.staff_ids, "staff_ids"),
        phone=payload.phone,
    )
    return Status(201, _fresh(shift))


@router.patch("/duty/shifts/{shift_id}", response=ShiftOut)
def shift_update(request: HttpRequest, shift_id: int, payload: ShiftPatch) -> Any:
    shift = _shift(request, shift_id)
    access.require(access.can_plan_duty(request.user, shift.unit))
    data = payload.dict(exclude_unset=True)
    nulls = [k for k, v in data.items() if v is None and k != "leader_id"]
    if nulls:
        raise ValidationError({k: _("This field cannot be null.") for k in nulls})
    members = list(shift.members.select_related("person"))
    leader = next((m.person for m in members if m.role == MemberRole.LEADER), None)
    staff = [m.person for m in members if m.role == MemberRole.STAFF]
    if "leader_id" in data:
        found = _people(shift.unit, [data["leader_id"]] if data["leader_id"] else [], "leader_id")
        leader = found[0] if found else None
    if "staff_ids" in data:
        staff = _people(shift.unit, data["staff_ids"], "staff_ids")
    shift = services.shift_update(
        by=request.user,
        shift=shift,
        name=data.get("name", shift.name),
        starts_at=data.get("starts_at", shift.starts_at),
        ends_at=data.get("ends_at", shift.ends_at),
        leader=leader,
        staff=staff,
        phone=data.get("phone", shift.phone),
    )
    return _fresh(shift)


@router.delete("/duty/shifts/{shift_id}", response={204: None})
def shift_delete(request: HttpRequest, shift_id: int) -> Status[None]:
    services.shift_delete(by=request.user, shift=_shift(request, shift_id))
    return Status(204, None)


# --- Gaps below a unit ------------------------------------------------------------------------


@router.get("/duty/gaps", response=list[GapOut])
def gaps(request: HttpRequest, under: int) -> list[dict[str, Any]]:
    """Every unit under `under` whose next 7 days have a gap, worst first (the worker's
    scan)."""
    root = _unit(request, under)
    return [
        {
            "unit_id": g.unit.pk,
            "unit": g.unit.name,
            "hours": g.hours,
            "nobody_hours": round(g.nobody_seconds / 3600, 1),
            "first_at": g.first_at,
            "gaps": g.count,
        }
        for g in selectors.gaps_under(root)
    ]


# --- Swaps ------------------------------------------------------------------------------------


@router.get("/duty/swaps", response=list[SwapOut])
def swaps_waiting(request: HttpRequest) -> list[dict[str, Any]]:
    """Swaps waiting for me: asked of me, or accepted and mine to approve."""
    return [_swap_out(s) for s in selectors.swaps_waiting(request.user)]


@router.post("/duty/swaps", response={201: SwapOut})
def swap_request(request: HttpRequest, payload: SwapIn) -> Status[dict[str, Any]]:
    shift = _shift(request, payload.shift_id)
    to_person = _people(shift.unit, [payload.to_person_id], "to_person_id")[0]
    in_exchange = _shift(request, payload.in_exchange_id) if payload.in_exchange_id else None
    swap = services.swap_request(
        by=request.user,
        shift=shift,
        to_person=to_person,
        in_exchange=in_exchange,
        reason=payload.reason,
    )
    return Status(201, _swap_out(swap))


@router.post("/duty/swaps/{swap_id}/accept", response=SwapOut)
def swap_accept(request: HttpRequest, swap_id: int) -> Any:
    swap = selectors.swap_or_404(request.user, _pk(swap_id))
    return _swap_out(services.swap_accept(by=request.user, swap=swap))


@router.post("/duty/swaps/{swap_id}/decide", response=SwapOut)
def swap_decide(request: HttpRequest, swap_id: int, payload: DecideIn) -> Any:
    """Approve or refuse (the unit's head or office); refusing a swap not yet accepted is
    the asked person declining, or the asker cancelling."""
    swap = selectors.swap_or_404(request.user, _pk(swap_id))
    return _swap_out(services.swap_decide(by=request.user, swap=swap, approve=payload.approve))


# --- Duty log and handover --------------------------------------------------------------------


@router.get("/duty/shifts/{shift_id}/log", response=list[LogOut])
def log_list(request: HttpRequest, shift_id: int) -> list[dict[str, Any]]:
    shift = _shift(request, shift_id)
    return [_log_out(e) for e in DutyLogEntry.objects.filter(shift=shift).order_by("at", "pk")]


@router.post("/duty/shifts/{shift_id}/log", response={201: LogOut})
def log_add(request: HttpRequest, shift_id: int, payload: LogIn) -> Status[dict[str, Any]]:
    entry = services.log_entry_add(
        by=request.user,
        shift=_shift(request, shift_id),
        text=payload.text,
        kind=payload.kind,
        at=payload.at,
    )
    return Status(201, _log_out(entry))


@router.post("/duty/shifts/{shift_id}/handover", response=ShiftOut)
def hand_over(request: HttpRequest, shift_id: int, payload: HandoverIn) -> Any:
    shift = services.shift_hand_over(
        by=request.user, shift=_shift(request, shift_id), note=payload.note
    )
    return _fresh(shift)


@router.post("/duty/shifts/{shift_id}/takeover", response=ShiftOut)
def take_over(request: HttpRequest, shift_id: int) -> Any:
    return _fresh(services.shift_take_over(by=request.user, shift=_shift(request, shift_id)))


# --- Spot checks ------------------------------------------------------------------------------


@router.post("/duty/spot-checks", response={201: list[SpotCheckOut]})
def spot_check_send(request: HttpRequest, payload: SpotCheckIn) -> Status[list[dict[str, Any]]]:
    """Check one unit (`unit_id`) or a random sample of `sample` units under `under_id`."""
    if (payload.unit_id is None) == (payload.under_id is None):
        raise ValidationError({"unit_id": _("Give either a unit or a subtree (under_id).")})
    if payload.unit_id is not None:
        checks = [spotchecks.spot_check_send(by=request.user, unit=_unit(request, payload.unit_id))]
    else:
        root = _unit(request, payload.under_id or 0)
        checks = spotchecks.spot_check_send_batch(by=request.user, root=root, sample=payload.sample)
    now = timezone.now()
    return Status(201, [_check_out(c, now) for c in checks])


@router.get("/duty/spot-checks", response=list[SpotCheckOut])
def spot_checks_list(request: HttpRequest, filters: Query[SpotCheckFilter]) -> Any:
    """The month's spot checks of a unit's subtree, newest first."""
    unit = _unit(request, filters.unit)
    access.require(access.can_see_spot_checks(request.user, unit))
    now = timezone.now()
    checks = spotchecks.spot_checks_of(request.user, unit=unit, month=_month_date(filters.month))
    return [_check_out(c, now) for c in checks[:1000]]


@router.get("/duty/spot-checks/tally", response=list[TallyOut])
def spot_checks_tally(request: HttpRequest, filters: Query[SpotCheckFilter]) -> Any:
    """Per unit of a subtree, the month's spot checks: on time, late, missed."""
    unit = _unit(request, filters.unit)
    access.require(access.can_see_spot_checks(request.user, unit))
    return spotchecks.spot_check_tally(request.user, unit=unit, month=_month_date(filters.month))


@router.post("/duty/spot-checks/{spot_check_id}/answer", response=SpotCheckOut)
def spot_check_answer(request: HttpRequest, spot_check_id: int) -> Any:
    """I am on duty: answer a spot check sent to me (a second answer changes nothing)."""
    check = SpotCheck.objects.filter(pk=_pk(spot_check_id)).first()
    if check is None or not spotchecks.was_sent_to(check, request.user):
        raise Http404
    check = spotchecks.spot_check_answer(check=check, by=request.user)
    return _check_out(check, timezone.now())


# --- My calendar link -------------------------------------------------------------------------


def _feed_out(request: HttpRequest) -> dict[str, Any]:
    feed = feeds.feed_active(request.user)
    if feed is None:
        return {"url": None, "created_at": None}
    url = request.build_absolute_uri(reverse("duty:feed", kwargs={"token": feed.token}))
    return {"url": url, "created_at": feed.created_at}


@router.get("/duty/feed", response=FeedOut)
def feed_get(request: HttpRequest) -> Any:
    """My private calendar link (iCalendar) to my own shifts, if I made one."""
    return _feed_out(request)


@router.post("/duty/feed", response={201: FeedOut})
def feed_new(request: HttpRequest) -> Status[dict[str, Any]]:
    """A new private link; the old one stops working."""
    feeds.calendar_feed_create(person=request.user)
    return Status(201, _feed_out(request))


@router.delete("/duty/feed", response={204: None})
def feed_revoke(request: HttpRequest) -> Status[None]:
    access.require(access.can_subscribe_shifts(request.user))
    feeds.calendar_feed_revoke(person=request.user)
    return Status(204, None)
