"""Routine check pages: today's checklist of the user's units (one tap to add), a unit's
checklist of a day, recording a check, the level above's view (done / short / missed per
child, the days before), the chase, and a bureau's settings of the kinds."""

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.orgs import access
from safecampus.orgs.forms import apply_errors
from safecampus.orgs.models import Unit

from . import selectors, services
from .forms import KindForm, RecordForm
from .models import ROUTINE_UNIT_KINDS, Code, RoutineRecord


def _day(value: str | None) -> dt.date:
    try:
        return parse_date(value or "") or timezone.localdate()
    except ValueError:
        return timezone.localdate()


def hazard_link(record: RoutineRecord) -> str:
    """The hazard form prefilled from a fire patrol or check that found something."""
    found = [
        str(label)
        for failed, label in (
            (record.exits_clear is False, _("exits or stairways blocked")),
            (record.extinguishers_ok is False, _("extinguishers missing")),
            (record.hazards_found, _("hazards found")),
        )
        if failed
    ]
    text = f"{record.get_code_display()}: {'; '.join(found)}. {record.note}".strip()
    query = urlencode({"unit": record.unit_id, "category": "fire", "description": text})
    return f"{reverse('hazards:new')}?{query}"


def _render_lists(request: HttpRequest, lists: list, day: dt.date, **extra: Any) -> HttpResponse:
    today = timezone.localdate()
    for checklist in lists:
        checklist.may_record = day == today and access.can_record_routine(
            request.user, checklist.unit
        )
        for item in checklist.items:
            for r in item.records:
                r.hazard_link = hazard_link(r) if r.failed else ""
    context = {"lists": lists, "day": day, "today": today, "codes": Code, **extra}
    return render(request, "routines/checklist.html", context)


@login_required
def checklist(request: HttpRequest) -> HttpResponse:
    """Today's checks of each school the user holds a role in."""
    units = [
        u
        for u in access.routine_units(request.user).order_by("path")
        if u.kind in ROUTINE_UNIT_KINDS
    ]
    day = timezone.localdate()
    lists = selectors.checklists(units, day)
    return _render_lists(request, lists, day, mine=True, edits_kinds=bool(_bureaus(request.user)))


def _unit(request: HttpRequest, pk: int) -> Unit:
    unit = access.unit_or_404(request.user, pk)
    if unit.kind not in ROUTINE_UNIT_KINDS or not access.can_see_routines(request.user, unit):
        raise Http404
    return unit


@login_required
def unit_day(request: HttpRequest, pk: int) -> HttpResponse:
    """A school's checks of a day (?date=), with what was recorded."""
    unit = _unit(request, pk)
    day = _day(request.GET.get("date"))
    return _render_lists(request, selectors.checklists([unit], day), day, mine=False)


@login_required
def record_new(request: HttpRequest, pk: int, code: str) -> HttpResponse:
    unit = _unit(request, pk)
    if code not in Code.values:
        raise Http404
    access.require(access.can_record_routine(request.user, unit))
    form = RecordForm(request.POST if request.method == "POST" else None, code=code)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        at = data.pop("at")
        if at is not None:
            data["at"] = dt.datetime.combine(
                timezone.localdate(), at, tzinfo=timezone.get_current_timezone()
            )
        try:
            record = services.routine_record(by=request.user, unit=unit, code=code, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Recorded: %(kind)s.") % {"kind": Code(code).label})
            if record.underweight:
                messages.warning(
                    request,
                    _("%(g)d g is under the least weight of a sample: keep more of this dish.")
                    % {"g": record.grams},
                )
            return redirect("routines:unit", pk=unit.pk)
    return render(
        request,
        "routines/record_form.html",
        {"unit": unit, "code": code, "label": Code(code).label, "form": form},
    )


def _unit_param(request: HttpRequest) -> Unit:
    pk = request.GET.get("unit")
    unit = (
        access.unit_or_404(request.user, pk)
        if pk
        else access.root_units(request.user).order_by("path").first()
    )
    if unit is None or not access.can_see_routines(request.user, unit):
        raise Http404
    return unit


@login_required
def status(request: HttpRequest) -> HttpResponse:
    """The level above: per child, over its subtree, done / short / missed and the days before."""
    unit = _unit_param(request)
    day = _day(request.GET.get("date"))
    parent = (
        Unit.objects.filter(path=unit.path[: -Unit.steplen]).first() if unit.depth > 1 else None
    )
    return render(
        request,
        "routines/status.html",
        {
            "s": selectors.status(unit, day),
            "parent": parent if parent and access.unit_visible(request.user, parent) else None,
            "keeps": unit.kind in ROUTINE_UNIT_KINDS,
            "can_chase": day == timezone.localdate()
            and access.can_chase_routines(request.user, unit),
        },
    )


@login_required
@require_POST
def chase(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    day = timezone.localdate()
    count = services.routines_chase(by=request.user, unit=unit, day=day)
    messages.success(request, _("Reminded %(n)d units short of today's checks.") % {"n": count})
    return redirect(reverse("routines:status") + f"?unit={unit.pk}")


def _bureaus(user: Any) -> list[Unit]:
    roots = access.root_units(user).filter(depth=1).order_by("path")
    return [u for u in roots if access.can_edit_routine_kinds(user, u)]


@login_required
def kinds(request: HttpRequest) -> HttpResponse:
    """A bureau's settings of each kind: count, period, who keeps it, reminder time."""
    bureaus = _bureaus(request.user)
    if not bureaus:
        raise Http404
    chosen = request.POST.get("bureau") or request.GET.get("bureau")
    bureau = next((b for b in bureaus if str(b.pk) == chosen), bureaus[0])
    current = {k.code: k for k in selectors.kinds_for(bureau)}
    forms = {
        code: KindForm(
            request.POST if request.POST.get("code") == code else None,
            prefix=code,
            initial=vars(kind),
        )
        for code, kind in current.items()
    }
    code = request.POST.get("code", "")
    if request.method == "POST" and code in forms and forms[code].is_valid():
        try:
            services.kind_set(by=request.user, bureau=bureau, code=code, **forms[code].cleaned_data)
        except ValidationError as exc:
            apply_errors(forms[code], exc)
        else:
            messages.success(request, _("Saved: %(kind)s.") % {"kind": Code(code).label})
            return redirect("routines:kinds")
    rows = [(current[c], forms[c]) for c in current]
    return render(request, "routines/kinds.html", {"bureau": bureau, "rows": rows})
