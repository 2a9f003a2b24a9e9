"""Schedules, submitting reports and corrections, exemptions, and what deadlines do."""

import datetime as dt
import functools
from collections import Counter, defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import audit_append, audit_pending, chain_lock
from safecampus.lib.sql import fetch_one, select_list
from safecampus.notify.models import Urgency
from safecampus.notify.services import notification_create, office_people
from safecampus.orgs import access
from safecampus.orgs.models import Membership, Person, Role, Unit
from safecampus.worker.models import Timer
from safecampus.worker.timers import timer_schedule

from . import official_calendar
from .models import (
    CORRECTION_REASON_MAX,
    ITEM_TEXT_MAX,
    LEVEL_OF_KIND,
    LEVEL_ORDER,
    MAX_RECORD_ID,
    REPORT_MAX_ITEMS,
    ROLLUP_DEPTH,
    DailyReport,
    Frequency,
    ReportExemption,
    ReportRollup,
    ReportSchedule,
    ReportStatus,
    Status,
)

# Who may submit a unit's report: its managers, and these roles in the unit itself
# (orgs.access decides; the name stays here for the callers that read it).
REPORTER_ROLES = access.REPORTER_ROLES
STATUS_FIELDS = [s.value for s in Status]


def can_report(user: Any, unit: Unit) -> bool:
    return access.can_report(user, unit)


# --- The calendar -----------------------------------------------------------------
# Its writes and reads (loading a year, editing a day, a year not loaded) live in
# reports/official_calendar.py; is_workday and calendar_seed are used from here too.
is_workday = official_calendar.is_workday
calendar_seed = official_calendar.calendar_seed


# --- Schedules ---------------------------------------------------------------------
#
# One rule decides which schedule a unit reports under on a day, everywhere (schedule_for,
# day_open, the reminders and the deadlines, which act on the rows day_open made): of the
# schedules whose period (from–until) holds the day, the NEAREST one — whose units-under
# is the unit itself or its closest ancestor. A group's campaign schedule takes over from
# the bureau's for that group's units while it runs, including on its days without a
# report. Two schedules for the same units with periods that meet are refused.

DEADLINE_FIELDS = [f"deadline_{level}" for level in LEVEL_ORDER]
NEXT_DAY_FIELDS = [f"deadline_{level}_next_day" for level in LEVEL_ORDER]
# What an edit may change. The units a schedule covers (its root) may not: end it and
# make a new one, so that every past day keeps the schedule it reported under.
SCHEDULE_EDITABLE = {
    "name",
    "frequency",
    "every_weeks",
    "starts_on",
    "ends_on",
    "remind_minutes",
    *DEADLINE_FIELDS,
    *NEXT_DAY_FIELDS,
}


def reports_on(schedule: ReportSchedule, day: dt.date) -> bool:
    if not _in_period(schedule, day):
        return False
    if schedule.frequency == Frequency.WORKDAYS:
        return is_workday(day)
    if schedule.frequency == Frequency.WEEKS:
        return (day - schedule.starts_on).days % (7 * max(schedule.every_weeks, 1)) == 0
    return True


def _in_period(schedule: ReportSchedule, day: dt.date) -> bool:
    return schedule.starts_on <= day and (schedule.ends_on is None or day <= schedule.ends_on)


def _in_period_q(day: dt.date) -> Q:
    return Q(starts_on__lte=day) & (Q(ends_on__isnull=True) | Q(ends_on__gte=day))


def _nearest(schedules: Any) -> ReportSchedule | None:
    """The deepest root wins; two at the same root (refused since, but older data may
    hold them): the older."""
    return max(schedules, key=lambda s: (len(s.root.path), -s.pk), default=None)


def schedule_for(unit: Unit, day: dt.date) -> ReportSchedule | None:
    """The schedule a unit reports under on a day: the nearest whose period holds the
    day, if that one has a report that day (see the rule above)."""
    paths = unit.path_and_above()
    candidates = ReportSchedule.objects.filter(_in_period_q(day), root__path__in=paths)
    nearest = _nearest(candidates.select_related("root"))
    return nearest if nearest is not None and reports_on(nearest, day) else None


def due_at(schedule: ReportSchedule, level: str, day: dt.date) -> dt.datetime:
    """A level's deadline on a reporting day, as an instant: the day's start plus the
    deadline's offset, which passes midnight for a deadline "the next day"."""
    offset = schedule.deadline_offset(level)
    when = dt.datetime.combine(day + dt.timedelta(days=offset.days), dt.time(0, 0))
    return timezone.make_aware(when + dt.timedelta(seconds=offset.seconds))


