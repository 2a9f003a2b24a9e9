"""/api/v1/drills…: who is behind their plan over a subtree, a unit's plan of a year (GET, PUT),
drills (list, record, one), a drill's photos, a problem into the hazard ledger, the drill's
roll call (open, counts, close). Limited to the caller's units: what is outside answers 404,
a refused field 422 naming it and why."""

import datetime as dt
from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from safecampus.incidents import selectors as incident_selectors
from safecampus.incidents import services as incidents
from safecampus.incidents.services import MAX_CLASS
from safecampus.lib import images
from safecampus.lib.api_types import Day, Instant
from safecampus.orgs import access
from safecampus.orgs.models import Unit

from . import selectors, services
from .models import (
    MAX_FLOORS,
    MAX_PEOPLE,
    MAX_PLANNED,
    MAX_PROBLEMS,
    MAX_SECONDS,
    NOTE_MAX,
    PROBLEM_MAX,
    RESULT_MAX,
    Drill,
    DrillPhoto,
    DrillProblem,
    Kind,
)

router = Router(tags=["drills"])
MAX_ID = 2**63 - 1

KindName = Literal[tuple(Kind.values)]  # type: ignore[valid-type]
Planned = Annotated[int, Field(ge=0, le=MAX_PLANNED)]


class LineOut(Schema):
    kind: str
    label: str
    planned: int
    done: int
    due: int = Field(description="Held by now pro rata to the day, rounded down.")
    short: int


class ProgressOut(Schema):
    unit_id: int
    unit: str
    year: int
    as_at: dt.date
    has_plan: bool = Field(description="False: the lines are the default offered, not saved.")
    planned: int
    done: int
    due: int
    short: int
    behind: bool
    lines: list[LineOut]


class BehindOut(Schema):
    unit_id: int
    unit: str
    as_at: dt.date
    units: int
    on_track: int
    behind: list[ProgressOut] = Field(description="Worst first: the most drills short.")
    no_plan: list[ProgressOut]


class PlanIn(Schema):
    year: int = Field(ge=2000, le=9999)
    counts: dict[KindName, Planned] = Field(
        description="Drills planned of each kind; a kind left out is none."
    )


class ProblemOut(Schema):
    id: int
    text: str
    hazard_id: int | None


class PhotoOut(Schema):
    id: int
    url: str
    original_url: str
    width: int
    height: int
    taken_at: dt.datetime | None


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


class DrillIn(Schema):
    unit_id: int = Field(ge=1, le=MAX_ID)
    kind: KindName
    held_at: Instant = Field(description="When it was held: not in the future.")
    enrolled: int = Field(ge=0, le=MAX_PEOPLE)
    evacuated: int = Field(ge=0, le=MAX_PEOPLE, description="Never more than enrolled.")
    staff: int = Field(0, ge=0, le=MAX_PEOPLE)
    evacuation_seconds: int | None = Field(
        None, ge=1, le=MAX_SECONDS, description="Time to evacuate; target ≤ 120."
    )
    floors: int | None = Field(None, ge=1, le=MAX_FLOORS)
    roll_call_result: str = Field("", max_length=RESULT_MAX)
    problems: list[Annotated[str, Field(max_length=PROBLEM_MAX)]] = Field(
        [], max_length=MAX_PROBLEMS
    )
    note: str = Field("", max_length=NOTE_MAX)


class DrillOut(Schema):
    id: int
    unit_id: int
    unit: str
    kind: str
    kind_label: str
    held_at: dt.datetime
    enrolled: int
    evacuated: int
    staff: int
    evacuation_seconds: int | None
    evacuation_time: str = Field(description="minutes:seconds")
    floors: int | None
    target_met: bool | None = Field(
        description="≤ 2 minutes for up to 4 floors; null: no time, or a taller building."
    )
    roll_call_result: str
    note: str
    recorded_by: str
    recorded_at: dt.datetime
    url: str
    problems: list[ProblemOut] | None = None
    photos: list[PhotoOut] | None = None
    roll_call: RollCallOut | None = None


class DrillPageOut(Schema):
    items: list[DrillOut]
    count: int
    offset: int


class DrillQuery(Schema):
    unit_id: int | None = Field(None, ge=1, le=MAX_ID, description="The unit and all below it.")
    year: int | None = Field(None, ge=2000, le=9999)
    kind: KindName | None = None
    offset: int = Field(0, ge=0, le=10**9)
    size: int = Field(50, ge=1, le=200)


class BehindQuery(Schema):
    unit_id: int | None = Field(None, ge=1, le=MAX_ID)
    date: Day | None = Field(None, description="As at the end of this day (default today).")


class YearQuery(Schema):
    year: int | None = Field(None, ge=2000, le=9999)


class CountIn(Schema):
    class_name: str = Field(max_length=40)
    present: int = Field(ge=0, le=MAX_CLASS)
    absent: int = Field(ge=0, le=MAX_CLASS)


class HazardOut(Schema):
    problem_id: int
    hazard_id: int
    created: bool
    url: str


# --- Shaping the answers --------------------------------------------------------------------


