"""Incident reads: the incidents a user sees, one incident with its timeline, and what a
viewer may see of the names in it."""

import datetime as dt
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from safecampus.orgs import access
from safecampus.orgs.models import Unit

from .models import Call, EntryKind, Incident, IncidentReport, State, TimelineEntry

HIDDEN = "***"


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
    late = Q(timeline__late_seconds__gt=0) & ~Q(timeline__kind=EntryKind.REPORTED)
    return (
        incidents_list(user, under=under)
        .filter(reported_at__gte=start, reported_at__lt=end)
        .select_related("area")
        .annotate(late_steps=Count("timeline", filter=late))
        .order_by("reported_at", "pk")
    )
