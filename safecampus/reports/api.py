"""/api/v1/daily-reports: submit, list, versions, and the status of a unit's subtree."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from safecampus.lib.api_types import Day
from safecampus.orgs import access
from safecampus.orgs.api import MAX_ID, Pages, ShapedPage
from safecampus.orgs.models import Unit

from . import selectors, services
from .models import CORRECTION_REASON_MAX, ITEM_TEXT_MAX, REPORT_MAX_ITEMS, DailyReport, Level

router = Router(tags=["daily reports"])


class ItemIn(Schema):
    what: str = Field(min_length=1, max_length=ITEM_TEXT_MAX)
    measures: str = Field("", max_length=ITEM_TEXT_MAX)
    incident_id: int | None = Field(None, ge=1, le=MAX_ID)
    hazard_id: int | None = Field(None, ge=1, le=MAX_ID)


class ReportIn(Schema):
    unit: int = Field(ge=1, le=MAX_ID)
    date: Day
    zero: bool
    items: list[ItemIn] = Field([], max_length=REPORT_MAX_ITEMS)
    reason: str = Field("", max_length=CORRECTION_REASON_MAX)


class ReportOut(Schema):
    id: int
    unit: int
    date: dt.date
    version: int
    zero: bool
    items: list[dict[str, Any]]
    reason: str
    children: dict[str, int]
    submitted_by: int
    submitted_at: dt.datetime
    due_at: dt.datetime
    late: bool
    late_seconds: int
    receipt: dict[str, Any]


class ReportFilter(Schema):
    unit: int | None = Field(None, ge=1, le=MAX_ID)
    date_from: Day | None = None
    date_to: Day | None = None
    late: bool | None = None


class StatusQuery(Schema):
    unit: int = Field(ge=1, le=MAX_ID)
    date: Day


class CountsOut(Schema):
    unit: int
    name: str
    status: str | None = Field(description="The unit's own status that day (null: none due).")
    level: str | None = Field(
        description="The level whose units `counts` counts: the page's (schools when "
        "any report below the asked unit, else the lowest level that does)."
    )
    counts: dict[str, int] = Field(
        description="Statuses of the units at `level` in the subtree (the groups' and the "
        "bureau's own reports are not counted among the schools)."
    )
    by_level: dict[str, dict[str, int]] = Field(
        description="Statuses over the whole subtree, per level of the units counted."
    )


class StatusOut(Schema):
    date: dt.date
    unit: CountsOut
    children: list[CountsOut]


def _out(report: DailyReport) -> dict[str, Any]:
    return {
        "id": report.pk,
        "unit": report.unit_id,
        "date": report.date,
        "version": report.version,
        "zero": report.zero,
        "items": report.items,
        "reason": report.reason,
        "children": report.children,
        "submitted_by": report.submitted_by_id,
        "submitted_at": report.submitted_at,
        "due_at": report.due_at,
        "late": report.is_late,
        "late_seconds": report.late_seconds,
        "receipt": {"seq": report.audit_seq, "hash": report.audit_hash},
    }


def _counts(c: selectors.Counts) -> dict[str, Any]:
    return {
        "unit": c.unit.pk,
        "name": c.unit.name,
        "status": c.own,
        "level": c.level,
        "counts": c.counts,
        "by_level": c.by_level,
    }


@router.post("/daily-reports", response={201: ReportOut, 200: ReportOut})
def report_submit(request: HttpRequest, payload: ReportIn) -> Any:
    """Submit a zero report or items. The same report again answers 200 with the one
    stored (a second tap, a phone resending, a correction sent twice); a correction
    (different content) needs a reason and answers 201 with the new version."""
    try:
        report = services.report_submit(
            by=request.user,
            unit=payload.unit,  # read with the day's row, in the statement that locks it
            day=payload.date,
            zero=payload.zero,
            items=[i.dict() for i in payload.items],
            reason=payload.reason,
        )
    except Unit.DoesNotExist:
        raise Http404 from None
    return Status(200 if getattr(report, "repeated", False) else 201, _out(report))


@router.get("/daily-reports", response=list[ReportOut])
@paginate(Pages)
def report_list(request: HttpRequest, filters: Query[ReportFilter]) -> Any:
    qs = selectors.reports_visible(request.user)
    if filters.unit is not None:
        qs = qs.filter(
            access.subtree(access.unit_or_404(request.user, filters.unit).path, "unit__path")
        )
    if filters.date_from:
        qs = qs.filter(date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(date__lte=filters.date_to)
    if filters.late is not None:
        qs = qs.filter(late_seconds__gt=0) if filters.late else qs.filter(late_seconds=0)
    return ShapedPage(
        qs.order_by("-date", "unit_id", "-version"), lambda page: [_out(r) for r in page]
    )


@router.get("/daily-reports/status", response=StatusOut)
def report_status(request: HttpRequest, query: Query[StatusQuery]) -> Any:
    """For the unit and each child: counts by status over their subtrees on a date."""
    target = access.unit_or_404(request.user, query.unit)
    top, children = selectors.day_counts(request.user, target, query.date)
    return {"date": query.date, "unit": _counts(top), "children": [_counts(c) for c in children]}


class TrendQuery(Schema):
    unit: int = Field(ge=1, le=MAX_ID)
    start: Day
    end: Day
    level: Level | None = Field(None, description="Only the units of this level (default: all).")


class TrendDay(Schema):
    date: dt.date
    not_due: int
    on_time: int
    late: int
    missing: int
    exempt: int


@router.get("/daily-reports/trend", response=list[TrendDay])
def report_trend(request: HttpRequest, query: Query[TrendQuery]) -> Any:
    """Per day in the period: statuses over the unit's subtree (at most 400 days)."""
    target = access.unit_or_404(request.user, query.unit)
    if query.end < query.start or (query.end - query.start).days > 400:
        raise ValidationError({"end": _("Choose a period of at most 400 days, end after start.")})
    return selectors.trend(target, query.start, query.end, query.level)


@router.get("/daily-reports/{report_id}/versions", response=list[ReportOut])
def report_versions(request: HttpRequest, report_id: int) -> Any:
    report = selectors.reports_visible(request.user).filter(pk=report_id).first()
    if report is None:
        raise Http404
    versions = DailyReport.objects.filter(unit=report.unit_id, date=report.date)
    return [_out(r) for r in versions.order_by("version")]
