"""/api/v1/report-schedules: the reporting schedules a user can see; create and change
them (orgs.access.can_edit_schedules). A change applies from the schedule's next
reporting day; of two schedules covering a unit, the nearest decides
(reports.services)."""

import datetime as dt
import re
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from pydantic import BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from safecampus.lib.api_types import Day
from safecampus.orgs import access
from safecampus.orgs.api import MAX_ID

from . import selectors, services
from .models import ReportSchedule

router = Router(tags=["reporting schedules"])

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?")


def _clock(value: Any) -> Any:
    if isinstance(value, dt.time) or (isinstance(value, str) and _CLOCK.fullmatch(value)):
        return value
    raise PydanticCustomError("time_parsing", "Input should be a time of day as HH:MM")


Clock = Annotated[dt.time, BeforeValidator(_clock)]
Frequency = Literal["daily", "workdays", "weeks"]


class ScheduleOut(Schema):
    id: int
    name: str
    root: int
    frequency: str
    every_weeks: int
    starts_on: dt.date
    ends_on: dt.date | None
    remind_minutes: int
    deadline_department: dt.time
    deadline_department_next_day: bool
    deadline_school: dt.time
    deadline_school_next_day: bool
    deadline_group: dt.time
    deadline_group_next_day: bool
    deadline_bureau: dt.time
    deadline_bureau_next_day: bool
    nearer: list[int] = Field(
        description="Schedules of units under this one's, running at the same time: "
        "each decides for its own units (the nearest schedule wins)."
    )


class SchedulePatch(Schema):
    """Only the fields given change; a deadline "next day" is after midnight. A field
    this does not know (the units covered, `root`, which cannot change) is refused."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    frequency: Frequency | None = None
    every_weeks: int | None = Field(None, ge=1, le=52)
    starts_on: Day | None = None
    ends_on: Day | None = None
    remind_minutes: int | None = Field(None, ge=0, le=24 * 60)
    deadline_department: Clock | None = None
    deadline_department_next_day: bool | None = None
    deadline_school: Clock | None = None
    deadline_school_next_day: bool | None = None
    deadline_group: Clock | None = None
    deadline_group_next_day: bool | None = None
    deadline_bureau: Clock | None = None
    deadline_bureau_next_day: bool | None = None


class ScheduleIn(SchedulePatch):
    root: int = Field(ge=1, le=MAX_ID)
    name: str = Field(min_length=1, max_length=100)  # type: ignore[assignment]
    starts_on: Day  # type: ignore[assignment]


# Fields that may be null in a PATCH: the end (open-ended). Others given as null are refused.
_NULLABLE = {"ends_on"}


def _out(schedule: ReportSchedule, nearer: list[int] | None = None) -> dict[str, Any]:
    fields = {f: getattr(schedule, f) for f in ScheduleOut.model_fields if f != "nearer"}
    fields.update(id=schedule.pk, root=schedule.root_id, nearer=nearer or [])
    return fields


def _one(request: HttpRequest, schedule_id: int) -> ReportSchedule:
    if not 1 <= schedule_id <= MAX_ID:
        raise Http404
    schedule = (
        ReportSchedule.objects.filter(access.visible_q(request.user, "root__path"), pk=schedule_id)
        .select_related("root")
        .first()
    )
    if schedule is None:
        raise Http404
    return schedule


def _data(payload: Schema) -> dict[str, Any]:
    data = payload.dict(exclude_unset=True)
    nulls = [key for key, value in data.items() if value is None and key not in _NULLABLE]
    if nulls:
        raise ValidationError({key: _("This field cannot be null.") for key in nulls})
    return data


@router.get("/report-schedules", response=list[ScheduleOut])
def schedule_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        _out(s, [o.pk for o in s.nearer])  # type: ignore[attr-defined]
        for s in selectors.schedules_visible(request.user)
    ]


@router.get("/report-schedules/{schedule_id}", response=ScheduleOut)
def schedule_get(request: HttpRequest, schedule_id: int) -> Any:
    return _out(_one(request, schedule_id))


@router.post("/report-schedules", response={201: ScheduleOut})
def schedule_create(request: HttpRequest, payload: ScheduleIn) -> Any:
    data = _data(payload)
    root = access.unit_or_404(request.user, data.pop("root"))
    schedule = services.schedule_create(by=request.user, root=root, **data)
    return Status(201, _out(schedule))


@router.patch("/report-schedules/{schedule_id}", response=ScheduleOut)
def schedule_update(request: HttpRequest, payload: SchedulePatch, schedule_id: int) -> Any:
    """Change a schedule from its next reporting day on (days already open keep their
    deadlines). Its units (root) cannot change."""
    schedule = services.schedule_update(
        by=request.user, schedule=_one(request, schedule_id), **_data(payload)
    )
    return _out(schedule)
