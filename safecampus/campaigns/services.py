"""Launching a campaign and running it: phases, tasks, its leadership group, what it switches on
(through the other apps' own services), each unit's tasks done and summary, and the worker's
request for the summaries at the end (once: claimed with a conditional update).

Every write checks access and is in the audit trail; every refusal is a ValidationError naming
its field (the form shows it beside the field, the API answers 422 with it).
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import Actor, audit_record
from safecampus.hazards import services as hazards
from safecampus.hazards.models import InspectionRound
from safecampus.levels import services as levels
from safecampus.levels.models import AlertOrder, Level
from safecampus.lib.text import clean_text
from safecampus.notify.models import Urgency
from safecampus.notify.services import notification_create, office_people
from safecampus.orgs import access
from safecampus.orgs.models import Person, Position, Unit
from safecampus.reports import services as reports
from safecampus.reports.models import Frequency, ReportSchedule
from safecampus.worker.timers import timer_schedule

from . import selectors
from .models import (
    DEFAULT_PHASES,
    DETAIL_MAX,
    DUTY_MAX,
    GOAL_MAX,
    MAX_WINDOW_DAYS,
    NAME_MAX,
    NOTE_MAX,
    PHASES_MAX,
    SUMMARY_DAYS,
    SUMMARY_DAYS_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    Campaign,
    Member,
    Phase,
    Summary,
    Switch,
    SwitchKind,
    Task,
    TaskDone,
    end_of,
)

SUMMARIES = "campaigns.summaries"


def _audit(by: Person, action: str, model: str, pk: Any, text: str, changes: dict) -> None:
    audit_record(
        action=action,
        model=model,
        object_id=pk,
        object_repr=text[:200],
        changes=changes,
        actor=Actor(id=by.pk, label=str(by)),
    )


def _day(value: dt.date) -> str:
    return formats.date_format(value, "Y-m-d")


def summary_timer_key(campaign: Campaign) -> str:
    return f"campaigns:summaries:{campaign.pk}"


def plan_summary_request(campaign: Campaign) -> None:
    timer_schedule(
        kind=SUMMARIES,
        key=summary_timer_key(campaign),
        due_at=end_of(campaign.ends_on),
        payload={"campaign": campaign.pk},
    )


# --- Launching --------------------------------------------------------------------------------


def default_phases(starts_on: dt.date, ends_on: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """The four phases splitting the window by their shares, each at least a day (phases of a
    window shorter than four days share days)."""
    days = (ends_on - starts_on).days + 1
    total = sum(share for _name, share in DEFAULT_PHASES)
    phases = []
    used = 0
    for i, (name, share) in enumerate(DEFAULT_PHASES):
        start = min(starts_on + dt.timedelta(days=used), ends_on)
        used += share * days // total if i < len(DEFAULT_PHASES) - 1 else days - used
        end = max(min(starts_on + dt.timedelta(days=used - 1), ends_on), start)
        phases.append((name, start, end))
    return phases


def _window_errors(starts_on: Any, ends_on: Any, today: dt.date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(starts_on, dt.date):
        errors["starts_on"] = _("Give the day the campaign starts.")
    if not isinstance(ends_on, dt.date):
        errors["ends_on"] = _("Give the day the campaign ends.")
    if errors:
        return errors
    if ends_on < starts_on:
        errors["ends_on"] = _("The campaign ends (%(end)s) before it starts (%(start)s).") % {
            "end": _day(ends_on),
            "start": _day(starts_on),
        }
    elif ends_on < today:
        errors["ends_on"] = _("This window is already over.")
    elif (ends_on - starts_on).days + 1 > MAX_WINDOW_DAYS:
        errors["ends_on"] = _("A campaign lasts at most %(n)d days.") % {"n": MAX_WINDOW_DAYS}
    return errors


@transaction.atomic
def campaign_create(
    *,
    by: Person,
    unit: Unit,
    name: str,
    goal: str,
    starts_on: dt.date,
    ends_on: dt.date,
    summary_days: int = SUMMARY_DAYS,
) -> Campaign:
    """Launch a campaign for the units under `unit` (a bureau or a township group) with the
    four default phases splitting its window; at its end the worker asks for the summaries."""
    access.require(access.can_launch_campaign(by, unit))
    now = timezone.now()
    errors = _window_errors(starts_on, ends_on, timezone.localdate(now))
    name = clean_text(name, "name", errors, required=True, max_length=NAME_MAX)
    goal = clean_text(goal, "goal", errors, required=True, max_length=GOAL_MAX)
    if not isinstance(summary_days, int) or not 1 <= summary_days <= SUMMARY_DAYS_MAX:
        errors["summary_days"] = _("From 1 to %(n)d days.") % {"n": SUMMARY_DAYS_MAX}
    if unit.archived_at is not None:
        errors["unit"] = _("This unit is archived.")
    if errors:
        raise ValidationError(errors)
    campaign = Campaign.objects.create(
        unit=unit,
        path=unit.path,
        name=name,
        goal=goal,
        starts_on=starts_on,
        ends_on=ends_on,
        summary_days=summary_days,
        created_by=by,
        created_at=now,
    )
    Phase.objects.bulk_create(
        Phase(campaign=campaign, position=i, name=n, starts_on=s, ends_on=e)
        for i, (n, s, e) in enumerate(default_phases(starts_on, ends_on), start=1)
    )
    plan_summary_request(campaign)
    _audit(
        by,
        "create",
        "campaigns.campaign",
        campaign.pk,
        name,
        {
            "unit": unit.pk,
            "starts_on": str(starts_on),
            "ends_on": str(ends_on),
            "summary_days": summary_days,
        },
    )
    return campaign


# --- Phases -----------------------------------------------------------------------------------


def _phase_errors(
    campaign: Campaign, name: str, starts_on: Any, ends_on: Any
) -> tuple[str, dict[str, str]]:
    errors: dict[str, str] = {}
    name = clean_text(name, "name", errors, required=True, max_length=NAME_MAX)
    if not isinstance(starts_on, dt.date):
        errors["starts_on"] = _("Give the day the phase starts.")
    if not isinstance(ends_on, dt.date):
        errors["ends_on"] = _("Give the day the phase ends.")
    if "starts_on" in errors or "ends_on" in errors:
        return name, errors
    if ends_on < starts_on:
        errors["ends_on"] = _("The phase ends (%(end)s) before it starts (%(start)s).") % {
            "end": _day(ends_on),
            "start": _day(starts_on),
        }
    elif starts_on < campaign.starts_on or ends_on > campaign.ends_on:
        field = "starts_on" if starts_on < campaign.starts_on else "ends_on"
        errors[field] = _(
            "The phase (%(start)s – %(end)s) is outside the campaign's window "
            "(%(c_start)s – %(c_end)s): a phase lies within it."
        ) % {
            "start": _day(starts_on),
            "end": _day(ends_on),
            "c_start": _day(campaign.starts_on),
            "c_end": _day(campaign.ends_on),
        }
    return name, errors


@transaction.atomic
def phase_update(
    *, by: Person, phase: Phase, name: str, starts_on: dt.date, ends_on: dt.date
) -> Phase:
    """Rename a phase or move its dates (within the campaign's window)."""
    campaign = phase.campaign
    access.require(access.can_run_campaign(by, campaign.unit))
    name, errors = _phase_errors(campaign, name, starts_on, ends_on)
    if errors:
        raise ValidationError(errors)
    Phase.objects.filter(pk=phase.pk).update(name=name, starts_on=starts_on, ends_on=ends_on)
    phase.refresh_from_db()
    _audit(
        by,
        "update",
        "campaigns.phase",
        phase.pk,
        f"{campaign.name} {name}",
        {"name": name, "starts_on": str(starts_on), "ends_on": str(ends_on)},
    )
    return phase


@dataclass(frozen=True)
class PhaseIn:
    name: str
    starts_on: dt.date
    ends_on: dt.date
    id: int | None = None  # an existing phase of the campaign; None: a new one


@transaction.atomic
def phases_set(*, by: Person, campaign: Campaign, phases: Sequence[PhaseIn]) -> list[Phase]:
    """The campaign's phases as listed, in this order: those with an id are changed, those
    without are added, those left out are removed (never one that has tasks). A refused line
    is named: "phases.2.ends_on"."""
    access.require(access.can_run_campaign(by, campaign.unit))
    errors: dict[str, str] = {}
    if not phases:
        errors["phases"] = _("A campaign has at least one phase.")
    elif len(phases) > PHASES_MAX:
        errors["phases"] = _("At most %(n)d phases.") % {"n": PHASES_MAX}
    existing = {p.pk: p for p in Phase.objects.select_for_update().filter(campaign=campaign)}
    names = []
    for i, item in enumerate(phases):
        name, mine = _phase_errors(campaign, item.name, item.starts_on, item.ends_on)
        if item.id is not None and item.id not in existing:
            mine["id"] = _("Not a phase of this campaign.")
        errors |= {f"phases.{i}.{field}": reason for field, reason in mine.items()}
        names.append(name)
    kept = {item.id for item in phases if item.id is not None}
    dropped = [p for pk, p in existing.items() if pk not in kept]
    busy = Task.objects.filter(phase__in=dropped).select_related("phase").first()
    if busy is not None:
        errors["phases"] = _(
            "The phase “%(name)s” has tasks: keep it, or move its tasks first."
        ) % {"name": busy.phase.name}
    if errors:
        raise ValidationError(errors)
    Phase.objects.filter(pk__in=[p.pk for p in dropped]).delete()
    result = []
    for position, (item, name) in enumerate(zip(phases, names, strict=True), start=1):
        values = {
            "position": position,
            "name": name,
            "starts_on": item.starts_on,
            "ends_on": item.ends_on,
        }
        if item.id is not None:
            Phase.objects.filter(pk=item.id).update(**values)
            result.append(Phase.objects.get(pk=item.id))
        else:
            result.append(Phase.objects.create(campaign=campaign, **values))
    _audit(
        by,
        "update",
        "campaigns.campaign",
        campaign.pk,
        campaign.name,
        {"phases": [f"{p.name} {p.starts_on}–{p.ends_on}" for p in result]},
    )
    return result


# --- Leadership group -------------------------------------------------------------------------


@transaction.atomic
def member_add(
    *, by: Person, campaign: Campaign, person: Person, position: str, duty: str = ""
) -> Member:
    """A seat in the campaign's leadership group (a second time for the same person: the seat
    and duty are changed)."""
    access.require(access.can_run_campaign(by, campaign.unit))
    errors: dict[str, str] = {}
    if position not in Position.values:
        errors["position"] = _("Choose leader, deputy or member.")
    duty = clean_text(duty, "duty", errors, required=False, max_length=DUTY_MAX)
    if not person.is_active or not access.person_visible(by, person):
        errors["person"] = _("Choose a person of the units you see.")
    if errors:
        raise ValidationError(errors)
    member, _created = Member.objects.update_or_create(
        campaign=campaign, person=person, defaults={"position": position, "duty": duty}
    )
    _audit(
        by,
        "update",
        "campaigns.member",
        member.pk,
        f"{campaign.name} {person.name}",
        {"person": person.pk, "position": position, "duty": duty},
    )
    return member


@transaction.atomic
def member_remove(*, by: Person, member: Member) -> None:
    access.require(access.can_run_campaign(by, member.campaign.unit))
    _audit(
        by,
        "delete",
        "campaigns.member",
        member.pk,
        f"{member.campaign.name} {member.person.name}",
        {"person": member.person_id},
    )
    member.delete()


# --- Tasks ------------------------------------------------------------------------------------


@transaction.atomic
def task_create(*, by: Person, phase: Phase, title: str, due_on: dt.date, detail: str = "") -> Task:
    """A task of a phase for every unit of the campaign, due by the end of `due_on` (a day
    within the campaign's window, not already past)."""
    campaign = phase.campaign
    access.require(access.can_run_campaign(by, campaign.unit))
    now = timezone.now()
    errors: dict[str, str] = {}
    title = clean_text(title, "title", errors, required=True, max_length=TITLE_MAX)
    detail = clean_text(detail, "detail", errors, required=False, max_length=DETAIL_MAX)
    if not isinstance(due_on, dt.date):
        errors["due_on"] = _("Give the deadline.")
    elif not campaign.starts_on <= due_on <= campaign.ends_on:
        errors["due_on"] = _(
            "The deadline (%(day)s) is outside the campaign's window (%(start)s – %(end)s)."
        ) % {"day": _day(due_on), "start": _day(campaign.starts_on), "end": _day(campaign.ends_on)}
    elif end_of(due_on) <= now:
        errors["due_on"] = _("This deadline has already passed.")
    if errors:
        raise ValidationError(errors)
    task = Task.objects.create(
        phase=phase,
        campaign=campaign,
        title=title,
        detail=detail,
        due_on=due_on,
        due_at=end_of(due_on),
        created_by=by,
        created_at=now,
    )
    _audit(
        by,
        "create",
        "campaigns.task",
        task.pk,
        f"{campaign.name} {title}",
        {"phase": phase.pk, "due_on": str(due_on)},
    )
    return task


@transaction.atomic
def task_delete(*, by: Person, task: Task) -> None:
    """Remove a task no unit has done yet."""
    access.require(access.can_run_campaign(by, task.campaign.unit))
    if TaskDone.objects.filter(task=task).exists():
        raise ValidationError(_("Units have done this task already: it stays."))
    _audit(by, "delete", "campaigns.task", task.pk, task.title, {"campaign": task.campaign_id})
    task.delete()


def _require_campaign_unit(campaign: Campaign, unit: Unit) -> None:
    if not selectors.campaign_units(campaign).filter(pk=unit.pk).exists():
        raise ValidationError({"unit_id": _("This unit is not one of the campaign's.")})


@transaction.atomic
def task_mark_done(*, by: Person, task: Task, unit: Unit, note: str = "") -> tuple[TaskDone, bool]:
    """`unit` has done `task` (once: a second time returns the first). After the deadline it
    is still recorded, as late."""
    access.require(access.can_do_campaign_task(by, unit))
    campaign = task.campaign
    _require_campaign_unit(campaign, unit)
    existing = TaskDone.objects.filter(task=task, unit=unit).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    if timezone.localdate(now) < campaign.starts_on:
        raise ValidationError({"task": _("The campaign has not started yet.")})
    errors: dict[str, str] = {}
    note = clean_text(note, "note", errors, required=False, max_length=NOTE_MAX)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            done = TaskDone.objects.create(
                task=task, unit=unit, path=unit.path, done_at=now, done_by=by, note=note
            )
    except IntegrityError:  # another phone a moment ago
        return TaskDone.objects.get(task=task, unit=unit), False
    _audit(
        by,
        "create",
        "campaigns.taskdone",
        done.pk,
        f"{unit.name} {task.title}",
        {"task": task.pk, "unit": unit.pk, "note": note},
    )
    return done, True


# --- What the campaign switches on ------------------------------------------------------------


def _switch(by: Person, campaign: Campaign, **link: Any) -> Switch:
    return Switch.objects.create(campaign=campaign, by=by, at=timezone.now(), **link)


def _root_in_campaign(campaign: Campaign, root: Unit | None) -> Unit:
    if root is None:
        return campaign.unit
    if not root.path.startswith(campaign.unit.path):
        raise ValidationError({"root": _("Choose the campaign's unit or a unit under it.")})
    return root


@transaction.atomic
def campaign_schedule_switch(
    *,
    by: Person,
    campaign: Campaign,
    root: Unit | None = None,
    name: str = "",
    frequency: str = Frequency.DAILY,
    **deadlines: Any,
) -> ReportSchedule:
    """A reporting schedule for the campaign's window, for the units under `root` (the
    campaign's unit, or a unit under it: the nearest schedule wins). The reports app refuses a
    schedule overlapping another of the same root: its reason is the answer."""
    access.require(access.can_run_campaign(by, campaign.unit))
    root = _root_in_campaign(campaign, root)
    schedule = reports.schedule_create(
        by=by,
        root=root,
        name=(name or campaign.name).strip()[:100],
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        frequency=frequency,
        **deadlines,
    )
    _switch(by, campaign, kind=SwitchKind.SCHEDULE, schedule=schedule)
    _audit(
        by, "update", "campaigns.campaign", campaign.pk, campaign.name, {"schedule": schedule.pk}
    )
    return schedule


@transaction.atomic
def campaign_round_switch(
    *,
    by: Person,
    campaign: Campaign,
    kind: str,
    title: str,
    categories: Sequence[str],
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
) -> InspectionRound:
    """An inspection round for the campaign's schools, within its window (by default from
    today, or its start, to its end)."""
    access.require(access.can_run_campaign(by, campaign.unit))
    starts_on = starts_on or max(campaign.starts_on, timezone.localdate())
    ends_on = ends_on or campaign.ends_on
    if starts_on < campaign.starts_on or ends_on > campaign.ends_on:
        raise ValidationError(
            {
                "starts_on" if starts_on < campaign.starts_on else "ends_on": _(
                    "The round (%(start)s – %(end)s) is outside the campaign's window "
                    "(%(c_start)s – %(c_end)s)."
                )
                % {
                    "start": _day(starts_on),
                    "end": _day(ends_on),
                    "c_start": _day(campaign.starts_on),
                    "c_end": _day(campaign.ends_on),
                }
            }
        )
    round_ = hazards.round_launch(
        by=by,
        unit=campaign.unit,
        kind=kind,
        title=title,
        starts_on=starts_on,
        ends_on=ends_on,
        categories=categories,
    )
    _switch(by, campaign, kind=SwitchKind.ROUND, round=round_)
    _audit(by, "update", "campaigns.campaign", campaign.pk, campaign.name, {"round": round_.pk})
    return round_


@dataclass(frozen=True)
class PlannedOrder:
    level: int
    starts_on: dt.date
    ends_on: dt.date


@transaction.atomic
def campaign_orders_issue(
    *, by: Person, campaign: Campaign, orders: Sequence[PlannedOrder], reason: str = ""
) -> list[AlertOrder]:
    """Alert-level orders for the campaign's subtree on given days, all issued now with their
    windows (a day's order runs from its local midnight — or now, for a day already begun — to
    the midnight after its last day): "level 2 for the first week, then level 1 until the end"
    is two orders. All or none: a refused one is named ("Order 2: …")."""
    access.require(access.can_run_campaign(by, campaign.unit))
    if not orders:
        raise ValidationError({"orders": _("Plan at least one order.")})
    now = timezone.now()
    reason = (reason or "").strip() or _("Campaign: %(name)s") % {"name": campaign.name}
    issued = []
    for n, planned in enumerate(orders, start=1):
        problem = ""
        if planned.level not in (Level.ENHANCED, Level.EXTRAORDINARY):
            problem = _("An order is for level 2 (加强防控) or level 1 (超常防控).")
        elif planned.ends_on < planned.starts_on:
            problem = _("It ends (%(end)s) before it starts (%(start)s).") % {
                "end": _day(planned.ends_on),
                "start": _day(planned.starts_on),
            }
        elif planned.starts_on < campaign.starts_on or planned.ends_on > campaign.ends_on:
            problem = _(
                "Its days (%(start)s – %(end)s) are outside the campaign's window "
                "(%(c_start)s – %(c_end)s)."
            ) % {
                "start": _day(planned.starts_on),
                "end": _day(planned.ends_on),
                "c_start": _day(campaign.starts_on),
                "c_end": _day(campaign.ends_on),
            }
        if not problem:
            starts_at = max(end_of(planned.starts_on - dt.timedelta(days=1)), now)
            try:
                order = levels.order_issue(
                    by=by,
                    unit=campaign.unit,
                    level=planned.level,
                    starts_at=starts_at,
                    ends_at=end_of(planned.ends_on),
                    reason=reason,
                )
            except ValidationError as exc:
                problem = " ".join(exc.messages)
            else:
                issued.append(order)
                _switch(by, campaign, kind=SwitchKind.ORDER, order=order)
                continue
        raise ValidationError(
            {"orders": _("Order %(n)d: %(reason)s") % {"n": n, "reason": problem}}
        )
    _audit(
        by,
        "update",
        "campaigns.campaign",
        campaign.pk,
        campaign.name,
        {"orders": [o.pk for o in issued]},
    )
    return issued


# --- Summaries --------------------------------------------------------------------------------


def summary_opens_on(campaign: Campaign) -> dt.date:
    """A summary can be written from the start of the last phase (总结提升) on."""
    last = campaign.phases.order_by("-position").first()
    return last.starts_on if last is not None else campaign.ends_on


@transaction.atomic
def summary_submit(*, by: Person, campaign: Campaign, unit: Unit, text: str) -> Summary:
    """`unit`'s written summary; written again, the text is replaced (the first submission's
    time stays: it says whether it came in time)."""
    access.require(access.can_write_campaign_summary(by, unit))
    _require_campaign_unit(campaign, unit)
    now = timezone.now()
    errors: dict[str, str] = {}
    text = clean_text(text, "text", errors, required=True, max_length=SUMMARY_MAX)
    opens = summary_opens_on(campaign)
    if timezone.localdate(now) < opens:
        errors["text"] = _("The summary is written from %(day)s, in the campaign's last phase.") % {
            "day": _day(opens)
        }
    if errors:
        raise ValidationError(errors)
    summary, created = Summary.objects.select_for_update().get_or_create(
        campaign=campaign,
        unit=unit,
        defaults={
            "path": unit.path,
            "text": text,
            "submitted_at": now,
            "submitted_by": by,
            "updated_at": now,
        },
    )
    if not created:
        Summary.objects.filter(pk=summary.pk).update(text=text, updated_at=now)
        summary.refresh_from_db()
    _audit(
        by,
        "create" if created else "update",
        "campaigns.summary",
        summary.pk,
        f"{campaign.name} {unit.name}",
        {"length": len(text)},
    )
    return summary


def summaries_request(*, campaign_id: int) -> int:
    """At the campaign's end: ask every unit that has not written its summary for one, due
    `summary_days` later (its office contact or head). Once: the first run claims the campaign;
    a second finds it claimed. Returns the units asked."""
    with transaction.atomic():
        now = timezone.now()
        claimed = Campaign.objects.filter(
            pk=campaign_id, summaries_requested_at__isnull=True, ends_on__lt=timezone.localdate(now)
        ).update(summaries_requested_at=now)
        if not claimed:
            return 0
        campaign = Campaign.objects.select_related("unit").get(pk=campaign_id)
        written = Summary.objects.filter(campaign=campaign).values("unit_id")
        units = (
            selectors.campaign_units(campaign)
            .exclude(pk__in=written)
            .select_related("head", "office_contact")
        )
        title = _("Write your summary of “%(name)s” by %(day)s") % {
            "name": campaign.name,
            "day": _day(campaign.summary_due_on),
        }
        asked = 0
        for unit in units:
            people = {p.pk: p for p in [*office_people(unit), unit.head] if p is not None}
            notification_create(
                event="campaigns.summary_request",
                title=title,
                body=_(
                    "%(unit)s: the campaign “%(name)s” ended on %(end)s. Write the unit's "
                    "summary of the work done by %(day)s."
                )
                % {
                    "unit": unit.name,
                    "name": campaign.name,
                    "end": _day(campaign.ends_on),
                    "day": _day(campaign.summary_due_on),
                },
                urgency=Urgency.ROUTINE,
                unit=unit,
                sender=None,
                link=reverse("campaigns:summary", args=[campaign.pk, unit.pk]),
                params={"campaign": campaign.name, "unit": unit.name},
                people=list(people.values()),
            )
            asked += 1
    return asked
