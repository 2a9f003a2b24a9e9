"""Reads for 工作台 (My work): what a person opens the app for, each a query or two.

A school's duty officer opens it for two things: today's report of their unit, and
the notices and messages waiting for them.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from safecampus.notices.models import NoticeReceipt
from safecampus.notices.selectors import own_units
from safecampus.orgs import access
from safecampus.orgs.models import Unit
from safecampus.reports.models import ReportStatus, Status


@dataclass
class OwnReport:
    """A unit the person belongs to, and its report for the day (None: none is due)."""

    unit: Unit
    status: ReportStatus | None
    can_report: bool

    @property
    def reported(self) -> bool:
        return self.status is not None and self.status.submitted_at is not None

    @property
    def waiting(self) -> bool:
        """Due and not yet sent: the one thing to do today."""
        return (
            self.status is not None
            and not self.reported
            and self.status.status in (Status.NOT_DUE, Status.MISSING)
        )


def own_reports(user: Any, day: dt.date, units: list[Unit] | None = None) -> list[OwnReport]:
    """The day's report of each unit the person belongs to (`units`, when the caller has
    read them already), in tree order."""
    if units is None:
        units = list(Unit.objects.filter(pk__in=own_units(user), archived_at__isnull=True))
    units = sorted({u.pk: u for u in units}.values(), key=lambda u: u.path)
    statuses = {s.unit_id: s for s in ReportStatus.objects.filter(unit__in=units, date=day)}
    return [OwnReport(u, statuses.get(u.pk), access.can_report(user, u)) for u in units]


@dataclass
class NoticesWaiting:
    unread: int
    unacknowledged: int


def notices_waiting(user: Any) -> NoticesWaiting:
    """Notices to the person's own units that the unit has not read, or not acknowledged
    where the sender asked for it."""
    counts = NoticeReceipt.objects.filter(unit__in=own_units(user)).aggregate(
        unread=Count("notice", filter=Q(read_at__isnull=True), distinct=True),
        unacknowledged=Count(
            "notice", filter=Q(notice__requires_ack=True, acked_at__isnull=True), distinct=True
        ),
    )
    return NoticesWaiting(counts["unread"] or 0, counts["unacknowledged"] or 0)
