"""Duty's reads: who is on duty now (a unit, a subtree), the roster of a month with its
gaps, my shifts, the gaps below a unit worst first, shifts nobody took over."""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from safecampus.orgs import access
from safecampus.orgs.models import Membership, Person, Role, Unit

from . import services
from .models import (
    MAX_SHIFT,
    CoverageGap,
    DutySettings,
    MemberRole,
    Shift,
    ShiftMember,
    SwapRequest,
    SwapStatus,
)

# A shift that ended this long ago without anyone taking it over is flagged.
TAKE_OVER_WITHIN = dt.timedelta(hours=1)


def _members_prefetch() -> Prefetch:
    return Prefetch(
        "members",
        queryset=ShiftMember.objects.select_related("person").order_by("role", "person__name"),
    )


# --- Who is on duty now ----------------------------------------------------------------------


@dataclass
class OnDuty:
    """Who to call at a unit at a moment. With no shift covering it `is_gap` says so, and
    `fallback` names who to call instead: the unit's head (第一责任人), then its safety
    officer(s). `fallback` is filled whether or not there is a gap."""

    unit: Unit
    at: dt.datetime
    shifts: list[Shift] = field(default_factory=list)
    leaders: list[Person] = field(default_factory=list)
    staff: list[Person] = field(default_factory=list)
    phone: str = ""
    fallback: list[Person] = field(default_factory=list)

    @property
    def people(self) -> list[Person]:
        return self.leaders + self.staff

    @property
    def is_gap(self) -> bool:
        return not self.people

    @property
    def no_leader(self) -> bool:
        return bool(self.people) and not self.leaders


def _covering(unit_ids: Any, at: dt.datetime) -> list[Shift]:
    """The shifts covering `at` at these units, each with its people (members, ordered
    leaders first, then by name) in `shift.people`: two queries. starts_at within the day
    before `at` (MAX_SHIFT): a bounded range of the (unit, starts_at) index, not every past
    shift of the unit."""
    shifts = list(
        Shift.objects.filter(
            unit_id__in=unit_ids, starts_at__gt=at - MAX_SHIFT, starts_at__lte=at, ends_at__gt=at
        ).order_by("unit_id", "starts_at")
    )
    people: dict[int, list[ShiftMember]] = defaultdict(list)
    for m in (
        ShiftMember.objects.filter(shift_id__in=[s.pk for s in shifts])
        .select_related("person")
        .order_by("role", "person__name")
    ):
        people[m.shift_id].append(m)
    for shift in shifts:
        shift.people = people.get(shift.pk, [])
    return shifts


def _on_duty(
    units: Sequence[Unit], at: dt.datetime, shifts: list[Shift], phones: dict[int, str]
) -> list[OnDuty]:
    by_unit: dict[int, list[Shift]] = defaultdict(list)
    for shift in shifts:
        by_unit[shift.unit_id].append(shift)
    officers: dict[int, list[Person]] = defaultdict(list)
    for m in (
        Membership.objects.filter(unit__in=[u.pk for u in units], role=Role.SAFETY_OFFICER)
        .select_related("person")
        .order_by("person__name", "person_id")
    ):
        if m.person.is_active:
            officers[m.unit_id].append(m.person)
    answers = []
    for unit in units:
        answer = OnDuty(unit=unit, at=at, shifts=by_unit.get(unit.pk, []))
        seen: set[int] = set()
        for shift in answer.shifts:
            for m in shift.people:
                if m.person_id in seen:
                    continue
                seen.add(m.person_id)
                (answer.leaders if m.role == MemberRole.LEADER else answer.staff).append(m.person)
        answer.phone = (
            next((s.phone for s in answer.shifts if s.phone), "")
            or phones.get(unit.pk, "")
            or unit.phone
        )
        head = unit.head if unit.head_id and unit.head.is_active else None
        answer.fallback = ([head] if head else []) + [
            p for p in officers.get(unit.pk, []) if head is None or p.pk != head.pk
        ]
        answers.append(answer)
    return answers


def _phones(unit_ids: Any) -> dict[int, str]:
    return dict(
        DutySettings.objects.filter(unit_id__in=unit_ids)
        .exclude(duty_phone="")
        .values_list("unit_id", "duty_phone")
    )


