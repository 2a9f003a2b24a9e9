"""Recording a routine check, a bureau's settings of the kinds, and what the end of a period
does: a unit-check short of its count is missed (once), and the level above is told.

Each record counts in its unit's tally of the period (one row per unit, kind and period,
incremented with a conditional update: never once the period is closed). The worker closes a
school day after midnight (and a month after its last day): the tallies still open and short
become missed, in one conditional update, so a second run (a worker retrying, two workers)
finds nothing left to mark and tells nobody twice.
"""

import datetime as dt
from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import Actor, audit_record
from safecampus.lib.text import clean_text
from safecampus.notify.models import Urgency
from safecampus.notify.services import notification_create, office_people
from safecampus.orgs import access
from safecampus.orgs.models import Membership, Person, Role, Unit
from safecampus.reports.official_calendar import is_workday

from . import selectors
from .models import (
    MAX_REQUIRED,
    NOTE_MAX,
    ROUTINE_UNIT_KINDS,
    Applies,
    Code,
    Kind,
    Meal,
    Period,
    RoutineKind,
    RoutineRecord,
    RoutineTally,
)

# A phone's clock a little ahead of the server's is not "a time still to come".
CLOCK_SLACK = dt.timedelta(minutes=5)
MAX_GRAMS = 5000
GRAMS_LIMITS = (125, 2000)  # a bureau's least weight of a sample: never under REFERENCE's 125 g
KEEP_LIMITS = (48, 720)  # hours a sample is kept: never under 48


def _audit(by: Person, action: str, model: str, pk: Any, text: str, changes: dict) -> None:
    audit_record(
        action=action,
        model=model,
        object_id=pk,
        object_repr=text[:200],
        changes=changes,
        actor=Actor(id=by.pk, label=str(by)),
    )


def end_of(day: dt.date) -> dt.datetime:
    """A day ends at the local midnight after it."""
    return dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(), tzinfo=timezone.get_current_timezone()
    )


# --- Recording ----------------------------------------------------------------------------


def _kind_of(unit: Unit, code: str, day: dt.date, errors: dict[str, str]) -> Kind | None:
    if unit.kind not in ROUTINE_UNIT_KINDS:
        errors["unit_id"] = _("Only schools and kindergartens keep routine checks.")
        return None
    kind = next((k for k in selectors.kinds_for(unit) if k.code == code), None)
    if kind is None or not selectors.kind_applies(kind, selectors.unit_flags(unit, day)):
        errors["kind"] = _("This unit does not keep this check.")
        return None
    return kind


def _answer(value: bool | None, name: str, errors: dict[str, str]) -> bool | None:
    if value is None:
        errors[name] = _("Answer yes or no.")
    return value


@transaction.atomic
def routine_record(
    *,
    by: Person,
    unit: Unit,
    code: str,
    at: dt.datetime | None = None,
    who: str = "",
    meal: str = "",
    dish: str = "",
    grams: int | None = None,
    exits_clear: bool | None = None,
    extinguishers_ok: bool | None = None,
    hazards_found: bool | None = None,
    note: str = "",
) -> RoutineRecord:
    """Record one check done at `at` (default now) at the unit: only in the current period
    (today; this month for a monthly check). A food sample under the bureau's least weight is
    recorded and flagged (`underweight`); it is kept until `at` plus the hours set."""
    access.require(access.can_record_routine(by, unit))
    now = timezone.now()
    at = at or now
    day, today = timezone.localdate(at), timezone.localdate(now)
    errors: dict[str, str] = {}
    kind = _kind_of(unit, code, today, errors) if code in Code.values else None
    if code not in Code.values:
        errors["kind"] = _("Not a kind of routine check.")
    if at > now + CLOCK_SLACK:
        errors["at"] = _("This time is still to come.")
    elif kind is not None and kind.period_start(day) != kind.period_start(today):
        errors["at"] = (
            _("Only this month's check can be recorded.")
            if kind.monthly
            else _("Only today's checks can be recorded.")
        )
    fields: dict[str, Any] = {
        "note": clean_text(note, "note", errors, required=False, max_length=NOTE_MAX),
        "who": clean_text(who, "who", errors, required=code == Code.MEAL, max_length=64) or by.name,
    }
    if code in (Code.FOOD_SAMPLE, Code.MEAL) and meal not in Meal.values:
        errors["meal"] = _("Choose the meal.")
    if code == Code.FOOD_SAMPLE:
        fields["dish"] = clean_text(dish, "dish", errors, required=True, max_length=100)
        if grams is None or not 1 <= grams <= MAX_GRAMS:
            errors["grams"] = _("The weight in grams, from 1 to %(n)d.") % {"n": MAX_GRAMS}
        elif kind is not None:
            fields |= {
                "grams": grams,
                "underweight": grams < kind.min_grams,
                "kept_until": at + dt.timedelta(hours=kind.keep_hours),
            }
    if code in (Code.FOOD_SAMPLE, Code.MEAL):
        fields["meal"] = meal
    if code in (Code.FIRE_PATROL, Code.FIRE_CHECK):
        fields["exits_clear"] = _answer(exits_clear, "exits_clear", errors)
        fields["extinguishers_ok"] = _answer(extinguishers_ok, "extinguishers_ok", errors)
        fields["hazards_found"] = _answer(hazards_found, "hazards_found", errors)
    if errors or kind is None:
        raise ValidationError(errors)
    start = kind.period_start(day)
    tally, _created = RoutineTally.objects.get_or_create(
        unit=unit,
        code=code,
        period_start=start,
        defaults={"path": unit.path, "period": kind.period, "required": kind.required},
    )
    if not RoutineTally.objects.filter(pk=tally.pk, closed_at__isnull=True).update(
        done=F("done") + 1
    ):
        raise ValidationError({"at": _("This period is closed: its checks were counted.")})
    record = RoutineRecord.objects.create(
        unit=unit, code=code, day=day, done_at=at, recorded_by=by, recorded_at=now, **fields
    )
    _audit(
        by,
        "routine.record",
        "routines.routinerecord",
        record.pk,
        f"{unit.name} {kind.label} {timezone.localtime(at):%Y-%m-%d %H:%M}",
        {"unit": unit.pk, "code": code, "at": at, **fields},
    )
    return record