def _check_deadlines(schedule: ReportSchedule) -> None:
    """A parent's deadline is never before its children's, counting from the reporting
    day's start (a deadline the next day is after every deadline on the day)."""
    offsets = [schedule.deadline_offset(level) for level in LEVEL_ORDER]
    for lower, upper, level in zip(offsets, offsets[1:], LEVEL_ORDER[1:], strict=False):
        if upper < lower:
            raise ValidationError(
                {
                    f"deadline_{level}": _(
                        "A level's deadline cannot be before the deadline of the units below it."
                    )
                }
            )


def _check_overlap(schedule: ReportSchedule) -> None:
    """Refuse a second schedule for the same units whose period meets this one's."""
    others = ReportSchedule.objects.filter(root_id=schedule.root_id).exclude(pk=schedule.pk)
    if schedule.ends_on is not None:
        others = others.filter(starts_on__lte=schedule.ends_on)
    other = (
        others.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=schedule.starts_on))
        .order_by("starts_on", "pk")
        .first()
    )
    if other is not None:
        raise ValidationError(
            {
                "starts_on": _(
                    "The schedule “%(name)s” already covers the units under %(unit)s "
                    "from %(start)s to %(end)s, and a unit reports under one schedule on a "
                    "day. Change that schedule (or end it first), or choose dates outside it."
                )
                % {
                    "name": other.name,
                    "unit": schedule.root.name,
                    "start": other.starts_on.isoformat(),
                    "end": other.ends_on.isoformat() if other.ends_on else "…",
                }
            }
        )


def _schedule_clean(schedule: ReportSchedule) -> None:
    _check_deadlines(schedule)
    if schedule.ends_on and schedule.ends_on < schedule.starts_on:
        raise ValidationError({"ends_on": _("The end is before the start.")})
    if schedule.frequency == Frequency.WEEKS and not 1 <= schedule.every_weeks <= 52:
        raise ValidationError({"every_weeks": _("Between 1 and 52.")})
    if not 0 <= schedule.remind_minutes <= 24 * 60:
        raise ValidationError({"remind_minutes": _("Between 0 and 1440 minutes.")})
    schedule.full_clean(exclude=["created_by"])
    _check_overlap(schedule)


def _set_deadlines(schedule: ReportSchedule, deadlines: dict[str, Any]) -> None:
    for key, value in deadlines.items():
        if key not in DEADLINE_FIELDS and key not in NEXT_DAY_FIELDS:
            raise ValidationError({key: _("Unknown field.")})
        setattr(schedule, key, bool(value) if key in NEXT_DAY_FIELDS else value)


@transaction.atomic
def schedule_create(
    *,
    by: Person,
    root: Unit,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    frequency: str = Frequency.DAILY,
    every_weeks: int = 1,
    **deadlines: Any,
) -> ReportSchedule:
    access.require(access.can_edit_schedules(by, root))
    schedule = ReportSchedule(
        root=root,
        name=name.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        frequency=frequency,
        every_weeks=every_weeks,
        created_by=by,
    )
    _set_deadlines(schedule, deadlines)
    _schedule_clean(schedule)
    schedule.save()
    first = _first_day_to_open(schedule)
    if first is not None:
        _schedule_open(schedule, first)
    return schedule


@transaction.atomic
def schedule_update(*, by: Person, schedule: ReportSchedule, **fields: Any) -> ReportSchedule:
    """Change a schedule from its next reporting day on: the days already open keep
    their rows, deadlines, reminders and timers (their instants are stored); the next
    opening is planned again. The change is in the audit trail (audit/recorder.py)."""
    schedule = ReportSchedule.objects.select_for_update().select_related("root").get(pk=schedule.pk)
    access.require(access.can_edit_schedules(by, schedule.root))
    if "root" in fields or "root_id" in fields:
        raise ValidationError(
            {"root": _("The units a schedule covers cannot change: end it and make a new one.")}
        )
    today = timezone.localdate()
    for key, value in fields.items():
        if key not in SCHEDULE_EDITABLE:
            raise ValidationError({key: _("Unknown field.")})
        if (
            key == "starts_on"
            and value != schedule.starts_on
            and (schedule.starts_on <= today or value < today)
        ):
            raise ValidationError(
                {
                    "starts_on": _(
                        "Only a schedule that has not started can move its start, "
                        "and not into the past."
                    )
                }
            )
        if key == "ends_on" and value is not None and value < today and value != schedule.ends_on:
            raise ValidationError({"ends_on": _("The end cannot be in the past.")})
        if key == "name":
            value = str(value).strip()
        if key in NEXT_DAY_FIELDS:
            value = bool(value)
        setattr(schedule, key, value)
    _schedule_clean(schedule)
    schedule.save()
    _replan_openings(schedule)
    return schedule


def _opened(schedule: ReportSchedule, day: dt.date) -> bool:
    return (
        Timer.objects.filter(key=_open_key(schedule, day), fired_at__isnull=False).exists()
        or ReportStatus.objects.filter(schedule=schedule, date=day).exists()
    )


