"""Reads for the campaign pages, the API and the worker: the campaigns a user sees, the units a
campaign asks, each task's progress (done in time / late / not done, counted in SQL), a unit's
tasks, the summaries, what the campaign switched on and the duty gaps of its subtree.
Callers check access (orgs.access) first."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.duty.selectors import UnitGaps, gaps_under
from safecampus.lib import xlsx
from safecampus.orgs import access
from safecampus.orgs.models import Unit

from .models import (
    CAMPAIGN_UNIT_KINDS,
    Campaign,
    Member,
    Phase,
    State,
    Summary,
    Switch,
    Task,
    TaskDone,
)


def ancestor_paths(unit: Unit) -> list[str]:
    step = Unit.steplen
    return [unit.path[:i] for i in range(step, len(unit.path) + step, step)]


def campaigns_visible(user: Any) -> QuerySet[Campaign]:
    q = access.campaigns_visible_q(user)
    if q is None:
        return Campaign.objects.none()
    return Campaign.objects.filter(q).select_related("unit")


def campaign_units(campaign: Campaign) -> QuerySet[Unit]:
    """The groups, schools and kindergartens under the campaign's unit (not itself): each does
    the tasks and writes a summary."""
    return (
        Unit.objects.filter(
            access.subtree(campaign.path), kind__in=CAMPAIGN_UNIT_KINDS, archived_at__isnull=True
        )
        .exclude(pk=campaign.unit_id)
        .order_by("path")
    )


def current_phase(campaign: Campaign, today: dt.date | None = None) -> Phase | None:
    today = today or timezone.localdate()
    return (
        campaign.phases.filter(starts_on__lte=today, ends_on__gte=today)
        .order_by("position")
        .first()
    )


# --- Task progress ------------------------------------------------------------------------------


@dataclass
class TaskProgress:
    task: Task
    total: int
    on_time: int
    late: int

    @property
    def done(self) -> int:
        return self.on_time + self.late

    @property
    def not_done(self) -> int:
        return max(self.total - self.done, 0)

    @property
    def overdue(self) -> bool:
        """Past its deadline with units that have not done it."""
        return self.not_done > 0 and self.task.due_at <= timezone.now()


def task_progress(campaign: Campaign) -> list[TaskProgress]:
    """Each task of the campaign with its units done in time, done late, not done: two queries."""
    units = campaign_units(campaign)
    total = units.count()
    tasks = (
        Task.objects.filter(campaign=campaign)
        .select_related("phase")
        .annotate(
            on_time=Count(
                "done",
                filter=Q(done__done_at__lte=F("due_at"), done__unit__in=units),
            ),
            late=Count("done", filter=Q(done__done_at__gt=F("due_at"), done__unit__in=units)),
        )
        .order_by("phase__position", "due_on", "pk")
    )
    return [TaskProgress(t, total, t.on_time, t.late) for t in tasks]


@dataclass
class UnitRow:
    unit: Unit
    done: TaskDone | None

    @property
    def state(self) -> str:
        if self.done is None:
            return "not_done"
        return "late" if self.done.late else "done"


def task_units(task: Task) -> list[UnitRow]:
    """Every unit of the campaign and whether it has done the task (late or not): the bureau's
    page of one task."""
    done = {
        d.unit_id: d for d in TaskDone.objects.filter(task=task).select_related("done_by", "task")
    }
    return [UnitRow(u, done.get(u.pk)) for u in campaign_units(task.campaign)]


def overdue(progress: list[TaskProgress]) -> list[TaskProgress]:
    return [p for p in progress if p.overdue]


# --- A unit's tasks ---------------------------------------------------------------------------


@dataclass
class UnitTask:
    task: Task
    done: TaskDone | None

    @property
    def overdue(self) -> bool:
        return self.done is None and self.task.due_at <= timezone.now()


@dataclass
class UnitPhase:
    phase: Phase
    tasks: list[UnitTask] = field(default_factory=list)


def unit_tasks(campaign: Campaign, unit: Unit) -> list[UnitPhase]:
    """The campaign's phases with their tasks, each with what `unit` has done."""
    done = {
        d.task_id: d
        for d in TaskDone.objects.filter(task__campaign=campaign, unit=unit).select_related(
            "done_by", "task"
        )
    }
    phases = campaign.phases.prefetch_related(
        Prefetch("tasks", queryset=Task.objects.order_by("due_on", "pk"))
    ).order_by("position")
    return [UnitPhase(p, [UnitTask(t, done.get(t.pk)) for t in p.tasks.all()]) for p in phases]


@dataclass
class Due:
    campaign: Campaign
    unit: Unit
    task: Task

    @property
    def overdue(self) -> bool:
        return self.task.due_at <= timezone.now()


def my_tasks_due(user: Any, *, limit: int = 50) -> list[Due]:
    """The tasks the user's units have still to do, in the campaigns over them that are under
    way or whose summaries are due, soonest deadline first."""
    today = timezone.localdate()
    units = list(access.campaign_units(user).order_by("path"))
    if not units:
        return []
    paths = {p for u in units for p in ancestor_paths(u)}
    campaigns = {
        c.pk: c
        for c in Campaign.objects.filter(path__in=paths, starts_on__lte=today).select_related(
            "unit"
        )
        if c.state(today) in (State.RUNNING, State.SUMMARY)
    }
    if not campaigns:
        return []
    done = set(
        TaskDone.objects.filter(task__campaign_id__in=list(campaigns), unit__in=units).values_list(
            "task_id", "unit_id"
        )
    )
    tasks = Task.objects.filter(campaign_id__in=list(campaigns)).order_by("due_on", "pk")
    result = [
        Due(campaigns[task.campaign_id], unit, task)
        for task in tasks
        for unit in units
        if unit.path.startswith(campaigns[task.campaign_id].path)
        and unit.pk != campaigns[task.campaign_id].unit_id
        and (task.pk, unit.pk) not in done
    ]
    return result[:limit]


