"""Duty's writes: shift templates, the weekly pattern, planning a month, single shifts,
swaps (换班), the duty log, handover (交接班) and the gap scan's rows.

One rule everywhere a person is put on a shift: nobody holds two overlapping shifts. It
is checked with the people's rows locked (in pk order, so two planners never wait for
each other in a circle): of two planners at the same moment one passes, the other finds
the first one's shift and is refused, both shifts named. On SQLite every writing
transaction holds the whole database (BEGIN IMMEDIATE), which gives the same answer.

Every change is in the audit trail: templates, slots, swaps and log entries by the
recorder (a row saved), shifts by explicit entries here (a month's plan is one entry,
not one per row).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Value, Window
from django.db.models.expressions import RowRange
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import audit_record
from safecampus.lib.calendar import default_is_workday, package_days
from safecampus.lib.sql import refresh_statistics
from safecampus.notify.models import Urgency
from safecampus.notify.services import notification_create, office_people
from safecampus.orgs import access
from safecampus.orgs.models import Membership, Person, Unit
from safecampus.reports.models import CalendarDay, CalendarYear

from .models import (
    MAX_SHIFT,
    CoverageGap,
    DayKind,
    DutyLogEntry,
    DutySettings,
    GapKind,
    LogKind,
    MemberRole,
    PatternSlot,
    Shift,
    ShiftMember,
    ShiftTemplate,
    SwapRequest,
    SwapStatus,
)

NAME_MAX = 40
PHONE_MAX = 32
LOG_TEXT_MAX = 500
NOTE_MAX = 2000
# A shift's log is written during it or right after it (the night shift's last patrol
# written up in the morning).
LOG_GRACE = dt.timedelta(hours=2)
# The handover note may be written from an hour before the shift ends.
HANDOVER_FROM = dt.timedelta(hours=1)
# The gap scan looks this far ahead.
SCAN_AHEAD = dt.timedelta(days=7)
# The units that keep 24-hour duty (not a school's departments).
DUTY_KINDS = ("bureau", "group", "school", "kindergarten")
WEEKDAY_KINDS = [DayKind.MON, DayKind.TUE, DayKind.WED, DayKind.THU, DayKind.FRI]
WEEK = [*WEEKDAY_KINDS, DayKind.SAT, DayKind.SUN]


def _local(value: dt.datetime) -> dt.datetime:
    return timezone.localtime(value)


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, time))


def shift_label(shift: Shift) -> str:
    """A shift as a person reads it: 夜班 03-05 18:00–03-06 08:00 (the unit's local time)."""
    start, end = _local(shift.starts_at), _local(shift.ends_at)
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%m-%d %H:%M}"
    return f"{shift.name} {start:%m-%d %H:%M}–{end_text}"