def _progress(p: selectors.Progress) -> dict[str, Any]:
    return {
        "unit_id": p.unit.pk,
        "unit": p.unit.name,
        "year": p.year,
        "as_at": p.day,
        "has_plan": p.has_plan,
        "planned": p.planned,
        "done": p.done,
        "due": p.due,
        "short": p.short,
        "behind": p.behind,
        "lines": [
            {
                "kind": line.kind,
                "label": line.label,
                "planned": line.planned,
                "done": line.done,
                "due": line.due,
                "short": line.short,
            }
            for line in p.lines
        ],
    }


def _roll(drill: Drill) -> dict[str, Any] | None:
    roll = drill.roll_call
    if roll is None:
        return None
    state = incident_selectors.roll_call_state(roll)
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


def _photo(p: DrillPhoto) -> dict[str, Any]:
    return {
        "id": p.pk,
        "url": reverse("drills:photo", args=[p.pk]),
        "original_url": reverse("drills:photo-original", args=[p.pk]),
        "width": p.width,
        "height": p.height,
        "taken_at": p.taken_at,
    }


def _out(d: Drill, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.pk,
        "unit_id": d.unit_id,
        "unit": d.unit.name,
        "kind": d.kind,
        "kind_label": d.get_kind_display(),
        "held_at": d.held_at,
        "enrolled": d.enrolled,
        "evacuated": d.evacuated,
        "staff": d.staff,
        "evacuation_seconds": d.evacuation_seconds,
        "evacuation_time": d.evacuation_time,
        "floors": d.floors,
        "target_met": d.target_met,
        "roll_call_result": d.roll_call_result,
        "note": d.note,
        "recorded_by": d.recorded_by.name,
        "recorded_at": d.recorded_at,
        "url": reverse("drills:detail", args=[d.pk]),
    }
    if full:
        out["problems"] = [
            {"id": p.pk, "text": p.text, "hazard_id": p.hazard_id} for p in d.problems.all()
        ]
        out["photos"] = [_photo(p) for p in d.photos.all()]
        out["roll_call"] = _roll(d)
    return out


def _drill(request: HttpRequest, pk: int) -> Drill:
    if not 1 <= pk <= MAX_ID:
        raise Http404
    return selectors.drill_or_404(request.user, pk)


def _school(request: HttpRequest, pk: int) -> Unit:
    if not 1 <= pk <= MAX_ID:
        raise Http404
    unit = access.unit_or_404(request.user, pk)
    if unit.kind not in access.DRILL_UNIT_KINDS or not access.can_see_drills(request.user, unit):
        raise Http404
    return unit


def _as_at(year: int) -> dt.date:
    today = timezone.localdate()
    if year == today.year:
        return today
    return dt.date(year, 12, 31) if year < today.year else dt.date(year, 1, 1)


# --- Literal routes first: /drills/behind, /drills/plans/… before /drills/{drill_id} ---------


@router.get("/drills/behind", response=BehindOut)
def behind(request: HttpRequest, q: Query[BehindQuery]) -> dict[str, Any]:
    """Over the unit's subtree (default: the top of what the caller sees), as at the end of
    the day: the schools and kindergartens behind their plan of the year (drills due pro rata
    and not held, kind by kind), worst first; those without a plan; how many are on track."""
    if q.unit_id is not None:
        unit = access.unit_or_404(request.user, q.unit_id)
    else:
        unit = access.root_units(request.user).order_by("path").first()
    if unit is None or not access.can_see_drills(request.user, unit):
        raise Http404
    today = timezone.localdate()
    if q.date is not None and q.date > today:
        raise ValidationError({"date": _("A day still to come has nothing held yet.")})
    found = selectors.behind(unit, q.date or today)
    return {
        "unit_id": unit.pk,
        "unit": unit.name,
        "as_at": found.day,
        "units": found.units,
        "on_track": found.on_track,
        "behind": [_progress(p) for p in found.behind],
        "no_plan": [_progress(p) for p in found.no_plan],
    }


@router.get("/drills/plans/{unit_id}", response=ProgressOut)
def plan_get(request: HttpRequest, unit_id: int, q: Query[YearQuery]) -> dict[str, Any]:
    """A school's plan of a year (default this one) against the drills held so far; without
    a plan (`has_plan` false) the default offered."""
    unit = _school(request, unit_id)
    year = q.year or timezone.localdate().year
    (progress,) = selectors.progress([unit], _as_at(year))
    return _progress(progress)


@router.put("/drills/plans/{unit_id}", response=ProgressOut)
def plan_put(request: HttpRequest, unit_id: int, payload: PlanIn) -> dict[str, Any]:
    """Set the school's plan of a year as a whole (this year, the one before or the next)."""
    unit = _school(request, unit_id)
    services.plan_set(by=request.user, unit=unit, year=payload.year, counts=dict(payload.counts))
    (progress,) = selectors.progress([unit], _as_at(payload.year))
    return _progress(progress)


# --- Drills ------------------------------------------------------------------------------


