"""Incident reads: the incidents a user sees, one incident with its timeline, and what a
viewer may see of the names in it."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from safecampus.orgs import access
from safecampus.orgs.models import Membership, Person, Role, Unit
from safecampus.reports.models import DailyReport

from .models import (
    Call,
    EntryKind,
    Incident,
    IncidentReport,
    RollCall,
    RollCallCount,
    Stage,
    State,
    TimelineEntry,
)

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
    overdue = list(
        scope.filter(
            state=State.OPEN,
            written_at__isnull=True,
            timeline__kind=EntryKind.OVERDUE,
        ).distinct()[:200]
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
        "written_overdue": overdue,
    }


# --- Cross-check with daily reports -----------------------------------------------------------


class Mismatch:
    INCONSISTENT = "inconsistent"  # a zero report for a day with an incident on record
    CONCEALED = "concealed"  # an incident entered after a zero report covering its time


@dataclass
class CrossCheck:
    incident: Incident
    day: dt.date
    kind: str
    zero_at: dt.datetime  # when the zero report (its first zero version) was received
    asked: bool


def cross_checks(
    user: Any, *, under: Unit | None, start: dt.date, end: dt.date
) -> list[CrossCheck]:
    """Incidents that occurred on a day their unit reported zero (its latest version still
    zero), newest first: `inconsistent` where the incident was on record when the zero
    report came in, `concealed` (possibly: 瞒报) where it was entered after. Only the
    units whose business is run from above by `user` (access.can_ask_incident_explanation).
    Two queries."""
    tz = timezone.get_current_timezone()
    incidents = [
        i
        for i in incidents_list(user, under=under).filter(
            occurred_at__gte=dt.datetime.combine(start, dt.time(), tzinfo=tz),
            occurred_at__lt=dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz),
        )
        if access.can_ask_incident_explanation(user, i.unit)
    ]
    if not incidents:
        return []
    reports: dict[tuple[int, dt.date], list[tuple[int, bool, dt.datetime]]] = {}
    for unit_id, day, version, zero, at in DailyReport.objects.filter(
        unit_id__in={i.unit_id for i in incidents}, date__gte=start, date__lte=end
    ).values_list("unit_id", "date", "version", "zero", "submitted_at"):
        reports.setdefault((unit_id, day), []).append((version, zero, at))
    asked = set(
        TimelineEntry.objects.filter(
            incident__in=[i.pk for i in incidents], kind=EntryKind.EXPLAIN
        ).values_list("incident_id", flat=True)
    )
    found = []
    for incident in incidents:
        day = timezone.localtime(incident.occurred_at, tz).date()
        versions = sorted(reports.get((incident.unit_id, day), []))
        if not versions or not versions[-1][1]:
            continue  # no report that day, or its latest version reports something
        zero_at = min(at for _v, zero, at in versions if zero)
        kind = Mismatch.CONCEALED if incident.reported_at > zero_at else Mismatch.INCONSISTENT
        found.append(CrossCheck(incident, day, kind, zero_at, incident.pk in asked))
    return found


# --- Evacuation roll call --------------------------------------------------------------------


@dataclass
class RollCallState:
    roll_call: RollCall
    counts: list[RollCallCount]
    present: int
    absent: int
    missing: list[Person]  # head teachers of the unit who have not counted yet


def roll_call_state(roll_call: RollCall) -> RollCallState:
    """The live total, and the classes (head teachers) not counted yet: two queries."""
    counts = list(roll_call.counts.select_related("person").order_by("class_name", "pk"))
    counted = {c.person_id for c in counts}
    teachers = (
        Membership.objects.filter(
            unit_id=roll_call.unit_id, role=Role.HEAD_TEACHER, person__is_active=True
        )
        .select_related("person")
        .order_by("person__name")
    )
    return RollCallState(
        roll_call=roll_call,
        counts=counts,
        present=sum(c.present for c in counts),
        absent=sum(c.absent for c in counts),
        missing=[m.person for m in teachers if m.person_id not in counted],
    )
