"""Incident pages: report one (the quick report, and the SOS button's page), the list, one
incident with its chain and timeline, and the written, follow-up and final reports."""

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.orgs import access
from safecampus.orgs import selectors as orgs_selectors
from safecampus.orgs.forms import apply_errors
from safecampus.orgs.models import UnitKind

from . import export, selectors, services
from .forms import (
    ClassCountForm,
    FinalReportForm,
    FollowUpForm,
    LimitForm,
    LocalCategoryForm,
    PlanForm,
    QuickReportForm,
    WrittenReportForm,
)
from .models import (
    Category,
    EmergencyPlan,
    Grade,
    Incident,
    IncidentStep,
    Kind,
    LocalCategory,
    RollCall,
    RollCallCount,
    StageLevel,
    State,
)

EMERGENCY_NUMBERS = [
    ("119", _("Fire")),
    ("110", _("Police")),
    ("120", _("Ambulance")),
    ("122", _("Traffic accident")),
]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORTING_KINDS = (UnitKind.BUREAU, UnitKind.GROUP, UnitKind.SCHOOL, UnitKind.KINDERGARTEN)


def _numbers() -> list[tuple[str, str]]:
    return [(n, str(label)) for n, label in EMERGENCY_NUMBERS]


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", State.OPEN)
    rows = selectors.incidents_list(request.user, state=state)
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "incidents/list.html",
        {"page": page, "state": state, "states": State.choices, "numbers": _numbers()},
    )


