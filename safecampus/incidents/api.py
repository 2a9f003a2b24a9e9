"""/api/v1/incidents/…: report (the quick report), list with filters, one incident with its
chain, its timeline, acknowledge one's own call, the written report, follow-ups and the
final report. Every answer is limited to the caller's units (orgs.access); what is outside
answers 404. The endpoints call incidents.services and incidents.selectors."""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from safecampus.lib.api_types import Day, Instant
from safecampus.orgs import access
from safecampus.orgs.models import Area, Unit

from . import export, selectors, services
from .models import Category, Grade, Incident, IncidentStep, Kind, LocalCategory, RollCall, State

router = Router(tags=["incidents"])

MAX_ID = 2**63 - 1
MAX_LIST = 500

KindName = Literal[tuple(Kind.values)]  # type: ignore[valid-type]
GradeName = Literal[tuple(Grade.values)]  # type: ignore[valid-type]
CategoryName = Literal[tuple(Category.values)]  # type: ignore[valid-type]
StateName = Literal[tuple(State.values)]  # type: ignore[valid-type]
Id = int


class IncidentIn(Schema):
    unit_id: int = Field(ge=1, le=MAX_ID)
    kind: KindName
    summary: str = Field(min_length=1, max_length=services.MAX_SUMMARY)
    place: str = Field("", max_length=200)
    area_id: int | None = Field(None, ge=1, le=MAX_ID)
    injured: int = Field(0, ge=0, le=100000)
    emergency_called: bool = False
    occurred_at: Instant | None = Field(None, description="Empty: now. Without a zone: local.")
    grade: GradeName = Grade.IV


class StageOut(Schema):
    level: str
    unit_id: int
    unit: str
    tier: int
    due_at: dt.datetime
    acknowledged_at: dt.datetime | None
    exhausted_at: dt.datetime | None


class IncidentOut(Schema):
    id: int
    unit_id: int
    unit: str
    kind: str
    category: str
    grade: str
    state: str
    summary: str
    place: str
    area_id: int | None
    injured: int
    emergency_called: bool
    occurred_at: dt.datetime
    reported_at: dt.datetime
    reported_by: str = Field(
        description="Hidden (***) in an incident involving minors, but for those who handle it."
    )
    written_at: dt.datetime | None
    closed_at: dt.datetime | None
    stages: list[StageOut] | None = None


class EntryOut(Schema):
    at: dt.datetime
    kind: str
    text: str
    late_seconds: int | None


class ListFilter(Schema):
    state: StateName | None = None
    kind: KindName | None = None
    grade: GradeName | None = None
    under: int | None = Field(None, ge=1, le=MAX_ID, description="A unit's subtree.")


class WrittenIn(Schema):
    grade: GradeName
    category: str = Field(
        max_length=12, description="One of the law's, or a code of the bureau's own."
    )
    source: str = Field(max_length=200)
    scope: str = Field(max_length=services.MAX_TEXT)
    affected: str = Field(max_length=services.MAX_TEXT)
    trend: str = Field(max_length=services.MAX_TEXT)
    measures: str = Field(max_length=services.MAX_TEXT)


class FollowUpIn(Schema):
    changes: str = Field(max_length=services.MAX_TEXT)
    measures: str = Field("", max_length=services.MAX_TEXT)
    grade: GradeName | Literal[""] = ""


class FinalIn(Schema):
    cause: str = Field(max_length=services.MAX_TEXT)
    handling: str = Field(max_length=services.MAX_TEXT)
    losses: str = Field(max_length=services.MAX_TEXT)
    lessons: str = Field(max_length=services.MAX_TEXT)
    corrective: str = Field(max_length=services.MAX_TEXT)


class AckOut(Schema):
    incident_id: int
    acknowledged_at: dt.datetime | None


class ReportOut(Schema):
    id: int
    kind: str
    submitted_at: dt.datetime


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _out(request: HttpRequest, i: Incident, *, stages: bool = False) -> dict[str, Any]:
    names = selectors.shows_names(request.user, i)
    out: dict[str, Any] = {
        "id": i.pk,
        "unit_id": i.unit_id,
        "unit": i.unit.name,
        "kind": i.kind,
        "category": i.category,
        "grade": i.grade,
        "state": i.state,
        "summary": i.summary,
        "place": i.place,
        "area_id": i.area_id,
        "injured": i.injured,
        "emergency_called": i.emergency_called,
        "occurred_at": i.occurred_at,
        "reported_at": i.reported_at,
        "reported_by": i.reported_by.name if names else selectors.HIDDEN,
        "written_at": i.written_at,
        "closed_at": i.closed_at,
    }
    if stages:
        out["stages"] = [
            {
                "level": s.level,
                "unit_id": s.unit_id,
                "unit": s.unit.name,
                "tier": s.tier,
                "due_at": s.due_at,
                "acknowledged_at": s.acknowledged_at,
                "exhausted_at": s.exhausted_at,
            }
            for s in i.stages.select_related("unit").order_by("pk")
        ]
    return out


