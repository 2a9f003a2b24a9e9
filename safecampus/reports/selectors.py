"""Reads for the report pages, the API and the register: aggregated in SQL, scoped by access."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Substr

from safecampus.orgs import access
from safecampus.orgs.models import Unit

from .models import ROLLUP_DEPTH, DailyReport, ReportRollup, ReportStatus, Status

STATUSES = [s.value for s in Status]


@dataclass
class Counts:
    unit: Unit
    own: str | None = None  # the unit's own status that day (None: it does not report)
    counts: dict[str, int] = field(default_factory=dict)  # over its whole subtree

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def day_counts(user: Any, unit: Unit, day: dt.date) -> tuple[Counts, list[Counts]]:
    """For a unit and each of its children: statuses over their subtrees on a day.

    Down to ROLLUP_DEPTH the counters answer (one row per unit); deeper, one grouped
    range scan over the day's status rows under the unit. The caller has checked the
    unit is visible.
    """
    children = {
        c.pk: Counts(c)
        for c in Unit.objects.filter(
            access.subtree(unit.path), depth=unit.depth + 1, archived_at__isnull=True
        ).order_by("kind", "code")
    }
    top = Counts(unit)
    own = dict(
        ReportStatus.objects.filter(date=day, unit_id__in=[unit.pk, *children]).values_list(
            "unit_id", "status"
        )
    )
    top.own = own.get(unit.pk)
    for pk, child in children.items():
        child.own = own.get(pk)
    if unit.depth + 1 <= ROLLUP_DEPTH:
        rows = ReportRollup.objects.filter(date=day, unit_id__in=[unit.pk, *children]).values_list(
            "unit_id", *STATUSES
        )
        for unit_id, *values in rows:
            target = top if unit_id == unit.pk else children[unit_id]
            target.counts = {s: n for s, n in zip(STATUSES, values, strict=True) if n}
        return top, list(children.values())
    width = len(unit.path) + Unit.steplen
    by_path = {c.unit.path: c for c in children.values()}
    rows = (
        ReportStatus.objects.filter(access.subtree(unit.path, "path"), date=day)
        .annotate(child=Substr("path", 1, width))
        .values("child", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        top.counts[row["status"]] = top.counts.get(row["status"], 0) + row["n"]
        child = by_path.get(row["child"])
        if child is not None:
            child.counts[row["status"]] = child.counts.get(row["status"], 0) + row["n"]
    return top, list(children.values())


def trend(unit: Unit, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Per day: statuses over the unit's subtree. From the counters down to ROLLUP_DEPTH;
    deeper units (a school) are small enough to count directly."""
    if unit.depth <= ROLLUP_DEPTH:
        rows = (
            ReportRollup.objects.filter(unit=unit, date__range=(start, end))
            .order_by("date")
            .values_list("date", *STATUSES)
        )
        return [dict(zip(("date", *STATUSES), row, strict=True)) for row in rows]
    rows = (
        ReportStatus.objects.filter(access.subtree(unit.path, "path"), date__range=(start, end))
        .values("date")
        .annotate(**{s: Count("id", filter=Q(status=s)) for s in STATUSES})
        .order_by("date")
    )
    return list(rows)


def unit_calendar(unit: Unit, end: dt.date, days: int = 90) -> list[ReportStatus]:
    start = end - dt.timedelta(days=days - 1)
    return list(ReportStatus.objects.filter(unit=unit, date__range=(start, end)).order_by("date"))


def ranking(user: Any, unit: Unit, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Units under `unit` ranked by completeness, then timeliness, over a period."""
    rows = (
        ReportStatus.objects.filter(access.subtree(unit.path, "path"), date__range=(start, end))
        .exclude(unit=unit)
        .values("unit_id", "unit__name", "unit__code")
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
            }
        )
    result.sort(key=lambda r: (-r["completeness"], -r["timeliness"], r["unit__code"]))
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
