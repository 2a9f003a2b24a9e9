"""Campaign pages: the list (with my units' tasks due), launching one, a campaign's page (goal,
window, current phase, leadership group, phases with tasks and progress, what it switches on,
summaries), its phases, tasks and members, the switch-on forms, a unit's tasks, a summary, the
summaries and their export."""

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.lib import xlsx
from safecampus.orgs import access
from safecampus.orgs.forms import apply_errors
from safecampus.orgs.models import Unit

from . import selectors, services
from .forms import (
    CampaignForm,
    DoneForm,
    MemberForm,
    OrdersForm,
    PhaseForm,
    RoundSwitchForm,
    ScheduleSwitchForm,
    SummaryForm,
    TaskForm,
)
from .models import Campaign, Member, Phase, Task


def _campaign(request: HttpRequest, pk: int) -> Campaign:
    campaign = selectors.campaigns_visible(request.user).filter(pk=pk).first()
    if campaign is None:
        raise Http404
    return campaign


def _run(request: HttpRequest, pk: int) -> Campaign:
    """A campaign the user runs (phases, tasks, members, switch-ons, everyone's progress)."""
    campaign = _campaign(request, pk)
    access.require(access.can_run_campaign(request.user, campaign.unit))
    return campaign


def _launching_units(user: Any) -> Any:
    return access.units_run(user).filter(kind__in=access.CAMPAIGN_LAUNCH_KINDS).order_by("path")