def _first_day_to_open(schedule: ReportSchedule) -> dt.date | None:
    """The first reporting day not opened yet, from today or the schedule's start. A
    day whose first deadline has already passed is not started (every unit would be
    missing at once): the next one is."""
    today = timezone.localdate()
    day = max(schedule.starts_on, today)
    if day == today and _opened(schedule, today):
        day = today + dt.timedelta(days=1)
    if not reports_on(schedule, day):
        return _next_day(schedule, day)
    if day == today and timezone.now() >= min(
        due_at(schedule, level, day) for level in LEVEL_ORDER
    ):
        return _next_day(schedule, day) or day
    return day


def _replan_openings(schedule: ReportSchedule) -> None:
    """The openings not fired yet go; the first day to open is planned again."""
    Timer.objects.filter(
        kind="reports.open", key__startswith=f"reports:{schedule.pk}:", fired_at__isnull=True
    ).delete()
    first = _first_day_to_open(schedule)
    if first is not None:
        _schedule_open(schedule, first)


def _next_day(schedule: ReportSchedule, day: dt.date) -> dt.date | None:
    for offset in range(1, 400):
        candidate = day + dt.timedelta(days=offset)
        if schedule.ends_on and candidate > schedule.ends_on:
            return None
        if reports_on(schedule, candidate):
            return candidate
    return None


def _open_key(schedule: ReportSchedule, day: dt.date) -> str:
    return f"reports:{schedule.pk}:{day}:open"


def _schedule_open(schedule: ReportSchedule, day: dt.date) -> None:
    if not reports_on(schedule, day):
        nxt = _next_day(schedule, day)
        if nxt is None:
            return
        day = nxt
    timer_schedule(
        kind="reports.open",
        key=_open_key(schedule, day),
        due_at=timezone.make_aware(dt.datetime.combine(day, dt.time(0, 0))),
        payload={"schedule": schedule.pk, "day": day.isoformat()},
    )


# --- A reporting day ------------------------------------------------------------------


def _units_of(schedule: ReportSchedule, day: dt.date) -> Any:
    """The units that report under `schedule` on `day`: its subtree but the subtrees of
    nearer schedules whose period holds the day (the rule above)."""
    root = schedule.root
    units = Unit.objects.filter(access.subtree(root.path), archived_at__isnull=True)
    nearer = (
        ReportSchedule.objects.filter(_in_period_q(day), access.subtree(root.path, "root__path"))
        .exclude(pk=schedule.pk)
        .select_related("root")
    )
    for other in nearer:
        if other.root.path == root.path:
            if other.pk < schedule.pk:
                return Unit.objects.none()  # the older of two at one root decides
            continue
        units = units.exclude(access.subtree(other.root.path))
    return units


def _day_dues(schedule: ReportSchedule, day: dt.date) -> dict[str, dt.datetime]:
    """Each level's deadline on the day: the rows' own if the day is open already (an
    edit of the schedule since does not move them), else the schedule's."""
    dues = {level: due_at(schedule, level, day) for level in LEVEL_ORDER}
    dues.update(
        ReportStatus.objects.filter(schedule=schedule, date=day)
        .values_list("level", "due_at")
        .distinct()
    )
    return dues


@transaction.atomic
def day_open(*, schedule: ReportSchedule, day: dt.date) -> int:
    """Make the day's status rows (one per unit), its deadlines and reminders, and the
    next reporting day's opening. Safe to run twice."""
    if not reports_on(schedule, day):
        # The schedule changed since this opening was planned (its days, its end).
        nxt = _next_day(schedule, day)
        if nxt is not None:
            _schedule_open(schedule, nxt)
        return 0
    # The counters are recounted below: no submission may change them meanwhile. Each
    # writes them only while holding the audit chain's lock, so hold it (on PostgreSQL;
    # SQLite serializes writers anyway). A late worker opens the day while schools report.
    chain_lock()
    exempt = set(ReportExemption.objects.filter(date=day).values_list("unit_id", flat=True))
    dues = _day_dues(schedule, day)
    rows = []
    levels = set()
    for unit in _units_of(schedule, day).only("pk", "path", "kind"):
        level = LEVEL_OF_KIND[unit.kind]
        levels.add(level)
        rows.append(
            ReportStatus(
                unit_id=unit.pk,
                date=day,
                path=unit.path,
                schedule=schedule,
                level=level,
                status=Status.EXEMPT if unit.pk in exempt else Status.NOT_DUE,
                due_at=dues[level],
            )
        )
    ReportStatus.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    rollup_recompute(day=day, root=schedule.root)
    for level in levels:
        due = dues[level]
        timer_schedule(
            kind="reports.due",
            key=f"reports:{schedule.pk}:{day}:due:{level}",
            due_at=due,
            payload={"schedule": schedule.pk, "day": day.isoformat(), "level": level},
        )
        timer_schedule(
            kind="reports.remind",
            key=f"reports:{schedule.pk}:{day}:remind:{level}",
            due_at=due - dt.timedelta(minutes=schedule.remind_minutes),
            payload={"schedule": schedule.pk, "day": day.isoformat(), "level": level},
        )
    nxt = _next_day(schedule, day)
    if nxt is not None:
        _schedule_open(schedule, nxt)
    return len(rows)