def _incident(request: HttpRequest, pk: int) -> Incident:
    if not 1 <= pk <= MAX_ID:
        raise Http404
    return selectors.incident_or_404(request.user, pk)


@router.post("/incidents", response={201: IncidentOut})
def incident_create(request: HttpRequest, payload: IncidentIn) -> Status[dict[str, Any]]:
    """The quick report: the incident, and its escalation chain called at once."""
    unit = access.unit_or_404(request.user, payload.unit_id)
    area = None
    if payload.area_id is not None:
        area = Area.objects.filter(pk=payload.area_id).first()
        if area is None or not access.unit_visible(request.user, area.unit):
            raise Http404
    incident = services.incident_report(
        by=request.user,
        unit=unit,
        kind=payload.kind,
        summary=payload.summary,
        place=payload.place,
        area=area,
        injured=payload.injured,
        emergency_called=payload.emergency_called,
        occurred_at=_aware(payload.occurred_at),
        grade=payload.grade,
    )
    return Status(201, _out(request, incident, stages=True))


@router.get("/incidents", response=list[IncidentOut])
def incident_list(request: HttpRequest, filters: Query[ListFilter]) -> list[dict[str, Any]]:
    """Newest first, at most 500."""
    under = None
    if filters.under is not None:
        under = access.unit_or_404(request.user, filters.under)
    rows = selectors.incidents_list(
        request.user,
        under=under,
        state=filters.state or "",
        kind=filters.kind or "",
        grade=filters.grade or "",
    )
    return [_out(request, i) for i in rows[:MAX_LIST]]


class CategoryOut(Schema):
    code: str
    name: str
    bureau_id: int | None = Field(description="Empty for the law's and the shipped ones.")


class CategoryIn(Schema):
    bureau_id: int = Field(ge=1, le=MAX_ID)
    code: str = Field(min_length=1, max_length=12)
    name: str = Field(min_length=1, max_length=40)


@router.get("/incidents/categories", response=list[CategoryOut])
def categories_list(
    request: HttpRequest, unit: int = Query(..., ge=1, le=MAX_ID)
) -> list[dict[str, Any]]:  # type: ignore[assignment]
    """The categories an incident at this unit may be filed under."""
    found = access.unit_or_404(request.user, unit)
    own = dict(
        LocalCategory.objects.filter(bureau__path__in=found.path_and_above()).values_list(
            "code", "bureau_id"
        )
    )
    return [
        {"code": code, "name": name, "bureau_id": own.get(code)}
        for code, name in services.categories_for(found)
    ]


@router.post("/incidents/categories", response={201: CategoryOut})
def category_add(request: HttpRequest, payload: CategoryIn) -> Status[dict[str, Any]]:
    """Add a bureau's own category (those who run the bureau)."""
    category = services.local_category_add(
        by=request.user,
        bureau=access.unit_or_404(request.user, payload.bureau_id),
        code=payload.code,
        name=payload.name,
    )
    return Status(
        201, {"code": category.code, "name": category.name, "bureau_id": category.bureau_id}
    )


class LimitOut(Schema):
    category: str
    grade: str
    level: str
    acknowledge_minutes: int
    written_minutes: int
    follow_up_hours: int
    final_days: int
    is_default: bool


class LimitIn(Schema):
    acknowledge_minutes: int = Field(ge=1, le=24 * 60)
    written_minutes: int = Field(ge=5, le=7 * 24 * 60)
    follow_up_hours: int = Field(ge=1, le=30 * 24)
    final_days: int = Field(ge=1, le=365)


