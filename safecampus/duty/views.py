"""Duty pages: my shifts, a unit's roster for a month (its gaps highlighted), planning it,
a shift (its people to call, its log, handover), who is on duty now (a unit, a subtree),
the gaps below a unit, swaps."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.orgs import access
from safecampus.orgs.forms import apply_errors
from safecampus.orgs.models import Person, Unit

from . import selectors, services
from .forms import (
    HandoverForm,
    LogForm,
    MonthForm,
    SettingsForm,
    ShiftForm,
    SlotForm,
    SwapForm,
    TemplateForm,
    month_of,
)
from .models import DayKind, DutySettings, MemberRole, PatternSlot, ShiftTemplate, SwapStatus


def _unit(user: Any, pk: Any) -> Unit:
    unit = access.unit_or_404(user, pk)
    access.require(access.can_see_duty(user, unit))
    return unit


def _top_unit(request: HttpRequest) -> Unit:
    pk = request.GET.get("unit")
    if pk:
        return _unit(request.user, pk)
    unit = access.root_units(request.user).order_by("path").first()
    if unit is None:
        raise Http404
    return unit


@dataclass
class Contact:
    """A person to call: the number as a tel: link when the user may see it (the masking
    rule), masked and not tappable otherwise."""

    person: Any  # a Person, or a selectors.Reachable
    tel: str
    shown: str


def _contacts(user: Any, people: list[Person]) -> dict[int, Contact]:
    """Contacts by person id, for everyone shown: one query whatever their number."""
    prefetch_related_objects(people, "memberships__unit")
    answer = {}
    for p in people:
        full = access.can_see_mobile(user, p)
        tel = (p.mobile or "") if full else ""
        answer[p.pk] = Contact(p, tel, tel or p.mobile_masked)
    return answer


def _calls(user: Any, answer: selectors.OnDuty) -> dict[int, Contact]:
    """Contacts by person id for who is on duty at a unit and its fallback, by the API's
    rule (access.can_call_on_duty): in full for those who run the unit and for one's own
    number, masked for the others."""
    full = access.can_call_on_duty(user, answer.unit)
    calls = {}
    for p in answer.people + answer.fallback:
        tel = p.mobile if full or p.pk == getattr(user, "pk", None) else ""
        calls[p.pk] = Contact(p, tel, tel or p.mobile_masked)
    return calls


# --- My shifts, a unit's roster ------------------------------------------------------------


@login_required
def my_shifts(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return render(
        request,
        "duty/mine.html",
        {
            "shifts": selectors.my_shifts(request.user, start=now),
            "swaps": selectors.swaps_waiting(request.user),
            "units": selectors.duty_units(request.user),
            "spot_units": {
                u.pk
                for u in selectors.duty_units(request.user)
                if access.can_see_spot_checks(request.user, u)
            },
            "can_subscribe": access.can_subscribe_shifts(request.user),
            "now": now,
        },
    )


@login_required
def roster(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit(request.user, pk)
    month = month_of(request.GET.get("month"), timezone.localdate())
    days, gaps = selectors.roster(unit, month)
    first, last = services.month_bounds(month)
    not_taken = selectors.not_taken_over(
        unit, since=services._at(first, dt.time(0)), now=timezone.now()
    )
    phone = services.duty_phone(unit)
    return render(
        request,
        "duty/roster.html",
        {
            "unit": unit,
            "month": month,
            "previous": (first - dt.timedelta(days=1)).strftime("%Y-%m"),
            "next": (last + dt.timedelta(days=1)).strftime("%Y-%m"),
            "days": days,
            "gaps": gaps,
            "gap_hours": round(sum(g.seconds for g in gaps) / 3600, 1),
            # The unit's duty phone once, above the table (a tel: link); a column only
            # for shifts with a phone of their own (a phone's width does not fit beside).
            "duty_phone": phone,
            "other_phones": any(s.phone != phone for d in days for s in d.shifts),
            "not_taken": {s.pk for s in not_taken},
            "can_plan": access.can_plan_duty(request.user, unit),
            "can_see_spot_checks": access.can_see_spot_checks(request.user, unit),
            "now": timezone.now(),
        },
    )


# --- Planning -----------------------------------------------------------------------------------


def _pattern_rows(unit: Unit) -> tuple[list[ShiftTemplate], list[dict[str, Any]]]:
    templates = list(ShiftTemplate.objects.filter(unit=unit, archived_at__isnull=True))
    slots = {
        (s.template_id, s.day_kind): s
        for s in PatternSlot.objects.filter(template__unit=unit)
        .select_related("leader")
        .prefetch_related("staff")
    }
    rows = [
        {
            "kind": kind,
            "label": label,
            "cells": [(t, slots.get((t.pk, kind))) for t in templates],
        }
        for kind, label in DayKind.choices
    ]
    return templates, rows


@login_required
def plan(request: HttpRequest, pk: int) -> HttpResponse:
    """Shift templates, the weekly pattern, the duty phone and planning a month: one page,
    one form posted at a time (its `action`)."""
    unit = _unit(request.user, pk)
    access.require(access.can_plan_duty(request.user, unit))
    people = services.unit_people(unit)
    action = request.POST.get("action", "")
    settings_row = DutySettings.objects.filter(unit=unit).first()
    template_form = TemplateForm(request.POST if action == "template" else None)
    slot_form = SlotForm(request.POST if action == "slot" else None, people=people)
    month_form = MonthForm(
        request.POST if action == "plan" else None,
        initial={"month": timezone.localdate().replace(day=1)},
    )
    settings_form = SettingsForm(
        request.POST if action == "settings" else None,
        initial={
            "duty_phone": settings_row.duty_phone if settings_row else "",
            "remind_minutes": settings_row.remind_minutes if settings_row else 30,
            "spot_check_minutes": settings_row.spot_check_minutes if settings_row else 5,
        },
    )
    form = {
        "template": template_form,
        "slot": slot_form,
        "plan": month_form,
        "settings": settings_form,
    }.get(action)
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            done = _plan_action(request, unit, action, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, done)
            if action == "plan":
                month = form.cleaned_data["month"].strftime("%Y-%m")
                return redirect(f"{reverse('duty:roster', args=[unit.pk])}?month={month}")
            return redirect("duty:plan", pk=unit.pk)
    templates, rows = _pattern_rows(unit)
    return render(
        request,
        "duty/plan.html",
        {
            "unit": unit,
            "templates": templates,
            "rows": rows,
            "template_form": template_form,
            "slot_form": slot_form,
            "month_form": month_form,
            "settings_form": settings_form,
            "people": people,
        },
        status=400 if request.method == "POST" else 200,
    )


def _plan_action(request: HttpRequest, unit: Unit, action: str, data: dict[str, Any]) -> str:
    by = request.user
    if action == "template":
        services.shift_template_create(by=by, unit=unit, **data)
        return _("Shift added.")
    if action == "slot":
        template_pk = request.POST.get("template")
        template = ShiftTemplate.objects.filter(unit=unit, pk=template_pk or 0).first()
        if template is None:
            raise ValidationError(_("Choose the shift."))
        services.pattern_slot_set(by=by, template=template, **data)
        return _("Pattern saved.")
    if action == "settings":
        services.duty_settings_update(by=by, unit=unit, **data)
        return _("Duty settings saved.")
    result = services.roster_plan(unit=unit, month=data["month"], by=by)
    return _("%(created)d shifts planned (%(replaced)d replaced, %(kept)d kept).") % {
        "created": result.created,
        "replaced": result.replaced,
        "kept": result.kept,
    }


# --- A shift --------------------------------------------------------------------------------


@login_required
def shift_detail(request: HttpRequest, pk: int) -> HttpResponse:
    shift = selectors.shift_or_404(request.user, pk)
    action = request.POST.get("action", "")
    log_form = LogForm(request.POST if action == "log" else None)
    handover_form = HandoverForm(
        request.POST if action == "handover" else None, initial={"note": shift.handover_note}
    )
    swap_form = SwapForm(
        request.POST if action == "swap" else None,
        people=services.unit_people(shift.unit).exclude(pk=request.user.pk),
        exchange=selectors.exchangeable_shifts(shift, request.user),
    )
    form = {"log": log_form, "handover": handover_form, "swap": swap_form}.get(action)
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            _shift_action(request, shift, action, form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("duty:shift", pk=shift.pk)
    if request.method == "POST" and action == "take_over":
        try:
            services.shift_take_over(by=request.user, shift=shift)
            messages.success(request, _("You took the shift over."))
            return redirect("duty:shift", pk=shift.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    members = list(shift.members.select_related("person").order_by("role", "person__name"))
    contacts = _contacts(request.user, [m.person for m in members])
    following = services.next_shift(shift)
    following_ids = list(following.members.values_list("person_id", flat=True)) if following else []
    member_ids = [m.person_id for m in members]
    now = timezone.now()
    return render(
        request,
        "duty/shift.html",
        {
            "shift": shift,
            "label": services.shift_label(shift),
            "members": [(m, contacts[m.person_id]) for m in members],
            "log": shift.log.select_related("by").order_by("at", "pk"),
            "next_shift": following,
            "on_shift": access.is_on_shift(request.user, member_ids),
            "can_take_over": access.is_on_shift(request.user, following_ids)
            and shift.taken_over_at is None,
            "log_open": shift.starts_at <= now <= shift.ends_at + services.LOG_GRACE,
            "handover_open": shift.ends_at - services.HANDOVER_FROM
            <= now
            <= shift.ends_at + services.LOG_GRACE,
            "can_swap": shift.starts_at > now,
            "swaps": selectors.shift_swaps(shift),
            "log_form": log_form,
            "handover_form": handover_form,
            "swap_form": swap_form,
            "can_plan": access.can_plan_duty(request.user, shift.unit),
            "can_edit": shift.ends_at > now,
        },
        status=400 if request.method == "POST" else 200,
    )


def _shift_action(request: HttpRequest, shift: Any, action: str, data: dict[str, Any]) -> None:
    by = request.user
    if action == "log":
        services.log_entry_add(
            by=by, shift=shift, text=data["text"], kind=data["kind"], at=data["at"]
        )
        messages.success(request, _("Log entry recorded."))
    elif action == "handover":
        services.shift_hand_over(by=by, shift=shift, note=data["note"])
        messages.success(request, _("Handed over to the next shift."))
    else:
        services.swap_request(
            by=by,
            shift=shift,
            to_person=data["to_person"],
            in_exchange=data["in_exchange"],
            reason=data["reason"],
        )
        messages.success(request, _("Swap asked."))


def _day_of(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return None


@login_required
def shift_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Add one shift by hand (?day=YYYY-MM-DD: that day, 08:00–18:00 to start from)."""
    unit = _unit(request.user, pk)
    access.require(access.can_plan_duty(request.user, unit))
    day = _day_of(request.GET.get("day")) or timezone.localdate() + dt.timedelta(days=1)
    initial = {
        "starts_at": services._at(day, dt.time(8)),
        "ends_at": services._at(day, dt.time(18)),
    }
    return _shift_form_page(request, unit, None, initial)