def _pending(schedule: ReportSchedule, day: dt.date, level: str) -> Any:
    return ReportStatus.objects.filter(
        schedule=schedule, date=day, level=level, status=Status.NOT_DUE
    )


def due_text(due: dt.datetime, day: dt.date) -> str:
    """A deadline as people read it: the time, with its date when it is not the
    reporting day's (a deadline after midnight)."""
    local = timezone.localtime(due)
    return local.strftime("%H:%M" if local.date() == day else "%Y-%m-%d %H:%M")


def _reporters(unit: Unit) -> list[Person]:
    people = {p.pk: p for p in office_people(unit)}
    if unit.head:
        people.setdefault(unit.head.pk, unit.head)
    for m in Membership.objects.filter(unit=unit, role__in=[Role.SAFETY_OFFICER]).select_related(
        "person"
    ):
        people.setdefault(m.person.pk, m.person)
    return list(people.values())


@transaction.atomic
def level_remind(*, schedule: ReportSchedule, day: dt.date, level: str) -> int:
    """Before the deadline: remind the units that have not reported. A reminder that
    fires after its deadline (the worker was down) is not sent: the deadline's own
    "missing" notice says it better. The deadline is the rows' (stored when the day
    opened), not the schedule's, which an edit may have changed since."""
    rows = list(_pending(schedule, day, level).values_list("unit_id", "due_at"))
    if not rows:
        return 0
    due = min(d for _pk, d in rows)
    if timezone.now() >= due:
        return 0
    units = Unit.objects.filter(pk__in=[pk for pk, _d in rows]).select_related(
        "head", "office_contact"
    )
    for unit in units:
        notification_create(
            event="report_reminder",
            title=_("Daily report due at %(time)s") % {"time": due_text(due, day)},
            body=_("%(unit)s has not yet reported for %(day)s. A zero report takes one tap.")
            % {"unit": unit.name, "day": day.isoformat()},
            unit=unit,
            people=_reporters(unit),
            link="/reports/",
            params={"unit": unit.name, "day": day.isoformat()},
        )
    return len(units)


@transaction.atomic
def level_due(*, schedule: ReportSchedule, day: dt.date, level: str) -> int:
    """At the deadline: who has not reported is missing; their heads and the parent's
    office are told."""
    # Locked, so a report arriving meanwhile is either in (and counted) or waits, and
    # the notice names exactly the rows marked missing.
    pending = list(
        _pending(schedule, day, level).select_for_update(of=("self",)).select_related("unit__head")
    )
    if not pending:
        return 0
    ReportStatus.objects.filter(pk__in=[row.pk for row in pending]).update(status=Status.MISSING)
    # Each row moves from not due to missing in its ancestors' counters: increments that
    # add up with the submissions arriving at this very minute (a recount here could
    # lose one that commits between its read and its write).
    moves: Counter[str] = Counter()
    for row in pending:
        moves.update(_ancestor_paths(row.path))
    rollup_move(day=day, level=level, old=Status.NOT_DUE, new=Status.MISSING, counts=moves)
    by_parent: dict[str, list[Unit]] = defaultdict(list)
    for row in pending:
        by_parent[row.unit.path[: -Unit.steplen]].append(row.unit)
    parents = {
        u.path: u
        for u in Unit.objects.filter(path__in=list(by_parent)).select_related(
            "head", "office_contact"
        )
    }
    for path, units in by_parent.items():
        names = "、".join(u.name for u in units)
        parent = parents.get(path)
        people = office_people(parent) if parent else []
        for unit in units:
            if unit.head_id:
                people.append(unit.head)
        notification_create(
            event="report_missing",
            title=_("Daily reports missing for %(day)s") % {"day": day.isoformat()},
            body=_("Not reported by the deadline: %(names)s.") % {"names": names},
            urgency=Urgency.URGENT,
            unit=parent or units[0],
            people=people,
            link="/reports/status/",
            params={"day": day.isoformat(), "units": names},
        )
    return len(pending)


def _children_rollup(unit: Unit, day: dt.date) -> dict[str, int]:
    rows = (
        ReportStatus.objects.filter(access.subtree(unit.path, "path"), date=day)
        .annotate(length=Length("path"))
        .filter(length=len(unit.path) + Unit.steplen)
    )
    return dict(Counter(rows.values_list("status", flat=True)))


