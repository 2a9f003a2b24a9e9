"""The hazard overview (/hazards/overview/, GET /api/v1/hazards/stats): for the hazards a user
sees under one unit, open and overdue by category and by child unit (each child's whole
subtree rolled up by its path prefix), the closure rate and the median days to close over a
period, and the oldest open hazards. Aggregated in SQL, a fixed number of queries whatever
the size of the tree; the same path on SQLite and PostgreSQL."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import Substr
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.orgs import access
from safecampus.orgs.models import Unit

from . import selectors
from .models import OPEN_STATUSES, Category, Hazard, Status

OLDEST = 10


@dataclass
class Counted:
    """Open and overdue hazards of a category or a unit's subtree."""

    key: str
    label: str
    open: int = 0
    overdue: int = 0
    unit: Unit | None = None  # by unit: the child (None: the unit's own hazards)


@dataclass
class Overview:
    under: Unit
    start: dt.date
    end: dt.date
    today: dt.date
    by_category: list[Counted] = field(default_factory=list)
    by_unit: list[Counted] = field(default_factory=list)
    open: int = 0
    overdue: int = 0
    reported: int = 0  # in the period
    closed: int = 0  # of those, closed by now
    median_days: float | None = None  # to close, of the hazards closed in the period
    median_of: int = 0  # how many hazards the median is of
    oldest: list[Hazard] = field(default_factory=list)

    @property
    def closure_rate(self) -> float | None:
        return self.closed / self.reported if self.reported else None


def period(
    start: dt.date | None, end: dt.date | None, today: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The period asked for; by default this year up to today (in either order)."""
    today = today or timezone.localdate()
    start, end = start or today.replace(month=1, day=1), end or today
    return (start, end) if start <= end else (end, start)


def top_unit(user: Any) -> Unit | None:
    """The unit an overview starts from when none is asked for: the top of what the user
    sees (the first, when they belong to several trees)."""
    return access.root_units(user).order_by("path").first()


def charts(o: Overview) -> dict[str, Any]:
    """What static/js/charts.js draws above the tables (embedded with json_script)."""
    series = [_("open"), _("overdue")]

    def bars(rows: list[Counted], title: str) -> dict[str, Any]:
        return {
            "title": title,
            "labels": [r.label for r in rows],
            "series": [
                {"name": series[0], "data": [r.open for r in rows]},
                {"name": series[1], "data": [r.overdue for r in rows]},
            ],
        }

    return {
        "by_category": bars(o.by_category, _("Open hazards by category")),
        "by_unit": bars(o.by_unit, _("Open hazards by unit")),
    }


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=timezone.get_current_timezone())


def overview(
    user: Any, *, under: Unit, start: dt.date, end: dt.date, today: dt.date | None = None
) -> Overview:
    """The numbers for the hazards `user` sees in the subtree of `under` (the caller has
    checked `under` is visible). The period [start, end] is in local days: the closure rate
    is of the hazards reported in it (closed / reported), the median of the days from report
    to close of those closed in it — through the workflow: an imported hazard, closed before
    it came in, has no fix submitted here and is left out of the median."""
    today = today or timezone.localdate()
    scope = selectors.hazards_visible(user).filter(access.subtree(under.path, "unit__path"))
    open_rows = scope.filter(status__in=OPEN_STATUSES).order_by()
    counts = {"open": Count("pk"), "overdue": Count("pk", filter=Q(deadline__lt=today))}
    result = Overview(under=under, start=start, end=end, today=today)

    found = {r["category"]: r for r in open_rows.values("category").annotate(**counts)}
    result.by_category = [
        Counted(value, str(label), found[value]["open"], found[value]["overdue"])
        for value, label in Category.choices
        if value in found
    ]
    result.open = sum(c.open for c in result.by_category)
    result.overdue = sum(c.overdue for c in result.by_category)

    result.by_unit = _by_unit(open_rows, under, counts)

    since, until = _midnight(start), _midnight(end + dt.timedelta(days=1))
    period = scope.filter(reported_at__gte=since, reported_at__lt=until).aggregate(
        reported=Count("pk"), closed=Count("pk", filter=Q(status=Status.CLOSED))
    )
    result.reported, result.closed = period["reported"], period["closed"]
    result.median_days, result.median_of = _median_days(scope, since, until)

    result.oldest = list(
        open_rows.select_related("unit", "responsible").order_by("reported_at", "pk")[:OLDEST]
    )
    return result


def _by_unit(open_rows: Any, under: Unit, counts: dict[str, Any]) -> list[Counted]:
    """Each child of `under` with its whole subtree (grouped in SQL by the child's path, the
    prefix of every path below it), and `under`'s own hazards first when it has any."""
    width = len(under.path) + Unit.steplen
    grouped = {
        r["child"]: r
        for r in open_rows.annotate(child=Substr("unit__path", 1, width))
        .values("child")
        .annotate(**counts)
    }
    rows = []
    own = grouped.get(under.path)
    if own:
        rows.append(Counted(under.path, under.name, own["open"], own["overdue"], unit=None))
    children = Unit.objects.filter(access.subtree(under.path), depth=under.depth + 1).order_by(
        "path"
    )
    for child in children:
        row = grouped.get(child.path)
        if row is None and child.is_archived:
            continue  # an archived unit with nothing open: not a row any more
        rows.append(
            Counted(
                child.path,
                child.name,
                row["open"] if row else 0,
                row["overdue"] if row else 0,
                unit=child,
            )
        )
    return rows


def _median_days(scope: Any, since: dt.datetime, until: dt.datetime) -> tuple[float | None, int]:
    """The median of (closed_at − reported_at) in days for the hazards closed in the period
    through the workflow: the one or two middle durations, read in SQL order (one query to
    count, one to read at most two rows; no percentile function, which SQLite lacks)."""
    closed = scope.filter(
        status=Status.CLOSED, closed_at__gte=since, closed_at__lt=until, fixed_at__isnull=False
    )
    n = closed.count()
    if not n:
        return None, 0
    middle = list(
        closed.annotate(
            took=ExpressionWrapper(F("closed_at") - F("reported_at"), output_field=DurationField())
        )
        .order_by("took", "pk")
        .values_list("took", flat=True)[(n - 1) // 2 : n // 2 + 1]
    )
    seconds = sum(d.total_seconds() for d in middle) / len(middle)
    return round(seconds / 86400, 1), n
