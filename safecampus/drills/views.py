"""Drill pages: my units' drills and plan against what was done (the level above: who is
behind), a unit's page, recording a drill on a phone, one drill (its problems, each one tap to
the hazard ledger; its photos; its roll call), the roll call the head teachers count, a unit's
plan of a year, and the photos (never under a public URL)."""

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.incidents import selectors as incident_selectors
from safecampus.incidents import services as incidents
from safecampus.incidents.forms import ClassCountForm
from safecampus.incidents.models import RollCallCount
from safecampus.orgs import access
from safecampus.orgs.forms import apply_errors
from safecampus.orgs.models import Unit

from . import selectors, services
from .forms import DrillForm, PhotosForm, PlanForm
from .models import Drill, DrillPlan, DrillProblem, Kind


def _year(request: HttpRequest) -> int:
    today = timezone.localdate()
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        return today.year
    return year if services.EARLIEST_YEAR <= year <= today.year + 1 else today.year


def as_at(year: int) -> dt.date:
    """The day a year's progress is counted to: today in this year, its last day before."""
    today = timezone.localdate()
    if year == today.year:
        return today
    return dt.date(year, 12, 31) if year < today.year else dt.date(year, 1, 1)


def _years(year: int) -> list[int]:
    this = timezone.localdate().year
    return [y for y in (this - 1, this, this + 1) if y != year]


def _drill_unit(request: HttpRequest, pk: Any) -> Unit:
    unit = access.unit_or_404(request.user, pk)
    if not access.can_see_drills(request.user, unit):
        raise Http404
    return unit


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The schools the user holds a role in: plan against done, the year's drills. The level
    above (a bureau, a group): who is behind over its subtree, worst first."""
    user = request.user
    year = _year(request)
    day = as_at(year)
    mine = selectors.progress(list(access.drill_home_units(user).order_by("path")), day)
    for p in mine:
        p.drills = selectors.drills_of(p.unit, year)
        p.may_plan = access.can_plan_drills(user, p.unit)
    above = [
        u
        for u in access.root_units(user).order_by("path")
        if u.kind not in access.DRILL_UNIT_KINDS and access.can_see_drills(user, u)
    ]
    return render(
        request,
        "drills/index.html",
        {
            "year": year,
            "day": day,
            "years": _years(year),
            "mine": mine,
            "overviews": [selectors.behind(u, day) for u in above],
            "may_record": access.drill_units(user).exists(),
        },
    )


@login_required
def unit_page(request: HttpRequest, pk: int) -> HttpResponse:
    """A school's drills of a year and its plan against them; a group's or a bureau's: who is
    behind under it."""
    unit = _drill_unit(request, pk)
    year = _year(request)
    day = as_at(year)
    parent = (
        Unit.objects.filter(path=unit.path[: -Unit.steplen]).first() if unit.depth > 1 else None
    )
    context: dict[str, Any] = {
        "unit": unit,
        "year": year,
        "day": day,
        "years": _years(year),
        "parent": parent if parent and access.can_see_drills(request.user, parent) else None,
    }
    if unit.kind in access.DRILL_UNIT_KINDS:
        (progress,) = selectors.progress([unit], day)
        progress.drills = selectors.drills_of(unit, year)
        progress.may_plan = access.can_plan_drills(request.user, unit)
        context |= {
            "progress": progress,
            "may_record": access.can_record_drill(request.user, unit),
        }
    else:
        context["overview"] = selectors.behind(unit, day)
    return render(request, "drills/unit.html", context)


@login_required
def drill_new(request: HttpRequest) -> HttpResponse:
    units = access.drill_units(request.user).order_by("path")
    if not units.exists():
        raise Http404
    chosen = request.GET.get("unit")
    initial = {
        "unit": units.filter(pk=chosen).first() if chosen and chosen.isdigit() else None,
        "held_at": timezone.localtime().replace(second=0, microsecond=0),
        "staff": 0,
    }
    if initial["unit"] is None:
        own = access.drill_home_units(request.user).filter(pk__in=units.values("pk"))
        initial["unit"] = own.order_by("path").first() or units.first()
    form = DrillForm(request.POST or None, request.FILES or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["evacuation_seconds"] = data.pop("evacuation_time")
        try:
            drill = services.drill_record(by=request.user, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Drill recorded."))
            return redirect("drills:detail", pk=drill.pk)
    return render(request, "drills/new.html", {"form": form})


def _detail(request: HttpRequest, drill: Drill, **extra: Any) -> HttpResponse:
    user = request.user
    may_record = access.can_record_drill(user, drill.unit)
    roll = drill.roll_call
    context = {
        "drill": drill,
        "problems": list(drill.problems.all()),
        "photos": list(drill.photos.all()),
        "may_record": may_record,
        "state": incident_selectors.roll_call_state(roll) if roll else None,
        "photos_form": PhotosForm() if may_record else None,
        **extra,
    }
    return render(request, "drills/detail.html", context)


@login_required
def drill_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.drill_or_404(request.user, pk))


@login_required
@require_POST
def photos_add(request: HttpRequest, pk: int) -> HttpResponse:
    drill = selectors.drill_or_404(request.user, pk)
    access.require(access.can_record_drill(request.user, drill.unit))
    form = PhotosForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            saved = services.drill_photos_add(
                by=request.user, drill=drill, photos=form.cleaned_data["photos"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(n)d photos added.") % {"n": len(saved)})
            return redirect("drills:detail", pk=drill.pk)
    return _detail(request, drill, photos_form=form)


@login_required
@require_POST
def problem_hazard(request: HttpRequest, pk: int, problem: int) -> HttpResponse:
    """One action: the problem into the hazard ledger (again: the hazard there is)."""
    drill = selectors.drill_or_404(request.user, pk)
    row = get_object_or_404(DrillProblem, pk=problem, drill=drill)
    row.drill = drill
    hazard, created = services.problem_to_hazard(by=request.user, problem=row)
    if request.htmx:
        return render(
            request,
            "drills/_problem.html",
            {"problem": row, "drill": drill, "may_record": True, "just": created},
        )
    if created:
        messages.success(request, _("The problem is in the hazard ledger."))
    return redirect(reverse("drills:detail", args=[drill.pk]) + f"#problem-{row.pk}")


@login_required
@require_POST
def roll_call_start(request: HttpRequest, pk: int) -> HttpResponse:
    drill = selectors.drill_or_404(request.user, pk)
    services.roll_call_start(by=request.user, drill=drill)
    return redirect("drills:roll-call", pk=drill.pk)


@login_required
def roll_call(request: HttpRequest, pk: int) -> HttpResponse:
    """The drill's roll call: a head teacher counts their class; everyone who sees the drill
    sees the live total and the classes not yet counted (refreshed every 10 seconds)."""
    drill = selectors.drill_or_404(request.user, pk)
    roll = drill.roll_call
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
            services.roll_call_close(by=request.user, drill=drill)
            return redirect("drills:roll-call", pk=drill.pk)
        access.require(may_count)
        if form is not None and form.is_valid():
            try:
                incidents.roll_call_count(by=request.user, roll_call=roll, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Count sent."))
                return redirect("drills:roll-call", pk=drill.pk)
    state = incident_selectors.roll_call_state(roll)
    if request.htmx:
        return render(request, "incidents/_roll_call_total.html", {"state": state})
    return render(
        request,
        "drills/roll_call.html",
        {
            "drill": drill,
            "state": state,
            "form": form,
            "may_close": roll.closed_at is None
            and access.can_record_drill(request.user, drill.unit),
        },
    )


@login_required
def plan_choose(request: HttpRequest) -> HttpResponse:
    """The plan of the user's school (one: straight to it), or the schools to choose from."""
    units = list(access.drill_units(request.user).order_by("path")[:500]) or list(
        access.drill_home_units(request.user).order_by("path")
    )
    if len(units) == 1:
        return redirect("drills:plan-unit", pk=units[0].pk)
    return render(request, "drills/plan_choose.html", {"units": units})