def _open_row(*, unit: Unit, day: dt.date, schedule: ReportSchedule) -> ReportStatus:
    """The status row of a day not opened yet (the worker was down, the unit came after
    the day opened, or a past day), counted in the ancestors' counters. The caller
    holds the audit chain's lock, as every writer of the counters does."""
    level = LEVEL_OF_KIND[unit.kind]
    status_row, created = ReportStatus.objects.get_or_create(
        unit=unit,
        date=day,
        defaults={
            "path": unit.path,
            "schedule": schedule,
            "level": level,
            # The day's deadline for the level as its other rows have it, if it is open
            # already (an edit of the schedule applies from the next day on).
            "due_at": lambda: (
                ReportStatus.objects.filter(schedule=schedule, date=day, level=level)
                .values_list("due_at", flat=True)
                .first()
                or due_at(schedule, level, day)
            ),
            # An exemption set before the day opened still holds.
            "status": lambda: (
                Status.EXEMPT
                if ReportExemption.objects.filter(unit=unit, date=day).exists()
                else Status.NOT_DUE
            ),
        },
    )
    if created:
        rollup_add(path=unit.path, day=day, level=status_row.level, status=status_row.status)
    return status_row


def report_submit(
    *,
    by: Person,
    unit: Unit | int,
    day: dt.date,
    zero: bool,
    items: list[dict[str, Any]] | None = None,
    reason: str = "",
) -> DailyReport:
    """Record a report as the server receives it. The same report again (a double tap,
    a phone resending, the same correction sent twice) answers with the version already
    stored, marked `repeated`; a different one needs a reason and becomes a new version.

    The one way a report is submitted, by the pages and the API alike, on SQLite and
    PostgreSQL alike: one transaction that locks the day's row, checks, and writes
    through the ORM. `unit` is the unit or its id (the API): with an id, the unit is
    read in the statement that locks the day's row; Unit.DoesNotExist when there is
    no such unit."""
    report = _submit_if_open(
        by, unit if isinstance(unit, int) else unit.pk, day, zero, items, reason
    )
    if report is None:
        # No row for the unit that day (not opened yet): make it in a step of its own,
        # once the submission passes its checks, then submit as usual. A row never
        # goes away, so the second try finds it.
        if isinstance(unit, int):
            unit = Unit.objects.get(pk=unit)
        _submit_checks(by, unit, day, zero, items, reason)
        _status_row_make(unit, day)
        report = _submit_if_open(by, unit.pk, day, zero, items, reason)
    if report is None:  # rows are never deleted; this is only a guard
        raise _nothing_due(unit, day)  # type: ignore[arg-type]
    return report


def _submit_checks(
    by: Person,
    unit: Unit,
    day: dt.date,
    zero: bool,
    items: list[dict[str, Any]] | None,
    reason: str,
) -> tuple[list[dict[str, Any]], str]:
    """Who may report for the unit (orgs.access), then what: a day not in the future,
    the items and the reason as stored. Refusing rolls the transaction back."""
    if not access.unit_visible(by, unit):
        # The rule for reports: a unit outside your subtree is a 403, not a 404.
        raise PermissionDenied(_("This unit is outside the units you can see."))
    access.require(can_report(by, unit))
    if day > timezone.localdate():
        raise ValidationError({"date": _("A report cannot be for a future date.")})
    return report_items_clean(items or [], zero=zero), _reason_clean(reason)


def _submit_if_open(
    by: Person,
    unit_id: int,
    day: dt.date,
    zero: bool,
    items: list[dict[str, Any]] | None,
    reason: str,
) -> DailyReport | None:
    """One transaction: the day's row locked (the unit read with it), the checks, the
    decision and the writes; None (nothing done, no lock held) when the unit has no row
    that day. Locking first rather than asking whether the row exists saves a statement
    on every submission, and reading the unit in that statement saves another."""
    with transaction.atomic():
        status_row = _day_row_locked(unit_id, day)
        if status_row is None:
            return None
        unit = status_row.unit
        items, reason = _submit_checks(by, unit, day, zero, items, reason)
        if status_row.status == Status.EXEMPT:
            raise ValidationError(
                {
                    "date": _("%(unit)s is exempt on %(day)s.")
                    % {"unit": unit.name, "day": day.isoformat()}
                }
            )
        return _submit(by, status_row, unit, day, zero, items, reason)


def _status_row_make(unit: Unit, day: dt.date) -> None:
    """A day without the unit's status row (not opened yet): make the row, counted in
    the ancestors' counters, in a step of its own before the submission.

    Every writer locks in one order: the day's status row, then the audit chain, then
    the counters (top-down). Making a row counts it, so it needs the chain's lock
    (day_open recounts under it); taken here, in a transaction that locks no existing
    row and so waits for nobody who waits for the chain. The submission then locks the
    row and takes the chain in the usual order. (Taking the chain and then locking the
    row in one transaction deadlocked against an exemption holding the row.) The row
    may have been made meanwhile (the day opening): get_or_create keeps that one."""
    schedule = schedule_for(unit, day)
    if schedule is None:
        raise _nothing_due(unit, day)
    with transaction.atomic():
        chain_lock()
        _open_row(unit=unit, day=day, schedule=schedule)


