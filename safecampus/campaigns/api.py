"""/api/v1/campaigns…: campaigns (list, launch, read), their phases (set), tasks (create, a unit
marks one done, a task's units), leadership group, what they switch on (a reporting schedule,
an inspection round, alert-level orders), summaries (submit, list), and my units' tasks due.
Limited to the caller's units; what is outside answers 404, a refused field 422 naming it."""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from safecampus.hazards.models import Category, RoundKind
from safecampus.lib.api_types import Day
from safecampus.orgs import access
from safecampus.orgs.models import Position, Unit
from safecampus.reports.models import Frequency

from . import selectors, services
from .models import (
    DETAIL_MAX,
    DUTY_MAX,
    GOAL_MAX,
    NAME_MAX,
    NOTE_MAX,
    PHASES_MAX,
    SUMMARY_DAYS,
    SUMMARY_DAYS_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Campaign,
    Member,
    Phase,
    Summary,
    Task,
    TaskDone,
)

router = Router(tags=["campaigns"])
MAX_ID = 2**63 - 1

PositionName = Literal[tuple(Position.values)]  # type: ignore[valid-type]
RoundKindName = Literal[tuple(RoundKind.values)]  # type: ignore[valid-type]
CategoryName = Literal[tuple(Category.values)]  # type: ignore[valid-type]


class PhaseOut(Schema):
    id: int
    position: int
    name: str
    starts_on: dt.date
    ends_on: dt.date


class TaskOut(Schema):
    id: int
    phase_id: int
    title: str
    detail: str
    due_on: dt.date
    due_at: dt.datetime


class TaskProgressOut(TaskOut):
    units: int
    done_on_time: int
    done_late: int
    not_done: int
    overdue: bool


class MemberOut(Schema):
    id: int
    person_id: int
    person: str
    position: str
    duty: str


class SwitchOut(Schema):
    kind: str
    id: int
    label: str
    window: str
    state: str


class CampaignBrief(Schema):
    id: int
    unit_id: int
    unit: str
    name: str
    starts_on: dt.date
    ends_on: dt.date
    summary_days: int
    summary_due_on: dt.date
    state: str


class CampaignOut(CampaignBrief):
    goal: str
    current_phase: PhaseOut | None
    phases: list[PhaseOut]
    members: list[MemberOut]
    tasks: list[TaskProgressOut] = Field(
        description="With the units' progress for those who run the campaign (counts 0 else)."
    )
    switch_ons: list[SwitchOut]


class CampaignIn(Schema):
    unit_id: int = Field(ge=1, le=MAX_ID)
    name: str = Field(max_length=NAME_MAX)
    goal: str = Field(max_length=GOAL_MAX)
    starts_on: Day
    ends_on: Day
    summary_days: int = Field(SUMMARY_DAYS, ge=1, le=SUMMARY_DAYS_MAX)


class PhaseIn(Schema):
    id: int | None = Field(None, ge=1, le=MAX_ID, description="An existing phase; empty: new")
    name: str = Field(max_length=NAME_MAX)
    starts_on: Day
    ends_on: Day


class PhasesIn(Schema):
    phases: list[PhaseIn] = Field(max_length=PHASES_MAX)


class TaskIn(Schema):
    phase_id: int = Field(ge=1, le=MAX_ID)
    title: str = Field(max_length=TITLE_MAX)
    detail: str = Field("", max_length=DETAIL_MAX)
    due_on: Day


class DoneIn(Schema):
    unit_id: int = Field(ge=1, le=MAX_ID)
    note: str = Field("", max_length=NOTE_MAX)


class DoneOut(Schema):
    task_id: int
    unit_id: int
    done_at: dt.datetime
    done_by: str
    note: str
    late: bool
    created: bool


class TaskUnitOut(Schema):
    unit_id: int
    unit: str
    state: Literal["done", "late", "not_done"]
    done_at: dt.datetime | None
    note: str


class MemberIn(Schema):
    person_id: int = Field(ge=1, le=MAX_ID)
    position: PositionName
    duty: str = Field("", max_length=DUTY_MAX)


class ScheduleIn(Schema):
    root_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="The campaign's unit (default) or a unit under it"
    )
    name: str = Field("", max_length=100)
    frequency: Literal["daily", "workdays"] = Frequency.DAILY
    deadline_school: dt.time | None = None
    deadline_group: dt.time | None = None
    deadline_bureau: dt.time | None = None


class ScheduleOut(Schema):
    id: int
    root_id: int
    name: str
    starts_on: dt.date
    ends_on: dt.date | None
    frequency: str


class RoundIn(Schema):
    kind: RoundKindName
    title: str = Field(max_length=200)
    categories: list[CategoryName] = Field(min_length=1, max_length=len(Category.values))
    starts_on: Day | None = None
    ends_on: Day | None = None