@router.get("/incidents/limits", response=list[LimitOut])
def limits_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Every (category, grade, level) with the limits in force."""
    return services.limits_table()


@router.put("/incidents/limits/{category}/{grade}/{level}", response=LimitOut)
def limit_put(
    request: HttpRequest,
    category: CategoryName,
    grade: GradeName,
    level: Literal["unit", "bureau"],
    payload: LimitIn,
) -> dict[str, Any]:
    """Set one (a manager of a whole tree)."""
    services.limit_set(
        by=request.user, category=category, grade=grade, level=level, **payload.dict()
    )
    return next(
        r
        for r in services.limits_table()
        if (r["category"], r["grade"], r["level"]) == (category, grade, level)
    )


class CrossCheckFilter(Schema):
    date_from: Day | None = Field(None, alias="from", description="Default: 30 days ago.")
    date_to: Day | None = Field(None, alias="to", description="Default: today.")


class CrossCheckOut(Schema):
    incident_id: int
    unit_id: int
    unit: str
    day: dt.date
    kind: str = Field(description="inconsistent | concealed (possibly: entered after)")
    zero_report_at: dt.datetime
    reported_at: dt.datetime
    explanation_asked: bool


@router.get("/incidents/cross-checks", response=list[CrossCheckOut])
def incident_cross_checks(
    request: HttpRequest, filters: Query[CrossCheckFilter]
) -> list[dict[str, Any]]:
    """Incidents against daily reports, for the level above: a zero report for a day with an
    incident on record (inconsistent), an incident entered after a zero report covering its
    time (concealed)."""
    end = filters.date_to or timezone.localdate()
    start = filters.date_from or end - dt.timedelta(days=30)
    if (end - start).days > 366:
        raise ValidationError({"from": _("At most a year at a time.")})
    return [
        {
            "incident_id": c.incident.pk,
            "unit_id": c.incident.unit_id,
            "unit": c.incident.unit.name,
            "day": c.day,
            "kind": c.kind,
            "zero_report_at": c.zero_at,
            "reported_at": c.incident.reported_at,
            "explanation_asked": c.asked,
        }
        for c in selectors.cross_checks(request.user, under=None, start=start, end=end)
    ]


@router.post("/incidents/{incident_id}/explain", response={201: EntryOut})
def incident_explain(request: HttpRequest, incident_id: int) -> Status[dict[str, Any]]:
    """Ask the unit to explain the mismatch of this incident with its daily report."""
    incident = _incident(request, incident_id)
    day = timezone.localtime(incident.occurred_at).date()
    found = selectors.cross_checks(request.user, under=None, start=day, end=day)
    mine = next((c for c in found if c.incident.pk == incident.pk), None)
    if mine is None:
        raise ValidationError({"incident_id": _("No mismatch with a daily report.")})
    entry = services.explanation_ask(by=request.user, incident=incident, day=day, kind=mine.kind)
    return Status(
        201,
        {"at": entry.at, "kind": entry.kind, "text": entry.text, "late_seconds": None},
    )


class StatsFilter(Schema):
    under: int | None = Field(None, ge=1, le=MAX_ID, description="A unit's subtree.")
    month: str | None = Field(None, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")


class GradeRow(Schema):
    grade: str
    under_1h: int
    under_24h: int
    under_7d: int
    older: int
    total: int


class CountRow(Schema):
    key: str
    n: int


class UnitRow(Schema):
    unit_id: int
    unit: str
    n: int
    late: int


class StatsOut(Schema):
    month: str
    open_by_grade: list[GradeRow]
    waiting: int = Field(description="Stages of open incidents nobody has acknowledged yet.")
    overdue: int = Field(description="Of those, past their limit.")
    month_total: int
    written_overdue: int = Field(description="Open incidents whose written report is overdue.")
    late_steps: int = Field(description="The month's steps taken after their limit (迟报).")
    by_category: list[CountRow]
    by_unit: list[UnitRow]


@router.get("/incidents/stats", response=StatsOut)
def incident_stats(request: HttpRequest, filters: Query[StatsFilter]) -> dict[str, Any]:
    """The overview's figures: open incidents by grade and age, unacknowledged stages, the
    month's late steps and its incidents by category and by unit."""
    under = access.unit_or_404(request.user, filters.under) if filters.under else None
    today = timezone.localdate()
    first = dt.date.fromisoformat(filters.month + "-01") if filters.month else today.replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    now = timezone.now()
    data = selectors.overview(
        request.user,
        under=under,
        month_start=dt.datetime.combine(first, dt.time(), tzinfo=tz),
        month_end=dt.datetime.combine(after, dt.time(), tzinfo=tz),
        now=now,
    )
    return {
        "month": f"{first:%Y-%m}",
        "open_by_grade": [
            {
                "grade": g,
                "under_1h": r["1h"],
                "under_24h": r["24h"],
                "under_7d": r["7d"],
                "older": r["older"],
                "total": r["total"],
            }
            for g, r in data["by_grade"]
        ],
        "waiting": len(data["waiting"]),
        "overdue": sum(1 for s in data["waiting"] if s.due_at < now),
        "month_total": data["month_total"],
        "written_overdue": len(data["written_overdue"]),
        "late_steps": data["late_steps"],
        "by_category": [{"key": r["category"], "n": r["n"]} for r in data["by_category"]],
        "by_unit": [
            {"unit_id": r["unit_id"], "unit": r["unit__name"], "n": r["n"], "late": r["late"]}
            for r in data["by_unit"]
        ],
    }