def _nothing_due(unit: Unit, day: dt.date) -> ValidationError:
    return ValidationError(
        {
            "date": _("%(unit)s has no report due on %(day)s.")
            % {"unit": unit.name, "day": day.isoformat()}
        }
    )


def _submit(
    by: Person,
    status_row: ReportStatus,
    unit: Unit,
    day: dt.date,
    zero: bool,
    items: list[dict[str, Any]],
    reason: str,
) -> DailyReport:
    """report_submit's decision and writes, in its transaction, the day's row locked:
    two taps, a correction, the deadline and an exemption for the unit take turns
    there, each deciding on what the one before wrote."""
    latest = (
        DailyReport.objects.filter(unit=unit, date=day).order_by("-version").first()
        if status_row.report_id is not None
        else None
    )
    if latest is not None:
        if _same_report(latest, zero=zero, items=items, reason=reason):
            latest.repeated = True  # type: ignore[attr-defined]
            return latest
        if not reason:
            raise ValidationError(
                {
                    "reason": _(
                        "This day's report was already submitted; a correction needs a reason."
                    )
                }
            )
    report = _report_version(
        by, status_row, latest, unit=unit, day=day, zero=zero, items=items, reason=reason
    )
    _report_record(report, status_row)
    return report


def _day_row_locked(unit_id: int, day: dt.date) -> ReportStatus | None:
    """The unit's status row for the day, locked until the transaction ends, with its
    unit (status_row.unit, read in the same statement); None: the unit has none that day."""
    return fetch_one(
        ReportStatus,
        _day_row_sql(connection.vendor),
        [unit_id, connection.ops.adapt_datefield_value(day)],
    )


# Every submission locks the day's row first: a statement written out once and prepared
# on each connection (lib/sql.fetch_one), which spares the ORM's building of it on every
# request (bench/reports_submit.py). SQL only for the row lock, which only the database
# can take (FOR UPDATE OF s, as select_for_update(of=("self",)) writes it and the other
# writers take); the unit is joined in so that the submission reads it in the same
# round trip (a fifth of a submission's Python was reading it apart through the ORM).
# SQLite has no row locks: its writer holds the whole database from BEGIN (settings).
_DAY_ROW_SQL = (
    f"SELECT {select_list(ReportStatus, 's')}, {select_list(Unit, 'u', 'unit')} "  # noqa: S608
    "FROM reports_reportstatus s JOIN orgs_unit u ON u.id = s.unit_id "
    "WHERE s.unit_id = %s AND s.date = %s"
)


@functools.cache
def _day_row_sql(vendor: str) -> str:
    if connection.features.has_select_for_update:
        return f"{_DAY_ROW_SQL} {connection.ops.for_update_sql(of=('s',))}"
    return _DAY_ROW_SQL


def _report_version(
    by: Person,
    status_row: ReportStatus,
    latest: DailyReport | None,
    *,
    unit: Unit,
    day: dt.date,
    zero: bool,
    items: list[dict[str, Any]],
    reason: str,
) -> DailyReport:
    """The next version of the day's report (not saved yet): received now, late by the
    whole seconds past the day's deadline, with a unit's children's counts as they are."""
    now = timezone.now()
    return DailyReport(
        unit=unit,
        date=day,
        version=latest.version + 1 if latest else 1,
        schedule_id=status_row.schedule_id,
        zero=zero,
        items=items,
        reason=reason,
        children=_children_rollup(unit, day) if unit.numchild else {},
        submitted_by=by,
        submitted_at=now,
        due_at=status_row.due_at,
        late_seconds=max(0, int((now - status_row.due_at).total_seconds())),
    )


def _same_report(
    latest: DailyReport, *, zero: bool, items: list[dict[str, Any]], reason: str
) -> bool:
    """The report already stored, sent again: the same content, and no reason or the
    same reason (a correction sent twice)."""
    return latest.zero == zero and latest.items == items and reason in ("", latest.reason)


