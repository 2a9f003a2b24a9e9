"""Reads for the checklist, the status view of the level above, the API and the worker:
aggregated in SQL over a subtree (grouped by child), scoped by access by the callers."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Substr

from safecampus.orgs import access
from safecampus.orgs.models import Area, AreaKind, Unit
from safecampus.reports.models import ReportExemption
from safecampus.reports.official_calendar import is_workday

from .models import (
    DEFAULTS,
    ROUTINE_UNIT_KINDS,
    Applies,
    Code,
    Kind,
    Period,
    RoutineKind,
    RoutineRecord,
    RoutineTally,
)

LAST_DAYS = 7  # the status view's strip of days before the one shown


# --- Kinds ------------------------------------------------------------------------------


def root_path(unit: Unit) -> str:
    return unit.path[: Unit.steplen]


def kinds_by_root(paths: set[str]) -> dict[str, list[Kind]]:
    """Each root's kinds of check in the shipped order: its own setting, else the default."""
    own: dict[str, dict[str, Kind]] = defaultdict(dict)
    for row in RoutineKind.objects.filter(bureau__path__in=paths).select_related("bureau"):
        own[row.bureau.path][row.code] = row.as_kind()
    return {p: [own[p].get(code, DEFAULTS[code]) for code in Code.values] for p in paths}


def kinds_for(unit: Unit) -> list[Kind]:
    """The kinds as they apply to a unit: its bureau's (the root of its tree)."""
    return kinds_by_root({root_path(unit)})[root_path(unit)]


def applies(kind: Kind, *, canteen: bool, dorm: bool) -> bool:
    if not kind.active:
        return False
    if kind.applies_to == Applies.CANTEEN:
        return canteen
    if kind.applies_to == Applies.BOARDING:
        return dorm
    return True


