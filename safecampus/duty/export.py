"""The roster as offices post it on the wall (值班表): date, weekday, shift, duty staff,
leader on duty, phone. To Excel through lib/xlsx (a ledger: title, unit and dates, A4
landscape) and as the rows of the print view (one A4 page a week)."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _

from safecampus.lib import xlsx
from safecampus.orgs.models import Unit

from .models import DutySettings, MemberRole, Shift, ShiftMember


@dataclass
class RosterRow:
    day: dt.date
    weekday: str
    shift: str
    hours: str
    staff: list[str]
    leaders: list[str]
    phone: str


@dataclass
class RosterWeek:
    monday: dt.date
    rows: list[RosterRow] = field(default_factory=list)

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)


def roster_rows(unit: Unit, first: dt.date, last: dt.date) -> list[RosterRow]:
    """The unit's shifts planned for the days first..last (Shift.day), in order (two
    queries: the shifts, their people)."""
    settings_ = DutySettings.objects.filter(unit=unit).first()
    default_phone = (settings_.duty_phone if settings_ else "") or unit.phone
    shifts = (
        Shift.objects.filter(unit=unit, day__gte=first, day__lte=last)
        .order_by("starts_at")
        .prefetch_related(
            Prefetch(
                "members",
                queryset=ShiftMember.objects.select_related("person").order_by("person__name"),
            )
        )
    )
    rows = []
    for s in shifts:
        start, end = timezone.localtime(s.starts_at), timezone.localtime(s.ends_at)
        members = list(s.members.all())
        next_day = _(" (next day)") if end.date() > start.date() else ""
        rows.append(
            RosterRow(
                day=s.day,
                weekday=str(WEEKDAYS[s.day.weekday()]),
                shift=s.name,
                hours=f"{start:%H:%M}–{end:%H:%M}{next_day}",
                staff=[m.person.name for m in members if m.role == MemberRole.STAFF],
                leaders=[m.person.name for m in members if m.role == MemberRole.LEADER],
                phone=s.phone or default_phone,
            )
        )
    return rows


def roster_weeks(unit: Unit, first: dt.date, last: dt.date) -> list[RosterWeek]:
    """Monday-to-Sunday weeks covering first..last, each with its rows (empty weeks kept:
    a blank page on the wall says nobody was planned)."""
    monday = first - dt.timedelta(days=first.weekday())
    weeks: list[RosterWeek] = []
    while monday <= last:
        weeks.append(RosterWeek(monday=monday))
        monday += dt.timedelta(days=7)
    for row in roster_rows(unit, weeks[0].monday, weeks[-1].sunday):
        weeks[(row.day - weeks[0].monday).days // 7].rows.append(row)
    return weeks


def roster_workbook(unit: Unit, first: dt.date, last: dt.date, *, by: str) -> bytes:
    """值班表 of first..last as an .xlsx."""
    columns = [
        xlsx.Column(_("Date"), 12),
        xlsx.Column(_("Weekday"), 8),
        xlsx.Column(_("Shift"), 22),
        xlsx.Column(_("Duty staff"), 24),
        xlsx.Column(_("Leader on duty"), 14),
        xlsx.Column(_("Duty phone"), 16, text=True),
    ]
    wb = xlsx.new_workbook()
    xlsx.write_ledger(
        wb.create_sheet(_("Duty roster")),
        title=_("%(unit)s duty roster") % {"unit": unit.name},
        meta=[
            (_("Unit"), unit.name),
            (_("Dates"), f"{first:%Y-%m-%d} – {last:%Y-%m-%d}"),
            (_("Exported by"), by),
            (_("Exported on"), f"{timezone.localdate():%Y-%m-%d}"),
        ],
        columns=columns,
        rows=(
            [
                f"{r.day:%Y-%m-%d}",
                r.weekday,
                f"{r.shift} {r.hours}",
                "、".join(r.staff),
                "、".join(r.leaders),
                r.phone,
            ]
            for r in roster_rows(unit, first, last)
        ),
    )
    return xlsx.to_bytes(wb)
