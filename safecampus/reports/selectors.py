"""Reads for the report pages, the API and the register: aggregated in SQL, scoped by access."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Substr

from safecampus.orgs import access
from safecampus.orgs.models import Unit

from .models import (
    ROLLUP_DEPTH,
    DailyReport,
    Level,
    ReportRollup,
    ReportSchedule,
    ReportStatus,
    Status,
)

STATUSES = [s.value for s in Status]


# Which level's counts a page shows for a unit: its schools if any report below it,
# otherwise the lowest level that does (a school's departments).
MAIN_LEVELS = [Level.SCHOOL, Level.DEPARTMENT, Level.GROUP, Level.BUREAU]


@dataclass
class Counts:
    unit: Unit
    own: str | None = None  # the unit's own status that day (None: it does not report)
    own_level: str | None = None  # the level it reports at
    # Statuses over its whole subtree, per level of the units counted.
    by_level: dict[str, dict[str, int]] = field(default_factory=dict)
    level: str | None = None  # the level `counts` are of (the page's, day_counts)

    @property
    def counts(self) -> dict[str, int]:
        """The statuses of the units at `level` in the subtree: what a reader takes as
        "the schools" (the groups' and the bureau's own reports are counted apart)."""
        return self.by_level.get(self.level or "", {})

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def below(self) -> dict[str, dict[str, int]]:
        """by_level without the unit's own row: the units under it."""
        out = {level: dict(c) for level, c in self.by_level.items()}
        if self.own and self.own_level in out:
            mine = out[self.own_level]
            mine[self.own] = mine.get(self.own, 0) - 1
            out[self.own_level] = {s: n for s, n in mine.items() if n}
        return {level: c for level, c in out.items() if c}


def _add(target: dict[str, int], status: str, n: int) -> None:
    target[status] = target.get(status, 0) + n


def day_counts(user: Any, unit: Unit, day: dt.date) -> tuple[Counts, list[Counts]]:
    """For a unit and each of its children: statuses over their subtrees on a day, per
    level; `counts` of each are those of the page's level (main_level), the units
    under `unit` that report at it.

    Down to ROLLUP_DEPTH the counters answer (a row per unit and level); deeper, one
    grouped range scan over the day's status rows under the unit. The caller has
    checked the unit is visible.
    """
    children = {
        c.pk: Counts(c)
        for c in Unit.objects.filter(
            access.subtree(unit.path), depth=unit.depth + 1, archived_at__isnull=True
        ).order_by("kind", "code")
    }
    top = Counts(unit)
    own = {
        pk: (status, level)
        for pk, status, level in ReportStatus.objects.filter(
            date=day, unit_id__in=[unit.pk, *children]
        ).values_list("unit_id", "status", "level")
    }
    for pk, target in [(unit.pk, top), *children.items()]:
        target.own, target.own_level = own.get(pk, (None, None))
    if unit.depth + 1 <= ROLLUP_DEPTH:
        rows = ReportRollup.objects.filter(date=day, unit_id__in=[unit.pk, *children]).values_list(
            "unit_id", "level", *STATUSES
        )
        for unit_id, level, *values in rows:
            target = top if unit_id == unit.pk else children[unit_id]
            counts = {s: n for s, n in zip(STATUSES, values, strict=True) if n}
            if counts:
                target.by_level[level] = counts
    else:
        width = len(unit.path) + Unit.steplen
        by_path = {c.unit.path: c for c in children.values()}
        grouped = (
            ReportStatus.objects.filter(access.subtree(unit.path, "path"), date=day)
            .annotate(child=Substr("path", 1, width))
            .values("child", "level", "status")
            .annotate(n=Count("id"))
        )
        for row in grouped:
            _add(top.by_level.setdefault(row["level"], {}), row["status"], row["n"])
            child = by_path.get(row["child"])
            if child is not None:
                _add(child.by_level.setdefault(row["level"], {}), row["status"], row["n"])
    level = main_level(top)
    for target in [top, *children.values()]:
        target.level = level
    if level is not None and top.own_level == level and top.own:
        # The page counts the units under it: not its own report.
        top.by_level = {**top.by_level, level: top.below().get(level, {})}
    return top, list(children.values())


def main_level(top: Counts) -> str | None:
    below = top.below()
    return next((level for level in MAIN_LEVELS if level in below), None)


