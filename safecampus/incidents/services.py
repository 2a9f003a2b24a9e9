"""What happens to an incident: reported, called up the chain, acknowledged, escalated,
written up, followed up and closed. Every step is on the incident's timeline with its time,
and in the audit trail.

The chain (DOMAIN §4: witness → principal → bureau; "first time, oral first, written later"):

- The quick report opens two stages at once: the incident's unit, and its bureau (the
  nearest unit of kind bureau above it; one stage when the unit is the bureau).
- Each stage calls its first tier: for the unit, its head and whoever is on duty there (the
  roster's fallback when nobody is); for the bureau, its safety office and its leader on
  duty. Each person gets an urgent notification through their channels asking them to
  acknowledge, with a one-tap link (notify's: per delivery, unguessable, expiring).
- Anyone of a stage acknowledging acknowledges the stage. At the stage's limit (TimeLimit,
  else DEFAULT_LIMITS: the unit 10 minutes; the bureau 1 hour for grades I–II, 2 hours for
  III–IV) with nobody acknowledged, the worker calls the next tier: the unit's safety
  officers and the leader on duty one level up, then the level above that, up to the root.
  When nobody is left the stage is marked exhausted.
- A person with no channel beyond the app is still called (the inbox), and the timeline says
  so; a tier where nobody has a channel calls the next tier at once.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import Actor, audit_record
from safecampus.duty import selectors as duty
from safecampus.hazards import services as hazards
from safecampus.lib.text import clean_text
from safecampus.notify.models import Channel, Delivery, Transport, Urgency
from safecampus.notify.services import (
    delivery_acknowledge,
    notification_create,
    office_people,
    on_acknowledge,
    reachable_outside_app,
)
from safecampus.orgs import access
from safecampus.orgs.models import Area, Membership, Person, Role, Unit, UnitKind
from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, timer_schedule

from .models import (
    KIND_CATEGORY,
    Call,
    Category,
    EmergencyPlan,
    EntryKind,
    Grade,
    Incident,
    IncidentReport,
    IncidentStep,
    Kind,
    LocalCategory,
    ReportKind,
    RollCall,
    RollCallCount,
    Stage,
    StageLevel,
    State,
    TimeLimit,
    TimelineEntry,
)
from .plans import PlanText, default_plan

EVENT_CALL = "incident_call"
EVENT_GROUP = "incident_group"
ACK_TIMER = "incidents.ack_limit"
WRITTEN_TIMER = "incidents.written_due"
EVENT_OVERDUE = "incident_overdue"
# A quick report may say when it happened a little in the future (a phone's clock).
CLOCK_SKEW = dt.timedelta(minutes=5)
MAX_SUMMARY = 2000


@dataclass(frozen=True)
class Limits:
    acknowledge: dt.timedelta
    written: dt.timedelta
    follow_up: dt.timedelta
    final: dt.timedelta


SERIOUS = {Grade.I, Grade.II}


def default_limits(grade: str, level: str) -> Limits:
    """The shipped defaults: the unit acknowledges within 10 minutes, the bureau within
    1 hour (grades I–II) or 2 hours (III–IV); the written report within 1 hour (I–II) or
    2 hours; a follow-up every 24 hours while open; the final report within 7 days."""
    serious = grade in SERIOUS
    if level == StageLevel.UNIT:
        acknowledge = dt.timedelta(minutes=10)
    else:
        acknowledge = dt.timedelta(hours=1 if serious else 2)
    return Limits(
        acknowledge=acknowledge,
        written=dt.timedelta(hours=1 if serious else 2),
        follow_up=dt.timedelta(hours=24),
        final=dt.timedelta(days=7),
    )


def limits_for(category: str, grade: str, level: str) -> Limits:
    row = TimeLimit.objects.filter(category=category, grade=grade, level=level).first()
    if row is None:
        return default_limits(grade, level)
    return Limits(
        acknowledge=dt.timedelta(minutes=row.acknowledge_minutes),
        written=dt.timedelta(minutes=row.written_minutes),
        follow_up=dt.timedelta(hours=row.follow_up_hours),
        final=dt.timedelta(days=row.final_days),
    )


def bureau_of(unit: Unit) -> Unit | None:
    """The nearest bureau at or above `unit`."""
    return (
        Unit.objects.filter(path__in=unit.path_and_above(), kind=UnitKind.BUREAU)
        .order_by("-depth")
        .first()
    )


def _timeline(
    incident: Incident,
    kind: str,
    text: str = "",
    *,
    person: Person | None = None,
    at: dt.datetime | None = None,
    late: dt.timedelta | None = None,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        incident=incident,
        at=at or timezone.now(),
        kind=kind,
        person=person,
        text=text[:500],
        late_seconds=None if late is None else int(late.total_seconds()),
    )


# --- Who a stage calls ------------------------------------------------------------------------


def _on_duty_leaders(unit: Unit, at: dt.datetime) -> list[tuple[Person, str]]:
    """The leaders on duty at `unit` (else its staff on duty, else its fallback)."""
    answer = duty.on_duty_now(unit, at)
    if answer is None:
        return []
    if answer.leaders:
        return [(p, "leader_on_duty") for p in duty.people_to_ping(answer.leaders)]
    if answer.staff:
        return [(p, "on_duty") for p in duty.people_to_ping(answer.staff)]
    return [(p, "fallback") for p in duty.people_to_ping(answer.fallback[:1])]


def _members(unit: Unit, roles: set[str]) -> list[Person]:
    return [
        m.person
        for m in Membership.objects.filter(unit=unit, role__in=roles, person__is_active=True)
        .select_related("person")
        .order_by("person__name", "person_id")
    ]


def tier_people(stage: Stage, tier: int, at: dt.datetime) -> list[tuple[Person, str]]:
    """Who the stage calls at `tier` (with why), or [] when the chain has no one left."""
    unit = stage.unit
    if tier == 0:
        if stage.level == StageLevel.UNIT:
            people: list[tuple[Person, str]] = []
            if unit.head is not None and unit.head.is_active:
                people.append((unit.head, "head"))
            on_call = duty.people_on_call(unit, at)
            why = "fallback" if on_call.fallback else "on_duty"
            people += [(p, why) for p in on_call.people]
            return people
        office = [(p, "safety_office") for p in _members(unit, {Role.SAFETY_OFFICE})]
        return office + _on_duty_leaders(unit, at)
    if tier == 1:
        if stage.level == StageLevel.UNIT:
            people = [(p, "safety_officer") for p in _members(unit, {Role.SAFETY_OFFICER})]
        else:
            people = [(unit.head, "head")] if unit.head and unit.head.is_active else []
            people += [(p, "bureau_leader") for p in _members(unit, {Role.BUREAU_LEADER})]
        parent = Unit.objects.get_parent(unit)
        if parent is not None:
            people += [(p, "above") for p, _why in _on_duty_leaders(parent, at)]
        return people
    # tier 2 and on: the leader on duty one more level up each time
    above = unit
    for _i in range(tier):
        above = Unit.objects.get_parent(above) if above is not None else None
    if above is None:
        return []
    return [(p, "above") for p, _why in _on_duty_leaders(above, at)]


WHY = {
    "head": _("the unit's head"),
    "on_duty": _("on duty"),
    "leader_on_duty": _("leader on duty"),
    "fallback": _("nobody on duty: the fallback"),
    "safety_office": _("safety office"),
    "safety_officer": _("safety officer"),
    "bureau_leader": _("bureau leader"),
    "above": _("leader on duty one level up"),
}


def _call_text(incident: Incident) -> tuple[str, str]:
    title = _("Incident at %(unit)s: %(kind)s. Acknowledge") % {
        "unit": incident.unit.name,
        "kind": incident.get_kind_display(),
    }
    body = _(
        "%(when)s, %(place)s: %(summary)s People hurt: %(injured)d. Emergency services "
        "called: %(called)s. Reported by %(by)s. Tap the link to acknowledge."
    ) % {
        "when": timezone.localtime(incident.occurred_at).strftime("%m-%d %H:%M"),
        "place": incident.place or (incident.area.name if incident.area else incident.unit.name),
        "summary": incident.summary[:300],
        "injured": incident.injured,
        "called": _("yes") if incident.emergency_called else _("no"),
        "by": incident.reported_by.name or incident.reported_by.username,
    }
    return title, body


def _call_tier(stage: Stage, tier: int, now: dt.datetime) -> int:
    """Call the tier's people not yet called at this stage. Where nobody new is called
    who has a channel beyond the app, the next tier is called at once. Returns the last
    tier at which someone was called (its limit then runs), or -1 when nobody was."""
    incident = stage.incident
    title, body = _call_text(incident)
    last = max(1, len(stage.unit.path) // Unit.steplen - 1)  # tier 2 on: one level up each
    reached = -1
    while tier <= last:
        called = set(stage.calls.values_list("person_id", flat=True))
        people: dict[int, tuple[Person, str]] = {}
        for person, why in tier_people(stage, tier, now):
            if person.pk not in called and person.pk not in people:
                people[person.pk] = (person, why)
        any_reachable = False
        for person, why in people.values():
            notification = notification_create(
                event=EVENT_CALL,
                title=title,
                body=body,
                urgency=Urgency.URGENT,
                requires_ack=True,
                unit=incident.unit,
                sender=incident.reported_by,
                link=reverse("incidents:detail", kwargs={"pk": incident.pk}),
                params={"incident": incident.pk, "stage": stage.pk},
                people=[person],
            )
            reachable = reachable_outside_app(person)
            any_reachable = any_reachable or reachable
            Call.objects.create(
                stage=stage,
                person=person,
                notification=notification,
                tier=tier,
                why=why,
                called_at=now,
                reachable=reachable,
            )
            label = f"{person.name} ({WHY.get(why, why)})"
            if reachable:
                _timeline(incident, EntryKind.CALLED, label, person=person, at=now)
            else:
                _timeline(
                    incident,
                    EntryKind.UNREACHABLE,
                    _("%(person)s has no channel beyond the app: told in the app only")
                    % {"person": label},
                    person=person,
                    at=now,
                )
        if people:
            reached = tier
        if any_reachable:
            return tier
        tier += 1
    return reached


def _open_stage(incident: Incident, level: str, unit: Unit, now: dt.datetime) -> Stage:
    limits = limits_for(incident.category, incident.grade, level)
    stage = Stage.objects.create(
        incident=incident, level=level, unit=unit, due_at=now + limits.acknowledge
    )
    _post_to_groups(stage, now)
    reached = _call_tier(stage, 0, now)
    _after_tier(stage, reached, now, limits)
    return stage


def _post_to_groups(stage: Stage, now: dt.datetime) -> None:
    """The stage's unit's chat-group robots (WeCom, DingTalk, Feishu, webhooks) get the
    alarm at once: the group sees it; the people called acknowledge for themselves."""
    channels = list(Channel.objects.filter(unit=stage.unit, enabled=True))
    if not channels:
        return
    incident = stage.incident
    title, body = _call_text(incident)
    notification_create(
        event=EVENT_GROUP,
        title=title,
        body=body,
        urgency=Urgency.URGENT,
        unit=incident.unit,
        sender=incident.reported_by,
        link=reverse("incidents:detail", kwargs={"pk": incident.pk}),
        params={"incident": incident.pk, "stage": stage.pk},
        channels=channels,
    )
    _timeline(
        incident,
        EntryKind.CALLED,
        _("Chat groups of %(unit)s: %(names)s")
        % {"unit": stage.unit.name, "names": "、".join(c.name for c in channels)},
        at=now,
    )


def _after_tier(stage: Stage, reached: int, now: dt.datetime, limits: Limits) -> None:
    if reached < 0:
        Stage.objects.filter(pk=stage.pk).update(exhausted_at=now)
        stage.exhausted_at = now
        _timeline(
            stage.incident,
            EntryKind.EXHAUSTED,
            _("%(level)s: nobody left on the chain to call") % {"level": stage.unit.name},
            at=now,
        )
        return
    stage.tier = reached
    stage.due_at = now + limits.acknowledge
    Stage.objects.filter(pk=stage.pk).update(tier=reached, due_at=stage.due_at)
    timer_schedule(
        kind=ACK_TIMER,
        key=f"incident:stage:{stage.pk}:{reached}",
        due_at=stage.due_at,
        payload={"stage": stage.pk, "tier": reached},
    )


# --- The quick report ---------------------------------------------------------------------------


@transaction.atomic
def incident_report(
    *,
    by: Person,
    unit: Unit,
    kind: str,
    summary: str,
    place: str = "",
    area: Area | None = None,
    injured: int = 0,
    emergency_called: bool = False,
    occurred_at: dt.datetime | None = None,
    grade: str = Grade.IV,
) -> Incident:
    """The spoken-first quick report (先口头): the incident, and the chain called at once."""
    access.require(access.can_report_incident(by, unit))
    now = timezone.now()
    errors: dict[str, str] = {}
    if kind not in Kind.values:
        errors["kind"] = _("Choose the type of incident.")
    if grade not in Grade.values:
        errors["grade"] = _("Choose a grade.")
    summary = (summary or "").strip()
    if not summary:
        errors["summary"] = _("Say in a few words what happened.")
    elif len(summary) > MAX_SUMMARY:
        errors["summary"] = _("At most %(n)d characters.") % {"n": MAX_SUMMARY}
    if "\x00" in summary + place:
        errors["summary"] = _("Null characters are not allowed.")
    if area is not None and area.unit_id != unit.pk:
        errors["area"] = _("This area is not in the unit.")
    if injured < 0 or injured > 100000:
        errors["injured"] = _("Give a number of people between 0 and 100,000.")
    occurred_at = occurred_at or now
    if occurred_at > now + CLOCK_SKEW:
        errors["occurred_at"] = _("This time is in the future.")
    if unit.is_archived:
        errors["unit"] = _("This unit is archived.")
    if errors:
        raise ValidationError(errors)
    incident = Incident.objects.create(
        unit=unit,
        area=area,
        place=place.strip()[:200],
        kind=kind,
        category=KIND_CATEGORY[Kind(kind)],
        grade=grade,
        summary=summary,
        injured=injured,
        emergency_called=emergency_called,
        occurred_at=min(occurred_at, now),
        reported_at=now,
        reported_by=by,
    )
    _timeline(
        incident,
        EntryKind.REPORTED,
        _("%(kind)s at %(unit)s, reported by %(by)s")
        % {"kind": incident.get_kind_display(), "unit": unit.name, "by": by.name},
        person=by,
        at=now,
        late=now - incident.occurred_at,
    )
    audit_record(
        action="create",
        model="incidents.incident",
        object_id=incident.pk,
        object_repr=str(incident),
        changes={"unit": unit.pk, "kind": kind, "grade": grade, "injured": injured},
        actor=Actor(id=by.pk, label=str(by)),
    )
    plan = plan_for(unit, kind)
    IncidentStep.objects.bulk_create(
        IncidentStep(incident=incident, order=i, text=text[:300])
        for i, text in enumerate(plan.steps, start=1)
    )
    _open_stage(incident, StageLevel.UNIT, unit, now)
    timer_schedule(
        kind=WRITTEN_TIMER,
        key=f"incident:written:{incident.pk}",
        due_at=now + limits_for(incident.category, grade, StageLevel.UNIT).written,
        payload={"incident": incident.pk},
    )
    bureau = bureau_of(unit)
    if bureau is not None and bureau.pk != unit.pk:
        _open_stage(incident, StageLevel.BUREAU, bureau, now)
    return incident


# --- Acknowledging ------------------------------------------------------------------------------


def incident_acknowledge(*, call: Call, now: dt.datetime | None = None) -> bool:
    """Record that the person called acknowledged (once): the call, and its stage if it was
    still waiting. Runs in the acknowledging transaction (notify.delivery_acknowledge)."""
    now = now or timezone.now()
    if not Call.objects.filter(pk=call.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now
    ):
        return False
    stage = call.stage
    incident = stage.incident
    first = Stage.objects.filter(pk=stage.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=call.person
    )
    _timeline(
        incident,
        EntryKind.ACKNOWLEDGED,
        _("%(person)s for %(level)s") % {"person": call.person.name, "level": stage.unit.name},
        person=call.person,
        at=now,
        late=(now - stage.due_at) if first else None,
    )
    audit_record(
        action="update",
        model="incidents.call",
        object_id=call.pk,
        object_repr=f"{incident} {call.person}",
        changes={"acknowledged_at": now, "stage": stage.level},
        actor=Actor(id=call.person_id, label=str(call.person)),
    )
    return True


@on_acknowledge(EVENT_CALL)
def _acknowledged(delivery: Delivery) -> None:
    call = (
        Call.objects.select_related("stage__incident__unit", "stage__unit", "person")
        .filter(notification_id=delivery.notification_id, person_id=delivery.person_id)
        .first()
    )
    if call is not None:
        incident_acknowledge(call=call)


def my_call(incident: Incident, person: Any) -> Call | None:
    """The call the chain made to `person` for this incident that waits for them."""
    if not getattr(person, "pk", None):
        return None
    return (
        Call.objects.select_related("stage__incident__unit", "stage__unit", "person")
        .filter(stage__incident=incident, person_id=person.pk, acknowledged_at__isnull=True)
        .order_by("called_at")
        .first()
    )


@transaction.atomic
def incident_acknowledge_mine(*, by: Person, incident: Incident) -> Call:
    """Acknowledge from the incident's page or the API: the caller's own call only. Through
    notify, so the inbox shows it acknowledged too (and the handler records it)."""
    call = my_call(incident, by)
    if call is None:
        already = Call.objects.filter(stage__incident=incident, person_id=by.pk).first()
        if already is not None:
            return already  # acknowledged before: one entry
        raise PermissionDenied(_("The chain did not call you for this incident."))
    delivery = Delivery.objects.filter(
        notification_id=call.notification_id, person=by, transport=Transport.INBOX
    ).first()
    if delivery is not None:
        delivery_acknowledge(delivery=delivery)
    else:  # pragma: no cover (every call has its inbox delivery)
        incident_acknowledge(call=call)
    call.refresh_from_db()
    return call


# --- Escalation ---------------------------------------------------------------------------------


@transaction.atomic
def stage_limit_passed(*, stage_id: int, tier: int) -> bool:
    """The worker at a stage's limit: nobody acknowledged → call the next tier (the timeline
    says how late the worker was). Anything else (acknowledged, already moved on, closed):
    nothing."""
    stage = (
        Stage.objects.select_for_update(of=("self",))
        .select_related("incident__unit", "incident__reported_by", "unit__head")
        .filter(pk=stage_id)
        .first()
    )
    if stage is None or stage.acknowledged_at or stage.exhausted_at or stage.tier != tier:
        return False
    incident = stage.incident
    if incident.state == State.CLOSED:
        return False
    now = timezone.now()
    _timeline(
        incident,
        EntryKind.ESCALATED,
        _("%(level)s: nobody acknowledged within the limit; the next on the chain is called")
        % {"level": stage.unit.name},
        at=now,
        late=now - stage.due_at,
    )
    reached = _call_tier(stage, tier + 1, now)
    _after_tier(stage, reached, now, limits_for(incident.category, incident.grade, stage.level))
    return True


@on_timer(ACK_TIMER)
def _ack_timer(timer: Timer) -> None:
    stage_limit_passed(
        stage_id=int(timer.payload.get("stage", 0)), tier=int(timer.payload.get("tier", 0))
    )


@transaction.atomic
def written_due(*, incident_id: int) -> bool:
    """The worker when the written report falls due: if it is not in, the timeline says it
    is overdue (and how late the worker was), and the unit's office or head is told."""
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("unit")
        .filter(pk=incident_id)
        .first()
    )
    if incident is None or incident.written_at is not None or incident.state == State.CLOSED:
        return False
    now = timezone.now()
    due = (
        incident.reported_at
        + limits_for(incident.category, incident.grade, StageLevel.UNIT).written
    )
    text = _("The written report is overdue (due %(due)s).") % {
        "due": timezone.localtime(due).strftime("%m-%d %H:%M")
    }
    _timeline(incident, EntryKind.OVERDUE, text, at=now, late=now - due)
    notification_create(
        event=EVENT_OVERDUE,
        title=_("Written report overdue: %(unit)s, %(kind)s")
        % {"unit": incident.unit.name, "kind": incident.get_kind_display()},
        body=text,
        urgency=Urgency.URGENT,
        unit=incident.unit,
        link=reverse("incidents:written", kwargs={"pk": incident.pk}),
        params={"incident": incident.pk},
        people=office_people(incident.unit),
    )
    return True