class RoundOut(Schema):
    id: int
    unit_id: int
    title: str
    kind: str
    starts_on: dt.date
    ends_on: dt.date


class PlannedOrderIn(Schema):
    level: Literal[1, 2]
    starts_on: Day
    ends_on: Day


class OrdersIn(Schema):
    orders: list[PlannedOrderIn] = Field(min_length=1, max_length=10)
    reason: str = Field("", max_length=500)


class OrderOut(Schema):
    id: int
    level: int
    label: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    units_total: int


class SummaryIn(Schema):
    unit_id: int = Field(ge=1, le=MAX_ID)
    text: str = Field(max_length=SUMMARY_MAX)


class SummaryOut(Schema):
    unit_id: int
    unit: str
    state: Literal["submitted", "late", "missing", "waiting"]
    submitted_at: dt.datetime | None
    submitted_by: str
    updated_at: dt.datetime | None
    text: str


class DueOut(Schema):
    campaign_id: int
    campaign: str
    unit_id: int
    unit: str
    task: TaskOut
    overdue: bool


# --- Helpers ----------------------------------------------------------------------------------


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    if not 1 <= pk <= MAX_ID:
        raise Http404
    campaign = selectors.campaigns_visible(request.user).filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


def _run(request: HttpRequest, pk: int) -> Campaign:
    campaign = _campaign(request, pk)
    access.require(access.can_run_campaign(request.user, campaign.unit))
    return campaign


def _campaign_unit(request: HttpRequest, campaign: Campaign, unit_id: int) -> Unit:
    unit = access.unit_or_404(request.user, unit_id)
    if not selectors.campaign_units(campaign).filter(pk=unit.pk).exists():
        raise Http404
    return unit


def _brief(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.pk,
        "unit_id": c.unit_id,
        "unit": c.unit.name,
        "name": c.name,
        "starts_on": c.starts_on,
        "ends_on": c.ends_on,
        "summary_days": c.summary_days,
        "summary_due_on": c.summary_due_on,
        "state": c.state(),
    }


def _phase(p: Phase) -> dict[str, Any]:
    return {
        "id": p.pk,
        "position": p.position,
        "name": p.name,
        "starts_on": p.starts_on,
        "ends_on": p.ends_on,
    }


def _task(t: Task) -> dict[str, Any]:
    return {
        "id": t.pk,
        "phase_id": t.phase_id,
        "title": t.title,
        "detail": t.detail,
        "due_on": t.due_on,
        "due_at": t.due_at,
    }


def _member(m: Member) -> dict[str, Any]:
    return {
        "id": m.pk,
        "person_id": m.person_id,
        "person": m.person.name,
        "position": m.position,
        "duty": m.duty,
    }


def _summary(row: selectors.SummaryRow) -> dict[str, Any]:
    s: Summary | None = row.summary
    return {
        "unit_id": row.unit.pk,
        "unit": row.unit.name,
        "state": row.state,
        "submitted_at": s.submitted_at if s else None,
        "submitted_by": s.submitted_by.name if s else "",
        "updated_at": s.updated_at if s else None,
        "text": s.text if s else "",
    }


def _done(d: TaskDone, created: bool) -> dict[str, Any]:
    return {
        "task_id": d.task_id,
        "unit_id": d.unit_id,
        "done_at": d.done_at,
        "done_by": d.done_by.name,
        "note": d.note,
        "late": d.late,
        "created": created,
    }


# --- Literal routes first -------------------------------------------------------------------


@router.get("/campaigns", response=list[CampaignBrief])
def campaign_list(request: HttpRequest) -> list[Any]:
    """The campaigns the caller sees: launched in their units or above them, newest first."""
    rows = selectors.campaigns_visible(request.user).order_by("-starts_on", "-pk")[:200]
    return [_brief(c) for c in rows]


@router.post("/campaigns", response={201: CampaignOut})
def campaign_create(request: HttpRequest, payload: CampaignIn) -> Status[dict[str, Any]]:
    """Launch a campaign for the units under a bureau or township group the caller runs, with
    the four default phases splitting its window."""
    unit = access.unit_or_404(request.user, payload.unit_id)
    campaign = services.campaign_create(
        by=request.user,
        unit=unit,
        name=payload.name,
        goal=payload.goal,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        summary_days=payload.summary_days,
    )
    return Status(201, _detail(request, campaign))


@router.get("/campaigns/tasks-due", response=list[DueOut])
def tasks_due(request: HttpRequest) -> list[Any]:
    """The tasks the caller's units have still to do, soonest deadline first."""
    return [
        {
            "campaign_id": d.campaign.pk,
            "campaign": d.campaign.name,
            "unit_id": d.unit.pk,
            "unit": d.unit.name,
            "task": _task(d.task),
            "overdue": d.overdue,
        }
        for d in selectors.my_tasks_due(request.user)
    ]