def on_duty_now(unit: Unit, at: dt.datetime | None = None) -> OnDuty:
    """Who is on duty at `unit` at `at` (now by default): the shifts covering it, their
    leaders and staff, the duty phone; where none covers it, is_gap and the fallback."""
    at = at or timezone.now()
    if unit.head_id and "head" not in unit._state.fields_cache:
        unit = Unit.objects.select_related("head").get(pk=unit.pk)
    return _on_duty([unit], at, _covering([unit.pk], at), _phones([unit.pk]))[0]


def on_duty_under(root: Unit, at: dt.datetime | None = None) -> list[OnDuty]:
    """Who is on duty now in every unit keeping duty in `root`'s subtree (by path): five
    queries whatever its size (units, shifts, their people, duty phones, safety officers)."""
    at = at or timezone.now()
    units = list(
        Unit.objects.filter(
            access.subtree(root.path), archived_at__isnull=True, kind__in=services.DUTY_KINDS
        )
        .select_related("head")
        .order_by("path")
    )
    ids = [u.pk for u in units]
    return _on_duty(units, at, _covering(ids, at), _phones(ids))


# --- Rosters --------------------------------------------------------------------------------


def shift_or_404(user: Any, pk: Any) -> Shift:
    try:
        shift = Shift.objects.select_related("unit", "taken_over_by").get(pk=pk)
    except (Shift.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not access.can_see_duty(user, shift.unit):
        raise Http404
    return shift


def swap_or_404(user: Any, pk: Any) -> SwapRequest:
    try:
        swap = SwapRequest.objects.select_related(
            "shift__unit", "from_person", "to_person", "in_exchange", "decided_by"
        ).get(pk=pk)
    except (SwapRequest.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not access.can_see_duty(user, swap.shift.unit):
        raise Http404
    return swap


@dataclass
class RosterDay:
    day: dt.date
    shifts: list[Shift]
    gaps: list[services.Gap]


def roster(unit: Unit, month: dt.date) -> tuple[list[RosterDay], list[services.Gap]]:
    """The month's shifts day by day, with the gaps in its 24-hour coverage (computed from
    the shifts: a roster that leaves a gap saves, and shows it)."""
    first, last = services.month_bounds(month)
    shifts = list(
        Shift.objects.filter(unit=unit, day__gte=first - dt.timedelta(days=1), day__lte=last)
        .prefetch_related(_members_prefetch())
        .order_by("starts_at", "pk")
    )
    start = services._at(first, dt.time(0))
    end = services._at(last + dt.timedelta(days=1), dt.time(0))
    gaps = services.gaps_of(
        (
            (
                s.starts_at,
                s.ends_at,
                bool(s.members.all()),
                any(m.role == MemberRole.LEADER for m in s.members.all()),
            )
            for s in shifts
        ),
        start,
        end,
    )
    days: list[RosterDay] = []
    day = first
    while day <= last:
        day_start = services._at(day, dt.time(0))
        day_end = day_start + dt.timedelta(days=1)
        days.append(
            RosterDay(
                day=day,
                shifts=[s for s in shifts if s.day == day],
                gaps=[g for g in gaps if g.starts_at < day_end and g.ends_at > day_start],
            )
        )
        day += dt.timedelta(days=1)
    return days, gaps


def my_shifts(person: Person, *, start: dt.datetime, days: int = 14) -> list[Shift]:
    """The person's shifts that have not ended, from `start`, for `days` days."""
    return list(
        Shift.objects.filter(
            members__person=person,
            ends_at__gt=start,
            starts_at__lt=start + dt.timedelta(days=days),
        )
        .select_related("unit")
        .prefetch_related(_members_prefetch())
        .order_by("starts_at")
    )


EXCHANGE_AHEAD = dt.timedelta(days=62)


def exchangeable_shifts(shift: Shift, person: Person) -> list[tuple[Person, list[Shift]]]:
    """What `person` may offer in exchange for their place on `shift`: the future shifts
    of the same unit (the next two months) that others hold and they do not, by holder
    (a shift held by two people is listed under each)."""
    now = timezone.now()
    shifts = (
        Shift.objects.filter(
            unit_id=shift.unit_id, starts_at__gt=now, starts_at__lt=now + EXCHANGE_AHEAD
        )
        .exclude(pk=shift.pk)
        .exclude(members__person=person)
        .prefetch_related(_members_prefetch())
        .order_by("starts_at", "pk")
    )
    by_person: dict[int, tuple[Person, list[Shift]]] = {}
    for s in shifts:
        for m in s.members.all():
            by_person.setdefault(m.person_id, (m.person, []))[1].append(s)
    return sorted(by_person.values(), key=lambda row: (row[0].name, row[0].pk))


def duty_units(user: Any) -> QuerySet[Unit]:
    """The units whose roster the user sees from /duty/: their own (a role in them)."""
    return Unit.objects.filter(
        archived_at__isnull=True,
        kind__in=services.DUTY_KINDS,
        pk__in=Membership.objects.filter(person=user).values("unit_id"),
    ).order_by("path")


def shift_swaps(shift: Shift) -> list[SwapRequest]:
    return list(
        SwapRequest.objects.filter(Q(shift=shift) | Q(in_exchange=shift))
        .select_related("from_person", "to_person", "decided_by", "in_exchange", "shift")
        .order_by("-created_at")
    )


def swaps_waiting(user: Any) -> list[SwapRequest]:
    """Swaps waiting for this user: asked of them, or accepted and theirs to approve."""
    asked = Q(to_person=user, status=SwapStatus.REQUESTED)
    paths = access.business_paths(user)
    approve = Q(pk__in=[])
    for path in paths:
        approve |= access.subtree(path, "shift__unit__path")
    return list(
        SwapRequest.objects.filter(asked | (approve & Q(status=SwapStatus.ACCEPTED)))
        .select_related("shift__unit", "from_person", "to_person")
        .order_by("shift__starts_at")
    )


# --- Handover ---------------------------------------------------------------------------------


def not_taken_over(
    unit: Unit, *, since: dt.datetime, now: dt.datetime | None = None
) -> list[Shift]:
    """The unit's shifts that ended (more than an hour ago) since `since` without anyone
    taking them over: flagged on the roster."""
    now = now or timezone.now()
    return list(
        Shift.objects.filter(
            unit=unit,
            ends_at__gte=since,
            ends_at__lt=now - TAKE_OVER_WITHIN,
            taken_over_at__isnull=True,
        ).order_by("starts_at")
    )


# --- Gaps below a unit --------------------------------------------------------------------------


@dataclass
class UnitGaps:
    unit: Unit
    seconds: int
    nobody_seconds: int
    first_at: dt.datetime
    count: int

    @property
    def hours(self) -> float:
        return round(self.seconds / 3600, 1)


def gaps_under(root: Unit, *, limit: int = 200) -> list[UnitGaps]:
    """Every unit under `root` whose next 7 days have a gap (the worker's scan), worst
    first: most time uncovered (nobody on duty, or no leader)."""
    rows = (
        CoverageGap.objects.filter(access.subtree(root.path))
        .values("unit_id")
        .annotate(
            total=Sum("seconds"),
            nobody=Sum("seconds", filter=Q(kind="nobody")),
            n=Count("pk"),
        )
        .order_by("-total", "unit_id")[:limit]
    )
    rows = list(rows)
    # Into a dict the last of each unit stays: read them latest first.
    firsts = dict(
        CoverageGap.objects.filter(unit_id__in=[r["unit_id"] for r in rows])
        .order_by("unit_id", "-starts_at")
        .values_list("unit_id", "starts_at")
    )
    units = Unit.objects.in_bulk([r["unit_id"] for r in rows])
    return [
        UnitGaps(
            unit=units[r["unit_id"]],
            seconds=r["total"] or 0,
            nobody_seconds=r["nobody"] or 0,
            first_at=firsts[r["unit_id"]],
            count=r["n"],
        )
        for r in rows
        if r["unit_id"] in units
    ]


def last_scan() -> dt.datetime | None:
    return CoverageGap.objects.order_by("-scanned_at").values_list("scanned_at", flat=True).first()
