"""Duty's reads: who is on duty now (a unit, a subtree), the roster of a month with its
gaps, my shifts, the gaps below a unit worst first, shifts nobody took over."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, FilteredRelation, Prefetch, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from safecampus.lib.masking import mask_mobile
from safecampus.orgs import access
from safecampus.orgs.models import Membership, Person, Role, Unit

from . import services
from .models import (
    MAX_SHIFT,
    CoverageGap,
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


@dataclass(frozen=True)
class Reachable:
    """Someone to call, as "who is on duty now" names them: on a shift, or the fallback.
    The mobile in full: the caller masks it by the rule (access.can_call_on_duty)."""

    pk: int
    name: str
    mobile: str

    @property
    def mobile_masked(self) -> str:
        return mask_mobile(self.mobile)


@dataclass(frozen=True)
class Covering:
    """A shift covering the moment, as "who is on duty now" names it (its times: the page
    of one unit reads them, selectors.shift_times)."""

    pk: int
    name: str
    phone: str


@dataclass(frozen=True)
class UnitRef:
    """The unit an answer is about, as "who is on duty now" reads it (what the pages, the
    API and orgs.access use of it: its id, tree path, name and phone)."""

    pk: int
    path: str
    name: str
    phone: str


@dataclass
class OnDuty:
    """Who to call at a unit at a moment. With no shift covering it `is_gap` says so, and
    `fallback` names who to call instead: the unit's head (第一责任人), then its safety
    officer(s). `fallback` is filled whether or not there is a gap."""

    unit: UnitRef
    at: dt.datetime
    shifts: list[Covering] = field(default_factory=list)
    leaders: list[Reachable] = field(default_factory=list)
    staff: list[Reachable] = field(default_factory=list)
    phone: str = ""
    fallback: list[Reachable] = field(default_factory=list)

    @property
    def people(self) -> list[Reachable]:
        return self.leaders + self.staff

    @property
    def is_gap(self) -> bool:
        return not self.people

    @property
    def no_leader(self) -> bool:
        return bool(self.people) and not self.leaders


def _on_duty(units: QuerySet[Unit], at: dt.datetime) -> list[OnDuty]:
    """Who is on duty at `at` at each of `units`, in tree order: two queries whatever
    their number, of plain values. A city's answer is a thousand units: making model
    instances of them, or parsing their shifts' times, cost more than the rest
    (bench/duty_scale.py). The first reads each unit with its duty phone and head, the
    shifts covering `at` (a filtered join: starts_at within the day before `at`, a bounded
    range of the (unit, starts_at) index) and their people, leaders first; the second,
    the units' safety officers, selected by subquery (a thousand ids written into a
    statement cost more to send than to run)."""
    rows = (
        units.annotate(
            covering=FilteredRelation(
                "shifts",
                condition=Q(
                    shifts__starts_at__gt=at - MAX_SHIFT,
                    shifts__starts_at__lte=at,
                    shifts__ends_at__gt=at,
                ),
            )
        )
        .order_by(
            "path",
            "covering__starts_at",
            "covering__id",
            "covering__members__role",  # "leader" before "staff"
            "covering__members__person__name",
        )
        .values_list(
            "pk",
            "path",
            "name",
            "phone",
            "duty_settings__duty_phone",
            "head_id",
            "head__name",
            "head__mobile",
            "head__is_active",
            "covering__id",
            "covering__name",
            "covering__phone",
            "covering__members__role",
            "covering__members__person_id",
            "covering__members__person__name",
            "covering__members__person__mobile",
        )
    )
    officers = (
        Membership.objects.filter(
            unit_id__in=units.values("pk"), role=Role.SAFETY_OFFICER, person__is_active=True
        )
        .order_by("person__name", "person_id")
        .values_list("unit_id", "person_id", "person__name", "person__mobile")
    )

    answers: dict[int, OnDuty] = {}
    for (
        pk, path, name, unit_phone, duty_phone, head_id, head_name, head_mobile, head_active,
        shift_id, shift_name, shift_phone, role, person_id, person_name, mobile,
    ) in rows:  # fmt: skip
        answer = answers.get(pk)
        if answer is None:
            answer = answers[pk] = OnDuty(unit=UnitRef(pk, path, name, unit_phone), at=at)
            answer.phone = duty_phone or ""
            if head_id is not None and head_active:
                answer.fallback.append(Reachable(head_id, head_name, head_mobile or ""))
        if shift_id is None:
            continue  # no shift covers the moment
        if not answer.shifts or answer.shifts[-1].pk != shift_id:
            answer.shifts.append(Covering(shift_id, shift_name, shift_phone))
        if person_id is None or any(p.pk == person_id for p in answer.people):
            continue  # a shift nobody is on; someone on two covering shifts, named once
        person = Reachable(person_id, person_name, mobile or "")
        (answer.leaders if role == MemberRole.LEADER else answer.staff).append(person)
    for unit_id, person_id, name, mobile in officers:
        answer = answers[unit_id]
        if all(p.pk != person_id for p in answer.fallback):
            answer.fallback.append(Reachable(person_id, name, mobile or ""))
    for answer in answers.values():
        # the shift's phone, else the unit's duty phone, else the unit's own
        answer.phone = (
            next((s.phone for s in answer.shifts if s.phone), "")
            or answer.phone
            or answer.unit.phone
        )
    return list(answers.values())


def on_duty_now(unit: Unit | int, at: dt.datetime | None = None) -> OnDuty | None:
    """Who is on duty at `unit` (the unit or its id) at `at` (now by default): the shifts
    covering it, their leaders and staff, the duty phone; where none covers it, is_gap
    and the fallback. None: no such unit (an id). The unit is read with its duty phone
    and head (answer.unit): a caller holding only the id need not read it first."""
    pk = unit if isinstance(unit, int) else unit.pk
    answers = _on_duty(Unit.objects.filter(pk=pk), at or timezone.now())
    return answers[0] if answers else None


def on_duty_under(root: Unit, at: dt.datetime | None = None) -> list[OnDuty]:
    """Who is on duty now in every unit keeping duty in `root`'s subtree (by path), in
    tree order: _on_duty's two queries whatever its size."""
    return _on_duty(
        Unit.objects.filter(
            access.subtree(root.path), archived_at__isnull=True, kind__in=services.DUTY_KINDS
        ),
        at or timezone.now(),
    )