# --- One campaign ---------------------------------------------------------------------------


def _detail(request: HttpRequest, campaign: Campaign) -> dict[str, Any]:
    runs = access.can_run_campaign(request.user, campaign.unit)
    if runs:
        progress = selectors.task_progress(campaign)
    else:
        progress = [
            selectors.TaskProgress(t, 0, 0, 0)
            for t in campaign.tasks.order_by("phase__position", "due_on", "pk")
        ]
    current = selectors.current_phase(campaign)
    return {
        **_brief(campaign),
        "goal": campaign.goal,
        "current_phase": _phase(current) if current else None,
        "phases": [_phase(p) for p in campaign.phases.order_by("position")],
        "members": [_member(m) for m in selectors.members(campaign)],
        "tasks": [
            {
                **_task(p.task),
                "units": p.total,
                "done_on_time": p.on_time,
                "done_late": p.late,
                "not_done": p.not_done,
                "overdue": p.overdue if runs else False,
            }
            for p in progress
        ],
        "switch_ons": [
            {
                "kind": r.switch.kind,
                "id": r.switch.schedule_id or r.switch.round_id or r.switch.order_id,
                "label": r.label,
                "window": r.window,
                "state": str(r.state),
            }
            for r in selectors.switches(campaign)
        ]
        if runs
        else [],
    }