def _clean_name(name: str, field_name: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({field_name: _("Give it a name.")})
    if len(name) > NAME_MAX:
        raise ValidationError({field_name: _("At most %(max)d characters.") % {"max": NAME_MAX}})
    return name


def _clean_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if len(phone) > PHONE_MAX:
        raise ValidationError({"phone": _("At most %(max)d characters.") % {"max": PHONE_MAX}})
    return phone


# --- The unit's people and settings ----------------------------------------------------------


def unit_people(unit: Unit) -> Any:
    """Who may be put on the unit's duty: the people with a role in the unit itself."""
    return Person.objects.filter(
        is_active=True, pk__in=Membership.objects.filter(unit=unit).values("person_id")
    ).order_by("name", "pk")


def _check_people(unit: Unit, people: Iterable[Person], field_name: str) -> None:
    ids = {p.pk for p in people}
    if not ids:
        return
    inside = set(unit_people(unit).filter(pk__in=ids).values_list("pk", flat=True))
    outside = [p for p in people if p.pk not in inside]
    if outside:
        raise ValidationError(
            {
                field_name: _("%(person)s is not one of %(unit)s's people.")
                % {"person": outside[0].name, "unit": unit.name}
            }
        )


def duty_phone(unit: Unit) -> str:
    """The unit's duty phone: its duty settings, else its office phone."""
    settings_row = DutySettings.objects.filter(unit=unit).first()
    return (settings_row.duty_phone if settings_row else "") or unit.phone


@transaction.atomic
def duty_settings_update(
    *, by: Person, unit: Unit, duty_phone: str, remind_minutes: int, spot_check_minutes: int
) -> DutySettings:
    access.require(access.can_plan_duty(by, unit))
    errors: dict[str, str] = {}
    if not 0 <= remind_minutes <= 24 * 60:
        errors["remind_minutes"] = _("Between 0 and 1440.")
    if not 1 <= spot_check_minutes <= 120:
        errors["spot_check_minutes"] = _("Between 1 and 120.")
    if errors:
        raise ValidationError(errors)
    row, _created = DutySettings.objects.get_or_create(unit=unit)
    row.duty_phone = _clean_phone(duty_phone)
    row.remind_minutes = remind_minutes
    row.spot_check_minutes = spot_check_minutes
    row.save()
    return row


# --- Shift templates and the weekly pattern -----------------------------------------------------


@transaction.atomic
def shift_template_create(
    *, by: Person, unit: Unit, name: str, start: dt.time, end: dt.time, order: int = 0
) -> ShiftTemplate:
    access.require(access.can_plan_duty(by, unit))
    name = _clean_name(name)
    if ShiftTemplate.objects.filter(unit=unit, name=name).exists():
        raise ValidationError({"name": _("The unit already has a shift of this name.")})
    return ShiftTemplate.objects.create(unit=unit, name=name, start=start, end=end, order=order)


@transaction.atomic
def shift_template_update(
    *,
    by: Person,
    template: ShiftTemplate,
    name: str,
    start: dt.time,
    end: dt.time,
    order: int = 0,
    archived: bool = False,
) -> ShiftTemplate:
    """Changes the shifts planned from now on; planned shifts keep their times until the
    month is planned again."""
    access.require(access.can_plan_duty(by, template.unit))
    name = _clean_name(name)
    if ShiftTemplate.objects.filter(unit=template.unit, name=name).exclude(pk=template.pk).exists():
        raise ValidationError({"name": _("The unit already has a shift of this name.")})
    template.name, template.start, template.end, template.order = name, start, end, order
    if archived and template.archived_at is None:
        template.archived_at = timezone.now()
    elif not archived:
        template.archived_at = None
    template.save()
    return template


@transaction.atomic
def pattern_slot_set(
    *,
    by: Person,
    template: ShiftTemplate,
    day_kind: str,
    leader: Person | None,
    staff: Sequence[Person],
) -> PatternSlot | None:
    """On days of this kind, this shift is held by these people with this leader on duty.
    Nobody at all removes the slot (the days of this kind have no such shift: a gap)."""
    unit = template.unit
    access.require(access.can_plan_duty(by, unit))
    if day_kind not in DayKind.values:
        raise ValidationError({"day_kind": _("Choose the days.")})
    people = [p for p in staff if leader is None or p.pk != leader.pk]
    _check_people(unit, [leader] if leader else [], "leader")
    _check_people(unit, people, "staff")
    slot = PatternSlot.objects.filter(template=template, day_kind=day_kind).first()
    before = _slot_people(slot)
    if leader is None and not people:
        if slot is not None:
            slot.delete()
        return None
    if slot is None:
        slot = PatternSlot.objects.create(template=template, day_kind=day_kind, leader=leader)
    elif slot.leader_id != getattr(leader, "pk", None):
        slot.leader = leader
        slot.save()
    slot.staff.set(people)
    after = _slot_people(slot)
    if before != after:
        audit_record(
            action="update",
            model="duty.patternslot",
            object_id=slot.pk,
            object_repr=str(slot),
            changes={"staff": [before["staff"], after["staff"]]},
        )
    return slot


def _slot_people(slot: PatternSlot | None) -> dict[str, Any]:
    if slot is None or slot.pk is None:
        return {"leader": None, "staff": []}
    return {
        "leader": slot.leader_id,
        "staff": sorted(slot.staff.values_list("name", flat=True)),
    }


# --- The official calendar: which pattern plans a day ------------------------------------------
#
# An official holiday (a CalendarDay that is not a working day, on a weekday or a weekend)
# is planned with the HOLIDAY pattern, where a shift has one; a shift without a holiday slot
# keeps its weekday's. A make-up workday (调休上班, a working Saturday or Sunday) is planned
# as a working day: Monday's pattern. Any other day: its weekday's pattern.


def official_workdays(first: dt.date, last: dt.date) -> dict[dt.date, bool]:
    """date → is it a working day, for the days the official calendar changes (its rows;
    a year not loaded is estimated from the holidays package, as reports.is_workday
    does). Days not in the answer follow the week."""
    days = dict(
        CalendarDay.objects.filter(date__gte=first, date__lte=last).values_list(
            "date", "is_workday"
        )
    )
    loaded = set(
        CalendarYear.objects.filter(year__gte=first.year, year__lte=last.year).values_list(
            "year", flat=True
        )
    )
    for year in range(first.year, last.year + 1):
        if year in loaded:
            continue
        for day, (workday, _name) in package_days(year).items():
            if first <= day <= last:
                days.setdefault(day, workday)
    return days


def day_kind_of(day: dt.date, official: dict[dt.date, bool]) -> tuple[str, str]:
    """(the pattern that plans the day, the weekday pattern a shift without a holiday slot
    falls back to)."""
    weekday = WEEK[day.weekday()]
    workday = official.get(day, default_is_workday(day))
    if not workday and (day in official):
        return DayKind.HOLIDAY, weekday
    if workday and not default_is_workday(day):
        return DayKind.MON, DayKind.MON  # a make-up workday: a working day
    return weekday, weekday


# --- Overlaps -------------------------------------------------------------------------------


@dataclass
class _Planned:
    """A shift about to be written: its instants and its people."""

    unit: Unit
    name: str
    day: dt.date
    starts_at: dt.datetime
    ends_at: dt.datetime
    leader: Person | None
    staff: list[Person] = field(default_factory=list)
    template: ShiftTemplate | None = None
    phone: str = ""

    @property
    def people(self) -> list[Person]:
        return ([self.leader] if self.leader else []) + self.staff

    def label(self) -> str:
        return shift_label(
            Shift(name=self.name, starts_at=self.starts_at, ends_at=self.ends_at)  # unsaved
        )


def _lock_people(ids: Iterable[int]) -> None:
    """Lock the people's rows, in pk order: who else puts them on a shift waits here."""
    list(
        Person.objects.select_for_update()
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _overlap_error(person: Any, first: str, second: str, field: str = "") -> ValidationError:
    """`field`: where the person was put ("leader" or "staff"), to show it beside it."""
    error = ValidationError(
        _("%(person)s cannot hold two overlapping shifts: %(first)s and %(second)s.")
        % {"person": person, "first": first, "second": second},
        code="overlap",
    )
    return ValidationError({field: error}) if field else error


def _role_field(planned: _Planned, person_pk: int) -> str:
    return "leader" if planned.leader is not None and planned.leader.pk == person_pk else "staff"


def _check_overlaps(planned: list[_Planned], *, ignore_shifts: Iterable[int] = ()) -> None:
    """Refuse if anyone would hold two overlapping shifts, among `planned` or with a
    shift already planned (other than `ignore_shifts`: those being replaced). The
    people's rows are locked first."""
    by_person: dict[int, list[_Planned]] = defaultdict(list)
    names: dict[int, str] = {}
    for p in planned:
        for person in p.people:
            by_person[person.pk].append(p)
            names[person.pk] = person.name
    if not by_person:
        return
    _lock_people(by_person)
    for pk, items in by_person.items():
        items.sort(key=lambda p: p.starts_at)
        for a, b in zip(items, items[1:], strict=False):
            if b.starts_at < a.ends_at:
                raise _overlap_error(names[pk], a.label(), b.label(), _role_field(b, pk))
    first = min(p.starts_at for p in planned)
    last = max(p.ends_at for p in planned)
    existing = (
        ShiftMember.objects.filter(
            person_id__in=list(by_person), starts_at__lt=last, ends_at__gt=first
        )
        .exclude(shift_id__in=list(ignore_shifts))
        .select_related("shift__unit")
        .order_by("starts_at")
    )
    for member in existing:
        for p in by_person[member.person_id]:
            if p.starts_at < member.ends_at and member.starts_at < p.ends_at:
                held = shift_label(member.shift)
                if member.shift.unit_id != p.unit.pk:
                    held = f"{member.shift.unit.name} {held}"
                raise _overlap_error(
                    names[member.person_id], held, p.label(), _role_field(p, member.person_id)
                )


def _write_shifts(planned: list[_Planned], by: Person) -> list[Shift]:
    shifts = Shift.objects.bulk_create(
        [
            Shift(
                unit=p.unit,
                template=p.template,
                name=p.name,
                day=p.day,
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                phone=p.phone,
                created_by=by,
            )
            for p in planned
        ]
    )
    members = []
    for shift, p in zip(shifts, planned, strict=True):
        if p.leader:
            members.append(_member(shift, p.leader, MemberRole.LEADER))
        members.extend(_member(shift, person, MemberRole.STAFF) for person in p.staff)
    ShiftMember.objects.bulk_create(members)
    return shifts


def _member(shift: Shift, person: Person, role: str) -> ShiftMember:
    return ShiftMember(
        shift=shift,
        unit_id=shift.unit_id,
        person=person,
        role=role,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
    )


# --- Planning a month ------------------------------------------------------------------------


@dataclass
class PlanResult:
    created: int
    replaced: int
    kept: int  # future shifts with a log entry, left as they were
    holidays: list[dt.date]


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


@transaction.atomic
def roster_plan(
    *, unit: Unit, month: dt.date, by: Person, since: dt.datetime | None = None
) -> PlanResult:
    """Turn the weekly pattern into the month's shifts, day by day by the official
    calendar. Planning a month again replaces its shifts that have not started and have
    no log entry; the others stay (and their day's shift is not planned twice).
    `since` (default now): plan only shifts starting after it — a roster brought in from
    paper (the demo) gives the month's first day."""
    access.require(access.can_plan_duty(by, unit))
    first, last = month_bounds(month)
    now = since or timezone.now()
    templates = list(ShiftTemplate.objects.filter(unit=unit, archived_at__isnull=True))
    if not templates:
        raise ValidationError(_("Add the unit's shifts (e.g. day and night) first."))
    slots: dict[tuple[int, str], PatternSlot] = {
        (s.template_id, s.day_kind): s
        for s in PatternSlot.objects.filter(template__in=templates)
        .select_related("leader")
        .prefetch_related("staff")
    }
    in_month = Shift.objects.filter(unit=unit, day__gte=first, day__lte=last)
    logged = DutyLogEntry.objects.filter(shift=OuterRef("pk"))
    replace_ids = set(
        in_month.filter(starts_at__gt=now).exclude(Exists(logged)).values_list("pk", flat=True)
    )
    stays = set(in_month.exclude(pk__in=replace_ids).values_list("template_id", "day"))
    phone = duty_phone(unit)
    official = official_workdays(first, last)
    planned: list[_Planned] = []
    holidays: list[dt.date] = []
    allowed = {p.pk for p in unit_people(unit)}
    day = first
    while day <= last:
        kind, fallback = day_kind_of(day, official)
        if kind == DayKind.HOLIDAY:
            holidays.append(day)
        for template in templates:
            slot = slots.get((template.pk, kind)) or slots.get((template.pk, fallback))
            if slot is None or (template.pk, day) in stays:
                continue
            starts_at = _at(day, template.start)
            ends_at = _at(
                day + dt.timedelta(days=1) if template.crosses_midnight else day, template.end
            )
            if starts_at <= now:
                continue  # a shift that has started is history: never planned over
            people = ([slot.leader] if slot.leader else []) + list(slot.staff.all())
            gone = [p for p in people if p.pk not in allowed]
            if gone:
                raise ValidationError(
                    _("%(person)s is no longer one of %(unit)s's people: change the pattern.")
                    % {"person": gone[0].name, "unit": unit.name}
                )
            planned.append(
                _Planned(
                    unit=unit,
                    name=template.name,
                    day=day,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    leader=slot.leader,
                    staff=[p for p in slot.staff.all() if p.pk != slot.leader_id],
                    template=template,
                    phone=phone,
                )
            )
        day += dt.timedelta(days=1)
    _check_overlaps(planned, ignore_shifts=replace_ids)
    Shift.objects.filter(pk__in=replace_ids).delete()
    _write_shifts(planned, by)
    kept = in_month.filter(starts_at__gt=now).exclude(pk__in=replace_ids).count()
    audit_record(
        action="duty_plan",
        model="orgs.unit",
        object_id=unit.pk,
        object_repr=f"{unit.name} {first:%Y-%m}",
        changes={"shifts": [len(replace_ids), len(planned)]},
    )
    gaps_rescan(units=[unit])
    return PlanResult(created=len(planned), replaced=len(replace_ids), kept=kept, holidays=holidays)


# --- One shift -------------------------------------------------------------------------------


def _planned_one(
    *,
    unit: Unit,
    name: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    leader: Person | None,
    staff: Sequence[Person],
    phone: str,
) -> _Planned:
    name = _clean_name(name)
    if ends_at <= starts_at:
        raise ValidationError(
            {"ends_at": _("The shift ends before it starts. A night shift ends the next day.")}
        )
    if ends_at - starts_at > MAX_SHIFT:
        raise ValidationError({"ends_at": _("A shift lasts at most 24 hours.")})
    staff = [p for p in staff if leader is None or p.pk != leader.pk]
    if leader is None and not staff:
        raise ValidationError({"staff": _("Put at least one person on the shift.")})
    _check_people(unit, [leader] if leader else [], "leader")
    _check_people(unit, staff, "staff")
    return _Planned(
        unit=unit,
        name=name,
        day=_local(starts_at).date(),
        starts_at=starts_at,
        ends_at=ends_at,
        leader=leader,
        staff=list(staff),
        phone=_clean_phone(phone) or duty_phone(unit),
    )


def _shift_audit(action: str, shift: Shift, before: dict[str, Any] | None) -> None:
    after = _shift_values(shift) if action != "delete" else {}
    before = before or {}
    audit_record(
        action=action,
        model="duty.shift",
        object_id=shift.pk,
        object_repr=f"{shift.unit.name} {shift_label(shift)}",
        changes={
            k: [before.get(k), after.get(k)]
            for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)
        },
    )


def _shift_values(shift: Shift) -> dict[str, Any]:
    members = list(shift.members.select_related("person").order_by("role", "person__name"))
    return {
        "name": shift.name,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
        "phone": shift.phone,
        "leader": [m.person.name for m in members if m.role == MemberRole.LEADER],
        "staff": [m.person.name for m in members if m.role == MemberRole.STAFF],
    }


@transaction.atomic
def shift_create(
    *,
    by: Person,
    unit: Unit,
    name: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    leader: Person | None,
    staff: Sequence[Person] = (),
    phone: str = "",
) -> Shift:
    access.require(access.can_plan_duty(by, unit))
    planned = _planned_one(
        unit=unit,
        name=name,
        starts_at=starts_at,
        ends_at=ends_at,
        leader=leader,
        staff=staff,
        phone=phone,
    )
    _check_overlaps([planned])
    (shift,) = _write_shifts([planned], by)
    _shift_audit("create", shift, None)
    gaps_rescan(units=[unit])
    return shift


@transaction.atomic
def shift_update(
    *,
    by: Person,
    shift: Shift,
    name: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    leader: Person | None,
    staff: Sequence[Person] = (),
    phone: str = "",
) -> Shift:
    """Change a shift that has not ended: its times, people or phone."""
    unit = shift.unit
    access.require(access.can_plan_duty(by, unit))
    if shift.ends_at <= timezone.now():
        raise ValidationError(_("This shift is over: its record stays as it was."))
    planned = _planned_one(
        unit=unit,
        name=name,
        starts_at=starts_at,
        ends_at=ends_at,
        leader=leader,
        staff=staff,
        phone=phone,
    )
    _check_overlaps([planned], ignore_shifts=[shift.pk])
    before = _shift_values(shift)
    shift.name, shift.starts_at, shift.ends_at = planned.name, planned.starts_at, planned.ends_at
    shift.day, shift.phone = planned.day, planned.phone
    shift.save()
    shift.members.all().delete()
    ShiftMember.objects.bulk_create(
        ([_member(shift, leader, MemberRole.LEADER)] if leader else [])
        + [_member(shift, p, MemberRole.STAFF) for p in planned.staff]
    )
    _shift_audit("update", shift, before)
    gaps_rescan(units=[unit])
    return shift


@transaction.atomic
def shift_delete(*, by: Person, shift: Shift) -> None:
    access.require(access.can_plan_duty(by, shift.unit))
    if shift.starts_at <= timezone.now():
        raise ValidationError(_("This shift has started: its record stays."))
    if shift.log.exists():
        raise ValidationError(_("This shift has log entries: its record stays."))
    before = _shift_values(shift)
    unit = shift.unit
    _shift_audit("delete", shift, before)
    shift.delete()
    gaps_rescan(units=[unit])


# --- Swaps (换班) -----------------------------------------------------------------------------


def _member_ids(shift: Shift) -> list[int]:
    return list(shift.members.values_list("person_id", flat=True))


@transaction.atomic
def swap_request(
    *,
    by: Person,
    shift: Shift,
    to_person: Person,
    in_exchange: Shift | None = None,
    reason: str = "",
) -> SwapRequest:
    """One of the shift's people asks another of the unit's people to take their place
    (or to exchange it for one of theirs)."""
    if not access.is_on_shift(by, _member_ids(shift)):
        raise ValidationError(_("Only a person on this shift can ask for a swap."))
    if shift.starts_at <= timezone.now():
        raise ValidationError(_("This shift has started: it can no longer be swapped."))
    if to_person.pk == by.pk:
        raise ValidationError({"to_person": _("Ask someone else.")})
    _check_people(shift.unit, [to_person], "to_person")
    if to_person.pk in _member_ids(shift):
        raise ValidationError(
            {"to_person": _("%(person)s is already on this shift.") % {"person": to_person.name}}
        )
    if in_exchange is not None:
        ids = _member_ids(in_exchange)
        if (
            in_exchange.unit_id != shift.unit_id
            or to_person.pk not in ids
            or by.pk in ids
            or in_exchange.starts_at <= timezone.now()
        ):
            raise ValidationError(
                {
                    "in_exchange": _("Choose a shift of %(person)s that has not started.")
                    % {"person": to_person.name}
                }
            )
    if len(reason) > 200:
        raise ValidationError({"reason": _("At most %(max)d characters.") % {"max": 200}})
    swap = SwapRequest.objects.create(
        shift=shift,
        from_person=by,
        to_person=to_person,
        in_exchange=in_exchange,
        reason=reason.strip(),
    )
    notification_create(
        event="duty_swap_request",
        title=_("%(person)s asks you to swap a shift") % {"person": by.name},
        body=_("%(shift)s at %(unit)s. Accept or decline it on the shift's page.")
        % {"shift": shift_label(shift), "unit": shift.unit.name},
        unit=shift.unit,
        sender=by,
        people=[to_person],
        link=f"/duty/swaps/{swap.pk}/",
    )
    return swap


def _swap_pending(swap: SwapRequest, status: str) -> SwapRequest:
    """The swap, locked, still in `status`."""
    locked = (
        # of=("self",): in_exchange may be null (an outer join), which PostgreSQL will not lock.
        SwapRequest.objects.select_for_update(of=("self",))
        .select_related("shift__unit", "from_person", "to_person", "in_exchange")
        .get(pk=swap.pk)
    )
    if locked.status != status:
        raise ValidationError(
            _("This swap is already %(status)s.") % {"status": locked.get_status_display()}
        )
    return locked


@transaction.atomic
def swap_accept(*, by: Person, swap: SwapRequest) -> SwapRequest:
    """The person asked accepts; then the unit's head or office approves."""
    swap = _swap_pending(swap, SwapStatus.REQUESTED)
    if by.pk != swap.to_person_id or not access.is_on_shift(by, [swap.to_person_id]):
        raise ValidationError(
            _("Only %(person)s, who was asked, can accept this swap.")
            % {"person": swap.to_person.name}
        )
    swap.status = SwapStatus.ACCEPTED
    swap.accepted_at = timezone.now()
    swap.save()
    unit = swap.shift.unit
    notification_create(
        event="duty_swap_accepted",
        title=_("A shift swap waits for your approval"),
        body=_swap_text(swap),
        unit=unit,
        sender=by,
        people=[*office_people(unit), swap.from_person],
        link=f"/duty/swaps/{swap.pk}/",
    )
    return swap


def _swap_text(swap: SwapRequest) -> str:
    """A swap's message body: who gives which shift to whom, where."""
    return _("%(from)s → %(to)s: %(shift)s at %(unit)s.") % {
        "from": swap.from_person.name,
        "to": swap.to_person.name,
        "shift": shift_label(swap.shift),
        "unit": swap.shift.unit.name,
    }


@transaction.atomic
def swap_decide(*, by: Person, swap: SwapRequest, approve: bool) -> SwapRequest:
    """The unit's head or office approves (the roster changes) or refuses an accepted
    swap. The people asked may also decline a request, and its asker cancel it."""
    unit = swap.shift.unit
    if not approve and swap.status == SwapStatus.REQUESTED:
        access.require(
            access.can_drop_swap_request(by, unit, swap.from_person_id, swap.to_person_id)
        )
        swap = _swap_pending(swap, SwapStatus.REQUESTED)
        swap.status = SwapStatus.CANCELLED if by.pk == swap.from_person_id else SwapStatus.REFUSED
    else:
        access.require(access.can_approve_swap(by, unit))
        swap = _swap_pending(swap, SwapStatus.ACCEPTED)
        if approve:
            _swap_apply(swap)
        swap.status = SwapStatus.APPROVED if approve else SwapStatus.REFUSED
    swap.decided_by = by
    swap.decided_at = timezone.now()
    swap.save()
    notification_create(
        event="duty_swap_decided",
        title=_("Shift swap %(status)s") % {"status": swap.get_status_display()},
        body=_swap_text(swap),
        unit=unit,
        sender=by,
        people=[p for p in (swap.from_person, swap.to_person) if p.pk != by.pk],
        link=f"/duty/shifts/{swap.shift_id}/",
    )
    return swap


def _swap_apply(swap: SwapRequest) -> None:
    """Move the people: from_person's place on the shift to to_person (and back on the
    shift given in exchange), the overlap rule checked again for both."""
    shift, other = swap.shift, swap.in_exchange
    for s in (shift, other):
        if s is not None and s.starts_at <= timezone.now():
            raise ValidationError(_("The shift has started: it can no longer be swapped."))
    _lock_people([swap.from_person_id, swap.to_person_id])
    moves = [(shift, swap.from_person, swap.to_person)]
    if other is not None:
        moves.append((other, swap.to_person, swap.from_person))
    rows = []
    for s, leaving, coming in moves:
        row = ShiftMember.objects.filter(shift=s, person=leaving).first()
        if row is None or ShiftMember.objects.filter(shift=s, person=coming).exists():
            raise ValidationError(_("The roster changed since the swap was asked: ask again."))
        rows.append((s, row, leaving, coming))
    moved_ids = [row.pk for _s, row, _l, _c in rows]
    for s, _row, _leaving, coming in rows:
        clash = (
            ShiftMember.objects.filter(
                person=coming, starts_at__lt=s.ends_at, ends_at__gt=s.starts_at
            )
            .exclude(pk__in=moved_ids)
            .select_related("shift")
            .first()
        )
        if clash is not None:
            raise _overlap_error(coming.name, shift_label(clash.shift), shift_label(s))
    for s, row, leaving, coming in rows:
        row.person = coming
        row.save(update_fields=["person"])
        audit_record(
            action="duty_swap",
            model="duty.shift",
            object_id=s.pk,
            object_repr=f"{s.unit.name} {shift_label(s)}",
            changes={"person": [leaving.name, coming.name], "swap": swap.pk},
        )


# --- The duty log and handover (交接班) -------------------------------------------------------


@transaction.atomic
def log_entry_add(
    *,
    by: Person,
    shift: Shift,
    text: str,
    kind: str = LogKind.PATROL,
    at: dt.datetime | None = None,
) -> DutyLogEntry:
    """What happened on the shift, with its time: written by its people, during the
    shift or right after it."""
    if not access.is_on_shift(by, _member_ids(shift)):
        raise ValidationError(_("Only the people on this shift write its log."))
    now = timezone.now()
    if now < shift.starts_at:
        raise ValidationError(_("This shift has not started yet."))
    if now > shift.ends_at + LOG_GRACE:
        raise ValidationError(_("This shift's log is closed: it ended more than two hours ago."))
    at = at or min(now, shift.ends_at)
    if not shift.starts_at <= at <= min(now, shift.ends_at):
        raise ValidationError({"at": _("A time during the shift, not in the future.")})
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write what happened.")})
    if len(text) > LOG_TEXT_MAX:
        raise ValidationError({"text": _("At most %(max)d characters.") % {"max": LOG_TEXT_MAX}})
    if kind not in LogKind.values:
        raise ValidationError({"kind": _("Choose the kind.")})
    return DutyLogEntry.objects.create(shift=shift, at=at, kind=kind, text=text, by=by)


def next_shift(shift: Shift) -> Shift | None:
    """The shift that takes over from this one: the unit's next shift to start."""
    return (
        Shift.objects.filter(unit_id=shift.unit_id, starts_at__gt=shift.starts_at)
        .order_by("starts_at", "pk")
        .first()
    )


@transaction.atomic
def shift_hand_over(*, by: Person, shift: Shift, note: str) -> Shift:
    """The outgoing shift writes what the next one must know, and hands over."""
    shift = Shift.objects.select_for_update().select_related("unit").get(pk=shift.pk)
    if not access.is_on_shift(by, _member_ids(shift)):
        raise ValidationError(_("Only the people on this shift hand it over."))
    now = timezone.now()
    if now < shift.ends_at - HANDOVER_FROM:
        raise ValidationError(_("A shift is handed over in its last hour."))
    if now > shift.ends_at + LOG_GRACE:
        raise ValidationError(_("This shift's log is closed: it ended more than two hours ago."))
    if shift.taken_over_at is not None:
        raise ValidationError(_("The next shift has already taken over."))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("At most %(max)d characters.") % {"max": NOTE_MAX}})
    shift.handover_note = note
    shift.handed_over_at = now
    shift.save(update_fields=["handover_note", "handed_over_at"])
    _shift_audit_handover("duty_handover", shift, {"handover_note": note})
    following = next_shift(shift)
    if following is not None:
        notification_create(
            event="duty_handover",
            title=_("Handover from %(shift)s") % {"shift": shift_label(shift)},
            body=note or _("Nothing to hand over."),
            unit=shift.unit,
            sender=by,
            people=[m.person for m in following.members.select_related("person")],
            link=f"/duty/shifts/{shift.pk}/",
            inbox_only=True,
        )
    return shift


