"""/api/v1/hazards…: the ledger (filtered, paged by key: `after` is the `next` of the page
before), report a hazard, one hazard with its history, and its steps (fix, submit, verify,
supervise, refer, answer). Limited to the caller's units; what is outside answers 404."""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from safecampus.lib import images
from safecampus.lib.api_types import Day
from safecampus.orgs import access
from safecampus.orgs.models import Area, Person

from . import selectors, services
from .models import Category, Hazard, Photo, PhotoStage, Severity

router = Router(tags=["hazards"])
MAX_ID = 2**63 - 1

CategoryName = Literal[tuple(Category.values)]  # type: ignore[valid-type]
SeverityName = Literal[tuple(Severity.values)]  # type: ignore[valid-type]


class HazardIn(Schema):
    unit_id: int = Field(ge=1, le=MAX_ID)
    category: CategoryName
    description: str = Field(min_length=1, max_length=services.MAX_TEXT)
    area_id: int | None = Field(None, ge=1, le=MAX_ID)
    place: str = Field("", max_length=200)
    severity: SeverityName = Severity.GENERAL
    deadline: Day | None = None
    interim: str = Field("", max_length=services.MAX_TEXT)


class EventOut(Schema):
    at: dt.datetime
    kind: str
    text: str


class PhotoOut(Schema):
    id: int
    stage: str
    url: str
    original_url: str
    width: int
    height: int
    taken_at: dt.datetime | None


class HazardOut(Schema):
    id: int
    unit_id: int
    unit: str
    area_id: int | None
    place: str
    category: str
    description: str
    severity: str
    status: str
    responsible: str
    deadline: dt.date
    interim: str
    reported_at: dt.datetime
    fix_note: str
    closed_at: dt.datetime | None
    supervising_unit_id: int | None
    supervision_deadline: dt.date | None
    referred_to: str
    events: list[EventOut] | None = None
    photos: list[PhotoOut] | None = None


class PageOut(Schema):
    items: list[HazardOut]
    next: str = Field(description="Pass as `after` for the next page; empty at the end.")


class LedgerQuery(Schema):
    state: Literal["open", "overdue", "closed", "all"] = "open"
    category: CategoryName | None = None
    severity: SeverityName | None = None
    under: int | None = Field(None, ge=1, le=MAX_ID)
    after: str = Field("", max_length=200)
    size: int = Field(50, ge=1, le=200)


class NoteIn(Schema):
    note: str = Field(max_length=services.MAX_TEXT)


class VerifyIn(Schema):
    accept: bool
    reason: str = Field("", max_length=services.MAX_TEXT)


class SuperviseIn(Schema):
    supervising_unit_id: int = Field(ge=1, le=MAX_ID)
    supervisor_id: int = Field(ge=1, le=MAX_ID)
    deadline: Day


class ReferIn(Schema):
    authority: str = Field(max_length=200)


class AnswerIn(Schema):
    answer: str = Field(max_length=services.MAX_TEXT)


def _out(h: Hazard, *, events: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": h.pk,
        "unit_id": h.unit_id,
        "unit": h.unit.name,
        "area_id": h.area_id,
        "place": h.place,
        "category": h.category,
        "description": h.description,
        "severity": h.severity,
        "status": h.status,
        "responsible": h.responsible.name if h.responsible else "",
        "deadline": h.deadline,
        "interim": h.interim,
        "reported_at": h.reported_at,
        "fix_note": h.fix_note,
        "closed_at": h.closed_at,
        "supervising_unit_id": h.supervising_unit_id,
        "supervision_deadline": h.supervision_deadline,
        "referred_to": h.referred_to,
    }
    if events:
        out["events"] = [{"at": e.at, "kind": e.kind, "text": e.text} for e in h.events.all()]
        out["photos"] = [_photo(p) for p in h.photos.all()]
    return out


def _photo(p: Photo) -> dict[str, Any]:
    return {
        "id": p.pk,
        "stage": p.stage,
        "url": reverse("hazards:photo", args=[p.pk]),
        "original_url": reverse("hazards:photo-original", args=[p.pk]),
        "width": p.width,
        "height": p.height,
        "taken_at": p.taken_at,
    }


def read_photos(files: list[UploadedFile]) -> list[images.Photo]:
    """Each upload checked by lib.images; a refused one answers 422 naming `photos`."""
    try:
        return [images.photo_read(f, name=(f.name or "")[:80]) for f in files]
    except ValidationError as exc:
        raise ValidationError({"photos": exc.messages}) from None


def _hazard(request: HttpRequest, pk: int) -> Hazard:
    if not 1 <= pk <= MAX_ID:
        raise Http404
    return selectors.hazard_or_404(request.user, pk)


