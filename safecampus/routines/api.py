"""/api/v1/routines…: the kinds of check, a school's checklist of a day, recording a check, and
the level above's status (done / short / missed per child over its subtree, the days before).
Limited to the caller's units; what is outside answers 404, a refused field 422 naming it."""

import datetime as dt
from typing import Any, Literal

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from safecampus.lib.api_types import Day, Instant
from safecampus.orgs import access
from safecampus.orgs.models import Unit

from . import selectors, services
from .models import NOTE_MAX, ROUTINE_UNIT_KINDS, Code, Kind, Meal, RoutineRecord

router = Router(tags=["routines"])
MAX_ID = 2**63 - 1

CodeName = Literal[tuple(Code.values)]  # type: ignore[valid-type]
MealName = Literal[tuple(Meal.values)]  # type: ignore[valid-type]


class KindOut(Schema):
    code: str
    label: str
    period: str
    required: int
    applies_to: str
    remind_at: str
    active: bool
    min_grams: int
    keep_hours: int


class RecordIn(Schema):
    unit_id: int = Field(ge=1, le=MAX_ID)
    kind: CodeName
    at: Instant | None = Field(None, description="When it was done; empty: now. Today only.")
    who: str = Field("", max_length=64)
    meal: MealName | None = None
    dish: str = Field("", max_length=100)
    grams: int | None = Field(None, ge=1, le=services.MAX_GRAMS)
    exits_clear: bool | None = None
    extinguishers_ok: bool | None = None
    hazards_found: bool | None = None
    note: str = Field("", max_length=NOTE_MAX)


class RecordOut(Schema):
    id: int
    unit_id: int
    kind: str
    day: dt.date
    at: dt.datetime
    who: str
    meal: str
    dish: str
    grams: int | None
    kept_until: dt.datetime | None
    underweight: bool
    exits_clear: bool | None
    extinguishers_ok: bool | None
    hazards_found: bool | None
    note: str
    recorded_by: str


class ItemOut(Schema):
    kind: KindOut
    due: bool
    done: int
    required: int
    complete: bool
    missed: bool
    records: list[RecordOut]


class ChecklistOut(Schema):
    unit_id: int
    unit: str
    day: dt.date
    exempt: bool
    items: list[ItemOut]


class CellOut(Schema):
    kind: str
    keeping: int
    complete: int
    short: int
    missed: int


class MissedDayOut(Schema):
    day: dt.date
    missed: int


class RowOut(Schema):
    unit_id: int
    unit: str
    keeping: int
    complete: int
    short: int
    missed: int
    kinds: list[CellOut]
    last_days: list[MissedDayOut]


class StatusOut(Schema):
    day: dt.date
    school_day: bool
    unit: RowOut
    children: list[RowOut]


class DayQuery(Schema):
    date: Day | None = None


class StatusQuery(Schema):
    unit_id: int | None = Field(None, ge=1, le=MAX_ID)
    date: Day | None = None


def _kind(k: Kind) -> dict[str, Any]:
    return {
        "code": k.code,
        "label": k.label,
        "period": k.period,
        "required": k.required,
        "applies_to": k.applies_to,
        "remind_at": k.remind_at.strftime("%H:%M"),
        "active": k.active,
        "min_grams": k.min_grams,
        "keep_hours": k.keep_hours,
    }


def _record(r: RoutineRecord) -> dict[str, Any]:
    return {
        "id": r.pk,
        "unit_id": r.unit_id,
        "kind": r.code,
        "day": r.day,
        "at": r.done_at,
        "who": r.who,
        "meal": r.meal,
        "dish": r.dish,
        "grams": r.grams,
        "kept_until": r.kept_until,
        "underweight": r.underweight,
        "exits_clear": r.exits_clear,
        "extinguishers_ok": r.extinguishers_ok,
        "hazards_found": r.hazards_found,
        "note": r.note,
        "recorded_by": r.recorded_by.name,
    }


def _row(row: selectors.Row) -> dict[str, Any]:
    return {
        "unit_id": row.unit.pk,
        "unit": row.unit.name,
        "keeping": row.keeping,
        "complete": row.complete,
        "short": row.short,
        "missed": row.missed,
        "kinds": [
            {
                "kind": code,
                "keeping": c.keeping,
                "complete": c.complete,
                "short": c.short,
                "missed": c.missed,
            }
            for code, c in row.cells.items()
        ],
        "last_days": [{"day": d, "missed": n} for d, n in row.last_days],
    }


def _school(request: HttpRequest, pk: int) -> Unit:
    unit = access.unit_or_404(request.user, pk)
    if unit.kind not in ROUTINE_UNIT_KINDS or not access.can_see_routines(request.user, unit):
        raise Http404
    return unit


@router.get("/routines/kinds", response=list[KindOut])
def kind_list(request: HttpRequest, unit_id: int = Query(..., ge=1, le=MAX_ID)) -> list[Any]:
    """The kinds of check as they apply under the unit's bureau (the defaults or its own)."""
    unit = access.unit_or_404(request.user, unit_id)
    if not access.can_see_routines(request.user, unit):
        raise Http404
    return [_kind(k) for k in selectors.kinds_for(unit)]


@router.get("/routines/status", response=StatusOut)
def status(request: HttpRequest, q: Query[StatusQuery]) -> dict[str, Any]:
    """Over the unit's subtree (default: the top of what the caller sees) and per child:
    unit-checks due on the day (its month for a monthly check), complete, short, missed."""
    if q.unit_id is not None:
        unit = access.unit_or_404(request.user, q.unit_id)
    else:
        unit = access.root_units(request.user).order_by("path").first()
    if unit is None or not access.can_see_routines(request.user, unit):
        raise Http404
    s = selectors.status(unit, q.date or timezone.localdate())
    return {
        "day": s.day,
        "school_day": s.school_day,
        "unit": _row(s.top),
        "children": [_row(r) for r in s.children],
    }


@router.post("/routines/records", response={201: RecordOut})
def record_create(request: HttpRequest, payload: RecordIn) -> Status[dict[str, Any]]:
    """Record a check done today (a monthly check: this month). A food sample under the least
    weight is recorded with `underweight` true; `kept_until` is when it may be thrown away."""
    unit = _school(request, payload.unit_id)
    record = services.routine_record(
        by=request.user,
        unit=unit,
        code=payload.kind,
        at=payload.at,
        who=payload.who,
        meal=payload.meal or "",
        dish=payload.dish,
        grams=payload.grams,
        exits_clear=payload.exits_clear,
        extinguishers_ok=payload.extinguishers_ok,
        hazards_found=payload.hazards_found,
        note=payload.note,
    )
    return Status(201, _record(record))


@router.get("/routines/units/{unit_id}", response=ChecklistOut)
def checklist(request: HttpRequest, unit_id: int, q: Query[DayQuery]) -> dict[str, Any]:
    """A school's checks of a day (default today) with the records."""
    if not 1 <= unit_id <= MAX_ID:
        raise Http404
    unit = _school(request, unit_id)
    (cl,) = selectors.checklists([unit], q.date or timezone.localdate())
    return {
        "unit_id": unit.pk,
        "unit": unit.name,
        "day": cl.day,
        "exempt": cl.exempt,
        "items": [
            {
                "kind": _kind(i.kind),
                "due": i.due,
                "done": i.done,
                "required": i.required,
                "complete": i.complete,
                "missed": i.missed,
                "records": [_record(r) for r in i.records],
            }
            for i in cl.items
        ],
    }
