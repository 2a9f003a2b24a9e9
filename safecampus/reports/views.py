"""Daily report pages: today's reports, the bureau's status view, a unit's calendar,
the ranking, the register (台账) export, schedules and exemptions."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.lib import xlsx
from safecampus.orgs import access
from safecampus.orgs.forms import apply_errors
from safecampus.orgs.models import Unit, UnitKind

from . import selectors, services
from .forms import (
    DayForm,
    ExemptionForm,
    ItemFormSet,
    PeriodForm,
    ReportForm,
    ScheduleEditForm,
    ScheduleForm,
    items_of,
)
from .models import DailyReport, Level, ReportExemption, ReportSchedule, ReportStatus, Status

# Columns of the status table, in the order a reader scans them.
STATUS_ORDER = [Status.ON_TIME, Status.LATE, Status.MISSING, Status.EXEMPT, Status.NOT_DUE]
# The register is an office document: its words are fixed Chinese.
LEDGER_STATUS = {
    Status.NOT_DUE: "未到时限",
    Status.ON_TIME: "按时",
    Status.LATE: "迟报",
    Status.MISSING: "漏报",
    Status.EXEMPT: "免报",
}


def _day(value: str | None, default: dt.date) -> dt.date:
    try:
        return parse_date(value or "") or default
    except ValueError:
        return default


def _unit_param(request: HttpRequest) -> Unit:
    """The ?unit= of a page, or the top of what the user sees."""
    pk = request.GET.get("unit")
    if pk:
        return access.unit_or_404(request.user, pk)
    unit = access.root_units(request.user).order_by("path").first()
    if unit is None:
        raise Http404
    return unit


# --- Today -------------------------------------------------------------------------


def _count_row(c: selectors.Counts) -> dict[str, Any]:
    return {
        "unit": c.unit,
        "own": c.own,
        "own_label": Status(c.own).label if c.own else "",
        "counts": [c.counts.get(s, 0) for s in STATUS_ORDER],
        "total": c.total,
    }


@dataclass
class UnitToday:
    unit: Unit
    status: ReportStatus | None
    versions: list[DailyReport] = field(default_factory=list)
    children: list[dict[str, Any]] = field(default_factory=list)
    day: dt.date | None = None  # the day it reports for (yesterday's evening report)
    due_text: str = ""

    @property
    def latest(self) -> DailyReport | None:
        return self.versions[0] if self.versions else None


def _my_units(user: Any) -> list[Unit]:
    """Units the user reports for: where they hold a reporting role."""
    return list(access.reporting_units(user).order_by("path"))


def _today_rows(user: Any, units: list[Unit], day: dt.date) -> list[UnitToday]:
    """Each unit's reporting day: today, or yesterday while yesterday's deadline (after
    midnight: an evening report) has not passed and it has not reported."""
    yesterday = day - dt.timedelta(days=1)
    statuses = {s.unit_id: s for s in ReportStatus.objects.filter(unit__in=units, date=day)}
    statuses.update(
        (s.unit_id, s)
        for s in ReportStatus.objects.filter(
            unit__in=units, date=yesterday, status=Status.NOT_DUE, due_at__gt=timezone.now()
        )
    )
    versions: dict[tuple[int, dt.date], list[DailyReport]] = {}
    for report in DailyReport.objects.filter(
        unit__in=units, date__in=[yesterday, day]
    ).select_related("submitted_by"):
        versions.setdefault((report.unit_id, report.date), []).append(report)
    rows = []
    for unit in units:
        status = statuses.get(unit.pk)
        unit_day = status.date if status else day
        row = UnitToday(unit, status, versions.get((unit.pk, unit_day), []), day=unit_day)
        if status is not None:
            row.due_text = services.due_text(status.due_at, unit_day)
        if unit.numchild:
            # Which units below have reported, before this one reports.
            row.children = [_count_row(c) for c in selectors.day_counts(user, unit, unit_day)[1]]
        rows.append(row)
    return rows


@login_required
def today(request: HttpRequest) -> HttpResponse:
    day = timezone.localdate()
    units = _my_units(request.user)
    return render(
        request,
        "reports/today.html",
        {"day": day, "rows": _today_rows(request.user, units, day)},
    )


def _receipt_message(report: DailyReport) -> str:
    return _("Received at %(time)s. Receipt no. %(seq)s · %(hash)s") % {
        "time": timezone.localtime(report.submitted_at).strftime("%H:%M:%S"),
        "seq": report.audit_seq,
        "hash": report.audit_hash[:12],
    }


@login_required
@require_POST
def zero(request: HttpRequest, pk: int) -> HttpResponse:
    """One tap: 今日平安无事. A second tap returns the report already made."""
    unit = access.unit_or_404(request.user, pk)
    access.require(services.can_report(request.user, unit))
    day = _day(request.POST.get("date"), timezone.localdate())
    try:
        report = services.report_submit(by=request.user, unit=unit, day=day, zero=True)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _receipt_message(report))
    return redirect(reverse("reports:today") + f"#unit-{unit.pk}")


@login_required
def report_form(request: HttpRequest, pk: int) -> HttpResponse:
    """A report with items; when the day's report exists, a correction (new version)."""
    unit = access.unit_or_404(request.user, pk)
    access.require(services.can_report(request.user, unit))
    day = _day(request.GET.get("date"), timezone.localdate())
    latest = DailyReport.objects.filter(unit=unit, date=day).order_by("-version").first()
    initial_items = (latest.items if latest else []) or []
    data = request.POST if request.method == "POST" else None
    form = ReportForm(
        data, correcting=latest is not None, initial={"zero": latest.zero if latest else False}
    )
    formset = ItemFormSet(
        data,
        prefix="items",
        initial=[{"what": i.get("what"), "measures": i.get("measures")} for i in initial_items],
    )
    if data is not None and form.is_valid() and formset.is_valid():
        try:
            report = services.report_submit(
                by=request.user,
                unit=unit,
                day=day,
                zero=form.cleaned_data["zero"],
                items=[] if form.cleaned_data["zero"] else items_of(formset),
                reason=form.cleaned_data.get("reason", ""),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _receipt_message(report))
            return redirect(reverse("reports:today") + f"#unit-{unit.pk}")
    return render(
        request,
        "reports/report_form.html",
        {"unit": unit, "day": day, "form": form, "formset": formset, "latest": latest},
    )


