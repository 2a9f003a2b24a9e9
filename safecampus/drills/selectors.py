"""Reads for the drill pages, the API and the worker: a unit's drills, its plan against what
was done (pro rata to the day), and over a subtree who is behind, worst first, and who has no
plan. Counted in SQL, a few queries whatever the number of units; scoped by access by the
callers (the *_or_404 readers check it themselves)."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet
from django.http import Http404

from safecampus.orgs import access
from safecampus.orgs.models import Unit

from .models import DEFAULT_PLAN, Drill, DrillPhoto, DrillPlan, Kind


def year_start(year: int) -> dt.date:
    return dt.date(year, 1, 1)


def days_in(year: int) -> int:
    return (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days


def due_by(planned: int, day: dt.date) -> int:
    """Of `planned` drills in the day's year, how many should have been held by the end of
    `day`: pro rata to the days gone, rounded down (a drill is due once its share is whole)."""
    gone = (day - year_start(day.year)).days + 1
    return planned * gone // days_in(day.year)


def default_plan(unit: Unit) -> dict[str, int]:
    return dict(DEFAULT_PLAN.get(unit.kind, DEFAULT_PLAN["school"]))


@dataclass
class Line:
    kind: str
    planned: int
    done: int
    due: int

    @property
    def label(self) -> str:
        return str(Kind(self.kind).label)

    @property
    def short(self) -> int:
        return max(self.due - self.done, 0)


@dataclass
class Progress:
    """A unit's plan of the day's year against the drills held by the end of the day. Without
    a plan of its own, the lines are the default's (`has_plan` False)."""

    unit: Unit
    day: dt.date
    has_plan: bool
    lines: list[Line] = field(default_factory=list)

    @property
    def year(self) -> int:
        return self.day.year

    @property
    def planned(self) -> int:
        return sum(line.planned for line in self.lines)

    @property
    def done(self) -> int:
        return sum(line.done for line in self.lines)

    @property
    def due(self) -> int:
        return sum(line.due for line in self.lines)

    @property
    def short(self) -> int:
        """Drills due by now and not held, kind by kind (one of another kind does not make up
        for a missing evacuation drill)."""
        return sum(line.short for line in self.lines)

    @property
    def behind(self) -> bool:
        return self.has_plan and self.short > 0


def progress(units: list[Unit], day: dt.date) -> list[Progress]:
    """Each unit's plan of the day's year against its drills held from 1 January to `day`,
    kind by kind. Two queries whatever the number of units."""
    if not units:
        return []
    ids = [u.pk for u in units]
    plans: dict[int, dict[str, int]] = {}
    for unit_id, kind, planned in DrillPlan.objects.filter(
        unit_id__in=ids, year=day.year
    ).values_list("unit_id", "kind", "planned"):
        plans.setdefault(unit_id, {})[kind] = planned
    done: dict[int, dict[str, int]] = {}
    counted = (
        Drill.objects.filter(unit_id__in=ids, day__range=(year_start(day.year), day))
        .values("unit_id", "kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in counted:
        done.setdefault(row["unit_id"], {})[row["kind"]] = row["n"]
    result = []
    for unit in units:
        plan = plans.get(unit.pk)
        kinds = plan if plan is not None else default_plan(unit)
        held = done.get(unit.pk, {})
        lines = [
            Line(
                kind=k,
                planned=kinds.get(k, 0),
                done=held.get(k, 0),
                due=due_by(kinds.get(k, 0), day),
            )
            for k in Kind.values
            if kinds.get(k) or held.get(k)
        ]
        result.append(Progress(unit=unit, day=day, has_plan=plan is not None, lines=lines))
    return result


def units_keeping(under: Unit) -> QuerySet[Unit]:
    """The schools and kindergartens under `under` (itself included) that are not archived."""
    return Unit.objects.filter(
        access.subtree(under.path), kind__in=access.DRILL_UNIT_KINDS, archived_at__isnull=True
    )


@dataclass
class Behind:
    under: Unit
    day: dt.date
    behind: list[Progress]  # worst first
    no_plan: list[Progress]
    on_track: int  # units with a plan and nothing due missing

    @property
    def units(self) -> int:
        return len(self.behind) + len(self.no_plan) + self.on_track


def _worst_first(p: Progress) -> tuple[Any, ...]:
    # the most drills missing, then the smallest share of what is due, then the tree's order
    return (-p.short, p.done / p.due if p.due else 1, p.unit.path)


def behind(under: Unit, day: dt.date) -> Behind:
    """Over `under`'s subtree as at the end of `day`: the units behind their plan (drills due
    pro rata and not held), worst first; the units with no plan for the year; how many are on
    track. Three queries."""
    found = progress(list(units_keeping(under).order_by("path")), day)
    late = sorted((p for p in found if p.behind), key=_worst_first)
    no_plan = [p for p in found if not p.has_plan]
    return Behind(
        under=under,
        day=day,
        behind=late,
        no_plan=no_plan,
        on_track=len(found) - len(late) - len(no_plan),
    )


# --- Drills -----------------------------------------------------------------------------


def drills_visible(user: Any) -> QuerySet[Drill]:
    q = access.drills_visible_q(user)
    if q is None:
        return Drill.objects.none()
    return Drill.objects.filter(q).select_related("unit")


def drills_of(unit: Unit, year: int) -> list[Drill]:
    """A unit's drills of a year, newest first, with their number of problems and photos."""
    return list(
        Drill.objects.filter(unit=unit, day__range=(year_start(year), dt.date(year, 12, 31)))
        .annotate(n_problems=Count("problems", distinct=True))
        .order_by("-held_at", "-pk")
    )


def drill_or_404(user: Any, pk: Any) -> Drill:
    try:
        drill = Drill.objects.select_related("unit", "recorded_by", "roll_call").get(pk=pk)
    except (Drill.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not access.can_see_drills(user, drill.unit):
        raise Http404
    return drill


def photo_or_404(user: Any, pk: Any) -> DrillPhoto:
    """A drill's photo, if the user may see the drill."""
    try:
        photo = DrillPhoto.objects.select_related("drill__unit").get(pk=pk)
    except (DrillPhoto.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not access.can_see_drills(user, photo.drill.unit):
        raise Http404
    return photo