def due_on(kind: Kind, day: dt.date, *, school_day: bool) -> bool:
    """Does the day count for the kind: a school day for a daily kind, any day of a month."""
    return kind.active and (kind.monthly or school_day)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def last_of_month(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


# --- The units that keep checks ------------------------------------------------------------


def _area(kind: str) -> Exists:
    return Exists(Area.objects.filter(unit=OuterRef("pk"), kind=kind, archived_at__isnull=True))


def units_keeping(under: Unit, day: dt.date) -> QuerySet[Unit]:
    """The schools and kindergartens under `under` (itself included), each with `canteen`,
    `dorm` (has such an area) and `exempt` (closed that day: reports' exemptions)."""
    return Unit.objects.filter(
        access.subtree(under.path), kind__in=ROUTINE_UNIT_KINDS, archived_at__isnull=True
    ).annotate(
        canteen=_area(AreaKind.CANTEEN),
        dorm=_area(AreaKind.DORMITORY),
        exempt=Exists(ReportExemption.objects.filter(unit=OuterRef("pk"), date=day)),
    )


def kind_applies(kind: Kind, unit: Unit) -> bool:
    """For a unit read by units_keeping (or one holding the flags)."""
    return unit.kind in ROUTINE_UNIT_KINDS and applies(
        kind, canteen=bool(getattr(unit, "canteen", False)), dorm=bool(getattr(unit, "dorm", False))
    )


def unit_flags(unit: Unit, day: dt.date) -> Unit:
    """The unit again with its flags (units_keeping), or without them if it keeps none."""
    return units_keeping(unit, day).filter(pk=unit.pk).first() or unit


# --- A unit's checklist ------------------------------------------------------------------


@dataclass
class Item:
    kind: Kind
    due: bool  # this period counts (a school day, or the month)
    done: int = 0
    required: int = 0
    missed: bool = False
    closed: bool = False
    records: list[RoutineRecord] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.done >= self.required

    @property
    def short(self) -> int:
        return max(self.required - self.done, 0)


@dataclass
class Checklist:
    unit: Unit
    day: dt.date
    exempt: bool
    items: list[Item]

    @property
    def complete(self) -> bool:
        return all(i.complete for i in self.items if i.due)


def checklists(units: list[Unit], day: dt.date) -> list[Checklist]:
    """Each unit's checks of the day (and of its month for the monthly ones): done against
    required, and the records. Four queries whatever the number of units."""
    if not units:
        return []
    flagged = {
        u.pk: u
        for u in Unit.objects.filter(pk__in=[u.pk for u in units]).annotate(
            canteen=_area(AreaKind.CANTEEN),
            dorm=_area(AreaKind.DORMITORY),
            exempt=Exists(ReportExemption.objects.filter(unit=OuterRef("pk"), date=day)),
        )
    }
    kinds = kinds_by_root({root_path(u) for u in units})
    first = month_start(day)
    tallies = {
        (t.unit_id, t.code, t.period_start): t
        for t in RoutineTally.objects.filter(
            unit_id__in=list(flagged), period_start__in=[day, first]
        )
    }
    records: dict[tuple[int, str], list[RoutineRecord]] = defaultdict(list)
    rows = RoutineRecord.objects.filter(unit_id__in=list(flagged), day__range=(first, day))
    for r in rows.select_related("recorded_by").order_by("done_at", "pk"):
        records[r.unit_id, r.code].append(r)
    school_day = is_workday(day)
    result = []
    for unit in units:
        u = flagged[unit.pk]
        items = []
        for kind in kinds[root_path(u)]:
            if not kind_applies(kind, u):
                continue
            start = kind.period_start(day)
            tally = tallies.get((u.pk, kind.code, start))
            mine = [r for r in records[u.pk, kind.code] if kind.monthly or r.day == day]
            items.append(
                Item(
                    kind=kind,
                    due=due_on(kind, day, school_day=school_day) and (kind.monthly or not u.exempt),
                    done=tally.done if tally else len(mine),
                    required=tally.required if tally else kind.required,
                    missed=bool(tally and tally.missed),
                    closed=bool(tally and tally.closed_at),
                    records=mine,
                )
            )
        result.append(Checklist(unit=u, day=day, exempt=bool(u.exempt), items=items))
    return result


# --- Who is short: the worker's and the chase's list ----------------------------------------


@dataclass
class Short:
    unit: Unit
    kind: Kind
    done: int
    required: int


def shortfalls(under: Unit, kinds: list[Kind], day: dt.date) -> tuple[list[Unit], list[Short]]:
    """The units under `under` that must keep these kinds on the day's period (`kinds` already
    due that day), and each unit-kind short of its count. Two queries."""
    units = list(units_keeping(under, day).select_related("head", "office_contact"))
    starts = {k.period_start(day) for k in kinds}
    tallies = {
        (unit_id, code, start): (done, required)
        for unit_id, code, start, done, required in RoutineTally.objects.filter(
            access.subtree(under.path, "path"),
            period_start__in=starts,
            code__in=[k.code for k in kinds],
        ).values_list("unit_id", "code", "period_start", "done", "required")
    }
    short = []
    for unit in units:
        for kind in kinds:
            if not kind_applies(kind, unit) or (unit.exempt and not kind.monthly):
                continue
            done, required = tallies.get(
                (unit.pk, kind.code, kind.period_start(day)), (0, kind.required)
            )
            if done < required:
                short.append(Short(unit, kind, done, required))
    return units, short


# --- The level above: done / short / missed per child, rolled up --------------------------


@dataclass
class Cell:
    kind: Kind
    keeping: int = 0  # unit-checks due in the subtree
    complete: int = 0
    missed: int = 0

    @property
    def short(self) -> int:
        return max(self.keeping - self.complete - self.missed, 0)


@dataclass
class Row:
    unit: Unit
    cells: dict[str, Cell]
    last_days: list[tuple[dt.date, int]] = field(default_factory=list)

    @property
    def complete(self) -> int:
        return sum(min(c.complete, c.keeping) for c in self.cells.values())

    @property
    def short(self) -> int:
        return sum(c.short for c in self.cells.values())

    @property
    def missed(self) -> int:
        return sum(c.missed for c in self.cells.values())

    @property
    def keeping(self) -> int:
        return sum(c.keeping for c in self.cells.values())


@dataclass
class Status:
    unit: Unit
    day: dt.date
    school_day: bool
    kinds: list[Kind]  # those due on the day
    top: Row
    children: list[Row]
    days: list[dt.date]  # the strip's days, oldest first


_FLAGS = {
    # (applies_to, daily): the count of units_keeping that keep such a kind on the day
    (Applies.ALL, False): "n_all",
    (Applies.CANTEEN, False): "n_canteen",
    (Applies.BOARDING, False): "n_dorm",
    (Applies.ALL, True): "d_all",
    (Applies.CANTEEN, True): "d_canteen",
    (Applies.BOARDING, True): "d_dorm",
}


def status(unit: Unit, day: dt.date) -> Status:
    """For `unit` and each child: over its subtree, how many unit-checks are due on the day
    (its month for the monthly kinds), complete, missed (closed short) and short (neither, so
    far), and the missed daily checks of the days before. A handful of grouped queries
    whatever the size of the subtree; the caller has checked the unit is visible."""
    kinds_all = kinds_for(unit)
    school_day = is_workday(day)
    kinds = [k for k in kinds_all if due_on(k, day, school_day=school_day)]
    children = list(
        Unit.objects.filter(
            access.subtree(unit.path), depth=unit.depth + 1, archived_at__isnull=True
        ).order_by("kind", "code")
    )
    width = len(unit.path) + Unit.steplen
    top = Row(unit, {k.code: Cell(k) for k in kinds})
    rows = {c.path: Row(c, {k.code: Cell(k) for k in kinds}) for c in children}

    def targets(child: str) -> list[Row]:
        return [top, rows[child]] if child in rows else [top]

    open_q = Q(exempt=False)
    counted = (
        units_keeping(unit, day)
        .annotate(child=Substr("path", 1, width))
        .values("child")
        .annotate(
            n_all=Count("pk"),
            n_canteen=Count("pk", filter=Q(canteen=True)),
            n_dorm=Count("pk", filter=Q(dorm=True)),
            d_all=Count("pk", filter=open_q),
            d_canteen=Count("pk", filter=open_q & Q(canteen=True)),
            d_dorm=Count("pk", filter=open_q & Q(dorm=True)),
        )
    )
    for row in counted:
        for target in targets(row["child"]):
            for kind in kinds:
                target.cells[kind.code].keeping += row[_FLAGS[kind.applies_to, not kind.monthly]]
    if kinds:
        periods = Q()
        for kind in kinds:
            periods |= Q(code=kind.code, period_start=kind.period_start(day))
        tallied = (
            RoutineTally.objects.filter(access.subtree(unit.path, "path"))
            .filter(periods)
            .annotate(child=Substr("path", 1, width))
            .values("child", "code")
            .annotate(
                complete=Count("pk", filter=Q(done__gte=F("required"))),
                missed=Count("pk", filter=Q(missed=True)),
            )
        )
        for row in tallied:
            for target in targets(row["child"]):
                cell = target.cells[row["code"]]
                cell.complete += row["complete"]
                cell.missed += row["missed"]
    days = [day - dt.timedelta(days=n) for n in range(LAST_DAYS, 0, -1)]
    missed_days: dict[tuple[str, dt.date], int] = defaultdict(int)
    strip = (
        RoutineTally.objects.filter(
            access.subtree(unit.path, "path"),
            period_start__range=(days[0], days[-1]),
            period=Period.SCHOOL_DAY,
            missed=True,
        )
        .annotate(child=Substr("path", 1, width))
        .values("child", "period_start")
        .annotate(n=Count("pk"))
    )
    for row in strip:
        missed_days["", row["period_start"]] += row["n"]
        missed_days[row["child"], row["period_start"]] += row["n"]
    top.last_days = [(d, missed_days["", d]) for d in days]
    for path, row in rows.items():
        row.last_days = [(d, missed_days[path, d]) for d in days]
    return Status(
        unit=unit,
        day=day,
        school_day=school_day,
        kinds=kinds,
        top=top,
        children=list(rows.values()),
        days=days,
    )


def units_short_today(under: Unit, day: dt.date) -> list[Short]:
    """What a chase reminds: every unit-kind under `under` short on the day's period."""
    kinds = [k for k in kinds_for(under) if due_on(k, day, school_day=is_workday(day))]
    return shortfalls(under, kinds, day)[1] if kinds else []