# --- The bureau's view -----------------------------------------------------------------


@login_required
def status(request: HttpRequest) -> HttpResponse:
    unit = _unit_param(request)
    form = DayForm(request.GET)
    day = (form.is_valid() and form.cleaned_data["date"]) or timezone.localdate()
    top, children = selectors.day_counts(request.user, unit, day)
    by_level = top.by_level
    parent = (
        Unit.objects.filter(path=unit.path[: -Unit.steplen]).first() if unit.depth > 1 else None
    )
    return render(
        request,
        "reports/status.html",
        {
            "unit": unit,
            "parent": parent if parent and access.unit_visible(request.user, parent) else None,
            "day": day,
            "top": _count_row(top),
            "children": [_count_row(c) for c in children],
            "headers": [s.label for s in STATUS_ORDER],
            "cards": [(s.value, s.label, top.counts.get(s, 0)) for s in STATUS_ORDER],
            # What the cards and the children's columns count: the units of one level.
            "level_label": Level(top.level).label if top.level else "",
            "level_total": top.total,
            # Each level in the unit's subtree on its own row, the unit's own report
            # included (the groups' and the bureau's compiled reports apart from the
            # schools').
            "levels": [
                {
                    "level": level,
                    "label": Level(level).label,
                    "total": sum(by_level[level].values()),
                    "counts": [by_level[level].get(s, 0) for s in STATUS_ORDER],
                }
                for level in selectors.MAIN_LEVELS
                if level in by_level
            ],
            "can_chase": access.can_chase(request.user, unit),
        },
    )


@login_required
@require_POST
def chase(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_chase(request.user, unit))
    day = _day(request.POST.get("date"), timezone.localdate())
    count = services.report_chase(by=request.user, unit=unit, day=day)
    messages.success(request, _("Chased %(n)d units that have not reported.") % {"n": count})
    return redirect(reverse("reports:status") + f"?unit={unit.pk}&date={day.isoformat()}")