# --- A bureau's settings --------------------------------------------------------------------


@transaction.atomic
def kind_set(
    *,
    by: Person,
    bureau: Unit,
    code: str,
    period: str,
    required: int,
    applies_to: str,
    remind_at: dt.time,
    active: bool = True,
    min_grams: int = 125,
    keep_hours: int = 48,
) -> RoutineKind:
    """A bureau's own setting of a kind for every unit under it; periods already open keep
    the count they opened with, the next ones take the new one."""
    access.require(access.can_edit_routine_kinds(by, bureau))
    errors = {}
    if code not in Code.values:
        errors["code"] = _("Not a kind of routine check.")
    if period not in Period.values:
        errors["period"] = _("Choose a period.")
    if applies_to not in Applies.values:
        errors["applies_to"] = _("Choose who keeps it.")
    if not 1 <= required <= MAX_REQUIRED:
        errors["required"] = _("From 1 to %(n)d.") % {"n": MAX_REQUIRED}
    if not GRAMS_LIMITS[0] <= min_grams <= GRAMS_LIMITS[1]:
        errors["min_grams"] = _("From %(a)d to %(b)d grams.") % dict(
            zip("ab", GRAMS_LIMITS, strict=True)
        )
    if not KEEP_LIMITS[0] <= keep_hours <= KEEP_LIMITS[1]:
        errors["keep_hours"] = _("From %(a)d to %(b)d hours.") % dict(
            zip("ab", KEEP_LIMITS, strict=True)
        )
    if errors:
        raise ValidationError(errors)
    values = {
        "period": period,
        "required": required,
        "applies_to": applies_to,
        "remind_at": remind_at.replace(second=0, microsecond=0),
        "active": active,
        "min_grams": min_grams,
        "keep_hours": keep_hours,
        "updated_by": by,
    }
    row, _created = RoutineKind.objects.update_or_create(bureau=bureau, code=code, defaults=values)
    _audit(by, "routine.kind", "routines.routinekind", row.pk, f"{bureau.name} {code}", values)
    return row


# --- Reminders, the chase, the end of a period ----------------------------------------------


def _reporters(units: list[Unit]) -> dict[int, list[Person]]:
    """Who is told a unit is short: its office contact (else its head), its head and its
    safety officers. One query for all the units."""
    people: dict[int, dict[int, Person]] = defaultdict(dict)
    for unit in units:
        for p in [*office_people(unit), unit.head]:
            if p is not None:
                people[unit.pk].setdefault(p.pk, p)
    rows = Membership.objects.filter(
        unit__in=units, role=Role.SAFETY_OFFICER, person__is_active=True
    ).select_related("person")
    for m in rows:
        people[m.unit_id].setdefault(m.person_id, m.person)
    return {pk: list(found.values()) for pk, found in people.items()}


def _short_text(shorts: list[selectors.Short]) -> str:
    return "；".join(f"{s.kind.label} {s.done}/{s.required}" for s in shorts)


def _tell_units(
    shorts: list[selectors.Short], day: dt.date, *, event: str, sender: Person | None = None
) -> int:
    by_unit: dict[int, list[selectors.Short]] = defaultdict(list)
    for s in shorts:
        by_unit[s.unit.pk].append(s)
    units = {s.unit.pk: s.unit for s in shorts}
    people = _reporters(list(units.values()))
    for pk, mine in by_unit.items():
        unit = units[pk]
        notification_create(
            event=event,
            title=_("Routine checks not yet done for %(day)s") % {"day": day.isoformat()},
            body=f"{unit.name}：{_short_text(mine)}",
            unit=unit,
            sender=sender,
            urgency=Urgency.URGENT if sender else Urgency.ROUTINE,
            people=people.get(pk, []),
            link=reverse("routines:checklist"),
            params={"unit": unit.name, "day": day.isoformat()},
        )
    return len(by_unit)


