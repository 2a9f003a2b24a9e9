"""Incident reads: the incidents a user sees, one incident with its timeline, and what a
viewer may see of the names in it."""

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from safecampus.orgs import access
from safecampus.orgs.models import Unit

from .models import Call, EntryKind, Incident, IncidentReport, Stage, State, TimelineEntry

HIDDEN = "***"
# Steps a person takes against a limit: taken after it, they are late (迟报). (The report's
# own delay from the event, and how late the worker escalated, are on the timeline too,
# but are nobody's late step.)
LATE_KINDS = (EntryKind.ACKNOWLEDGED, EntryKind.WRITTEN, EntryKind.FOLLOW_UP, EntryKind.FINAL)
LATE = Q(timeline__late_seconds__gt=0, timeline__kind__in=LATE_KINDS)


def incidents_visible(user: Any) -> QuerySet[Incident]:
    """The incidents of the units the user sees (and those they reported)."""
    q = access.incidents_visible_q(user)
    return Incident.objects.none() if q is None else Incident.objects.filter(q)


def incidents_list(
    user: Any, *, under: Unit | None = None, state: str = "", kind: str = "", grade: str = ""
) -> QuerySet[Incident]:
    rows = incidents_visible(user).select_related("unit", "reported_by")
    if under is not None:
        rows = rows.filter(access.subtree(under.path, "unit__path"))
    if state in State.values:
        rows = rows.filter(state=state)
    if kind:
        rows = rows.filter(kind=kind)
    if grade:
        rows = rows.filter(grade=grade)
    return rows.order_by("-reported_at", "-pk")


def incident_or_404(user: Any, pk: Any) -> Incident:
    try:
        incident = Incident.objects.select_related("unit", "area", "reported_by").get(pk=pk)
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not access.can_see_incident(user, incident.unit):
        raise Http404
    return incident


def shows_names(user: Any, incident: Incident) -> bool:
    """Names and contacts: for everyone, unless the incident involves minors; then only
    for those who handle it."""
    return not incident.involves_minors or access.can_see_incident_names(user, incident.unit)


def timeline(incident: Incident) -> list[TimelineEntry]:
    return list(incident.timeline.select_related("person").order_by("at", "pk"))


def reports(incident: Incident) -> list[IncidentReport]:
    return list(incident.reports.select_related("submitted_by").order_by("submitted_at", "pk"))


def calls(incident: Incident) -> list[Call]:
    return list(
        Call.objects.filter(stage__incident=incident)
        .select_related("person", "stage__unit")
        .order_by("stage__level", "tier", "called_at", "pk")
    )


def register(
    user: Any, *, under: Unit | None, start: dt.datetime, end: dt.datetime
) -> QuerySet[Incident]:
    """The incidents reported in [start, end) below `under`, each with its number of late
    steps (timeline entries past their limit, but the report's own delay from the event)."""
    return (
        incidents_list(user, under=under)
        .filter(reported_at__gte=start, reported_at__lt=end)
        .select_related("area")
        .annotate(late_steps=Count("timeline", filter=LATE))
        .order_by("reported_at", "pk")
    )


# --- The bureau's overview --------------------------------------------------------------------

AGE_BUCKETS = [
    (dt.timedelta(hours=1), "1h"),
    (dt.timedelta(hours=24), "24h"),
    (dt.timedelta(days=7), "7d"),
]


def _age_bucket(age: dt.timedelta) -> str:
    return next((label for limit, label in AGE_BUCKETS if age < limit), "older")


def overview(
    user: Any,
    *,
    under: Unit | None,
    month_start: dt.datetime,
    month_end: dt.datetime,
    now: dt.datetime,
) -> dict[str, Any]:
    """Open incidents by grade and age; stages still waiting for an acknowledgement (late
    ones first); the month's late steps; the month's incidents by category and by unit."""
    scope = incidents_list(user, under=under)
    open_rows = scope.filter(state=State.OPEN).values_list("grade", "reported_at")
    by_grade: dict[str, dict[str, int]] = {}
    for grade, reported_at in open_rows:
        row = by_grade.setdefault(grade, {"1h": 0, "24h": 0, "7d": 0, "older": 0, "total": 0})
        row[_age_bucket(now - reported_at)] += 1
        row["total"] += 1
    waiting = list(
        Stage.objects.filter(
            incident__in=scope.filter(state=State.OPEN).values("pk"),
            acknowledged_at__isnull=True,
        )
        .select_related("incident__unit", "unit")
        .order_by("due_at")[:200]
    )
    month = scope.filter(reported_at__gte=month_start, reported_at__lt=month_end)
    late = TimelineEntry.objects.filter(
        incident__in=month.values("pk"), late_seconds__gt=0, kind__in=LATE_KINDS
    )
    by_category = list(
        month.order_by().values("category").annotate(n=Count("pk")).order_by("-n", "category")
    )
    by_unit = list(
        month.order_by()
        .values("unit_id", "unit__name")
        .annotate(
            n=Count("pk", distinct=True),
            late=Count("timeline", filter=LATE),
        )
        .order_by("-n", "unit__name")[:50]
    )
    return {
        "by_grade": sorted(by_grade.items()),
        "waiting": waiting,
        "late_steps": late.count(),
        "late_by_kind": list(
            late.order_by().values("kind").annotate(n=Count("pk")).order_by("kind")
        ),
        "by_category": by_category,
        "by_unit": by_unit,
        "month_total": month.count(),
    }