@login_required
def incident_new(request: HttpRequest) -> HttpResponse:
    """The quick report: type, place, what happened, people hurt, emergency services called."""
    units, areas = orgs_selectors.report_places(request.user, REPORTING_KINDS)
    own = orgs_selectors.own_unit(request.user)
    if own is not None and request.method != "POST":
        areas = areas.filter(unit=own)
    form = QuickReportForm(request.POST or None, units=units, areas=areas, initial={"unit": own})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = services.incident_report(
                by=request.user,
                unit=data["unit"],
                kind=data["kind"],
                summary=data["summary"],
                place=data["place"],
                area=data["area"],
                injured=data["injured"],
                emergency_called=data["emergency_called"],
                occurred_at=data["occurred_at"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Reported. The unit and the bureau are being called."))
            return redirect("incidents:detail", pk=incident.pk)
    return render(request, "incidents/new.html", {"form": form, "numbers": _numbers()})


SOS_KINDS = (Kind.FIRE, Kind.INJURY, Kind.VIOLENCE, Kind.FOOD_POISONING, Kind.MISSING, Kind.OTHER)


@login_required
def incident_sos(request: HttpRequest) -> HttpResponse:
    """The SOS button's page: one tap on a type reports it at one's own unit (the second
    tap); the details follow on the incident's page. Without a unit of one's own: the
    quick report's form."""
    unit = orgs_selectors.own_unit(request.user)
    if unit is None:
        return redirect("incidents:new")
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        if kind not in SOS_KINDS:
            messages.error(request, _("Choose the type of incident."))
        else:
            incident = services.incident_report(
                by=request.user,
                unit=unit,
                kind=kind,
                summary=_("SOS: reported with the SOS button; details to follow."),
            )
            messages.success(request, _("Reported. The unit and the bureau are being called."))
            return redirect("incidents:detail", pk=incident.pk)
    kinds = [(k.value, k.label) for k in SOS_KINDS]
    return render(
        request, "incidents/sos.html", {"unit": unit, "kinds": kinds, "numbers": _numbers()}
    )


def _detail_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    names = selectors.shows_names(request.user, incident)
    return {
        "incident": incident,
        "names": names,
        "hidden": selectors.HIDDEN,
        "timeline": selectors.timeline(incident),
        "reports": selectors.reports(incident),
        "calls": selectors.calls(incident),
        "stages": list(incident.stages.select_related("unit", "acknowledged_by")),
        "my_call": services.my_call(incident, request.user),
        "handles": access.can_handle_incident(request.user, incident.unit),
        "steps": list(incident.steps.select_related("done_by")),
        "may_tick": incident.state == State.OPEN
        and access.can_tick_incident_step(
            request.user,
            incident.unit,
            called=incident.stages.filter(calls__person_id=request.user.pk).exists(),
        ),
        "plan": services.plan_for(incident.unit, incident.kind),
        "numbers": _numbers(),
        "late_kinds": selectors.LATE_KINDS,
        "category_label": services.category_label(incident),
    }


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_or_404(request.user, pk)
    return render(request, "incidents/detail.html", _detail_context(request, incident))


@login_required
@require_POST
def incident_ack(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_or_404(request.user, pk)
    services.incident_acknowledge_mine(by=request.user, incident=incident)
    messages.success(request, _("Acknowledged."))
    return redirect("incidents:detail", pk=incident.pk)


def _report_page(
    request: HttpRequest, pk: int, form_class: type, action: Any, title: str, testid: str
) -> HttpResponse:
    incident = selectors.incident_or_404(request.user, pk)
    access.require(access.can_handle_incident(request.user, incident.unit))
    initial = {"grade": incident.grade, "category": incident.category}
    extra = (
        {"categories": services.categories_for(incident.unit)}
        if form_class is WrittenReportForm
        else {}
    )
    form = form_class(request.POST or None, initial=initial, **extra)
    if request.method == "POST" and form.is_valid():
        try:
            action(by=request.user, incident=incident, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Report saved."))
            return redirect("incidents:detail", pk=incident.pk)
    return render(
        request,
        "incidents/report_form.html",
        {"incident": incident, "form": form, "title": title, "testid": testid},
    )


@login_required
def incident_written(request: HttpRequest, pk: int) -> HttpResponse:
    return _report_page(
        request, pk, WrittenReportForm, services.incident_write, _("Written report"), "written"
    )


@login_required
def incident_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    return _report_page(
        request, pk, FollowUpForm, services.incident_follow_up, _("Follow-up report"), "follow-up"
    )


@login_required
def incident_final(request: HttpRequest, pk: int) -> HttpResponse:
    return _report_page(
        request, pk, FinalReportForm, services.incident_close, _("Final report"), "final"
    )


@login_required
@require_POST
def incident_step(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    incident = selectors.incident_or_404(request.user, pk)
    step = get_object_or_404(IncidentStep, pk=step_id, incident=incident)
    try:
        services.step_done(by=request.user, step=step)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(f"{reverse('incidents:detail', args=[incident.pk])}#steps")


@login_required
def plans(request: HttpRequest, unit_id: int) -> HttpResponse:
    """The unit's emergency plans: one a type, its own copy or the one it follows."""
    unit = access.unit_or_404(request.user, unit_id)
    own = set(EmergencyPlan.objects.filter(unit=unit).values_list("kind", flat=True))
    rows = [
        {"kind": k, "label": label, "plan": services.plan_for(unit, k), "own": k in own}
        for k, label in Kind.choices
    ]
    return render(
        request,
        "incidents/plans.html",
        {
            "unit": unit,
            "rows": rows,
            "may_edit": access.can_edit_emergency_plans(request.user, unit),
        },
    )


@login_required
def plan_edit(request: HttpRequest, unit_id: int, kind: str) -> HttpResponse:
    unit = access.unit_or_404(request.user, unit_id)
    if kind not in Kind.values:
        raise Http404
    access.require(access.can_edit_emergency_plans(request.user, unit))
    plan = services.plan_for(unit, kind)
    initial = {
        "title": plan.title,
        "roles": plan.roles,
        "steps": "\n".join(plan.steps),
        "contacts": plan.contacts,
        "supplies": plan.supplies,
    }
    form = PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_save(by=request.user, unit=unit, kind=kind, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Plan saved."))
            return redirect("incidents:plans", unit_id=unit.pk)
    return render(
        request,
        "incidents/plan_form.html",
        {"unit": unit, "form": form, "kind_label": Kind(kind).label},
    )


@login_required
def incident_docx(request: HttpRequest, pk: int) -> HttpResponse:
    """The report as the Word document an office submits (those who handle it)."""
    incident = selectors.incident_or_404(request.user, pk)
    access.require(access.can_handle_incident(request.user, incident.unit))
    response = HttpResponse(export.report_docx(incident), content_type=DOCX)
    name = f"incident-{incident.pk}-{timezone.localdate():%Y%m%d}.docx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def register_xlsx(request: HttpRequest) -> HttpResponse:
    """事件登记台账 of a period (?from=YYYY-MM-DD&to=YYYY-MM-DD, default this month) below a
    unit (?under=, default everything the user sees)."""
    today = timezone.localdate()
    start = _day(request.GET.get("from")) or today.replace(day=1)
    end = _day(request.GET.get("to")) or today
    if end < start:
        start, end = end, start
    under = None
    if request.GET.get("under"):
        under = access.unit_or_404(request.user, request.GET["under"])
    rows = selectors.register(
        request.user, under=under, start=_midnight(start), end=_midnight(end + dt.timedelta(days=1))
    )
    title = _("Incident register %(start)s – %(end)s") % {"start": start, "end": end}
    data = export.register_workbook(rows, title=title, by=request.user.name)
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = (
        f'attachment; filename="incidents-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"'
    )
    return response


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_current_timezone())


@login_required
def incident_overview(request: HttpRequest) -> HttpResponse:
    """The bureau's overview (?under=: one unit's subtree; ?month=YYYY-MM)."""
    under = None
    if request.GET.get("under"):
        under = access.unit_or_404(request.user, request.GET["under"])
    today = timezone.localdate()
    month = _day((request.GET.get("month") or "") + "-01") or today.replace(day=1)
    after = (month + dt.timedelta(days=32)).replace(day=1)
    now = timezone.now()
    data = selectors.overview(
        request.user, under=under, month_start=_midnight(month), month_end=_midnight(after), now=now
    )
    categories = dict(Category.choices) | dict(LocalCategory.objects.values_list("code", "name"))
    for row in data["by_category"]:
        row["label"] = categories.get(row["category"], row["category"])
    grades = dict(Grade.choices)
    return render(
        request,
        "incidents/overview.html",
        {
            **data,
            "by_grade": [(grades.get(g, g), row) for g, row in data["by_grade"]],
            "under": under,
            "month": month,
            "now": now,
        },
    )


@login_required
def cross_checks(request: HttpRequest) -> HttpResponse:
    """Incidents against daily reports (?from=&to=, default the last 30 days): zero reports
    for days with an incident, and incidents entered after a zero report."""
    today = timezone.localdate()
    end = _day(request.GET.get("to")) or today
    start = _day(request.GET.get("from")) or end - dt.timedelta(days=30)
    if request.method == "POST":
        incident = selectors.incident_or_404(request.user, request.POST.get("incident"))
        day = timezone.localtime(incident.occurred_at).date()
        found = selectors.cross_checks(request.user, under=None, start=day, end=day)
        mine = next((c for c in found if c.incident.pk == incident.pk), None)
        if mine is None:
            raise Http404
        services.explanation_ask(by=request.user, incident=incident, day=day, kind=mine.kind)
        messages.success(request, _("The unit is asked to explain."))
        return redirect(f"{request.path}?from={start}&to={end}")
    rows = selectors.cross_checks(request.user, under=None, start=start, end=end)
    return render(
        request, "incidents/cross_checks.html", {"rows": rows, "start": start, "end": end}
    )


@login_required
@require_POST
def roll_call_start(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_or_404(request.user, pk)
    services.roll_call_start(by=request.user, incident=incident)
    return redirect("incidents:roll-call", pk=incident.pk)


@login_required
def roll_call(request: HttpRequest, pk: int) -> HttpResponse:
    """The roll call: a head teacher counts their class; everyone who sees the incident sees
    the live total and the classes not yet counted (refreshed every 10 seconds)."""
    incident = selectors.incident_or_404(request.user, pk)
    roll = RollCall.objects.filter(incident=incident).first()
    if roll is None:
        raise Http404
    may_count = roll.closed_at is None and access.can_count_class(request.user, roll.unit)
    mine = RollCallCount.objects.filter(roll_call=roll, person_id=request.user.pk).first()
    initial = (
        {"class_name": mine.class_name, "present": mine.present, "absent": mine.absent}
        if mine
        else {}
    )
    form = ClassCountForm(request.POST or None, initial=initial) if may_count else None
    if request.method == "POST":
        if "close" in request.POST:
            services.roll_call_close(by=request.user, roll_call=roll)
            return redirect("incidents:roll-call", pk=incident.pk)
        access.require(may_count)
        if form is not None and form.is_valid():
            try:
                services.roll_call_count(by=request.user, roll_call=roll, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Count sent."))
                return redirect("incidents:roll-call", pk=incident.pk)
    state = selectors.roll_call_state(roll)
    if request.htmx:
        return render(request, "incidents/_roll_call_total.html", {"state": state})
    return render(
        request,
        "incidents/roll_call.html",
        {
            "incident": incident,
            "state": state,
            "form": form,
            "names": selectors.shows_names(request.user, incident),
            "may_close": roll.closed_at is None
            and access.can_handle_incident(request.user, roll.unit),
        },
    )


@login_required
def limits(request: HttpRequest) -> HttpResponse:
    """The time limits per category, grade and level (a manager of a whole tree changes
    them: ?category=&grade=&level= opens one to edit)."""
    may_edit = access.can_set_incident_limits(request.user)
    table = services.limits_table()
    key = (request.GET.get("category"), request.GET.get("grade"), request.GET.get("level"))
    current = next((r for r in table if (r["category"], r["grade"], r["level"]) == key), None)
    form = None
    if current is not None and may_edit:
        form = LimitForm(request.POST or None, initial=current)
        if request.method == "POST" and form.is_valid():
            try:
                services.limit_set(
                    by=request.user,
                    category=current["category"],
                    grade=current["grade"],
                    level=current["level"],
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Time limits saved."))
                return redirect("incidents:limits")
    elif request.method == "POST":
        access.require(False)
    categories, grades, levels = (
        dict(Category.choices),
        dict(Grade.choices),
        dict(StageLevel.choices),
    )
    for row in table:
        row["labels"] = (categories[row["category"]], grades[row["grade"]], levels[row["level"]])
    return render(
        request,
        "incidents/limits.html",
        {"table": table, "current": current, "form": form, "may_edit": may_edit},
    )


@login_required
def categories(request: HttpRequest, unit_id: int) -> HttpResponse:
    """A bureau's own incident categories, beside the law's: add one, archive one."""
    bureau = access.unit_or_404(request.user, unit_id)
    may_edit = access.can_edit_incident_categories(request.user, bureau)
    form = LocalCategoryForm(request.POST or None) if may_edit else None
    if request.method == "POST":
        access.require(may_edit)
        if "archive" in request.POST:
            category = get_object_or_404(LocalCategory, pk=request.POST["archive"], bureau=bureau)
            services.local_category_archive(by=request.user, category=category)
            return redirect("incidents:categories", unit_id=bureau.pk)
        if form is not None and form.is_valid():
            try:
                services.local_category_add(by=request.user, bureau=bureau, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Category added."))
                return redirect("incidents:categories", unit_id=bureau.pk)
    return render(
        request,
        "incidents/categories.html",
        {
            "bureau": bureau,
            "builtin": Category.choices,
            "own": LocalCategory.objects.filter(bureau=bureau).order_by("archived_at", "name"),
            "form": form,
        },
    )


@login_required
@require_POST
def incident_to_hazard(request: HttpRequest, pk: int) -> HttpResponse:
    """One action: the final report's lesson into the hazard ledger."""
    incident = selectors.incident_or_404(request.user, pk)
    try:
        hazard = services.lesson_to_hazard(by=request.user, incident=incident)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("incidents:detail", pk=incident.pk)
    messages.success(request, _("The lesson is in the hazard ledger."))
    return redirect("hazards:detail", pk=hazard.pk)