def _last_school_day_of_month(day: dt.date) -> bool:
    if not is_workday(day):
        return False
    later = day + dt.timedelta(days=1)
    while later.month == day.month:
        if is_workday(later):
            return False
        later += dt.timedelta(days=1)
    return True


@transaction.atomic
def routines_remind(*, day: dt.date, at: dt.time | None = None) -> int:
    """Before the day ends (the kinds' reminder time): each unit short of a check due that day
    is told what is missing; the monthly checks on the month's last school day. A reminder that
    fires after the day (the worker was down) is not sent: the miss says it. Returns the units
    told."""
    if timezone.now() >= end_of(day):
        return 0
    school_day = is_workday(day)
    month_ends = None
    told = 0
    for root in Unit.objects.filter(depth=1, archived_at__isnull=True):
        kinds = []
        for kind in selectors.kinds_for(root):
            if not kind.active or (at is not None and kind.remind_at != at):
                continue
            if kind.monthly:
                if month_ends is None:
                    month_ends = _last_school_day_of_month(day)
                if month_ends:
                    kinds.append(kind)
            elif school_day:
                kinds.append(kind)
        if kinds:
            told += _tell_units(
                selectors.shortfalls(root, kinds, day)[1], day, event="routine_reminder"
            )
    return told


@transaction.atomic
def routines_chase(*, by: Person, unit: Unit, day: dt.date) -> int:
    """One tap from the level above: remind every unit under `unit` short of today's checks."""
    access.require(access.can_chase_routines(by, unit))
    return _tell_units(
        selectors.units_short_today(unit, day), day, event="routine_chase", sender=by
    )


@transaction.atomic
def routines_close(*, day: dt.date, under: Unit | None = None) -> int:
    """After the day: each unit-check due that day (a school day; the month, on its last day)
    and short of its count is missed, recorded once — only tallies still open are closed —
    and the level above (the parent's office, the units' heads) is told. `under` limits it to
    one subtree (the demo); by default every tree. Returns the unit-checks marked missed."""
    now = timezone.now()
    school_day = is_workday(day)
    roots = [under] if under else list(Unit.objects.filter(depth=1, archived_at__isnull=True))
    missed: list[selectors.Short] = []
    for root in roots:
        kinds = [
            k
            for k in selectors.kinds_for(root)
            if k.active and (selectors.last_of_month(day) if k.monthly else school_day)
        ]
        if not kinds:
            continue
        _units, short = selectors.shortfalls(root, kinds, day)
        # A unit that recorded nothing has no tally yet: one to hold its miss.
        RoutineTally.objects.bulk_create(
            [
                RoutineTally(
                    unit=s.unit,
                    path=s.unit.path,
                    code=s.kind.code,
                    period=s.kind.period,
                    period_start=s.kind.period_start(day),
                    required=s.required,
                )
                for s in short
            ],
            ignore_conflicts=True,
        )
        for kind in kinds:
            still_open = RoutineTally.objects.filter(
                access.subtree(root.path, "path"),
                code=kind.code,
                period_start=kind.period_start(day),
                closed_at__isnull=True,
            )
            mine = {s.unit.pk: s for s in short if s.kind.code == kind.code}
            marked = set(
                still_open.filter(unit_id__in=list(mine), done__lt=F("required"))
                .select_for_update()
                .values_list("unit_id", flat=True)
            )
            still_open.filter(unit_id__in=marked).update(closed_at=now, missed=True)
            still_open.update(closed_at=now)
            missed += [mine[pk] for pk in marked]
    _tell_above(missed, day)
    return len(missed)


def _tell_above(missed: list[selectors.Short], day: dt.date) -> None:
    by_parent: dict[str, list[selectors.Short]] = defaultdict(list)
    for s in missed:
        by_parent[s.unit.path[: -Unit.steplen]].append(s)
    parents = {
        u.path: u
        for u in Unit.objects.filter(path__in=list(by_parent)).select_related(
            "head", "office_contact"
        )
    }
    for path, shorts in by_parent.items():
        parent = parents.get(path)
        units: dict[int, list[selectors.Short]] = defaultdict(list)
        for s in shorts:
            units[s.unit.pk].append(s)
        people = office_people(parent) if parent else []
        people += [s.unit.head for s in shorts if s.unit.head_id]
        body = "\n".join(f"{v[0].unit.name}：{_short_text(v)}" for v in units.values())
        link = reverse("routines:status")
        if parent is not None:
            link += f"?unit={parent.pk}&date={day.isoformat()}"
        notification_create(
            event="routine_missed",
            title=_("Routine checks missed on %(day)s") % {"day": day.isoformat()},
            body=body,
            urgency=Urgency.URGENT,
            unit=parent or shorts[0].unit,
            people=list({p.pk: p for p in people}.values()),
            link=link,
            params={
                "day": day.isoformat(),
                "units": "、".join(v[0].unit.name for v in units.values()),
            },
        )
