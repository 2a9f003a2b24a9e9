"""/api/v1/hazards…: the ledger (filtered, paged by key: `after` is the `next` of the page
before), report a hazard, one hazard with its history, and its steps (fix, submit, verify,
supervise, refer, answer). Limited to the caller's units; what is outside answers 404."""

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import ngettext
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from safecampus.lib import images
from safecampus.lib.api_types import Day
from safecampus.orgs import access
from safecampus.orgs.models import Area, Person

from . import export, imports, selectors, services, stats
from .models import (
    Category,
    ChecklistItem,
    ExportStatus,
    Hazard,
    LedgerExport,
    Photo,
    PhotoStage,
    Severity,
)

router = Router(tags=["hazards"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
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


class DeadlineIn(Schema):
    deadline: Day
    reason: str = Field(max_length=services.MAX_TEXT)


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


class StatsQuery(Schema):
    under: int | None = Field(None, ge=1, le=MAX_ID, description="Default: the top you see.")
    start: Day | None = Field(None, description="Default: 1 January of this year.")
    end: Day | None = Field(None, description="Default: today.")


class CountOut(Schema):
    key: str = Field(description="The category, or the unit's tree path.")
    label: str
    unit_id: int | None = Field(description="By unit: the child unit; null: its own hazards.")
    open: int
    overdue: int


class StatsOut(Schema):
    under_id: int
    under: str
    start: dt.date
    end: dt.date
    open: int
    overdue: int
    by_category: list[CountOut]
    by_unit: list[CountOut]
    reported: int = Field(description="Reported in the period.")
    closed: int = Field(description="Of those, closed by now.")
    closure_rate: float | None
    median_days_to_close: float | None = Field(
        description="Of the hazards closed in the period through the workflow."
    )
    median_of: int
    oldest: list[HazardOut]


class ImportOut(Schema):
    imported: int


def _counted(c: stats.Counted) -> dict[str, Any]:
    return {
        "key": c.key,
        "label": c.label,
        "unit_id": c.unit.pk if c.unit else None,
        "open": c.open,
        "overdue": c.overdue,
    }


@router.get("/hazards/stats", response=StatsOut)
def hazard_stats(request: HttpRequest, q: Query[StatsQuery]) -> dict[str, Any]:
    """Open and overdue by category and by child unit (rolled up), the closure rate and the
    median days to close over a period, the ten oldest open hazards: under `under`."""
    under = access.unit_or_404(request.user, q.under) if q.under else stats.top_unit(request.user)
    if under is None:
        raise Http404
    start, end = stats.period(q.start, q.end)
    o = stats.overview(request.user, under=under, start=start, end=end)
    return {
        "under_id": under.pk,
        "under": under.name,
        "start": o.start,
        "end": o.end,
        "open": o.open,
        "overdue": o.overdue,
        "by_category": [_counted(c) for c in o.by_category],
        "by_unit": [_counted(c) for c in o.by_unit],
        "reported": o.reported,
        "closed": o.closed,
        "closure_rate": o.closure_rate,
        "median_days_to_close": o.median_days,
        "median_of": o.median_of,
        "oldest": [_out(h) for h in o.oldest],
    }


@router.post("/hazards/import", response={201: ImportOut})
def hazard_ledger_import(
    request: HttpRequest, file: File[UploadedFile]
) -> Status[dict[str, Any]] | JsonResponse:
    """An existing Excel ledger (multipart: `file`, an .xlsx, at most 5 MB and 20,000 rows):
    every row imported (201 with the count), or none: 422, each bad row an item of `errors`
    with `field` "file", its `reason`, and where it is: `sheet`, `row`, `column` (the
    header's name; "" and 0 for the file as a whole)."""
    result = imports.ledger_import(by=request.user, file=file, name=file.name or "")
    if result.ok:
        return Status(201, {"imported": result.hazards})
    n = len(result.errors)
    detail = ngettext(
        "Nothing was imported: %(n)d problem.", "Nothing was imported: %(n)d problems.", n
    ) % {"n": n}
    errors = [
        {"field": "file", "sheet": e.sheet, "row": e.row, "column": e.column, "reason": e.reason}
        for e in result.errors
    ]
    # The API's error shape, with where each bad row is (beside field and reason).
    return JsonResponse({"detail": detail, "errors": errors}, status=422)


class ExportIn(Schema):
    state: Literal["open", "overdue", "closed", "all"] = "all"
    category: CategoryName | None = None
    severity: SeverityName | None = None
    under: int | None = Field(None, ge=1, le=MAX_ID)


class ExportOut(Schema):
    id: int
    status: str
    rows_total: int
    rows_done: int
    requested_at: dt.datetime
    finished_at: dt.datetime | None
    error: str
    url: str = Field(description="This export (poll it until status is ready or failed).")
    file_url: str = Field(description="The .xlsx, once ready; empty before.")


def _export_out(job: LedgerExport) -> dict[str, Any]:
    ready = job.status == ExportStatus.READY
    return {
        "id": job.pk,
        "status": job.status,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "requested_at": job.requested_at,
        "finished_at": job.finished_at,
        "error": job.error,
        "url": f"/api/v1/hazards/exports/{job.pk}",
        "file_url": f"/api/v1/hazards/exports/{job.pk}/file" if ready else "",
    }


def _export(request: HttpRequest, pk: int) -> LedgerExport:
    if not 1 <= pk <= MAX_ID:
        raise Http404
    return selectors.ledger_export_or_404(request.user, pk)


@router.post("/hazards/exports", response={202: ExportOut})
def hazard_export_create(request: HttpRequest, payload: ExportIn) -> Status[dict[str, Any]]:
    """The ledger in Excel (the list's filters), built by the worker: poll `url` until
    `status` is ready (then fetch `file_url`) or failed (`error` says why). Only the
    caller sees it; it is deleted after 7 days."""
    f = selectors.LedgerFilter(
        under=access.unit_or_404(request.user, payload.under) if payload.under else None,
        state=payload.state,
        category=payload.category or "",
        severity=payload.severity or "",
    )
    return Status(202, _export_out(export.ledger_export_request(by=request.user, f=f)))


@router.get("/hazards/exports/{export_id}", response=ExportOut)
def hazard_export_get(request: HttpRequest, export_id: int) -> dict[str, Any]:
    return _export_out(_export(request, export_id))


@router.get(
    "/hazards/exports/{export_id}/file",
    openapi_extra={
        "responses": {200: {"description": "The ledger (.xlsx).", "content": {XLSX: {}}}}
    },
)
def hazard_export_file(request: HttpRequest, export_id: int) -> HttpResponse:
    """The built file (404 until the export is ready)."""
    job = _export(request, export_id)
    if job.status != ExportStatus.READY or not job.file:
        raise Http404
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(
        handle, as_attachment=True, filename=f"hazards-export-{job.pk}.xlsx", content_type=XLSX
    )


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


@router.post("/hazards/{hazard_id}/deadline", response=HazardOut)
def hazard_deadline(request: HttpRequest, hazard_id: int, payload: DeadlineIn) -> dict[str, Any]:
    """Move the deadline (a supervised hazard's supervision deadline: its supervising level),
    with the reason."""
    hazard = _hazard(request, hazard_id)
    return _out(
        services.hazard_deadline_change(
            by=request.user, hazard=hazard, deadline=payload.deadline, reason=payload.reason
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


# --- Checklists, inspection rounds, inspections ---------------------------------------------


class ChecklistOut(Schema):
    id: int
    category: str
    version: int
    shipped: bool
    items: list[str]


class ChecklistIn(Schema):
    items: list[str] = Field(min_length=1, max_length=100)


class RoundIn(Schema):
    unit_id: int = Field(ge=1, le=MAX_ID)
    kind: Literal["self", "general", "recheck"]
    title: str = Field(min_length=1, max_length=200)
    starts_on: Day
    ends_on: Day
    categories: list[CategoryName] = Field(min_length=1, max_length=len(Category.values))


class RoundOut(Schema):
    id: int
    unit_id: int
    kind: str
    title: str
    starts_on: dt.date
    ends_on: dt.date
    checklists: list[int]


class InspectionRowOut(Schema):
    id: int
    unit_id: int
    unit: str
    status: str
    answered: int
    failed: int


class RoundProgressOut(RoundOut):
    items: int
    units: int
    not_started: int
    started: int
    submitted: int
    inspections: list[InspectionRowOut]


class ItemOut(Schema):
    id: int
    category: str
    text: str
    result: str | None
    note: str
    area_id: int | None
    hazard_id: int | None


class InspectionOut(Schema):
    id: int
    round_id: int
    unit_id: int
    status: str
    answered: int
    failed: int
    items: list[ItemOut]


class ItemAnswerIn(Schema):
    item_id: int = Field(ge=1, le=MAX_ID)
    result: Literal["pass", "fail", "na"]
    note: str = Field("", max_length=1000)
    area_id: int | None = Field(None, ge=1, le=MAX_ID)


def _checklist(c: Any) -> dict[str, Any]:
    return {
        "id": c.pk,
        "category": c.category,
        "version": c.version,
        "shipped": c.unit_id is None,
        "items": [i.text for i in c.items.all()],
    }


def _bureau(request: HttpRequest) -> Any:
    bureau = selectors.bureau_of(request.user)
    if bureau is None:
        raise Http404
    return bureau


@router.get("/checklists", response=list[ChecklistOut])
def checklist_list(request: HttpRequest) -> list[dict[str, Any]]:
    """The checklists (current versions) of the caller's bureau."""
    services.checklist_defaults_ensure()
    return [_checklist(c) for c in selectors.checklists_for(_bureau(request))]


@router.put("/checklists/{category}", response=ChecklistOut)
def checklist_put(
    request: HttpRequest, category: CategoryName, payload: ChecklistIn
) -> dict[str, Any]:
    """A new version of the category's checklist for the caller's bureau (its managers)."""
    checklist = services.checklist_edit(
        by=request.user, bureau=_bureau(request), category=category, items=payload.items
    )
    return _checklist(checklist)


def _round(r: Any) -> dict[str, Any]:
    return {
        "id": r.pk,
        "unit_id": r.unit_id,
        "kind": r.kind,
        "title": r.title,
        "starts_on": r.starts_on,
        "ends_on": r.ends_on,
        "checklists": [c.pk for c in r.checklists.all()],
    }


@router.get("/inspection-rounds", response=list[RoundOut])
def round_list(request: HttpRequest) -> list[dict[str, Any]]:
    rows = selectors.rounds_visible(request.user).prefetch_related("checklists")[:200]
    return [_round(r) for r in rows]


@router.post("/inspection-rounds", response={201: RoundOut})
def round_create(request: HttpRequest, payload: RoundIn) -> Status[dict[str, Any]]:
    data = payload.dict()
    unit = access.unit_or_404(request.user, data.pop("unit_id"))
    return Status(201, _round(services.round_launch(by=request.user, unit=unit, **data)))


@router.get("/inspection-rounds/{round_id}", response=RoundProgressOut)
def round_get(request: HttpRequest, round_id: int) -> dict[str, Any]:
    """The round's progress per unit (those the caller sees; not started first)."""
    if not 1 <= round_id <= MAX_ID:
        raise Http404
    round_ = selectors.round_or_404(request.user, round_id)
    progress, rows = selectors.round_progress(request.user, round_)
    return _round(round_) | {
        "items": progress.items,
        "units": progress.total,
        "not_started": progress.not_started,
        "started": progress.started,
        "submitted": progress.submitted,
        "inspections": [
            {
                "id": i.pk,
                "unit_id": i.unit_id,
                "unit": i.unit.name,
                "status": i.status,
                "answered": i.answered,
                "failed": i.failed,
            }
            for i in rows[:5000]
        ],
    }


def _inspection(request: HttpRequest, pk: int) -> Any:
    if not 1 <= pk <= MAX_ID:
        raise Http404
    return selectors.inspection_or_404(request.user, pk)


def _inspection_out(inspection: Any) -> dict[str, Any]:
    return {
        "id": inspection.pk,
        "round_id": inspection.round_id,
        "unit_id": inspection.unit_id,
        "status": inspection.status,
        "answered": inspection.answered,
        "failed": inspection.failed,
        "items": [
            {
                "id": item.pk,
                "category": item.checklist.category,
                "text": item.text,
                "result": answer.result if answer else None,
                "note": answer.note if answer else "",
                "area_id": answer.area_id if answer else None,
                "hazard_id": answer.hazard_id if answer else None,
            }
            for _label, rows in selectors.inspection_sheet(inspection)
            for item, answer in rows
        ],
    }


@router.get("/inspections/{inspection_id}", response=InspectionOut)
def inspection_get(request: HttpRequest, inspection_id: int) -> dict[str, Any]:
    return _inspection_out(_inspection(request, inspection_id))


@router.post("/inspections/{inspection_id}/answers", response=InspectionOut)
def inspection_answer(
    request: HttpRequest, inspection_id: int, payload: ItemAnswerIn
) -> dict[str, Any]:
    """Answer one item (again: changed). Photos: POST them to .../items/{item_id}/photos."""
    inspection = _inspection(request, inspection_id)
    item = ChecklistItem.objects.filter(
        pk=payload.item_id, checklist__rounds=inspection.round_id
    ).first()
    if item is None:
        raise Http404
    area = None
    if payload.area_id is not None:
        area = Area.objects.filter(pk=payload.area_id, unit=inspection.unit).first()
        if area is None:
            raise Http404
    services.inspection_answer(
        by=request.user,
        inspection=inspection,
        item=item,
        result=payload.result,
        note=payload.note,
        area=area,
    )
    return _inspection_out(_inspection(request, inspection_id))


@router.post("/inspections/{inspection_id}/items/{item_id}/photos", response={201: list[PhotoOut]})
def inspection_photos(
    request: HttpRequest, inspection_id: int, item_id: int, photos: File[list[UploadedFile]]
) -> Status[list[dict[str, Any]]]:
    """Photos of an answered item (multipart `photos`); on submit they go with the hazard a
    failure becomes."""
    inspection = _inspection(request, inspection_id)
    answer = (
        inspection.answers.select_related("inspection__round", "inspection__unit")
        .filter(item_id=item_id)
        .first()
        if 1 <= item_id <= MAX_ID
        else None
    )
    if answer is None:
        raise Http404
    saved = services.inspection_photos_add(
        by=request.user, answer=answer, photos=read_photos(photos)
    )
    return Status(201, [_photo(p) for p in saved])


@router.post("/inspections/{inspection_id}/submit", response=InspectionOut)
def inspection_submit(request: HttpRequest, inspection_id: int) -> dict[str, Any]:
    """Every item answered: submitted; each failure becomes a hazard (its `hazard_id`)."""
    inspection = _inspection(request, inspection_id)
    services.inspection_submit(by=request.user, inspection=inspection)
    return _inspection_out(_inspection(request, inspection_id))