@router.get("/incidents/{incident_id}", response=IncidentOut)
def incident_get(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    return _out(request, _incident(request, incident_id), stages=True)


@router.get("/incidents/{incident_id}/timeline", response=list[EntryOut])
def incident_timeline(request: HttpRequest, incident_id: int) -> list[dict[str, Any]]:
    """Every step with its time; `late_seconds` against the step's limit where it has one.
    In an incident involving minors the texts (they name people) are empty but for those
    who handle it."""
    incident = _incident(request, incident_id)
    names = selectors.shows_names(request.user, incident)
    return [
        {
            "at": e.at,
            "kind": e.kind,
            "text": e.text if names else "",
            "late_seconds": e.late_seconds,
        }
        for e in selectors.timeline(incident)
    ]


@router.post("/incidents/{incident_id}/ack", response=AckOut)
def incident_ack(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    """Acknowledge the call the chain made to you (a second time changes nothing; 403 when
    it did not call you)."""
    incident = _incident(request, incident_id)
    call = services.incident_acknowledge_mine(by=request.user, incident=incident)
    return {"incident_id": incident.pk, "acknowledged_at": call.acknowledged_at}


@router.post("/incidents/{incident_id}/written", response={201: ReportOut})
def incident_written(
    request: HttpRequest, incident_id: int, payload: WrittenIn
) -> Status[dict[str, Any]]:
    report = services.incident_write(
        by=request.user, incident=_incident(request, incident_id), **payload.dict()
    )
    return Status(201, {"id": report.pk, "kind": report.kind, "submitted_at": report.submitted_at})


@router.post("/incidents/{incident_id}/follow-up", response={201: ReportOut})
def incident_follow_up(
    request: HttpRequest, incident_id: int, payload: FollowUpIn
) -> Status[dict[str, Any]]:
    report = services.incident_follow_up(
        by=request.user, incident=_incident(request, incident_id), **payload.dict()
    )
    return Status(201, {"id": report.pk, "kind": report.kind, "submitted_at": report.submitted_at})


@router.post("/incidents/{incident_id}/final", response={201: ReportOut})
def incident_final(
    request: HttpRequest, incident_id: int, payload: FinalIn
) -> Status[dict[str, Any]]:
    """The final report; it closes the incident."""
    report = services.incident_close(
        by=request.user, incident=_incident(request, incident_id), **payload.dict()
    )
    return Status(201, {"id": report.pk, "kind": report.kind, "submitted_at": report.submitted_at})


# --- The plan's steps, and the plans ------------------------------------------------------------


class StepOut(Schema):
    id: int
    order: int
    text: str
    done_at: dt.datetime | None


class PlanOut(Schema):
    unit_id: int
    kind: str
    title: str
    roles: str
    steps: list[str]
    contacts: str
    supplies: str


class PlanIn(Schema):
    title: str = Field(max_length=100)
    roles: str = Field("", max_length=5000)
    steps: list[str] = Field(max_length=services.MAX_STEPS)
    contacts: str = Field("", max_length=5000)
    supplies: str = Field("", max_length=5000)


def _step_out(step: IncidentStep) -> dict[str, Any]:
    return {"id": step.pk, "order": step.order, "text": step.text, "done_at": step.done_at}


@router.get("/incidents/{incident_id}/steps", response=list[StepOut])
def incident_steps(request: HttpRequest, incident_id: int) -> list[dict[str, Any]]:
    """The steps of the plan the incident follows, in order, with when each was done."""
    incident = _incident(request, incident_id)
    return [_step_out(s) for s in incident.steps.all()]


@router.post("/incidents/{incident_id}/steps/{step_id}/done", response=StepOut)
def incident_step_done(request: HttpRequest, incident_id: int, step_id: int) -> dict[str, Any]:
    """Tick a step off (a second time changes nothing)."""
    incident = _incident(request, incident_id)
    step = incident.steps.filter(pk=step_id).first() if 1 <= step_id <= MAX_ID else None
    if step is None:
        raise Http404
    return _step_out(services.step_done(by=request.user, step=step))


def _plan_out(unit: Unit, kind: str) -> dict[str, Any]:
    plan = services.plan_for(unit, kind)
    return {
        "unit_id": unit.pk,
        "kind": kind,
        "title": plan.title,
        "roles": plan.roles,
        "steps": plan.steps,
        "contacts": plan.contacts,
        "supplies": plan.supplies,
    }


@router.get("/incidents/plans/{unit_id}/{kind}", response=PlanOut)
def plan_get(request: HttpRequest, unit_id: int, kind: str) -> dict[str, Any]:
    """The plan an incident of this type at this unit follows (an unknown type: 404)."""
    unit = access.unit_or_404(request.user, unit_id)
    if kind not in Kind.values:
        raise Http404
    return _plan_out(unit, kind)


@router.put("/incidents/plans/{unit_id}/{kind}", response=PlanOut)
def plan_put(request: HttpRequest, unit_id: int, kind: KindName, payload: PlanIn) -> dict[str, Any]:
    """Save the unit's own copy of the plan (an unknown type: 422 with the body's faults)."""
    unit = access.unit_or_404(request.user, unit_id)
    services.plan_save(
        by=request.user,
        unit=unit,
        kind=kind,
        title=payload.title,
        roles=payload.roles,
        steps="\n".join(line.replace("\n", " ") for line in payload.steps),
        contacts=payload.contacts,
        supplies=payload.supplies,
    )
    return _plan_out(unit, kind)


@router.get(
    "/incidents/{incident_id}/report.docx",
    response={200: None},
    openapi_extra={
        "responses": {
            200: {
                "description": "The report as a Word document in the official layout.",
                "content": {
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {}
                },
            }
        }
    },
)
def incident_docx(request: HttpRequest, incident_id: int) -> HttpResponse:
    """The report as the .docx an office submits (those who handle the incident)."""
    incident = _incident(request, incident_id)
    access.require(access.can_handle_incident(request.user, incident.unit))
    response = HttpResponse(
        export.report_docx(incident),
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    response["Content-Disposition"] = f'attachment; filename="incident-{incident.pk}.docx"'
    return response


# --- Evacuation roll call --------------------------------------------------------------------


class CountIn(Schema):
    class_name: str = Field(min_length=1, max_length=40)
    present: int = Field(ge=0, le=services.MAX_CLASS)
    absent: int = Field(ge=0, le=services.MAX_CLASS)


class CountOut(Schema):
    class_name: str
    present: int
    absent: int
    at: dt.datetime


class RollCallOut(Schema):
    started_at: dt.datetime
    closed_at: dt.datetime | None
    present: int
    absent: int
    counts: list[CountOut]
    not_counted: list[str] = Field(description="Head teachers of the unit yet to count.")


def _roll_out(roll: RollCall) -> dict[str, Any]:
    state = selectors.roll_call_state(roll)
    return {
        "started_at": roll.started_at,
        "closed_at": roll.closed_at,
        "present": state.present,
        "absent": state.absent,
        "counts": [
            {"class_name": c.class_name, "present": c.present, "absent": c.absent, "at": c.at}
            for c in state.counts
        ],
        "not_counted": [p.name for p in state.missing],
    }


def _roll(request: HttpRequest, incident_id: int) -> RollCall:
    roll = RollCall.objects.filter(incident=_incident(request, incident_id)).first()
    if roll is None:
        raise Http404
    return roll


@router.post("/incidents/{incident_id}/roll-call", response={201: RollCallOut})
def roll_call_start(request: HttpRequest, incident_id: int) -> Status[dict[str, Any]]:
    """Start the evacuation roll call (again: the one there is)."""
    roll = services.roll_call_start(by=request.user, incident=_incident(request, incident_id))
    return Status(201, _roll_out(roll))


@router.get("/incidents/{incident_id}/roll-call", response=RollCallOut)
def roll_call_get(request: HttpRequest, incident_id: int) -> dict[str, Any]:
    return _roll_out(_roll(request, incident_id))


@router.post("/incidents/{incident_id}/roll-call/counts", response=RollCallOut)
def roll_call_count(request: HttpRequest, incident_id: int, payload: CountIn) -> dict[str, Any]:
    """A head teacher's count of their class (a second count replaces the first)."""
    roll = _roll(request, incident_id)
    services.roll_call_count(by=request.user, roll_call=roll, **payload.dict())
    return _roll_out(roll)