@login_required
def index(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    campaigns = list(selectors.campaigns_visible(request.user).order_by("-starts_on", "-pk")[:50])
    for c in campaigns:
        c.state_now = c.state(today)
    context = {
        "due": selectors.my_tasks_due(request.user),
        "campaigns": campaigns,
        "may_launch": _launching_units(request.user).exists(),
        "now": timezone.now(),
    }
    return render(request, "campaigns/index.html", context)


@login_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    units = _launching_units(request.user)
    if not units.exists():
        raise Http404
    form = CampaignForm(request.POST or None, units=units)
    if request.method == "GET":
        today = timezone.localdate()
        form = CampaignForm(
            units=units,
            initial={
                "unit": units.first(),
                "starts_on": today,
                "ends_on": today + dt.timedelta(days=29),
            },
        )
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The campaign is launched with its four phases."))
            return redirect("campaigns:campaign", campaign.pk)
    return render(request, "campaigns/campaign_new.html", {"form": form})


@login_required
def campaign(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    user = request.user
    runs = access.can_run_campaign(user, campaign.unit)
    today = timezone.localdate()
    units_of_mine = [
        u
        for u in access.campaign_units(user).order_by("path")
        if u.path.startswith(campaign.path) and u.pk != campaign.unit_id
    ]
    progress = selectors.task_progress(campaign) if runs else []
    context: dict[str, Any] = {
        "campaign": campaign,
        "state": campaign.state(today),
        "current": selectors.current_phase(campaign, today),
        "members": selectors.members(campaign),
        "runs": runs,
        "mine": units_of_mine,
        "today": today,
    }
    if runs:
        by_phase: dict[int, list] = {}
        for p in progress:
            by_phase.setdefault(p.task.phase_id, []).append(p)
        summary_rows = selectors.summaries(campaign)
        context |= {
            "phases": [
                (ph, by_phase.get(ph.pk, [])) for ph in campaign.phases.order_by("position")
            ],
            "overdue": selectors.overdue(progress),
            "switches": selectors.switches(campaign),
            "gaps": selectors.duty_gaps(campaign),
            "summary_counts": selectors.summary_counts(summary_rows),
            "units_total": len(summary_rows),
        }
    else:
        context["phases"] = [
            (ph, [selectors.TaskProgress(t, 0, 0, 0) for t in ph.tasks.order_by("due_on", "pk")])
            for ph in campaign.phases.order_by("position")
        ]
    return render(request, "campaigns/campaign.html", context)


@login_required
def phase_edit(request: HttpRequest, pk: int, phase_id: int) -> HttpResponse:
    campaign = _run(request, pk)
    phase = get_object_or_404(Phase, pk=phase_id, campaign=campaign)
    initial = {"name": phase.name, "starts_on": phase.starts_on, "ends_on": phase.ends_on}
    form = PhaseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.phase_update(by=request.user, phase=phase, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved: %(name)s.") % {"name": phase.name})
            return redirect("campaigns:campaign", campaign.pk)
    return render(
        request,
        "campaigns/form.html",
        {"campaign": campaign, "form": form, "title": _("Phase: %(name)s") % {"name": phase.name}},
    )


@login_required
def task_new(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _run(request, pk)
    phases = campaign.phases.order_by("position")
    current = selectors.current_phase(campaign) or phases.first()
    form = TaskForm(request.POST or None, phases=phases, initial={"phase": current})
    if request.method == "POST" and form.is_valid():
        try:
            services.task_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The task is set for every unit of the campaign."))
            return redirect("campaigns:campaign", campaign.pk)
    return render(
        request,
        "campaigns/form.html",
        {"campaign": campaign, "form": form, "title": _("New task"), "testid": "task-form"},
    )


@login_required
def task(request: HttpRequest, pk: int, task_id: int) -> HttpResponse:
    campaign = _run(request, pk)
    task = get_object_or_404(Task.objects.select_related("phase"), pk=task_id, campaign=campaign)
    rows = selectors.task_units(task)
    counts = {"done": 0, "late": 0, "not_done": 0}
    for row in rows:
        counts[row.state] += 1
    context = {
        "campaign": campaign,
        "task": task,
        "rows": rows,
        "counts": counts,
        "past": task.due_at <= timezone.now(),
    }
    return render(request, "campaigns/task.html", context)


@login_required
@require_POST
def task_delete(request: HttpRequest, pk: int, task_id: int) -> HttpResponse:
    campaign = _run(request, pk)
    task = get_object_or_404(Task, pk=task_id, campaign=campaign)
    try:
        services.task_delete(by=request.user, task=task)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("campaigns:task", campaign.pk, task.pk)
    messages.success(request, _("The task is removed."))
    return redirect("campaigns:campaign", campaign.pk)


@login_required
def members(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _run(request, pk)
    people = (
        access.people_visible(request.user).filter(is_active=True, admin_role="").order_by("name")
    )
    form = MemberForm(request.POST or None, people=people)
    if request.method == "POST" and form.is_valid():
        try:
            services.member_add(by=request.user, campaign=campaign, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved in the leadership group."))
            return redirect("campaigns:members", campaign.pk)
    context = {"campaign": campaign, "form": form, "members": selectors.members(campaign)}
    return render(request, "campaigns/members.html", context)


@login_required
@require_POST
def member_remove(request: HttpRequest, pk: int, member_id: int) -> HttpResponse:
    campaign = _run(request, pk)
    member = get_object_or_404(Member, pk=member_id, campaign=campaign)
    services.member_remove(by=request.user, member=member)
    messages.success(request, _("Removed from the leadership group."))
    return redirect("campaigns:members", campaign.pk)


def _switch_page(request: HttpRequest, campaign: Campaign, form: Any, title: str) -> HttpResponse:
    return render(
        request,
        "campaigns/form.html",
        {"campaign": campaign, "form": form, "title": title, "testid": "switch-form"},
    )


@login_required
def switch_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _run(request, pk)
    roots = Unit.objects.filter(
        access.subtree(campaign.path),
        kind__in=access.CAMPAIGN_LAUNCH_KINDS,
        archived_at__isnull=True,
    ).order_by("path")
    initial = {"root": campaign.unit, "name": campaign.name}
    form = ScheduleSwitchForm(request.POST or None, roots=roots, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_schedule_switch(
                by=request.user, campaign=campaign, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The reporting schedule is on for the campaign's window."))
            return redirect("campaigns:campaign", campaign.pk)
    return _switch_page(request, campaign, form, _("A reporting schedule for the window"))


@login_required
def switch_round(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _run(request, pk)
    initial = {
        "kind": "self",
        "title": campaign.name,
        "starts_on": max(campaign.starts_on, timezone.localdate()),
        "ends_on": campaign.ends_on,
    }
    form = RoundSwitchForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_round_switch(by=request.user, campaign=campaign, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The inspection round is launched."))
            return redirect("campaigns:campaign", campaign.pk)
    return _switch_page(request, campaign, form, _("An inspection round"))


@login_required
def switch_orders(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _run(request, pk)
    week_end = min(campaign.starts_on + dt.timedelta(days=6), campaign.ends_on)
    initial: dict[str, Any] = {"level_1": 2, "from_1": campaign.starts_on, "until_1": week_end}
    if week_end < campaign.ends_on:
        initial |= {
            "level_2": 1,
            "from_2": week_end + dt.timedelta(days=1),
            "until_2": campaign.ends_on,
        }
    form = OrdersForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        planned = [services.PlannedOrder(data["level_1"], data["from_1"], data["until_1"])]
        if data.get("level_2"):
            planned.append(services.PlannedOrder(data["level_2"], data["from_2"], data["until_2"]))
        try:
            orders = services.campaign_orders_issue(
                by=request.user, campaign=campaign, orders=planned, reason=data["reason"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("%(n)d orders issued.") % {"n": len(orders)})
            return redirect("campaigns:campaign", campaign.pk)
    return _switch_page(request, campaign, form, _("Alert-level orders on given days"))


def _campaign_unit(request: HttpRequest, campaign: Campaign, unit_id: int) -> Unit:
    unit = access.unit_or_404(request.user, unit_id)
    if not selectors.campaign_units(campaign).filter(pk=unit.pk).exists():
        raise Http404
    return unit


@login_required
def unit(request: HttpRequest, pk: int, unit_id: int) -> HttpResponse:
    """A unit's tasks in the campaign (done, to do, overdue) and its summary."""
    campaign = _campaign(request, pk)
    unit = _campaign_unit(request, campaign, unit_id)
    may_do = access.can_do_campaign_task(request.user, unit)
    context = {
        "campaign": campaign,
        "unit": unit,
        "phases": selectors.unit_tasks(campaign, unit),
        "may_do": may_do and campaign.starts_on <= timezone.localdate(),
        "summary": campaign.summaries.filter(unit=unit).first(),
        "summary_opens": services.summary_opens_on(campaign),
        "today": timezone.localdate(),
        "form": DoneForm(),
    }
    return render(request, "campaigns/unit.html", context)


@login_required
@require_POST
def task_done(request: HttpRequest, pk: int, unit_id: int, task_id: int) -> HttpResponse:
    campaign = _campaign(request, pk)
    unit = _campaign_unit(request, campaign, unit_id)
    task = get_object_or_404(Task, pk=task_id, campaign=campaign)
    form = DoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(m for e in form.errors.values() for m in e))
        return redirect("campaigns:unit", campaign.pk, unit.pk)
    try:
        done, _created = services.task_mark_done(
            by=request.user, task=task, unit=unit, note=form.cleaned_data["note"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if done.late:
            messages.warning(request, _("Recorded as done, after the deadline."))
        else:
            messages.success(request, _("Done: %(task)s.") % {"task": task.title})
    return redirect("campaigns:unit", campaign.pk, unit.pk)


@login_required
def summary(request: HttpRequest, pk: int, unit_id: int) -> HttpResponse:
    """A unit's summary: written by its managers, read by them and by those who run the
    campaign."""
    campaign = _campaign(request, pk)
    unit = _campaign_unit(request, campaign, unit_id)
    if not access.can_read_campaign_summary(request.user, campaign.unit, unit):
        raise Http404
    existing = campaign.summaries.filter(unit=unit).select_related("submitted_by").first()
    may_write = access.can_write_campaign_summary(request.user, unit)
    opens = services.summary_opens_on(campaign)
    form = None
    if may_write:
        form = SummaryForm(
            request.POST or None, initial={"text": existing.text if existing else ""}
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.summary_submit(
                    by=request.user, campaign=campaign, unit=unit, text=form.cleaned_data["text"]
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Your summary is submitted."))
                return redirect("campaigns:unit", campaign.pk, unit.pk)
    elif request.method == "POST":
        access.require(False)
    context = {
        "campaign": campaign,
        "unit": unit,
        "summary": existing,
        "form": form,
        "opens": opens,
        "open": timezone.localdate() >= opens,
    }
    return render(request, "campaigns/summary.html", context)


@login_required
def summaries(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _run(request, pk)
    rows = selectors.summaries(campaign)
    state = request.GET.get("state", "")
    shown = [r for r in rows if r.state == state] if state else rows
    context = {
        "campaign": campaign,
        "rows": shown,
        "counts": selectors.summary_counts(rows),
        "state": state,
    }
    return render(request, "campaigns/summaries.html", context)


@login_required
def summaries_export(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _run(request, pk)
    rows = selectors.summaries(campaign)
    data = selectors.summaries_xlsx(campaign, rows, by=request.user.name)
    response = HttpResponse(data, content_type=xlsx.XLSX_MIME)
    response["Content-Disposition"] = (
        f'attachment; filename="campaign-{campaign.pk}-summaries.xlsx"'
    )
    return response