@transaction.atomic
def shift_take_over(*, by: Person, shift: Shift) -> Shift:
    """One of the next shift's people acknowledges the handover (接班)."""
    shift = Shift.objects.select_for_update().select_related("unit").get(pk=shift.pk)
    following = next_shift(shift)
    if following is None or not access.is_on_shift(by, _member_ids(following)):
        raise ValidationError(_("Only the people of the next shift take this one over."))
    if shift.taken_over_at is not None:
        raise ValidationError(_("This shift has already been taken over."))
    now = timezone.now()
    if shift.handed_over_at is None and now < shift.ends_at:
        raise ValidationError(_("This shift has not been handed over yet."))
    shift.taken_over_by = by
    shift.taken_over_at = now
    shift.save(update_fields=["taken_over_by", "taken_over_at"])
    _shift_audit_handover("duty_take_over", shift, {"taken_over_by": by.name})
    return shift


def _shift_audit_handover(action: str, shift: Shift, changes: dict[str, Any]) -> None:
    audit_record(
        action=action,
        model="duty.shift",
        object_id=shift.pk,
        object_repr=f"{shift.unit.name} {shift_label(shift)}",
        changes=changes,
    )


def shifts_history_demo(
    *,
    units: Sequence[Unit],
    now: dt.datetime,
    note: str,
    left_open: Shift | None = None,
    log: Sequence[tuple[Shift, dt.datetime, str, str, Person]] = (),
) -> int:
    """The demo district's past duty, as if it had been kept (safecampus/demo calls it; the
    services above refuse a shift long over): every shift of `units` that ended before
    `now` was handed over with `note` ten minutes before its end and taken over five
    minutes after it by one of the next shift's people (its leader first). Two UPDATE
    statements and one INSERT, not a service call per shift: `manage.py demo load` stays
    fast. `left_open` is handed over but nobody took it over (the flag to look at); `log`
    is (shift, at, kind, text, by) entries. Returns the number of shifts taken over."""
    taken = dt.timedelta(minutes=5)
    refresh_statistics(Shift, ShiftMember)  # the month's shifts were just written
    ended = Shift.objects.filter(unit__in=units, ends_at__lte=now - taken)
    ended.update(handed_over_at=F("ends_at") - dt.timedelta(minutes=10), handover_note=note)
    following = (
        ShiftMember.objects.filter(
            shift__unit_id=OuterRef("unit_id"), shift__starts_at__gt=OuterRef("starts_at")
        )
        .order_by("shift__starts_at", "role")  # "leader" before "staff"
        .values("person_id")[:1]
    )
    if left_open is not None:
        ended = ended.exclude(pk=left_open.pk)
    count = ended.update(taken_over_by_id=Subquery(following), taken_over_at=F("ends_at") + taken)
    DutyLogEntry.objects.bulk_create(
        DutyLogEntry(shift=shift, at=at, kind=kind, text=text, by=by)
        for shift, at, kind, text, by in log
    )
    return count


