"""/api/v1/daily-reports: submit, list, versions, and the status of a unit's subtree."""

import datetime as dt
import functools
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.renderers import JSONRenderer

from safecampus.api.auth import USE_NOTED_EVERY, BearerToken, token_digest
from safecampus.audit.services import client_ip
from safecampus.api.types import Day
from safecampus.orgs import access
from safecampus.orgs.api import MAX_ID, Pages, ShapedPage

from . import selectors, services
from .models import DailyReport

router = Router(tags=["daily reports"])


class ItemIn(Schema):
    what: str = Field(min_length=1, max_length=1000)
    measures: str = Field("", max_length=1000)
    incident_id: int | None = None
    hazard_id: int | None = None


class ReportIn(Schema):
    unit: int = Field(ge=1, le=MAX_ID)
    date: Day
    zero: bool
    items: list[ItemIn] = []
    reason: str = Field("", max_length=500)


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
    status: str | None
    counts: dict[str, int]


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
    return {"unit": c.unit.pk, "name": c.unit.name, "status": c.own, "counts": c.counts}


class SubmitterToken(BearerToken):
    """The bearer token, and in the same statement the unit and day the body names, with
    the day's status row (PostgreSQL): a submission's first read is the token's.
    Only a shortcut: the view uses what was read when the validated body names the
    same unit and day, and reads them itself otherwise."""

    def also(self, request: HttpRequest) -> tuple[str, str, list[Any]] | None:
        if connection.vendor != "postgresql":
            return None
        try:
            body = json.loads(request.body)
            unit, day = body["unit"], dt.date.fromisoformat(body["date"])
        except (ValueError, TypeError, KeyError):
            return None  # the body's validation answers
        if type(unit) is not int or not 1 <= unit <= MAX_ID:
            return None
        request._report_read = (unit, day)  # type: ignore[attr-defined]
        return services.UNIT_DAY_COLUMNS, services.UNIT_DAY_JOINS, [unit, day]


def _unit_and_day_row(request: HttpRequest, payload: "ReportIn") -> tuple[Any, Any]:
    if getattr(request, "_report_read", None) == (payload.unit, payload.date):
        return services.unit_day_from(request.auth, payload.date)
    return services.unit_for_report(payload.unit, payload.date)


@router.post("/daily-reports", response={201: ReportOut, 200: ReportOut}, auth=SubmitterToken())
def report_submit(request: HttpRequest, payload: ReportIn) -> Any:
    """Submit a zero report or items. The same report again answers 200 with the first;
    a correction (different content) needs a reason and answers 201 with the new version."""
    unit, day_row = _unit_and_day_row(request, payload)
    if unit is None:
        raise Http404
    if not access.unit_visible(request.user, unit):
        # The rule for reports: a unit outside your subtree is a 403, not a 404.
        raise PermissionDenied(_("This unit is outside the units you can see."))
    report = services.report_submit(
        by=request.user,
        unit=unit,
        day=payload.date,
        zero=payload.zero,
        items=[i.dict() for i in payload.items],
        reason=payload.reason,
        day_row=day_row,
    )
    created = not getattr(report, "repeated", False)  # a second tap returns the first
    return _answer(request, report, 201 if created else 200)


def _answer(request: HttpRequest, report: DailyReport, status: int) -> HttpResponse:
    # ReportOut's fields, rendered as ninja renders them, without validating the dict
    # this module built against the schema on every call (an eighth of the busiest
    # endpoint's CPU, bench/reports_submit.py); the tests validate it instead.
    content = _JSON.render(request, _out(report), response_status=status)
    return HttpResponse(content, status=status, content_type=_JSON_TYPE)


_JSON = JSONRenderer()  # the API's (NinjaAPI's default)
_JSON_TYPE = f"{_JSON.media_type}; charset={_JSON.charset}"


def first_reports_first(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wraps ninja's view of /daily-reports (api/urls.py): on PostgreSQL, a POST that is
    a unit's first report of the day is submitted and answered here, token to receipt
    in one statement (services.report_submit_direct), before ninja's machinery, which
    costs about as much again; everything else (the statement wrote nothing) goes to
    ninja's view as if this were not here: report_submit above, its checks, its errors.
    The body is read and validated as ninja would (json.loads, then ReportIn); the token
    as ninja's HttpBearer reads it."""

    @functools.wraps(view)  # its csrf_exempt too
    def shortcut(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and connection.vendor == "postgresql":
            report = _first_report(request)
            if report is not None:
                request.user = report.submitted_by
                return _answer(request, report, 201)
        return view(request, *args, **kwargs)

    return shortcut


def _first_report(request: HttpRequest) -> DailyReport | None:
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        payload = ReportIn.model_validate(json.loads(request.body))
    except (ValueError, RecursionError, RawPostDataException):
        return None  # ninja's view answers: 401 first if the token is wrong
    return services.report_submit_direct(
        key_hash=token_digest(token),
        noted_before=timezone.now() - USE_NOTED_EVERY,
        unit_id=payload.unit,
        day=payload.date,
        zero=payload.zero,
        items=[i.dict() for i in payload.items],
        reason=payload.reason,
        ip=client_ip(request),
    )


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
    return selectors.trend(target, query.start, query.end)


@router.get("/daily-reports/{report_id}/versions", response=list[ReportOut])
def report_versions(request: HttpRequest, report_id: int) -> Any:
    report = selectors.reports_visible(request.user).filter(pk=report_id).first()
    if report is None:
        raise Http404
    versions = DailyReport.objects.filter(unit=report.unit_id, date=report.date)
    return [_out(r) for r in versions.order_by("version")]
