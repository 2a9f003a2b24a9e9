"""/api/v1/calendar: the official calendar's days of a year (holidays and make-up
workdays), for the system administrator (orgs.access.can_edit_calendar)."""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema, Status

from safecampus.lib.api_types import Day
from safecampus.orgs import access

from . import official_calendar
from .models import CalendarDay, CalendarKind

router = Router(tags=["official calendar"])

Year = Path(..., ge=official_calendar.MIN_YEAR, le=official_calendar.MAX_YEAR)


class DayOut(Schema):
    date: dt.date
    kind: Literal["holiday", "workday"]
    name: str
    changes_the_day: bool


class YearOut(Schema):
    year: int
    loaded: bool
    complete: bool
    source: str | None
    loaded_at: dt.datetime | None
    days: list[DayOut]


class DayIn(Schema):
    date: Day
    kind: Literal["holiday", "workday"]
    name: str = Field("", max_length=official_calendar.NAME_MAX)


class DayPatch(Schema):
    kind: Literal["holiday", "workday"] | None = None
    name: str | None = Field(None, max_length=official_calendar.NAME_MAX)


def _day_out(day: CalendarDay) -> dict[str, Any]:
    return {
        "date": day.date,
        "kind": day.kind,
        "name": day.name,
        "changes_the_day": day.changes_the_day,
    }


def _allowed(request: HttpRequest) -> None:
    access.require(access.can_edit_calendar(request.user))


@router.get("/calendar/{int:year}", response=YearOut)
def calendar_year(request: HttpRequest, year: int = Year) -> dict[str, Any]:
    """A year's days, and whether the year is loaded (and complete, with its make-up
    workdays). A year not loaded is estimated from the holidays package."""
    _allowed(request)
    state = official_calendar.year_state(year)
    return {
        "year": year,
        "loaded": state is not None,
        "complete": bool(state and state.complete),
        "source": state.source if state else None,
        "loaded_at": state.loaded_at if state else None,
        "days": [_day_out(d) for d in official_calendar.year_days(year)],
    }


@router.post("/calendar/days", response={201: DayOut})
def calendar_day_create(request: HttpRequest, payload: DayIn) -> Status[dict[str, Any]]:
    """Add a day; a day already there is a 422 (change it with PATCH)."""
    _allowed(request)
    day = official_calendar.calendar_day_set(
        by=request.user,
        day=payload.date,
        is_workday=payload.kind == CalendarKind.WORKDAY,
        name=payload.name,
        exists=False,
    )
    return Status(201, _day_out(day))


@router.patch("/calendar/days/{date}", response=DayOut)
def calendar_day_update(request: HttpRequest, date: Day, payload: DayPatch) -> dict[str, Any]:
    _allowed(request)
    current = official_calendar.day_or_404(date)
    data = payload.dict(exclude_unset=True)
    nulls = [f for f in ("kind", "name") if f in data and data[f] is None]
    if nulls:
        raise ValidationError({f: _("This field cannot be null.") for f in nulls})
    day = official_calendar.calendar_day_set(
        by=request.user,
        day=date,
        is_workday=data.get("kind", current.kind) == CalendarKind.WORKDAY,
        name=data.get("name", current.name),
        exists=True,
    )
    return _day_out(day)


@router.delete("/calendar/days/{date}", response={204: None})
def calendar_day_delete(request: HttpRequest, date: Day) -> Status[None]:
    _allowed(request)
    official_calendar.day_or_404(date)
    official_calendar.calendar_day_remove(by=request.user, day=date)
    return Status(204, None)