@router.get("/campaigns/{campaign_id}", response=CampaignOut)
def campaign_get(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    """Goal, window, state, current phase, phases, leadership group, tasks (with the units'
    progress for those who run it) and what it switched on."""
    return _detail(request, _campaign(request, campaign_id))


@router.put("/campaigns/{campaign_id}/phases", response=list[PhaseOut])
def phases_set(request: HttpRequest, campaign_id: int, payload: PhasesIn) -> list[Any]:
    """The phases as listed, in order: with an id changed, without added, left out removed
    (never one with tasks). Each within the campaign's window; a refused one is named
    `phases.N.field`."""
    campaign = _run(request, campaign_id)
    rows = services.phases_set(
        by=request.user,
        campaign=campaign,
        phases=[services.PhaseIn(p.name, p.starts_on, p.ends_on, p.id) for p in payload.phases],
    )
    return [_phase(p) for p in rows]


@router.post("/campaigns/{campaign_id}/tasks", response={201: TaskOut})
def task_create(request: HttpRequest, campaign_id: int, payload: TaskIn) -> Status[dict[str, Any]]:
    campaign = _run(request, campaign_id)
    phase = Phase.objects.filter(pk=payload.phase_id, campaign=campaign).first()
    if phase is None:
        raise ValidationError({"phase_id": _("Not a phase of this campaign.")})
    task = services.task_create(
        by=request.user,
        phase=phase,
        title=payload.title,
        detail=payload.detail,
        due_on=payload.due_on,
    )
    return Status(201, _task(task))


@router.get("/campaigns/{campaign_id}/tasks/{task_id}", response=list[TaskUnitOut])
def task_units(request: HttpRequest, campaign_id: int, task_id: int) -> list[Any]:
    """Every unit of the campaign and whether it did the task: in time, late, not yet."""
    campaign = _run(request, campaign_id)
    if not 1 <= task_id <= MAX_ID:
        raise Http404
    task = get_object_or_404(Task, pk=task_id, campaign=campaign)
    return [
        {
            "unit_id": r.unit.pk,
            "unit": r.unit.name,
            "state": r.state,
            "done_at": r.done.done_at if r.done else None,
            "note": r.done.note if r.done else "",
        }
        for r in selectors.task_units(task)
    ]


@router.post("/campaigns/{campaign_id}/tasks/{task_id}/done", response={200: DoneOut, 201: DoneOut})
def task_done(
    request: HttpRequest, campaign_id: int, task_id: int, payload: DoneIn
) -> Status[dict[str, Any]]:
    """The unit has done the task (its own managers). 201 the first time, 200 after."""
    campaign = _campaign(request, campaign_id)
    if not 1 <= task_id <= MAX_ID:
        raise Http404
    task = get_object_or_404(Task, pk=task_id, campaign=campaign)
    unit = _campaign_unit(request, campaign, payload.unit_id)
    done, created = services.task_mark_done(
        by=request.user, task=task, unit=unit, note=payload.note
    )
    return Status(201 if created else 200, _done(done, created))


@router.post("/campaigns/{campaign_id}/members", response={201: MemberOut})
def member_add(request: HttpRequest, campaign_id: int, payload: MemberIn) -> Status[dict[str, Any]]:
    """A seat in the leadership group: 组长 leader, 副组长 deputy, 成员 member, with a duty."""
    campaign = _run(request, campaign_id)
    person = access.person_or_404(request.user, payload.person_id)
    member = services.member_add(
        by=request.user,
        campaign=campaign,
        person=person,
        position=payload.position,
        duty=payload.duty,
    )
    return Status(201, _member(member))


@router.delete("/campaigns/{campaign_id}/members/{member_id}", response={204: None})
def member_remove(request: HttpRequest, campaign_id: int, member_id: int) -> Status[None]:
    campaign = _run(request, campaign_id)
    if not 1 <= member_id <= MAX_ID:
        raise Http404
    member = get_object_or_404(Member, pk=member_id, campaign=campaign)
    services.member_remove(by=request.user, member=member)
    return Status(204, None)


@router.post("/campaigns/{campaign_id}/switch-ons/schedule", response={201: ScheduleOut})
def switch_schedule(
    request: HttpRequest, campaign_id: int, payload: ScheduleIn
) -> Status[dict[str, Any]]:
    """A reporting schedule for the campaign's window. A schedule of the same units overlapping
    it is refused (422, its reason)."""
    campaign = _run(request, campaign_id)
    root = access.unit_or_404(request.user, payload.root_id) if payload.root_id else None
    deadlines = {
        k: v for k, v in payload.dict().items() if k.startswith("deadline_") and v is not None
    }
    schedule = services.campaign_schedule_switch(
        by=request.user,
        campaign=campaign,
        root=root,
        name=payload.name,
        frequency=payload.frequency,
        **deadlines,
    )
    return Status(
        201,
        {
            "id": schedule.pk,
            "root_id": schedule.root_id,
            "name": schedule.name,
            "starts_on": schedule.starts_on,
            "ends_on": schedule.ends_on,
            "frequency": schedule.frequency,
        },
    )


@router.post("/campaigns/{campaign_id}/switch-ons/round", response={201: RoundOut})
def switch_round(
    request: HttpRequest, campaign_id: int, payload: RoundIn
) -> Status[dict[str, Any]]:
    """An inspection round for the campaign's schools, within its window (default: from today
    to its end)."""
    campaign = _run(request, campaign_id)
    round_ = services.campaign_round_switch(
        by=request.user,
        campaign=campaign,
        kind=payload.kind,
        title=payload.title,
        categories=payload.categories,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
    )
    return Status(
        201,
        {
            "id": round_.pk,
            "unit_id": round_.unit_id,
            "title": round_.title,
            "kind": round_.kind,
            "starts_on": round_.starts_on,
            "ends_on": round_.ends_on,
        },
    )


@router.post("/campaigns/{campaign_id}/switch-ons/orders", response={201: list[OrderOut]})
def switch_orders(
    request: HttpRequest, campaign_id: int, payload: OrdersIn
) -> Status[list[dict[str, Any]]]:
    """Alert-level orders on given days, all issued now with their windows (e.g. level 2 for
    the first week, then level 1 until the end). All or none."""
    campaign = _run(request, campaign_id)
    orders = services.campaign_orders_issue(
        by=request.user,
        campaign=campaign,
        orders=[services.PlannedOrder(o.level, o.starts_on, o.ends_on) for o in payload.orders],
        reason=payload.reason,
    )
    return Status(
        201,
        [
            {
                "id": o.pk,
                "level": o.level,
                "label": o.short_level,
                "starts_at": o.starts_at,
                "ends_at": o.ends_at,
                "units_total": o.units_total,
            }
            for o in orders
        ],
    )


@router.get("/campaigns/{campaign_id}/switch-ons", response=list[SwitchOut])
def switch_list(request: HttpRequest, campaign_id: int) -> list[Any]:
    campaign = _run(request, campaign_id)
    return _detail(request, campaign)["switch_ons"]


@router.post("/campaigns/{campaign_id}/summaries", response={201: SummaryOut})
def summary_submit(
    request: HttpRequest, campaign_id: int, payload: SummaryIn
) -> Status[dict[str, Any]]:
    """The unit's written summary (its own managers); sent again, the text is replaced."""
    campaign = _campaign(request, campaign_id)
    unit = _campaign_unit(request, campaign, payload.unit_id)
    summary = services.summary_submit(
        by=request.user, campaign=campaign, unit=unit, text=payload.text
    )
    row = selectors.SummaryRow(unit, summary, campaign.summary_due_at)
    return Status(201, _summary(row))


@router.get("/campaigns/{campaign_id}/summaries", response=list[SummaryOut])
def summary_list(request: HttpRequest, campaign_id: int) -> list[Any]:
    """Every unit with its summary: submitted, late, missing (deadline past) or waiting."""
    campaign = _run(request, campaign_id)
    return [_summary(r) for r in selectors.summaries(campaign)]