@router.get("/hazards", response=PageOut)
def hazard_list(request: HttpRequest, q: Query[LedgerQuery]) -> dict[str, Any]:
    """The ledger, newest first, a page at a time (keyset: pass `next` as `after`)."""
    f = selectors.LedgerFilter(
        under=access.unit_or_404(request.user, q.under) if q.under else None,
        state=q.state,
        category=q.category or "",
        severity=q.severity or "",
    )
    rows, cursor = selectors.page_after(selectors.ledger(request.user, f), q.after, q.size)
    return {"items": [_out(h) for h in rows], "next": cursor}


@router.post("/hazards", response={201: HazardOut})
def hazard_create(request: HttpRequest, payload: HazardIn) -> Status[dict[str, Any]]:
    unit = access.unit_or_404(request.user, payload.unit_id)
    area = None
    if payload.area_id is not None:
        area = Area.objects.filter(pk=payload.area_id).first()
        if area is None or not access.unit_visible(request.user, area.unit):
            raise Http404
    hazard = services.hazard_report(
        by=request.user,
        unit=unit,
        category=payload.category,
        description=payload.description,
        area=area,
        place=payload.place,
        severity=payload.severity,
        deadline=payload.deadline,
        interim=payload.interim,
    )
    return Status(201, _out(hazard, events=True))


@router.get("/hazards/{hazard_id}", response=HazardOut)
def hazard_get(request: HttpRequest, hazard_id: int) -> dict[str, Any]:
    return _out(_hazard(request, hazard_id), events=True)


@router.post("/hazards/{hazard_id}/photos", response={201: list[PhotoOut]})
def hazard_photos(
    request: HttpRequest,
    hazard_id: int,
    photos: File[list[UploadedFile]],
    stage: Form[Literal["found", "fixed"]] = PhotoStage.FOUND,
) -> Status[list[dict[str, Any]]]:
    """Add photos (multipart: `photos`, one or more files; `stage` found | fixed). Checked by
    content (JPEG, PNG, WebP, GIF), at most PHOTO_MAX_MB each, six at a time."""
    hazard = _hazard(request, hazard_id)
    saved = services.hazard_photos_add(
        by=request.user, hazard=hazard, photos=read_photos(photos), stage=stage
    )
    return Status(201, [_photo(p) for p in saved])


@router.post("/hazards/{hazard_id}/fix", response=HazardOut)
def hazard_fix(request: HttpRequest, hazard_id: int) -> dict[str, Any]:
    """Start fixing (the unit's managers, the responsible person)."""
    return _out(services.hazard_start_fix(by=request.user, hazard=_hazard(request, hazard_id)))


@router.post("/hazards/{hazard_id}/submit", response=HazardOut)
def hazard_submit(request: HttpRequest, hazard_id: int, payload: NoteIn) -> dict[str, Any]:
    hazard = _hazard(request, hazard_id)
    return _out(services.hazard_submit_fix(by=request.user, hazard=hazard, note=payload.note))


@router.post("/hazards/{hazard_id}/verify", response=HazardOut)
def hazard_verify(request: HttpRequest, hazard_id: int, payload: VerifyIn) -> dict[str, Any]:
    """Close it (accept) or send it back with a reason; never by the one who fixed it."""
    hazard = _hazard(request, hazard_id)
    return _out(
        services.hazard_verify(
            by=request.user, hazard=hazard, accept=payload.accept, reason=payload.reason
        )
    )


@router.post("/hazards/{hazard_id}/supervise", response=HazardOut)
def hazard_supervise(request: HttpRequest, hazard_id: int, payload: SuperviseIn) -> dict[str, Any]:
    """挂牌督办 (a major hazard, by a manager of a unit above it)."""
    hazard = _hazard(request, hazard_id)
    supervising = access.unit_or_404(request.user, payload.supervising_unit_id)
    supervisor = Person.objects.filter(pk=payload.supervisor_id).first()
    if supervisor is None or not access.person_visible(request.user, supervisor):
        raise Http404
    return _out(
        services.hazard_supervise(
            by=request.user,
            hazard=hazard,
            supervising_unit=supervising,
            supervisor=supervisor,
            deadline=payload.deadline,
        )
    )


@router.post("/hazards/{hazard_id}/refer", response=HazardOut)
def hazard_refer(request: HttpRequest, hazard_id: int, payload: ReferIn) -> dict[str, Any]:
    hazard = _hazard(request, hazard_id)
    return _out(services.hazard_refer(by=request.user, hazard=hazard, authority=payload.authority))


@router.post("/hazards/{hazard_id}/answer", response=HazardOut)
def hazard_answer(request: HttpRequest, hazard_id: int, payload: AnswerIn) -> dict[str, Any]:
    hazard = _hazard(request, hazard_id)
    return _out(
        services.hazard_referral_answer(by=request.user, hazard=hazard, answer=payload.answer)
    )