@router.get("/drills", response=DrillPageOut)
def drill_list(request: HttpRequest, q: Query[DrillQuery]) -> dict[str, Any]:
    """Drills the caller sees, newest first (?unit_id: that unit and below; ?year; ?kind)."""
    rows = selectors.drills_visible(request.user).select_related("recorded_by")
    if q.unit_id is not None:
        under = access.unit_or_404(request.user, q.unit_id)
        rows = rows.filter(access.subtree(under.path, "unit__path"))
    if q.year is not None:
        rows = rows.filter(day__range=(dt.date(q.year, 1, 1), dt.date(q.year, 12, 31)))
    if q.kind is not None:
        rows = rows.filter(kind=q.kind)
    page = list(rows.order_by("-held_at", "-pk")[q.offset : q.offset + q.size])
    return {"items": [_out(d) for d in page], "count": rows.count(), "offset": q.offset}


@router.post("/drills", response={201: DrillOut})
def drill_create(request: HttpRequest, payload: DrillIn) -> Status[dict[str, Any]]:
    """Record a drill held (not in the future; evacuated never more than enrolled). Each line of
    `problems` is a problem found; photos: POST them to /drills/{id}/photos."""
    unit = _school(request, payload.unit_id)
    drill = services.drill_record(by=request.user, unit=unit, **payload.dict(exclude={"unit_id"}))
    return Status(201, _out(selectors.drill_or_404(request.user, drill.pk), full=True))


@router.get("/drills/{drill_id}", response=DrillOut)
def drill_get(request: HttpRequest, drill_id: int) -> dict[str, Any]:
    """One drill with its problems (and the hazards they became), photos and roll call."""
    return _out(_drill(request, drill_id), full=True)


def read_photos(files: list[UploadedFile]) -> list[images.Photo]:
    """Each upload checked by lib.images; a refused one answers 422 naming `photos`."""
    try:
        return [images.photo_read(f, name=(f.name or "")[:80]) for f in files]
    except ValidationError as exc:
        raise ValidationError({"photos": exc.messages}) from None


@router.post("/drills/{drill_id}/photos", response={201: list[PhotoOut]})
def drill_photos(
    request: HttpRequest, drill_id: int, photos: File[list[UploadedFile]]
) -> Status[list[dict[str, Any]]]:
    """Add photos (multipart: `photos`, one or more files). Checked by content (JPEG, PNG,
    WebP, GIF), at most PHOTO_MAX_MB each, six at a time."""
    drill = _drill(request, drill_id)
    access.require(access.can_record_drill(request.user, drill.unit))
    saved = services.drill_photos_add(by=request.user, drill=drill, photos=read_photos(photos))
    return Status(201, [_photo(p) for p in saved])


@router.post(
    "/drills/{drill_id}/problems/{problem_id}/hazard", response={200: HazardOut, 201: HazardOut}
)
def problem_hazard(request: HttpRequest, drill_id: int, problem_id: int) -> Status[dict[str, Any]]:
    """The problem into the unit's hazard ledger (201); again, the hazard it became (200)."""
    drill = _drill(request, drill_id)
    if not 1 <= problem_id <= MAX_ID:
        raise Http404
    problem = get_object_or_404(DrillProblem, pk=problem_id, drill=drill)
    problem.drill = drill
    hazard, created = services.problem_to_hazard(by=request.user, problem=problem)
    return Status(
        201 if created else 200,
        {
            "problem_id": problem.pk,
            "hazard_id": hazard.pk,
            "created": created,
            "url": reverse("hazards:detail", args=[hazard.pk]),
        },
    )


# --- The roll call -----------------------------------------------------------------------


def _roll_call(request: HttpRequest, drill_id: int) -> Drill:
    drill = _drill(request, drill_id)
    if drill.roll_call is None:
        raise Http404
    return drill


@router.post("/drills/{drill_id}/roll-call", response={201: RollCallOut})
def roll_call_open(request: HttpRequest, drill_id: int) -> Status[dict[str, Any]]:
    """Open the drill's roll call (again: the one there is)."""
    drill = _drill(request, drill_id)
    services.roll_call_start(by=request.user, drill=drill)
    return Status(201, _roll(drill))


@router.get("/drills/{drill_id}/roll-call", response=RollCallOut)
def roll_call_get(request: HttpRequest, drill_id: int) -> dict[str, Any] | None:
    return _roll(_roll_call(request, drill_id))


@router.post("/drills/{drill_id}/roll-call/counts", response=RollCallOut)
def roll_call_count(request: HttpRequest, drill_id: int, payload: CountIn) -> dict[str, Any] | None:
    """A head teacher's count of their class (a second count replaces the first)."""
    drill = _roll_call(request, drill_id)
    incidents.roll_call_count(by=request.user, roll_call=drill.roll_call, **payload.dict())
    return _roll(drill)


@router.post("/drills/{drill_id}/roll-call/close", response=RollCallOut)
def roll_call_close(request: HttpRequest, drill_id: int) -> dict[str, Any] | None:
    """Close the roll call; its total becomes the drill's roll-call result if none was written."""
    drill = _roll_call(request, drill_id)
    services.roll_call_close(by=request.user, drill=drill)
    return _roll(drill)