def shift_times(answer: OnDuty) -> list[Shift]:
    """The shifts covering the moment with their times, for the page of one unit."""
    return list(Shift.objects.filter(pk__in=[s.pk for s in answer.shifts]).order_by("starts_at"))


def people_to_ping(people: Sequence[Reachable]) -> list[Person]:
    """The Person rows of those named (to notify them), in the same order: one query."""
    found = Person.objects.in_bulk([p.pk for p in people])
    return [found[p.pk] for p in people if p.pk in found]


@dataclass
class OnCall:
    """Who to call at a unit at a moment, as Person rows: the people of the shift(s)
    covering it, else its fallback's first (the head, else a safety officer)."""

    shift_id: int | None
    people: list[Person]
    fallback: bool


def people_on_call(unit: Unit, at: dt.datetime) -> OnCall:
    """Who a spot check pings and an incident's chain calls at `unit` at `at`."""
    answer = on_duty_now(unit, at)
    if answer is None:  # the unit is gone (units are archived, never deleted)
        return OnCall(None, [], fallback=True)
    if not answer.is_gap:
        return OnCall(answer.shifts[0].pk, people_to_ping(answer.people), fallback=False)
    return OnCall(None, people_to_ping(answer.fallback[:1]), fallback=True)


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
    """The swaps of the shift, and those offering it in exchange. Selected by two indexed
    subqueries, not by an OR across two columns (which leaves PostgreSQL no index to start
    from, and with stale statistics a nested scan of every shift)."""
    ids = SwapRequest.objects.filter(shift=shift).values("pk")
    offered = SwapRequest.objects.filter(in_exchange=shift).values("pk")
    return list(
        SwapRequest.objects.filter(Q(pk__in=ids) | Q(pk__in=offered))
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
