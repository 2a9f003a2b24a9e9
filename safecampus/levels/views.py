"""Alert-level pages: the levels over my units and what they still have to confirm; issuing an
order; an order's progress (live) with the units that have not confirmed and the chase; a
unit's checklist of an order (acknowledge, confirm each measure); a bureau's measures."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.orgs import access
from safecampus.orgs.forms import apply_errors
from safecampus.orgs.models import Unit, UnitKind

from . import selectors, services
from .forms import MeasuresForm, OrderForm
from .models import AlertOrder, Level, OrderMeasure, OrderUnit


def _order(request: HttpRequest, pk: int) -> AlertOrder:
    order = selectors.orders_visible(request.user).filter(pk=pk).first()
    if order is None:
        raise Http404
    return order


def _issuing_units(user: Any) -> Any:
    return access.units_run(user).exclude(kind=UnitKind.DEPARTMENT).order_by("path")


def _bureaus(user: Any) -> list[Unit]:
    return [u for u in access.units_run(user) if access.can_edit_alert_measures(user, u)]


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    now = timezone.now()
    mine = [
        (unit, selectors.effective_level(unit, now))
        for unit in access.alert_units(user).order_by("path")[:10]
    ]
    issued = (
        selectors.orders_visible(user)
        .annotate(done=Count("units", filter=Q(units__done_at__isnull=False)))
        .order_by("-issued_at")[:30]
    )
    context = {
        "mine": mine,
        "todo": selectors.my_order_units(user, now),
        "orders": issued,
        "now": now,
        "may_issue": _issuing_units(user).exists(),
        "edits_measures": bool(_bureaus(user)),
    }
    return render(request, "levels/index.html", context)


@login_required
def order_new(request: HttpRequest) -> HttpResponse:
    units = _issuing_units(request.user)
    if not units.exists():
        raise Http404
    form = OrderForm(request.POST or None, units=units)
    if request.method == "GET":
        form = OrderForm(units=units, initial={"unit": units.first(), "level": Level.ENHANCED})
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_issue(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The order is out: %(n)d units are asked to confirm its measures.")
                % {"n": order.units_total},
            )
            return redirect("levels:order", order.pk)
    return render(request, "levels/order_new.html", {"form": form})


def _progress_context(request: HttpRequest, order: AlertOrder) -> dict[str, Any]:
    issuer = access.can_issue_alert_order(request.user, order.unit)
    return {
        "order": order,
        "progress": selectors.progress(order),
        "pending": selectors.pending_units(order, after=request.GET.get("after", "")[:255])
        if issuer
        else [],
        "issuer": issuer,
        "live": order.in_force(timezone.now()) or order.starts_at > timezone.now(),
    }


@login_required
def order(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    mine = list(
        OrderUnit.objects.filter(order=order, unit__in=access.alert_units(request.user))
        .select_related("unit")
        .order_by("path")
    )
    context = _progress_context(request, order)
    context.update({"mine": mine, "measures": order.measures.all()})
    return render(request, "levels/order.html", context)


@login_required
def order_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of the order's page (HTMX polls it)."""
    order = _order(request, pk)
    return render(request, "levels/order.html#progress", _progress_context(request, order))


@login_required
@require_POST
def order_chase(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    try:
        n = services.order_chase(by=request.user, order=order)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Reminded %(n)d units.") % {"n": n})
    return redirect("levels:order", order.pk)


@login_required
@require_POST
def order_end(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    try:
        services.order_end(by=request.user, order=order)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The order has ended."))
    return redirect("levels:order", order.pk)


def _order_unit(request: HttpRequest, pk: int, unit_id: int) -> OrderUnit:
    order = _order(request, pk)
    row = (
        OrderUnit.objects.filter(order=order, unit_id=unit_id)
        .select_related("unit", "order", "order__unit")
        .first()
    )
    if row is None or not access.unit_visible(request.user, row.unit):
        raise Http404
    return row


def _unit_context(request: HttpRequest, row: OrderUnit, **extra: Any) -> dict[str, Any]:
    now = timezone.now()
    return {
        "row": row,
        "order": row.order,
        "rows": selectors.measures_with_confirmations(row),
        "may_confirm": access.can_confirm_alert_measures(request.user, row.unit)
        and (row.order.in_force(now) or row.order.starts_at > now),
        "gaps": services.duty_gaps(row, now),
        **extra,
    }


@login_required
def order_unit(request: HttpRequest, pk: int, unit_id: int) -> HttpResponse:
    row = _order_unit(request, pk, unit_id)
    return render(request, "levels/order_unit.html", _unit_context(request, row))


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int, unit_id: int) -> HttpResponse:
    row = _order_unit(request, pk, unit_id)
    try:
        services.order_acknowledge(by=request.user, order_unit=row)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("levels:unit", pk, unit_id)


@login_required
@require_POST
def confirm(request: HttpRequest, pk: int, unit_id: int, measure_id: int) -> HttpResponse:
    row = _order_unit(request, pk, unit_id)
    measure = get_object_or_404(OrderMeasure, pk=measure_id, order=row.order)
    error = ""
    try:
        services.measure_confirm(
            by=request.user,
            order_unit=row,
            measure=measure,
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("levels:unit", pk, unit_id)
    row.refresh_from_db()
    context = _unit_context(request, row, error_for=measure.pk, error=error)
    return render(request, "levels/order_unit.html#checklist", context)


@login_required
def measures(request: HttpRequest) -> HttpResponse:
    """A bureau's lists of measures for levels 2 and 1 (its future orders use them)."""
    bureaus = _bureaus(request.user)
    if not bureaus:
        raise Http404
    bureau = bureaus[0]
    forms = {}
    for level in (Level.ENHANCED, Level.EXTRAORDINARY):
        lines = "\n".join(m.text for m in services.measures_of(bureau, level))
        forms[level] = MeasuresForm(prefix=f"l{level}", initial={"lines": lines})
    if request.method == "POST":
        level = int(request.POST.get("level", 0) or 0)
        if level not in forms:
            raise Http404
        form = MeasuresForm(request.POST, prefix=f"l{level}")
        forms[level] = form
        if form.is_valid():
            try:
                services.measures_edit(
                    by=request.user,
                    bureau=bureau,
                    level=level,
                    lines=form.cleaned_data["lines"].splitlines(),
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Saved: orders issued from now on use this list."))
                return redirect("levels:measures")
    rows = [(Level(level), form) for level, form in forms.items()]
    return render(request, "levels/measures.html", {"bureau": bureau, "rows": rows})