@login_required
def plan_unit(request: HttpRequest, pk: int) -> HttpResponse:
    """A school's plan of a year (?year=): how many drills of each kind; the default offered
    while it has none, with what was done so far."""
    unit = _drill_unit(request, pk)
    if unit.kind not in access.DRILL_UNIT_KINDS:
        raise Http404
    year = _year(request)
    may_plan = access.can_plan_drills(request.user, unit)
    saved = dict(DrillPlan.objects.filter(unit=unit, year=year).values_list("kind", "planned"))
    initial = {k: 0 for k in Kind.values} | (saved or selectors.default_plan(unit))
    form = PlanForm(request.POST or None, initial=initial) if may_plan else None
    if request.method == "POST":
        access.require(may_plan)
        if form is not None and form.is_valid():
            try:
                services.plan_set(by=request.user, unit=unit, year=year, counts=form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Drill plan saved."))
                return redirect(reverse("drills:plan-unit", args=[unit.pk]) + f"?year={year}")
    (progress,) = selectors.progress([unit], as_at(year))
    return render(
        request,
        "drills/plan.html",
        {
            "unit": unit,
            "year": year,
            "years": _years(year),
            "form": form,
            "saved": bool(saved),
            "plan": [(str(Kind(k).label), n) for k, n in initial.items() if n],
            "progress": progress,
        },
    )


@login_required
def photo(request: HttpRequest, pk: int, original: bool = False) -> HttpResponse:
    """A drill's photo, to those who may see the drill (never under a public URL)."""
    found = selectors.photo_or_404(request.user, pk)
    file = found.original if original else found.image
    response = FileResponse(
        file.open("rb"), content_type=found.original_type if original else "image/jpeg"
    )
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Disposition"] = "inline"
    return response
