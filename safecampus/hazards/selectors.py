"""Hazard reads: the ledger a user sees, filtered and paged by key (newest first: a page
after the last one shown, never an offset), one hazard with its history."""

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Case, Count, Q, QuerySet, Sum, When
from django.http import Http404
from django.utils import timezone

from safecampus.orgs import access
from safecampus.orgs import selectors as orgs_selectors
from safecampus.orgs.models import Unit

from .models import (
    OPEN_STATUSES,
    Category,
    Checklist,
    ChecklistItem,
    Hazard,
    Inspection,
    InspectionRound,
    InspectionStatus,
    LedgerExport,
    Photo,
    Status,
)

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
        # `reported_at <= at` is implied by the OR, written out so that the database starts
        # its walk down the (reported_at, id) index at the cursor: with the OR alone it reads
        # the index from the top and a page after 990,000 rows costs what an OFFSET does
        # (bench/hazards_scale.py).
        rows = rows.filter(
            Q(reported_at__lt=at) | Q(reported_at=at, pk__lt=pk), reported_at__lte=at
        )
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


def ledger_export_or_404(user: Any, pk: Any) -> LedgerExport:
    """A ledger export, to the person who asked for it; to anyone else 404."""
    try:
        found = LedgerExport.objects.get(pk=pk)
    except (LedgerExport.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None
    if not access.can_see_ledger_export(user, found.requested_by_id):
        raise Http404
    return found


def ledger_exports_recent(user: Any, n: int = 5) -> list[LedgerExport]:
    """The user's own latest exports (the ledger page lists them)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(LedgerExport.objects.filter(requested_by=user).order_by("-requested_at")[:n])


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


# --- Inspection rounds --------------------------------------------------------------------


def rounds_visible(user: Any) -> QuerySet[InspectionRound]:
    q = access.inspection_rounds_visible_q(user)
    if q is None:
        return InspectionRound.objects.none()
    return InspectionRound.objects.filter(q).select_related("unit").order_by("-starts_on", "-pk")


def round_or_404(user: Any, pk: Any) -> InspectionRound:
    try:
        return rounds_visible(user).get(pk=pk)
    except (InspectionRound.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def round_item_count(round_: InspectionRound) -> int:
    return ChecklistItem.objects.filter(checklist__rounds=round_).count()


@dataclass
class RoundProgress:
    total: int  # units in the round the user sees
    not_started: int
    started: int
    submitted: int
    failed: int  # items failed, over the units
    items: int  # items on the round's checklists


def round_progress(user: Any, round_: InspectionRound) -> tuple[RoundProgress, QuerySet]:
    """The round's inspections in the units the user sees (not started first), and the
    totals, counted in SQL."""
    rows = Inspection.objects.filter(round=round_).filter(access.visible_q(user, "unit__path"))
    counts = rows.aggregate(
        total=Count("pk"),
        not_started=Count("pk", filter=Q(status=InspectionStatus.NOT_STARTED)),
        started=Count("pk", filter=Q(status=InspectionStatus.STARTED)),
        submitted=Count("pk", filter=Q(status=InspectionStatus.SUBMITTED)),
        failed=Sum("failed"),
    )
    counts["failed"] = counts["failed"] or 0
    progress = RoundProgress(items=round_item_count(round_), **counts)
    ordered = rows.select_related("unit", "inspector").order_by(
        Case(
            When(status=InspectionStatus.NOT_STARTED, then=0),
            When(status=InspectionStatus.STARTED, then=1),
            default=2,
        ),
        "unit__path",
    )
    return progress, ordered


def inspections_to_do(user: Any) -> QuerySet[Inspection]:
    """Inspections of units the user runs, in rounds under way, not yet submitted."""
    paths = access.business_paths(user)
    if not paths:
        return Inspection.objects.none()
    today = timezone.localdate()
    return (
        Inspection.objects.filter(
            reduce(or_, (access.subtree(p, "unit__path") for p in paths)),
            round__starts_on__lte=today,
            status__in=(InspectionStatus.NOT_STARTED, InspectionStatus.STARTED),
        )
        .select_related("round", "unit")
        .order_by("round__ends_on", "unit__path")[:50]
    )


def inspection_or_404(user: Any, pk: Any) -> Inspection:
    try:
        inspection = Inspection.objects.select_related("round", "unit", "inspector").get(pk=pk)
    except (Inspection.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not access.can_see_inspection(user, inspection.unit):
        raise Http404
    return inspection


def inspection_sheet(inspection: Inspection) -> list[tuple[str, list[tuple[Any, Any]]]]:
    """The inspection's items by category, each with its answer (or None)."""
    answers = {
        a.item_id: a
        for a in inspection.answers.select_related("area", "hazard").prefetch_related("photos")
    }
    items = (
        ChecklistItem.objects.filter(checklist__rounds=inspection.round_id)
        .select_related("checklist")
        .order_by("checklist__category", "order")
    )
    groups: dict[str, list[tuple[Any, Any]]] = {}
    for item in items:
        label = str(item.checklist.get_category_display())
        groups.setdefault(label, []).append((item, answers.get(item.pk)))
    return list(groups.items())


def bureau_of(user: Any) -> Unit | None:
    """The root of the tree the user works in: whose checklists their rounds use."""
    own = orgs_selectors.own_unit(user)
    return None if own is None else Unit.objects.get(path=own.path[: Unit.steplen])


def checklists_for(unit: Unit) -> list[Checklist]:
    """The checklist of every category as a round launched at `unit` would use it."""
    return current_checklists(unit, list(Category.values))


def current_checklists(unit: Unit, categories: Sequence[str]) -> list[Checklist]:
    """For each category: the current version of the nearest bureau above `unit` that has its
    own, else the shipped one."""
    paths = unit.path_and_above()
    found: dict[str, Checklist] = {}
    candidates = Checklist.objects.filter(
        Q(unit__path__in=paths, is_current=True) | Q(unit=None), category__in=categories
    ).select_related("unit")
    for c in sorted(candidates, key=lambda c: (len(c.unit.path) if c.unit else 0, c.version)):
        found[c.category] = c  # the deepest owner (and the latest version) wins
    return [found[c] for c in categories if c in found]