@on_timer(WRITTEN_TIMER)
def _written_timer(timer: Timer) -> None:
    written_due(incident_id=int(timer.payload.get("incident", 0)))


# --- Written, follow-up and final reports -------------------------------------------------------

WRITTEN_FIELDS = ("source", "scope", "affected", "trend", "measures")
FINAL_FIELDS = ("cause", "handling", "losses", "lessons", "corrective")
MAX_TEXT = 5000


def _clean_texts(fields: dict[str, Any], required: tuple[str, ...]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, value in fields.items():
        cleaned[name] = clean_text(
            value, name, errors, required=name in required, max_length=MAX_TEXT
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def _require_open(incident: Incident) -> None:
    if incident.state == State.CLOSED:
        raise ValidationError(_("This incident is closed."))


@transaction.atomic
def incident_write(
    *,
    by: Person,
    incident: Incident,
    grade: str,
    category: str,
    source: str,
    scope: str,
    affected: str,
    trend: str,
    measures: str,
) -> IncidentReport:
    """The written report (书面报告): every field required; it sets the grade and category."""
    access.require(access.can_handle_incident(by, incident.unit))
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _require_open(incident)
    errors: dict[str, str] = {}
    if grade not in Grade.values:
        errors["grade"] = _("Choose a grade.")
    if category not in dict(categories_for(incident.unit)):
        errors["category"] = _("Choose a category.")
    try:
        texts = _clean_texts(
            {
                "source": source,
                "scope": scope,
                "affected": affected,
                "trend": trend,
                "measures": measures,
            },
            WRITTEN_FIELDS,
        )
    except ValidationError as e:
        errors.update({k: v[0] for k, v in e.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    if incident.written_at is not None:
        raise ValidationError(_("The written report is in: add a follow-up report."))
    now = timezone.now()
    kind = ReportKind.WRITTEN
    report = IncidentReport.objects.create(
        incident=incident, kind=kind, submitted_by=by, submitted_at=now, **texts
    )
    changed = {"grade": grade, "category": category}
    Incident.objects.filter(pk=incident.pk).update(grade=grade, category=category, written_at=now)
    limits = limits_for(category, grade, StageLevel.UNIT)
    _timeline(
        incident,
        EntryKind.WRITTEN,
        _("Grade %(grade)s, by %(by)s") % {"grade": Grade(grade).label, "by": by.name},
        person=by,
        at=now,
        late=now - (incident.reported_at + limits.written),
    )
    audit_record(
        action="create",
        model="incidents.incidentreport",
        object_id=report.pk,
        object_repr=str(incident),
        changes={"kind": kind, **changed},
        actor=Actor(id=by.pk, label=str(by)),
    )
    return report


@transaction.atomic
def incident_follow_up(
    *, by: Person, incident: Incident, changes: str, measures: str = "", grade: str = ""
) -> IncidentReport:
    """A follow-up report (续报): what changed (required), and a new grade if it changed."""
    access.require(access.can_handle_incident(by, incident.unit))
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _require_open(incident)
    if grade and grade not in Grade.values:
        raise ValidationError({"grade": _("Choose a grade.")})
    texts = _clean_texts({"changes": changes, "measures": measures}, ("changes",))
    now = timezone.now()
    report = IncidentReport.objects.create(
        incident=incident, kind=ReportKind.FOLLOW_UP, submitted_by=by, submitted_at=now, **texts
    )
    if grade and grade != incident.grade:
        Incident.objects.filter(pk=incident.pk).update(grade=grade)
    last = (
        IncidentReport.objects.filter(incident=incident)
        .exclude(pk=report.pk)
        .order_by("-submitted_at")
        .values_list("submitted_at", flat=True)
        .first()
    )
    limits = limits_for(incident.category, grade or incident.grade, StageLevel.UNIT)
    since = last or incident.reported_at
    _timeline(
        incident,
        EntryKind.FOLLOW_UP,
        texts["changes"][:200],
        person=by,
        at=now,
        late=now - (since + limits.follow_up),
    )
    audit_record(
        action="create",
        model="incidents.incidentreport",
        object_id=report.pk,
        object_repr=str(incident),
        changes={"kind": ReportKind.FOLLOW_UP, "grade": grade or incident.grade},
        actor=Actor(id=by.pk, label=str(by)),
    )
    return report


@transaction.atomic
def incident_close(
    *,
    by: Person,
    incident: Incident,
    cause: str,
    handling: str,
    losses: str,
    lessons: str,
    corrective: str,
) -> IncidentReport:
    """The final report (终报): cause, handling, losses, lessons, corrective measures, every
    one required; it closes the incident. The written report must come first."""
    access.require(access.can_handle_incident(by, incident.unit))
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    _require_open(incident)
    if incident.written_at is None:
        raise ValidationError(_("Submit the written report first."))
    texts = _clean_texts(
        {
            "cause": cause,
            "handling": handling,
            "losses": losses,
            "lessons": lessons,
            "corrective": corrective,
        },
        FINAL_FIELDS,
    )
    now = timezone.now()
    report = IncidentReport.objects.create(
        incident=incident, kind=ReportKind.FINAL, submitted_by=by, submitted_at=now, **texts
    )
    Incident.objects.filter(pk=incident.pk).update(state=State.CLOSED, closed_at=now)
    limits = limits_for(incident.category, incident.grade, StageLevel.UNIT)
    _timeline(
        incident,
        EntryKind.FINAL,
        _("Closed by %(by)s") % {"by": by.name},
        person=by,
        at=now,
        late=now - (incident.reported_at + limits.final),
    )
    audit_record(
        action="update",
        model="incidents.incident",
        object_id=incident.pk,
        object_repr=str(incident),
        changes={"state": State.CLOSED, "closed_at": now},
        actor=Actor(id=by.pk, label=str(by)),
    )
    return report


# --- Emergency plans and their steps ----------------------------------------------------------

MAX_STEPS = 40


def plan_for(unit: Unit, kind: str) -> PlanText:
    """The plan an incident of `kind` at `unit` follows: the unit's own copy, else the
    nearest unit's above it, else the shipped default."""
    own = (
        EmergencyPlan.objects.filter(unit__path__in=unit.path_and_above(), kind=kind)
        .order_by("-unit__depth")
        .first()
    )
    if own is None:
        return default_plan(kind)
    return PlanText(
        own.title,
        own.roles,
        [line for line in own.steps.splitlines() if line.strip()],
        own.contacts,
        own.supplies,
    )


@transaction.atomic
def plan_save(
    *,
    by: Person,
    unit: Unit,
    kind: str,
    title: str,
    roles: str,
    steps: str,
    contacts: str,
    supplies: str,
) -> EmergencyPlan:
    """Save the unit's own copy of the plan for `kind` (the default is never changed)."""
    access.require(access.can_edit_emergency_plans(by, unit))
    errors: dict[str, str] = {}
    if kind not in Kind.values:
        errors["kind"] = _("Choose the type of incident.")
    title = (title or "").strip()
    if not title:
        errors["title"] = _("This field is required.")
    lines = [line.strip() for line in (steps or "").splitlines() if line.strip()]
    if not lines:
        errors["steps"] = _("Write at least one step, one a line.")
    elif len(lines) > MAX_STEPS or any(len(line) > 300 for line in lines):
        errors["steps"] = _("At most %(n)d steps of 300 characters.") % {"n": MAX_STEPS}
    if any("\x00" in (v or "") for v in (title, roles, steps, contacts, supplies)):
        errors["title"] = _("Null characters are not allowed.")
    if errors:
        raise ValidationError(errors)
    plan, _created = EmergencyPlan.objects.update_or_create(
        unit=unit,
        kind=kind,
        defaults={
            "title": title[:100],
            "roles": (roles or "").strip(),
            "steps": "\n".join(lines),
            "contacts": (contacts or "").strip(),
            "supplies": (supplies or "").strip(),
            "updated_by": by,
        },
    )
    audit_record(
        action="update",
        model="incidents.emergencyplan",
        object_id=plan.pk,
        object_repr=str(plan),
        changes={"kind": kind, "steps": len(lines)},
        actor=Actor(id=by.pk, label=str(by)),
    )
    return plan


@transaction.atomic
def step_done(*, by: Person, step: IncidentStep) -> IncidentStep:
    """Tick a step off (once: a second tick changes nothing)."""
    incident = step.incident
    called = Call.objects.filter(stage__incident=incident, person_id=by.pk).exists()
    access.require(access.can_tick_incident_step(by, incident.unit, called=called))
    _require_open(incident)
    now = timezone.now()
    if IncidentStep.objects.filter(pk=step.pk, done_at__isnull=True).update(
        done_at=now, done_by=by
    ):
        audit_record(
            action="update",
            model="incidents.incidentstep",
            object_id=step.pk,
            object_repr=str(step)[:200],
            changes={"done_at": now},
            actor=Actor(id=by.pk, label=str(by)),
        )
    step.refresh_from_db()
    return step


# --- Asking a unit to explain a mismatch with its daily report ---------------------------------

EVENT_EXPLAIN = "incident_explain"


@transaction.atomic
def explanation_ask(*, by: Person, incident: Incident, day: dt.date, kind: str) -> TimelineEntry:
    """Ask the incident's unit (its office contact, else its head) to explain why its daily
    report for `day` said zero: an urgent message to acknowledge, and a timeline entry."""
    access.require(access.can_ask_incident_explanation(by, incident.unit))
    if kind == "concealed":
        text = _(
            "The incident of %(day)s was entered after your zero report for that day. "
            "Explain why it was not reported (瞒报 is accountable)."
        )
    else:
        text = _(
            "Your daily report for %(day)s said zero while an incident of that day is on "
            "record. Explain, and correct the report."
        )
    body = text % {"day": day.isoformat()}
    people = office_people(incident.unit)
    notification_create(
        event=EVENT_EXPLAIN,
        title=_("Explain: %(unit)s, %(day)s") % {"unit": incident.unit.name, "day": day},
        body=body,
        urgency=Urgency.URGENT,
        requires_ack=True,
        unit=incident.unit,
        sender=by,
        link=reverse("incidents:detail", kwargs={"pk": incident.pk}),
        params={"incident": incident.pk, "day": day.isoformat(), "kind": kind},
        people=people,
    )
    entry = _timeline(incident, EntryKind.EXPLAIN, body, person=by)
    audit_record(
        action="update",
        model="incidents.incident",
        object_id=incident.pk,
        object_repr=str(incident),
        changes={"explanation_asked": kind, "day": day.isoformat()},
        actor=Actor(id=by.pk, label=str(by)),
    )
    return entry


# --- Evacuation roll call --------------------------------------------------------------------

MAX_CLASS = 10000


@transaction.atomic
def roll_call_start(*, by: Person, incident: Incident) -> RollCall:
    """Start the roll call (once: starting it again returns the one there is)."""
    called = Call.objects.filter(stage__incident=incident, person_id=by.pk).exists()
    access.require(access.can_tick_incident_step(by, incident.unit, called=called))
    _require_open(incident)
    roll, created = RollCall.objects.get_or_create(
        incident=incident,
        defaults={"unit": incident.unit, "started_by": by, "started_at": timezone.now()},
    )
    if created:
        _roll_call_audit(by, roll)
    return roll


def _roll_call_audit(by: Person, roll: RollCall) -> None:
    audit_record(
        action="create",
        model="incidents.rollcall",
        object_id=roll.pk,
        object_repr=str(roll),
        actor=Actor(id=by.pk, label=str(by)),
    )


@transaction.atomic
def roll_call_open(*, by: Person, unit: Unit) -> RollCall:
    """A roll call at a unit without an incident (a drill's: drills.services keeps it once
    per drill). Its head teachers count their classes as in an incident's."""
    access.require(access.can_open_roll_call(by, unit))
    if unit.is_archived:
        raise ValidationError(_("This unit is archived."))
    roll = RollCall.objects.create(unit=unit, started_by=by, started_at=timezone.now())
    _roll_call_audit(by, roll)
    return roll


@transaction.atomic
def roll_call_count(
    *, by: Person, roll_call: RollCall, class_name: str, present: int, absent: int
) -> RollCallCount:
    """A head teacher's count of their class (a second count replaces their first)."""
    access.require(access.can_count_class(by, roll_call.unit))
    errors: dict[str, str] = {}
    # As stored, not as read: a count sent from a page opened before the roll call closed.
    if RollCall.objects.filter(pk=roll_call.pk, closed_at__isnull=False).exists():
        raise ValidationError(_("The roll call is closed."))
    class_name = (class_name or "").strip()
    if not class_name:
        errors["class_name"] = _("Name the class.")
    elif len(class_name) > 40 or "\x00" in class_name:
        errors["class_name"] = _("At most %(n)d characters.") % {"n": 40}
    for name, value in (("present", present), ("absent", absent)):
        if not isinstance(value, int) or not 0 <= value <= MAX_CLASS:
            errors[name] = _("Give a number between 0 and %(max)d.") % {"max": MAX_CLASS}
    if errors:
        raise ValidationError(errors)
    count, _created = RollCallCount.objects.update_or_create(
        roll_call=roll_call,
        person=by,
        defaults={
            "class_name": class_name,
            "present": present,
            "absent": absent,
            "at": timezone.now(),
        },
    )
    return count


@transaction.atomic
def roll_call_close(*, by: Person, roll_call: RollCall) -> RollCall:
    access.require(access.can_handle_incident(by, roll_call.unit))
    RollCall.objects.filter(pk=roll_call.pk, closed_at__isnull=True).update(
        closed_at=timezone.now()
    )
    roll_call.refresh_from_db()
    return roll_call


# --- Time limits ------------------------------------------------------------------------------

LIMIT_BOUNDS = {
    "acknowledge_minutes": (1, 24 * 60),
    "written_minutes": (5, 7 * 24 * 60),
    "follow_up_hours": (1, 30 * 24),
    "final_days": (1, 365),
}


@transaction.atomic
def limit_set(*, by: Person, category: str, grade: str, level: str, **values: int) -> TimeLimit:
    """Set the limits of one (category, grade, level); every value within its bounds."""
    access.require(access.can_set_incident_limits(by))
    errors: dict[str, str] = {}
    if category not in Category.values:
        errors["category"] = _("Choose a category.")
    if grade not in Grade.values:
        errors["grade"] = _("Choose a grade.")
    if level not in StageLevel.values:
        errors["level"] = _("Choose a level.")
    for name, (low, high) in LIMIT_BOUNDS.items():
        value = values.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[name] = _("Give a number between %(low)d and %(high)d.") % {
                "low": low,
                "high": high,
            }
    if errors:
        raise ValidationError(errors)
    row, _created = TimeLimit.objects.update_or_create(
        category=category,
        grade=grade,
        level=level,
        defaults={**{k: values[k] for k in LIMIT_BOUNDS}, "updated_by": by},
    )
    audit_record(
        action="update",
        model="incidents.timelimit",
        object_id=row.pk,
        object_repr=str(row),
        changes={k: values[k] for k in LIMIT_BOUNDS},
        actor=Actor(id=by.pk, label=str(by)),
    )
    return row


def limits_table() -> list[dict[str, Any]]:
    """Every (category, grade, level) with the limits in force (a setting, else the default)."""
    rows = {(r.category, r.grade, r.level): r for r in TimeLimit.objects.all()}
    table = []
    for category in Category.values:
        for grade in Grade.values:
            for level in StageLevel.values:
                row = rows.get((category, grade, level))
                limits = limits_for(category, grade, level) if row else default_limits(grade, level)
                table.append(
                    {
                        "category": category,
                        "grade": grade,
                        "level": level,
                        "acknowledge_minutes": int(limits.acknowledge.total_seconds() // 60),
                        "written_minutes": int(limits.written.total_seconds() // 60),
                        "follow_up_hours": int(limits.follow_up.total_seconds() // 3600),
                        "final_days": limits.final.days,
                        "is_default": row is None,
                    }
                )
    return table


# --- Categories: the law's, the shipped two, and a bureau's own -------------------------------


def categories_for(unit: Unit) -> list[tuple[str, str]]:
    """The categories an incident at `unit` may be filed under: Category, then the own
    categories (not archived) of the bureaus at and above it."""
    local = LocalCategory.objects.filter(
        bureau__path__in=unit.path_and_above(), archived_at__isnull=True
    ).order_by("bureau__depth", "name")
    return [(c.value, str(c.label)) for c in Category] + [(c.code, c.name) for c in local]


def category_label(incident: Incident) -> str:
    if incident.category in Category.values:
        return str(Category(incident.category).label)
    local = (
        LocalCategory.objects.filter(
            bureau__path__in=incident.unit.path_and_above(), code=incident.category
        )
        .order_by("-bureau__depth")
        .first()
    )
    return local.name if local else incident.category


@transaction.atomic
def local_category_add(*, by: Person, bureau: Unit, code: str, name: str) -> LocalCategory:
    access.require(access.can_edit_incident_categories(by, bureau))
    errors: dict[str, str] = {}
    if bureau.kind != UnitKind.BUREAU:
        errors["bureau"] = _("Only a bureau keeps its own categories.")
    code = (code or "").strip().lower()
    name = (name or "").strip()
    if (
        not code
        or len(code) > 12
        or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in code)
    ):
        errors["code"] = _("Up to 12 letters, digits, - or _.")
    elif code in Category.values or LocalCategory.objects.filter(bureau=bureau, code=code).exists():
        errors["code"] = _("This code is taken.")
    if not name or len(name) > 40 or "\x00" in name:
        errors["name"] = _("Give a name of up to 40 characters.")
    if errors:
        raise ValidationError(errors)
    category = LocalCategory.objects.create(bureau=bureau, code=code, name=name)
    audit_record(
        action="create",
        model="incidents.localcategory",
        object_id=category.pk,
        object_repr=name,
        changes={"bureau": bureau.pk, "code": code},
        actor=Actor(id=by.pk, label=str(by)),
    )
    return category


@transaction.atomic
def local_category_archive(*, by: Person, category: LocalCategory) -> LocalCategory:
    access.require(access.can_edit_incident_categories(by, category.bureau))
    if LocalCategory.objects.filter(pk=category.pk, archived_at__isnull=True).update(
        archived_at=timezone.now()
    ):
        audit_record(
            action="update",
            model="incidents.localcategory",
            object_id=category.pk,
            object_repr=category.name,
            changes={"archived": True},
            actor=Actor(id=by.pk, label=str(by)),
        )
    category.refresh_from_db()
    return category


# --- A lesson becomes a hazard ----------------------------------------------------------------

HAZARD_CATEGORY = {
    Kind.FIRE: "fire",
    Kind.FOOD_POISONING: "food",
    Kind.INFECTIOUS: "food",
    Kind.TRAFFIC: "bus",
    Kind.VIOLENCE: "gate",
    Kind.DROWNING: "surroundings",
    Kind.BUILDING: "buildings",
    Kind.LAB: "labs",
    Kind.FLOOD: "buildings",
    Kind.EARTHQUAKE: "buildings",
    Kind.LANDSLIDE: "surroundings",
    Kind.CROWD: "buildings",
    Kind.MISSING: "gate",
}


@transaction.atomic
def lesson_to_hazard(*, by: Person, incident: Incident) -> Any:
    """The final report's lesson and corrective measures, as a hazard in the unit's ledger
    (once: a second time returns nothing new and says so)."""
    access.require(access.can_handle_incident(by, incident.unit))
    final = incident.reports.filter(kind=ReportKind.FINAL).first()
    if final is None:
        raise ValidationError(_("The final report is not in yet."))
    if incident.timeline.filter(kind=EntryKind.HAZARD).exists():
        raise ValidationError(_("The lesson is already in the hazard ledger."))
    hazard = hazards.hazard_report(
        by=by,
        unit=incident.unit,
        category=HAZARD_CATEGORY.get(incident.kind, "other"),
        description=_("From the incident of %(day)s (%(kind)s): %(lessons)s")
        % {
            "day": timezone.localtime(incident.occurred_at).strftime("%Y-%m-%d"),
            "kind": incident.get_kind_display(),
            "lessons": final.lessons,
        },
        area=incident.area,
        place=incident.place,
        interim=final.corrective,
    )
    _timeline(incident, EntryKind.HAZARD, f"#{hazard.pk}", person=by)
    return hazard