# --- Members, switch-ons, duty gaps ------------------------------------------------------------


def members(campaign: Campaign) -> list[Member]:
    order = {"leader": 0, "deputy": 1, "member": 2}
    rows = list(campaign.members.select_related("person"))
    return sorted(rows, key=lambda m: (order.get(m.position, 9), m.pk))


@dataclass
class SwitchRow:
    switch: Switch
    label: str
    window: str
    state: str
    link: str


def switches(campaign: Campaign) -> list[SwitchRow]:
    """What the campaign switched on, each with its window and its state now."""
    now = timezone.now()
    today = timezone.localdate(now)
    rows = []
    for s in campaign.switches.select_related(
        "schedule__root", "round__unit", "order__unit"
    ).order_by("kind", "pk"):
        if s.schedule is not None:
            sch = s.schedule
            state = (
                _("to come")
                if sch.starts_on > today
                else (_("over") if sch.ends_on and sch.ends_on < today else _("running"))
            )
            rows.append(
                SwitchRow(
                    s,
                    f"{sch.name} · {sch.root.name} · {sch.get_frequency_display()}",
                    f"{sch.starts_on:%Y-%m-%d} – {sch.ends_on:%Y-%m-%d}" if sch.ends_on else "",
                    state,
                    reverse("reports:schedule_edit", args=[sch.pk]),
                )
            )
        elif s.round is not None:
            rnd = s.round
            state = (
                _("to come")
                if rnd.starts_on > today
                else (_("over") if rnd.ends_on < today else _("running"))
            )
            rows.append(
                SwitchRow(
                    s,
                    f"{rnd.title} · {rnd.get_kind_display()}",
                    f"{rnd.starts_on:%Y-%m-%d} – {rnd.ends_on:%Y-%m-%d}",
                    state,
                    reverse("hazards:round", args=[rnd.pk]),
                )
            )
        elif s.order is not None:
            order = s.order
            if order.revoked_at is not None:
                state = _("ended early")
            elif order.ends_at <= now:
                state = _("over")
            elif order.starts_at > now:
                state = _("to come")
            else:
                state = _("in force")
            start = timezone.localtime(order.starts_at)
            end = timezone.localtime(order.ends_at)
            rows.append(
                SwitchRow(
                    s,
                    order.short_level,
                    f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}",
                    state,
                    reverse("levels:order", args=[order.pk]),
                )
            )
    return rows


def duty_gaps(campaign: Campaign) -> list[UnitGaps]:
    """The units of the campaign's subtree with shifts without anybody or without a leader on
    duty (duty's scan of the next 7 days), while the campaign's window meets those days."""
    today = timezone.localdate()
    if campaign.ends_on < today or campaign.starts_on > today + dt.timedelta(days=7):
        return []
    return gaps_under(campaign.unit, limit=50)


# --- Summaries --------------------------------------------------------------------------------


@dataclass
class SummaryRow:
    unit: Unit
    summary: Summary | None
    due_at: dt.datetime

    @property
    def state(self) -> str:
        """submitted, late (submitted after the deadline), missing (none, deadline past) or
        waiting (none yet, still time)."""
        if self.summary is not None:
            return "late" if self.summary.submitted_at > self.due_at else "submitted"
        return "missing" if timezone.now() >= self.due_at else "waiting"


def summaries(campaign: Campaign) -> list[SummaryRow]:
    """Every unit of the campaign with its summary (or none): two queries."""
    written = {
        s.unit_id: s
        for s in Summary.objects.filter(campaign=campaign).select_related("submitted_by")
    }
    due = campaign.summary_due_at
    return [SummaryRow(u, written.get(u.pk), due) for u in campaign_units(campaign)]


def summary_counts(rows: list[SummaryRow]) -> dict[str, int]:
    counts = {"submitted": 0, "late": 0, "missing": 0, "waiting": 0}
    for row in rows:
        counts[row.state] += 1
    return counts


def summaries_xlsx(campaign: Campaign, rows: list[SummaryRow], *, by: str) -> bytes:
    """Every unit's summary in one workbook (a ledger: 序号, unit, state, when, by whom, text)."""
    labels = {
        "submitted": _("Submitted"),
        "late": _("Submitted late"),
        "missing": _("Missing"),
        "waiting": _("Not yet"),
    }

    def at(value: dt.datetime | None) -> str:
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""

    wb = xlsx.new_workbook()
    xlsx.write_ledger(
        wb.create_sheet(_("Summaries")),
        title=_("Summaries of “%(name)s”") % {"name": campaign.name},
        meta=[
            (_("Campaign"), f"{campaign.starts_on:%Y-%m-%d} – {campaign.ends_on:%Y-%m-%d}"),
            (_("Due by"), f"{campaign.summary_due_on:%Y-%m-%d}"),
            (_("Exported by"), by),
            (_("Exported on"), f"{timezone.localdate():%Y-%m-%d}"),
        ],
        columns=[
            xlsx.Column(_("Unit"), 24),
            xlsx.Column(_("State"), 12),
            xlsx.Column(_("Submitted at"), 18),
            xlsx.Column(_("By"), 12),
            xlsx.Column(_("Summary"), 80),
        ],
        rows=(
            [
                r.unit.name,
                str(labels[r.state]),
                at(r.summary.submitted_at if r.summary else None),
                r.summary.submitted_by.name if r.summary else "",
                r.summary.text if r.summary else "",
            ]
            for r in rows
        ),
    )
    return xlsx.to_bytes(wb)