def _report_record(report: DailyReport, status_row: ReportStatus) -> None:
    """A decided report's writes, in the lock order: its receipt in the audit chain
    (the chain's lock is held from here until COMMIT), the report, the day's status
    row, one count moved in each ancestor's counters. A first report gives the day its
    status (on time or late); a correction keeps the first report's status and time."""
    if report.version == 1:
        status = Status.LATE if report.late_seconds else Status.ON_TIME
        status_at = report.submitted_at
    else:
        status, status_at = status_row.status, status_row.submitted_at
    entry = audit_append(
        audit_pending(
            action="report" if report.version == 1 else "report_correction",
            model="reports.dailyreport",
            object_id=f"{report.unit.pk}:{report.date.isoformat()}:v{report.version}",
            object_repr=report.unit.name,
            changes={
                "zero": report.zero,
                "items": report.items,
                "reason": report.reason,
                "late_s": report.late_seconds,
            },
        )
    )
    report.audit_seq, report.audit_hash = entry.seq, entry.hash
    report.save(force_insert=True)
    ReportStatus.objects.filter(pk=status_row.pk).update(
        status=status, submitted_at=status_at, report=report
    )
    rollup_shift(
        path=report.unit.path,
        day=report.date,
        level=status_row.level,
        old=status_row.status,
        new=status,
    )


def report_items_clean(items: list[dict[str, Any]], *, zero: bool) -> list[dict[str, Any]]:
    """A report's items as stored: each its text stripped and within the limits
    (reports.models), its links to an incident or a hazard ids or None, nothing else.
    A ValidationError names the field as the API does: items, items.0.what …"""
    if zero and items:
        raise ValidationError({"items": _("A zero report has no items.")})
    if not zero and not items:
        raise ValidationError({"items": _("Give at least one item, or submit a zero report.")})
    if len(items) > REPORT_MAX_ITEMS:
        raise ValidationError(
            {
                "items": _("A report has at most %(max)d items; this one has %(n)d.")
                % {"max": REPORT_MAX_ITEMS, "n": len(items)}
            }
        )
    return [_item_clean(item, index) for index, item in enumerate(items)]


def _item_clean(item: dict[str, Any], index: int) -> dict[str, Any]:
    number = {"n": index + 1}
    texts = {}
    for name in ("what", "measures"):
        field = f"items.{index}.{name}"
        text = item.get(name) or ""
        if not isinstance(text, str):
            raise ValidationError({field: _("Item %(n)d: write text here.") % number})
        text = text.strip()
        if "\x00" in text:  # the database's text cannot hold one
            raise ValidationError({field: _("Null characters are not allowed.")})
        if len(text) > ITEM_TEXT_MAX:
            raise ValidationError(
                {
                    field: _("Item %(n)d: at most %(max)d characters (this has %(len)d).")
                    % {**number, "max": ITEM_TEXT_MAX, "len": len(text)}
                }
            )
        texts[name] = text
    if not texts["what"]:
        raise ValidationError({f"items.{index}.what": _("Item %(n)d: say what happened.") % number})
    links = {}
    for name in ("incident_id", "hazard_id"):
        value = item.get(name)
        if value is not None and (type(value) is not int or not 1 <= value <= MAX_RECORD_ID):
            raise ValidationError(
                {f"items.{index}.{name}": _("Item %(n)d: not a record number.") % number}
            )
        links[name] = value
    return {**texts, **links}


def _reason_clean(reason: str) -> str:
    reason = reason.strip()
    if "\x00" in reason:
        raise ValidationError({"reason": _("Null characters are not allowed.")})
    if len(reason) > CORRECTION_REASON_MAX:
        raise ValidationError(
            {
                "reason": _("At most %(max)d characters (this has %(len)d).")
                % {"max": CORRECTION_REASON_MAX, "len": len(reason)}
            }
        )
    return reason


@transaction.atomic
def exemption_set(*, by: Person, unit: Unit, day: dt.date, reason: str) -> ReportExemption:
    access.require(access.can_exempt(by, unit))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason (holiday, closure…).")})
    # The day's row first, locked: a submission locks it before the audit chain, and
    # the exemption's audit entry must come in the same order, or each waits for the other.
    row = ReportStatus.objects.select_for_update().filter(unit=unit, date=day).first()
    exemption, _created = ReportExemption.objects.update_or_create(
        unit=unit, date=day, defaults={"reason": reason.strip()[:200], "created_by": by}
    )
    if row is not None and row.status in (Status.NOT_DUE, Status.MISSING):
        ReportStatus.objects.filter(pk=row.pk).update(status=Status.EXEMPT)
        rollup_shift(path=unit.path, day=day, level=row.level, old=row.status, new=Status.EXEMPT)
    return exemption


@transaction.atomic
def report_chase(*, by: Person, unit: Unit, day: dt.date) -> int:
    """One tap: remind every unit under `unit` that has not reported for the day."""
    access.require(access.can_chase(by, unit))
    rows = (
        ReportStatus.objects.filter(
            access.subtree(unit.path, "path"), date=day, status__in=[Status.NOT_DUE, Status.MISSING]
        )
        .exclude(unit=unit)
        .select_related("unit__head", "unit__office_contact")
    )
    count = 0
    for row in rows:
        notification_create(
            event="report_chase",
            title=_("Please submit the daily report for %(day)s") % {"day": day.isoformat()},
            body=_("%(sender)s asks %(unit)s to report now (a zero report if nothing happened).")
            % {"sender": unit.name, "unit": row.unit.name},
            urgency=Urgency.URGENT,
            unit=row.unit,
            sender=by,
            people=_reporters(row.unit),
            link="/reports/",
            params={"unit": row.unit.name, "day": day.isoformat()},
        )
        count += 1
    return count


