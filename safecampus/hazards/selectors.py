"""Hazard reads: the ledger a user sees, filtered and paged by key (newest first: a page
after the last one shown, never an offset), one hazard with its history."""

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from safecampus.orgs import access
from safecampus.orgs.models import Unit

from .models import OPEN_STATUSES, Hazard, Photo, Status

PAGE = 50


def hazards_visible(user: Any) -> QuerySet[Hazard]:
    q = access.hazards_visible_q(user)
    return Hazard.objects.none() if q is None else Hazard.objects.filter(q)


@dataclass
class LedgerFilter:
    under: Unit | None = None
    state: str = "open"  # open | overdue | closed | all
    category: str = ""
    severity: str = ""


def ledger(user: Any, f: LedgerFilter) -> QuerySet[Hazard]:
    rows = hazards_visible(user)
    if f.under is not None:
        rows = rows.filter(access.subtree(f.under.path, "unit__path"))
    if f.state == "open":
        rows = rows.filter(status__in=OPEN_STATUSES)
    elif f.state == "overdue":
        rows = rows.filter(status__in=OPEN_STATUSES, deadline__lt=timezone.localdate())
    elif f.state == "closed":
        rows = rows.filter(status=Status.CLOSED)
    if f.category:
        rows = rows.filter(category=f.category)
    if f.severity:
        rows = rows.filter(severity=f.severity)
    return rows.select_related("unit", "area", "responsible").order_by("-reported_at", "-pk")


def encode_cursor(hazard: Hazard) -> str:
    raw = f"{hazard.reported_at.isoformat()}|{hazard.pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, pk = raw.split("|")
        moment = dt.datetime.fromisoformat(at)
        if timezone.is_naive(moment):
            return None
        return moment, int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


def page_after(
    rows: QuerySet[Hazard], cursor: str = "", size: int = PAGE
) -> tuple[list[Hazard], str]:
    """One page of `rows` after `cursor` (from the start without one) and the next page's
    cursor ("" at the end). A cursor that is not one of ours: the first page."""
    after = decode_cursor(cursor) if cursor else None
    if after is not None:
        at, pk = after
        rows = rows.filter(Q(reported_at__lt=at) | Q(reported_at=at, pk__lt=pk))
    found = list(rows[: size + 1])
    more = len(found) > size
    found = found[:size]
    return found, encode_cursor(found[-1]) if more and found else ""


def hazard_or_404(user: Any, pk: Any) -> Hazard:
    try:
        hazard = Hazard.objects.select_related(
            "unit", "area", "responsible", "reported_by", "supervising_unit", "supervisor"
        ).get(pk=pk)
    except (Hazard.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not access.can_see_hazard(user, hazard.unit):
        raise Http404
    return hazard


def photo_or_404(user: Any, pk: Any) -> Photo:
    """A photo, if the user may see the hazard or the inspection it belongs to."""
    try:
        photo = Photo.objects.select_related("hazard__unit", "answer__inspection__unit").get(pk=pk)
    except (Photo.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if photo.hazard is not None:
        allowed = access.can_see_hazard(user, photo.hazard.unit)
    else:
        allowed = access.can_see_inspection(user, photo.answer.inspection.unit)
    if not allowed:
        raise Http404
    return photo