@login_required
def calendar(request: HttpRequest, pk: int) -> HttpResponse:
    """The last 90 days of a unit, one cell a day, coloured by status."""
    unit = access.unit_or_404(request.user, pk)
    end = timezone.localdate()
    by_date = {row.date: row for row in selectors.unit_calendar(unit, end)}
    start = end - dt.timedelta(days=89)
    first = start - dt.timedelta(days=start.weekday())  # the Monday of the first week
    weeks = []
    for w in range((end - first).days // 7 + 1):
        week = []
        for d in range(7):
            day = first + dt.timedelta(days=7 * w + d)
            row = by_date.get(day)
            week.append(
                {
                    "date": day,
                    "in_range": start <= day <= end,
                    "status": row.status if row else "none",
                    "label": row.get_status_display() if row else _("No report due"),
                }
            )
        weeks.append(week)
    legend = [(s.value, s.label) for s in STATUS_ORDER]
    return render(
        request,
        "reports/calendar.html",
        {"unit": unit, "weeks": weeks, "start": start, "end": end, "legend": legend},
    )


@login_required
def ranking(request: HttpRequest) -> HttpResponse:
    unit = _unit_param(request)
    end = timezone.localdate()
    form = PeriodForm(request.GET, default_start=end - dt.timedelta(days=29), default_end=end)
    start, end = form.period()
    rows = selectors.ranking(request.user, unit, start, end)
    return render(
        request,
        "reports/ranking.html",
        {"unit": unit, "rows": rows, "start": start, "end": end, "form": form},
    )


def _ledger_content(report: DailyReport | None) -> str:
    if report is None:
        return ""
    if report.zero:
        return "零报告（平安无事）"
    return "；".join(
        f"{n}. {i['what']}" + (f"（措施：{i['measures']}）" if i.get("measures") else "")
        for n, i in enumerate(report.items, start=1)
    )


@login_required
def register(request: HttpRequest) -> HttpResponse:
    """The register (台账) of a period and subtree, as an Excel ledger."""
    unit = _unit_param(request)
    end = timezone.localdate()
    form = PeriodForm(request.GET, default_start=end.replace(day=1), default_end=end)
    if not form.is_valid():
        return HttpResponse(" ".join(form.non_field_errors()), status=400)
    start, end = form.period()
    rows = (
        [
            s.date.isoformat(),
            s.unit.name,
            LEDGER_STATUS.get(s.status, s.status),
            timezone.localtime(s.report.submitted_at).strftime("%Y-%m-%d %H:%M")
            if s.report
            else "",
            s.report.submitted_by.name if s.report else "",
            _ledger_content(s.report),
            s.report.version if s.report else "",
        ]
        for s in selectors.register(request.user, unit, start, end).iterator(chunk_size=2000)
    )
    wb = xlsx.new_workbook()
    xlsx.write_ledger(
        wb.create_sheet("日报台账"),
        title=f"{unit.name} 日报台账 {start.isoformat()} 至 {end.isoformat()}",
        meta=[
            ("填报单位", unit.name),
            ("填报人", request.user.name),
            ("填报日期", timezone.localdate().isoformat()),
        ],
        columns=[
            xlsx.Column("日期", 12),
            xlsx.Column("单位", 22),
            xlsx.Column("状态", 10),
            xlsx.Column("上报时间", 18),
            xlsx.Column("上报人", 10),
            xlsx.Column("零报告/事项", 40),
            xlsx.Column("版本", 6),
        ],
        rows=rows,
    )
    response = HttpResponse(xlsx.to_bytes(wb), content_type=xlsx.XLSX_MIME)
    filename = f"daily-reports-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


# --- Schedules and exemptions ---------------------------------------------------------


def _schedule_roots(user: Any) -> Any:
    """Units a schedule may cover: units the user manages, and the bureaus and groups
    under them."""
    paths = access.business_paths(user)
    top_kinds = [UnitKind.BUREAU, UnitKind.GROUP]
    qs = Unit.objects.filter(archived_at__isnull=True)
    if not paths:
        return qs.none()
    under = Q(pk__in=[])
    for path in paths:
        under |= access.subtree(path)
    return qs.filter(Q(path__in=paths) | (under & Q(kind__in=top_kinds))).order_by("path")


@login_required
def schedules(request: HttpRequest) -> HttpResponse:
    roots = _schedule_roots(request.user)
    can_create = roots.exists()
    form = ScheduleForm(request.POST or None, roots=roots) if can_create else None
    if request.method == "POST":
        access.require(can_create)
        if form.is_valid():
            data = form.cleaned_data
            try:
                schedule = services.schedule_create(by=request.user, **data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _schedule_added(schedule))
                return redirect("reports:schedules")
    return render(
        request,
        "reports/schedules.html",
        {"schedules": selectors.schedules_visible(request.user), "form": form},
    )


def _schedule_added(schedule: ReportSchedule) -> str:
    message = _("Schedule %(name)s added.") % {"name": schedule.name}
    above = selectors.schedule_takes_over_from(schedule)
    if above:
        message += " " + _(
            "While both run, it decides for the units under %(unit)s instead of %(others)s "
            "(the nearest schedule wins)."
        ) % {"unit": schedule.root.name, "others": "、".join(f"“{s.name}”" for s in above)}
    return message


@login_required
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a schedule: from its next reporting day on (the days open keep theirs)."""
    visible = ReportSchedule.objects.filter(access.visible_q(request.user, "root__path"))
    schedule = get_object_or_404(visible.select_related("root"), pk=pk)
    access.require(access.can_edit_schedules(request.user, schedule.root))
    form = ScheduleEditForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        try:
            services.schedule_update(by=request.user, schedule=schedule, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Schedule %(name)s changed. The change applies from its next reporting day.")
                % {"name": form.cleaned_data["name"]},
            )
            return redirect("reports:schedules")
    return render(request, "reports/schedule_edit.html", {"schedule": schedule, "form": form})


@login_required
def exemptions(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_exempt(request.user, unit))
    form = ExemptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.exemption_set(
                by=request.user,
                unit=unit,
                day=form.cleaned_data["date"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Exemption saved."))
            return redirect("reports:exemptions", pk=unit.pk)
    rows = ReportExemption.objects.filter(unit=unit).select_related("created_by").order_by("-date")
    return render(
        request, "reports/exemptions.html", {"unit": unit, "form": form, "exemptions": rows[:60]}
    )