def trend(
    unit: Unit, start: dt.date, end: dt.date, level: str | None = None
) -> list[dict[str, Any]]:
    """Per day: statuses over the unit's subtree (of one level's units, or all). From the
    counters down to ROLLUP_DEPTH; deeper units (a school) are small enough to count
    directly."""
    if unit.depth <= ROLLUP_DEPTH:
        rows = ReportRollup.objects.filter(unit=unit, date__range=(start, end))
        if level is not None:
            rows = rows.filter(level=level)
        return list(rows.values("date").annotate(**{s: Sum(s) for s in STATUSES}).order_by("date"))
    rows = ReportStatus.objects.filter(access.subtree(unit.path, "path"), date__range=(start, end))
    if level is not None:
        rows = rows.filter(level=level)
    return list(
        rows.values("date")
        .annotate(**{s: Count("id", filter=Q(status=s)) for s in STATUSES})
        .order_by("date")
    )


def unit_calendar(unit: Unit, end: dt.date, days: int = 90) -> list[ReportStatus]:
    start = end - dt.timedelta(days=days - 1)
    return list(ReportStatus.objects.filter(unit=unit, date__range=(start, end)).order_by("date"))


def ranking(user: Any, unit: Unit, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Units under `unit` ranked by completeness, then timeliness, over a period; each
    level apart (the schools first)."""
    rows = (
        ReportStatus.objects.filter(access.subtree(unit.path, "path"), date__range=(start, end))
        .exclude(unit=unit)
        .values("unit_id", "unit__name", "unit__code", "level")
        .annotate(
            days=Count("id"),
            on_time=Count("id", filter=Q(status=Status.ON_TIME)),
            late=Count("id", filter=Q(status=Status.LATE)),
            missing=Count("id", filter=Q(status=Status.MISSING)),
            exempt=Count("id", filter=Q(status=Status.EXEMPT)),
        )
    )
    result = []
    for row in rows:
        due = row["days"] - row["exempt"]
        reported = row["on_time"] + row["late"]
        result.append(
            {
                **row,
                "completeness": reported / due if due else 1.0,
                "timeliness": row["on_time"] / reported if reported else 0.0,
                "level_label": Level(row["level"]).label,
            }
        )
    # Schools with schools, groups with groups: a group's own compiled report is not
    # ranked among the schools'.
    result.sort(
        key=lambda r: (
            MAIN_LEVELS.index(r["level"]),
            -r["completeness"],
            -r["timeliness"],
            r["unit__code"],
        )
    )
    return result


def reports_visible(user: Any) -> QuerySet[DailyReport]:
    return DailyReport.objects.filter(access.visible_q(user, "unit__path"))


def register(user: Any, unit: Unit, start: dt.date, end: dt.date) -> QuerySet[ReportStatus]:
    """The register (台账): every scheduled unit-day under `unit` in the period."""
    return (
        ReportStatus.objects.filter(access.subtree(unit.path, "path"), date__range=(start, end))
        .select_related("unit", "report", "report__submitted_by")
        .order_by("date", "path")
    )


# --- Schedules -----------------------------------------------------------------------


def _periods_meet(a: ReportSchedule, b: ReportSchedule) -> bool:
    return (a.ends_on is None or b.starts_on <= a.ends_on) and (
        b.ends_on is None or a.starts_on <= b.ends_on
    )


def schedules_visible(user: Any) -> list[ReportSchedule]:
    """The schedules the user can see, each with `nearer`: the schedules of units under
    its own whose periods meet its period, which decide for those units (the nearest
    schedule wins, reports.services), and `editable`."""
    rows = list(
        ReportSchedule.objects.filter(access.visible_q(user, "root__path"))
        .select_related("root")
        .order_by("-starts_on", "pk")
    )
    for s in rows:
        s.nearer = [  # type: ignore[attr-defined]
            o
            for o in rows
            if o.root.path.startswith(s.root.path)
            and o.root.path != s.root.path
            and _periods_meet(s, o)
        ]
        s.editable = access.can_edit_schedules(user, s.root)  # type: ignore[attr-defined]
    return rows


def schedule_takes_over_from(schedule: ReportSchedule) -> list[ReportSchedule]:
    """Schedules of units above this one's whose periods meet its period: for the units
    under this schedule's, this one decides while both run."""
    root = schedule.root
    paths = [root.path[:i] for i in range(Unit.steplen, len(root.path), Unit.steplen)]
    above = ReportSchedule.objects.filter(root__path__in=paths).select_related("root")
    return [s for s in above if _periods_meet(s, schedule)]