@login_required
def shift_edit(request: HttpRequest, pk: int) -> HttpResponse:
    shift = selectors.shift_or_404(request.user, pk)
    access.require(access.can_plan_duty(request.user, shift.unit))
    members = list(shift.members.all())
    initial = {
        "name": shift.name,
        "starts_at": timezone.localtime(shift.starts_at),
        "ends_at": timezone.localtime(shift.ends_at),
        "leader": next((m.person_id for m in members if m.role == MemberRole.LEADER), None),
        "staff": [m.person_id for m in members if m.role == MemberRole.STAFF],
        "phone": shift.phone,
    }
    return _shift_form_page(request, shift.unit, shift, initial)


def _shift_form_page(
    request: HttpRequest, unit: Unit, shift: Any, initial: dict[str, Any]
) -> HttpResponse:
    form = ShiftForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        people=services.unit_people(unit),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {k: data[k] for k in ("name", "starts_at", "ends_at", "leader", "phone")}
        try:
            if shift is None:
                shift = services.shift_create(
                    by=request.user, unit=unit, staff=list(data["staff"]), **fields
                )
            else:
                services.shift_update(
                    by=request.user, shift=shift, staff=list(data["staff"]), **fields
                )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Shift saved."))
            return redirect("duty:shift", pk=shift.pk)
    back = (
        reverse("duty:shift", args=[shift.pk])
        if shift is not None
        else f"{reverse('duty:roster', args=[unit.pk])}?month={initial['starts_at']:%Y-%m}"
    )
    return render(
        request,
        "duty/shift_form.html",
        {"unit": unit, "shift": shift, "form": form, "back": back},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def shift_delete(request: HttpRequest, pk: int) -> HttpResponse:
    shift = selectors.shift_or_404(request.user, pk)
    month = shift.day.strftime("%Y-%m")
    try:
        services.shift_delete(by=request.user, shift=shift)
        messages.success(request, _("Shift removed."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(f"{reverse('duty:roster', args=[shift.unit_id])}?month={month}")


# --- Swaps ----------------------------------------------------------------------------------------


@login_required
def swap_detail(request: HttpRequest, pk: int) -> HttpResponse:
    swap = selectors.swap_or_404(request.user, pk)
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        try:
            if decision == "accept":
                services.swap_accept(by=request.user, swap=swap)
            elif decision in ("approve", "refuse"):
                services.swap_decide(by=request.user, swap=swap, approve=decision == "approve")
            else:
                raise ValidationError(_("Choose what to do."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Done."))
        return redirect("duty:swap", pk=swap.pk)
    user = request.user
    return render(
        request,
        "duty/swap.html",
        {
            "swap": swap,
            "label": services.shift_label(swap.shift),
            "exchange_label": services.shift_label(swap.in_exchange) if swap.in_exchange else "",
            "can_accept": swap.status == SwapStatus.REQUESTED and user.pk == swap.to_person_id,
            "can_decline": swap.status == SwapStatus.REQUESTED
            and user.pk in (swap.to_person_id, swap.from_person_id),
            "can_approve": swap.status == SwapStatus.ACCEPTED
            and access.can_approve_swap(user, swap.shift.unit),
        },
    )


# --- Who is on duty now, gaps ------------------------------------------------------------------


@login_required
def now_unit(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit(request.user, pk)
    answer = selectors.on_duty_now(unit)
    if answer is None:
        raise Http404
    contacts = _calls(request.user, answer)
    return render(
        request,
        "duty/now_unit.html",
        {
            "unit": unit,
            "d": answer,
            "shifts": selectors.shift_times(answer),
            "leaders": [contacts[p.pk] for p in answer.leaders],
            "staff": [contacts[p.pk] for p in answer.staff],
            "fallback": [contacts[p.pk] for p in answer.fallback],
            "can_see_spot_checks": access.can_see_spot_checks(request.user, unit),
        },
    )


@login_required
def now_overview(request: HttpRequest) -> HttpResponse:
    root = _top_unit(request)
    answers = selectors.on_duty_under(root)
    rows = []
    for a in answers:
        calls = _calls(request.user, a)  # by the unit's rule: one person, two units, two rules
        rows.append(
            {
                "d": a,
                "people": [calls[p.pk] for p in a.people],
                "fallback": calls[a.fallback[0].pk] if a.fallback else None,
            }
        )
    return render(
        request,
        "duty/now_overview.html",
        {
            "root": root,
            "rows": rows,
            "gaps": sum(1 for a in answers if a.is_gap),
            "now": timezone.now(),
        },
    )


@login_required
def gaps(request: HttpRequest) -> HttpResponse:
    root = _top_unit(request)
    rows = selectors.gaps_under(root)
    return render(
        request,
        "duty/gaps.html",
        {
            "root": root,
            "rows": rows,
            "scanned_at": selectors.last_scan(),
            "can_chase": {
                r.unit.pk for r in rows if access.can_chase_duty_gap(request.user, r.unit)
            },
        },
    )


@login_required
@require_POST
def gap_chase(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit(request.user, pk)
    try:
        services.duty_gap_chase(by=request.user, unit=unit)
        messages.success(request, _("%(unit)s's head has been told.") % {"unit": unit.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    root = request.POST.get("root", "")
    return redirect(reverse("duty:gaps") + (f"?unit={int(root)}" if root.isdigit() else ""))