# --- Roll-ups ---------------------------------------------------------------------------------
#
# Counters per (unit down to ROLLUP_DEPTH, day, level): the statuses of the units of one
# level in the unit's subtree. A bureau's schools are counted apart from its groups' and
# its own compiled reports, so "40 schools, 3 missing" never counts the groups as schools.
# Every writer moves the counts of one level (the status row's), top-down by path.


def _ancestor_paths(path: str) -> list[str]:
    depth = min(len(path) // Unit.steplen, ROLLUP_DEPTH)
    return [path[: Unit.steplen * d] for d in range(1, depth + 1)]


def rollup_shift(*, path: str, day: dt.date, level: str, old: str, new: str) -> None:
    """One unit changed status: move one count in each ancestor's counters."""
    rollup_move(
        day=day, level=level, old=old, new=new, counts=dict.fromkeys(_ancestor_paths(path), 1)
    )


def rollup_move(
    *, day: dt.date, level: str, old: str | None, new: str, counts: dict[str, int]
) -> None:
    """Move counts[path] from `old` to `new` in the `level` counters of the unit at each
    path (old None: rows new to the counters, only added to `new`).

    Increments, not a recount: they add up with those of submissions running at the
    same moment. One statement for all the units, which locks their counter rows
    top-down in path order before it changes them (FOR UPDATE in path order, where
    the database has row locks; SQLite's writer holds the whole database): two
    transactions that lock counter rows in the same order never deadlock."""
    if old == new or not counts:
        return
    if (old is not None and old not in STATUS_FIELDS) or new not in STATUS_FIELDS:
        raise ValueError(f"not a status: {old!r} → {new!r}")
    paths = sorted(counts)
    # SQL for what the ORM cannot say: an increment by a different amount a row,
    # joined on (path, amount) pairs, the rows locked in a stated order. Checked
    # status names; the values are parameters. VALUES names its columns column1,
    # column2 on both databases.
    take = f"{old} = {old} - s.n, " if old else ""
    lock = (
        " " + connection.ops.for_update_sql(of=("r",), no_key=True)
        if connection.features.has_select_for_update
        else ""
    )
    sql = (
        f"UPDATE reports_reportrollup SET {take}{new} = {new} + s.n FROM ("  # noqa: S608
        "SELECT r.id, v.column2 AS n FROM reports_reportrollup r "
        "JOIN orgs_unit u ON u.id = r.unit_id "
        f"JOIN (VALUES {', '.join(['(%s, %s)'] * len(paths))}) v ON v.column1 = u.path "
        f"WHERE r.date = %s AND r.level = %s ORDER BY u.path{lock}) s "
        "WHERE reports_reportrollup.id = s.id"
    )
    params = [x for path in paths for x in (path, counts[path])]
    params += [connection.ops.adapt_datefield_value(day), level]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def rollup_add(*, path: str, day: dt.date, level: str, status: str) -> None:
    """A new status row: count it in each ancestor's counters of its level, making rows
    that are not there yet."""
    ids = list(Unit.objects.filter(path__in=_ancestor_paths(path)).values_list("pk", flat=True))
    ReportRollup.objects.bulk_create(
        [ReportRollup(unit_id=pk, date=day, level=level) for pk in ids], ignore_conflicts=True
    )
    rollup_move(
        day=day, level=level, old=None, new=status, counts=dict.fromkeys(_ancestor_paths(path), 1)
    )


def rollup_recompute(*, day: dt.date, root: Unit) -> None:
    """Counters of every unit down to ROLLUP_DEPTH that covers `root`'s subtree, from
    the status rows, per level."""
    top = root.path[: Unit.steplen]
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    rows = ReportStatus.objects.filter(access.subtree(top, "path"), date=day).values_list(
        "path", "level", "status"
    )
    for path, level, status in rows.iterator(chunk_size=5000):
        for prefix in _ancestor_paths(path):
            counts[prefix, level][status] += 1
    units = dict(
        Unit.objects.filter(path__in={p for p, _level in counts}).values_list("path", "pk")
    )
    ReportRollup.objects.filter(date=day, unit_id__in=units.values()).delete()
    ReportRollup.objects.bulk_create(
        [
            ReportRollup(
                unit_id=units[path],
                date=day,
                level=level,
                **{s: c.get(s, 0) for s in STATUS_FIELDS},
            )
            for (path, level), c in counts.items()
            if path in units
        ],
        batch_size=2000,
    )