# --- Coverage gaps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime

    @property
    def seconds(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds())


def _uncovered(
    intervals: Iterable[tuple[dt.datetime, dt.datetime]], start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of [start, end) no interval covers (intervals sorted by start)."""
    holes = []
    cursor = start
    for a, b in intervals:
        if b <= cursor:
            continue
        if a > cursor:
            holes.append((cursor, min(a, end)))
        cursor = max(cursor, b)
        if cursor >= end:
            break
    if cursor < end:
        holes.append((cursor, end))
    return [(a, b) for a, b in holes if a < b]


def gaps_of(
    shifts: Iterable[tuple[dt.datetime, dt.datetime, bool, bool]],
    start: dt.datetime,
    end: dt.datetime,
) -> list[Gap]:
    """Gaps in [start, end) from shifts as (starts_at, ends_at, has anyone, has a leader),
    sorted by start: time with nobody on duty, and time with people but no leader."""
    shifts = list(shifts)
    staffed = [(a, b) for a, b, anyone, _leader in shifts if anyone]
    led = [(a, b) for a, b, _anyone, leader in shifts if leader]
    nobody = _uncovered(staffed, start, end)
    gaps = [Gap(GapKind.NOBODY, a, b) for a, b in nobody]
    for a, b in _uncovered(led, start, end):
        # The leaderless time that is not already "nobody".
        gaps.extend(Gap(GapKind.NO_LEADER, x, y) for x, y in _uncovered(nobody, a, b))
    return sorted(gaps, key=lambda g: g.starts_at)


def _leaders_meeting(unit_filter: Any, start: dt.datetime, end: dt.datetime) -> QuerySet:
    """The leaders on duty of the shifts meeting [start, end): a range of one partial index
    (ShiftMember duty_member_leader_start), without a join."""
    return ShiftMember.objects.filter(
        unit_id__in=unit_filter,
        role=MemberRole.LEADER,
        starts_at__lt=end,
        starts_at__gt=start - MAX_SHIFT,
        ends_at__gt=start,
    )


def _units_with_holes(
    unit_ids: Sequence[int], unit_filter: Any, start: dt.datetime, end: dt.datetime
) -> set[int]:
    """The units whose leader-on-duty coverage of [start, end) has a hole: the only ones
    that can have a gap of either kind, since a shift with a leader has somebody on it.
    Two set-based reads of the leaders, whatever the number of units: a leader who comes
    on after every leader before him in the unit has left (a window over the unit's
    leaders in time order), and the units whose leaders have all left before `end`."""
    leaders = _leaders_meeting(unit_filter, start, end)
    covered_until = Window(
        Max("ends_at"),
        partition_by=F("unit_id"),
        order_by=[F("starts_at").asc(), F("ends_at").asc()],
        frame=RowRange(start=None, end=-1),
    )
    holes = set(
        leaders.annotate(covered=Coalesce(covered_until, Value(start)))
        .filter(starts_at__gt=F("covered"))
        .values_list("unit_id", flat=True)
    )
    last = dict(
        leaders.order_by()
        .values("unit_id")
        .annotate(last=Max("ends_at"))
        .values_list("unit_id", "last")
    )
    return holes | {pk for pk in unit_ids if last.get(pk, start) < end}


def shift_rows(unit_ids: Sequence[int], start: dt.datetime, end: dt.datetime) -> Any:
    """(unit_id, starts_at, ends_at, has anyone, has a leader) of the shifts meeting
    [start, end) at these units, ordered by unit and start: what the gap sweep reads
    (a shift nobody is on is left out: it covers nothing). One query for each 2,000 units,
    through the shifts' (unit, starts_at) index."""
    for i in range(0, len(unit_ids), 2000):
        members = (
            ShiftMember.objects.filter(
                shift__unit_id__in=unit_ids[i : i + 2000],
                shift__starts_at__lt=end,
                shift__starts_at__gt=start - MAX_SHIFT,
                shift__ends_at__gt=start,
            )
            .order_by("unit_id", "starts_at")
            .values_list("unit_id", "starts_at", "ends_at", "role")
        )
        for unit_id, a, b, role in members.iterator(chunk_size=5000):
            yield unit_id, a, b, True, role == MemberRole.LEADER


def scan_until(now: dt.datetime) -> dt.datetime:
    """Where the gap scan's window ends when it runs at `now`: 7 days after the next full
    hour. Every scan that runs in one hour (a unit's roster changed, the worker's) ends
    at the same instant, so the worker's next scan goes on from there (gaps_advance)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    return hour + dt.timedelta(hours=1) + SCAN_AHEAD


def _gaps_found(
    unit_rows: Sequence[tuple[int, str]],
    unit_filter: Any,
    start: dt.datetime,
    end: dt.datetime,
    scanned_at: dt.datetime,
) -> list[CoverageGap]:
    """The coverage gaps of these units (pk, path) in [start, end), unsaved. The units
    whose leaders on duty leave a hole are found in the database (_units_with_holes);
    only their shifts are read and swept (gaps_of)."""
    ids = [pk for pk, _path in unit_rows]
    suspects = _units_with_holes(ids, unit_filter, start, end)
    by_unit: dict[int, list[tuple[dt.datetime, dt.datetime, bool, bool]]] = defaultdict(list)
    for unit_id, a, b, anyone, leader in shift_rows(sorted(suspects), start, end):
        by_unit[unit_id].append((a, b, anyone, leader))
    return [
        CoverageGap(
            unit_id=pk,
            path=path,
            kind=gap.kind,
            starts_at=gap.starts_at,
            ends_at=gap.ends_at,
            seconds=gap.seconds,
            scanned_at=scanned_at,
        )
        for pk, path in unit_rows
        if pk in suspects
        for gap in gaps_of(by_unit.get(pk, []), start, end)
    ]


def _duty_units(root: Unit | None = None) -> QuerySet[Unit]:
    qs = Unit.objects.filter(archived_at__isnull=True, kind__in=DUTY_KINDS)
    return qs.filter(access.subtree(root.path)) if root is not None else qs


def gaps_rescan(*, units: Sequence[Unit] | None = None, root: Unit | None = None) -> int:
    """Write the coverage gaps of the next 7 days (CoverageGap rows, until scan_until)
    for these units, or every unit keeping duty under `root` (all of them when neither
    is given), replacing theirs. A roster change rescans its unit at once; the worker
    moves the window on every hour (gaps_advance) and rescans everything once a night.
    Returns the gaps written."""
    now = timezone.now().replace(second=0, microsecond=0)
    if units is None:
        qs = _duty_units(root)
        unit_rows = list(qs.order_by("pk").values_list("pk", "path"))
        unit_filter: Any = qs.values("pk")
    else:
        unit_rows = sorted((u.pk, u.path) for u in units)
        unit_filter = [pk for pk, _path in unit_rows]
    rows = _gaps_found(unit_rows, unit_filter, now, scan_until(now), now)
    with transaction.atomic():
        if units is None and root is None:
            CoverageGap.objects.all().delete()
        elif units is None:
            CoverageGap.objects.filter(access.subtree(root.path)).delete()
        else:
            CoverageGap.objects.filter(unit_id__in=unit_filter).delete()
        CoverageGap.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def gaps_advance(*, since: dt.datetime) -> int:
    """The worker's hourly scan: move every unit's 7-day window on from `since` (where the
    last scan's window ended) to scan_until(now), reading only the shifts that meet the
    new time — an hour's worth, not a week's. The time now past falls off (a gap that has
    begun now starts now); what a roster change wrote past `since` is written again;
    a gap that runs on across `since` is lengthened, not split. Returns the gaps written
    or lengthened. (After a worker outage longer than the window, this is a full scan.)"""
    now = timezone.now().replace(second=0, microsecond=0)
    end = scan_until(now)
    start = max(since, now)
    qs = _duty_units()
    unit_rows = list(qs.order_by("pk").values_list("pk", "path"))
    found = _gaps_found(unit_rows, qs.values("pk"), start, end, now) if start < end else []
    with transaction.atomic():
        CoverageGap.objects.filter(Q(ends_at__lte=now) | Q(starts_at__gte=start)).delete()
        changed: dict[int, CoverageGap] = {}
        for gap in CoverageGap.objects.filter(Q(starts_at__lt=now) | Q(ends_at__gt=start)):
            gap.starts_at, gap.ends_at = max(gap.starts_at, now), min(gap.ends_at, start)
            changed[gap.pk] = gap
        running = {
            (g.unit_id, g.kind): changed.get(g.pk, g)
            for g in CoverageGap.objects.filter(ends_at__gte=start)
        }
        new = []
        for gap in found:
            before = running.get((gap.unit_id, gap.kind)) if gap.starts_at == start else None
            if before is None:
                new.append(gap)
            else:
                before.ends_at = gap.ends_at
                changed[before.pk] = before
        for gap in changed.values():
            gap.seconds = int((gap.ends_at - gap.starts_at).total_seconds())
        CoverageGap.objects.bulk_update(
            changed.values(), ["starts_at", "ends_at", "seconds"], batch_size=2000
        )
        CoverageGap.objects.bulk_create(new, batch_size=2000)
        CoverageGap.objects.update(scanned_at=now)
    return len(found)


@transaction.atomic
def duty_gap_chase(*, by: Person, unit: Unit) -> int:
    """One tap from the level above: tell the unit's head (else its office) that its
    roster leaves a gap in the next 7 days."""
    access.require(access.can_chase_duty_gap(by, unit))
    people = [unit.head] if unit.head else office_people(unit)
    gaps = list(CoverageGap.objects.filter(unit=unit).order_by("starts_at")[:3])
    if not people:
        raise ValidationError(_("%(unit)s has no head to tell.") % {"unit": unit.name})
    first = (
        _("the first from %(at)s") % {"at": f"{_local(gaps[0].starts_at):%m-%d %H:%M}"}
        if gaps
        else ""
    )
    notification_create(
        event="duty_gap_chase",
        title=_("The duty roster of %(unit)s has a gap") % {"unit": unit.name},
        body=_(
            "%(sender)s asks you to fill the gaps in your unit's 24-hour duty in the next "
            "7 days (%(first)s)."
        )
        % {"sender": by.name, "first": first},
        urgency=Urgency.URGENT,
        unit=unit,
        sender=by,
        people=people,
        link=f"/duty/?unit={unit.pk}",
    )
    return len(people)
