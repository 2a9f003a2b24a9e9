"""Schedules, submitting reports and corrections, exemptions, and what deadlines do."""

import datetime as dt
import functools
import json
from collections import Counter, defaultdict
from types import SimpleNamespace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import (
    Actor,
    append_params,
    audit_append,
    audit_pending,
    chain_lock,
    hash_prefix_around,
)
from safecampus.lib.calendar import default_is_workday, official_days
from safecampus.lib.sql import fetch_one, pg_values, prepared_cursor, select_list
from safecampus.notify.models import Urgency
from safecampus.notify.services import notification_create, office_people
from safecampus.orgs import access
from safecampus.orgs.models import MANAGER_ROLES, ApiToken, Membership, Person, Role, Unit
from safecampus.worker.timers import timer_schedule

from . import pgsql
from .models import (
    LEVEL_OF_KIND,
    LEVEL_ORDER,
    ROLLUP_DEPTH,
    CalendarDay,
    DailyReport,
    Frequency,
    ReportExemption,
    ReportRollup,
    ReportSchedule,
    ReportStatus,
    Status,
)

# Who may submit a unit's report: its managers, and these roles in the unit itself.
REPORTER_ROLES = {
    Role.SAFETY_OFFICER,
    Role.DUTY_STAFF,
    Role.PRINCIPAL,
    Role.GROUP_HEAD,
    Role.SAFETY_OFFICE,
    Role.BUREAU_LEADER,
}
STATUS_FIELDS = [s.value for s in Status]


def can_report(user: Any, unit: Unit) -> bool:
    if access.can_manage(user, unit):
        return True
    return Membership.objects.filter(person=user, unit=unit, role__in=REPORTER_ROLES).exists()


# --- The calendar -----------------------------------------------------------------


@transaction.atomic
def calendar_seed(years: list[int]) -> int:
    """Write the official holidays and make-up workdays; rows already there are kept
    (an administrator's correction wins)."""
    rows = [
        CalendarDay(date=day, is_workday=work, name=name[:100])
        for day, (work, name) in official_days(years).items()
    ]
    CalendarDay.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def is_workday(day: dt.date) -> bool:
    row = CalendarDay.objects.filter(date=day).values_list("is_workday", flat=True).first()
    return default_is_workday(day) if row is None else row


# --- Schedules ---------------------------------------------------------------------


def reports_on(schedule: ReportSchedule, day: dt.date) -> bool:
    if day < schedule.starts_on or (schedule.ends_on and day > schedule.ends_on):
        return False
    if schedule.frequency == Frequency.WORKDAYS:
        return is_workday(day)
    if schedule.frequency == Frequency.WEEKS:
        return (day - schedule.starts_on).days % (7 * max(schedule.every_weeks, 1)) == 0
    return True


def schedule_for(unit: Unit, day: dt.date) -> ReportSchedule | None:
    """The schedule a unit reports under on a day (the oldest that covers it)."""
    paths = [unit.path[:i] for i in range(Unit.steplen, len(unit.path) + 1, Unit.steplen)]
    candidates = (
        ReportSchedule.objects.filter(root__path__in=paths, starts_on__lte=day)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=day))
        .order_by("pk")
    )
    return next((s for s in candidates if reports_on(s, day)), None)


def due_at(schedule: ReportSchedule, level: str, day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, schedule.deadline(level)))


def _check_deadlines(fields: dict[str, dt.time]) -> None:
    times = [fields[f"deadline_{level}"] for level in LEVEL_ORDER]
    for lower, upper, level in zip(times, times[1:], LEVEL_ORDER[1:], strict=False):
        if upper < lower:
            raise ValidationError(
                {
                    f"deadline_{level}": _(
                        "A level's deadline cannot be before the deadline of the units below it."
                    )
                }
            )


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
    **deadlines: dt.time,
) -> ReportSchedule:
    access.require(access.can_manage(by, root))
    schedule = ReportSchedule(
        root=root,
        name=name.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        frequency=frequency,
        every_weeks=every_weeks,
        created_by=by,
    )
    for key, value in deadlines.items():
        if key not in {f"deadline_{level}" for level in LEVEL_ORDER}:
            raise ValidationError({key: _("Unknown field.")})
        setattr(schedule, key, value)
    _check_deadlines({f"deadline_{lv}": schedule.deadline(lv) for lv in LEVEL_ORDER})
    if ends_on and ends_on < starts_on:
        raise ValidationError({"ends_on": _("The end is before the start.")})
    if frequency == Frequency.WEEKS and not 1 <= every_weeks <= 52:
        raise ValidationError({"every_weeks": _("Between 1 and 52.")})
    schedule.full_clean(exclude=["created_by"])
    schedule.save()
    today = timezone.localdate()
    first = max(starts_on, today)
    if first == today and timezone.localtime().time() >= schedule.deadline_department:
        # Created after today's first deadline: start tomorrow rather than mark every
        # unit missing at once.
        first = _next_day(schedule, today) or first
    _schedule_open(schedule, first)
    return schedule


def _next_day(schedule: ReportSchedule, day: dt.date) -> dt.date | None:
    for offset in range(1, 400):
        candidate = day + dt.timedelta(days=offset)
        if schedule.ends_on and candidate > schedule.ends_on:
            return None
        if reports_on(schedule, candidate):
            return candidate
    return None


def _schedule_open(schedule: ReportSchedule, day: dt.date) -> None:
    if not reports_on(schedule, day):
        nxt = _next_day(schedule, day)
        if nxt is None:
            return
        day = nxt
    timer_schedule(
        kind="reports.open",
        key=f"reports:{schedule.pk}:{day}:open",
        due_at=timezone.make_aware(dt.datetime.combine(day, dt.time(0, 0))),
        payload={"schedule": schedule.pk, "day": day.isoformat()},
    )


# --- A reporting day ------------------------------------------------------------------


def _units_of(schedule: ReportSchedule) -> Any:
    return Unit.objects.filter(access.subtree(schedule.root.path), archived_at__isnull=True)


@transaction.atomic
def day_open(*, schedule: ReportSchedule, day: dt.date) -> int:
    """Make the day's status rows (one per unit), its deadlines and reminders, and the
    next reporting day's opening. Safe to run twice."""
    # The counters are recounted below: no submission may change them meanwhile. Each
    # writes them only while holding the audit chain's lock, so hold it (on PostgreSQL;
    # SQLite serializes writers anyway). A late worker opens the day while schools report.
    chain_lock()
    exempt = set(ReportExemption.objects.filter(date=day).values_list("unit_id", flat=True))
    rows = []
    levels = set()
    for unit in _units_of(schedule).only("pk", "path", "kind"):
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
                due_at=due_at(schedule, level, day),
            )
        )
    ReportStatus.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    rollup_recompute(day=day, root=schedule.root)
    for level in levels:
        due = due_at(schedule, level, day)
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
    "missing" notice says it better."""
    if timezone.now() >= due_at(schedule, level, day):
        return 0
    units = Unit.objects.filter(
        pk__in=_pending(schedule, day, level).values("unit_id")
    ).select_related("head", "office_contact")
    for unit in units:
        notification_create(
            event="report_reminder",
            title=_("Daily report due at %(time)s")
            % {"time": schedule.deadline(level).strftime("%H:%M")},
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
    rollup_move(day=day, old=Status.NOT_DUE, new=Status.MISSING, counts=moves)
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


# --- Submitting -----------------------------------------------------------------------------


def _children_rollup(unit: Unit, day: dt.date) -> dict[str, int]:
    rows = (
        ReportStatus.objects.filter(access.subtree(unit.path, "path"), date=day)
        .annotate(length=Length("path"))
        .filter(length=len(unit.path) + Unit.steplen)
    )
    return dict(Counter(rows.values_list("status", flat=True)))


def _open_row(*, unit: Unit, day: dt.date, schedule: ReportSchedule) -> ReportStatus:
    """The status row of a day not opened yet (the worker was down, or a past day),
    counted in the ancestors' counters."""
    level = LEVEL_OF_KIND[unit.kind]
    status_row, created = ReportStatus.objects.select_for_update().get_or_create(
        unit=unit,
        date=day,
        defaults={
            "path": unit.path,
            "schedule": schedule,
            "level": level,
            "due_at": due_at(schedule, level, day),
            # An exemption set before the day opened still holds.
            "status": lambda: (
                Status.EXEMPT
                if ReportExemption.objects.filter(unit=unit, date=day).exists()
                else Status.NOT_DUE
            ),
        },
    )
    if created:
        rollup_add(path=unit.path, day=day, status=status_row.status)
    return status_row


def report_submit(
    *,
    by: Person,
    unit: Unit,
    day: dt.date,
    zero: bool,
    items: list[dict[str, Any]] | None = None,
    reason: str = "",
    day_row: ReportStatus | None = None,
) -> DailyReport:
    """Record a report as the server receives it. The same report twice (a double tap)
    returns the first; a different one needs a reason and becomes a new version.
    `day_row`: the unit's status row for the day if the caller has read it already,
    without a lock (unit_for_report); it is checked as the report is written."""
    access.require(can_report(by, unit))
    today = timezone.localdate()
    if day > today:
        raise ValidationError({"date": _("A report cannot be for a future date.")})
    if "\x00" in reason:
        raise ValidationError({"reason": _("Null characters are not allowed.")})
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The busy case in one transaction of one statement: read the day's row without
        # a lock, decide, and write only if the row is still as read (reports/pgsql.py).
        # Another submission or the deadline between the two: decide again.
        try:
            for _attempt in range(3):
                report = _submit(by, unit, day, zero, items, reason, lock=False, seen=day_row)
                if report is not None:
                    return report
                day_row = None  # read it again
        except _NoRowYet:
            pass
    with transaction.atomic():
        report = _submit(by, unit, day, zero, items, reason, lock=True)
        assert report is not None  # noqa: S101 (the row is locked: nothing can change it)
        return report


# A unit's first report through the API, token to receipt in one statement (PostgreSQL,
# reports/pgsql.py): stand-ins for what only the database knows, in canonical-JSON order.
_HOLES = ["\x01actor_id\x01", "\x01actor_label\x01", "\x01late_s\x01", "\x01object_repr\x01"]
_SUBMIT_DIRECT = (
    "SELECT report_id, entry_seq, entry_hash, person_id, person_username, due_at, "  # noqa: S608
    f"late_seconds, schedule_id, children, token_to_note FROM {pgsql.SUBMIT_FUNCTION}({', '.join(['%s'] * 20)})"
)
_MANAGE_ROLES = ",".join(sorted(MANAGER_ROLES))
_REPORTER_ROLES = ",".join(sorted(REPORTER_ROLES))


def report_submit_direct(
    *,
    key_hash: str,
    noted_before: dt.datetime,
    unit_id: int,
    day: dt.date,
    zero: bool,
    items: list[dict[str, Any]],
    reason: str,
    ip: str,
) -> DailyReport | None:
    """PostgreSQL: the API's submission when it is a unit's first report of the day, by
    the holder of the token whose SHA-256 is `key_hash`, in one statement: the token,
    the right to report, the decision and report_submit's writes (reports/pgsql.py).
    None, with nothing written, for every other case (an unknown token, a unit outside
    the person's reach, a second tap, a correction, an exempt day, bad items…): the
    caller then takes the usual path, which decides again and says why. The report
    answered has its submitter as a person with only id and username read."""
    if connection.vendor != "postgresql" or day > timezone.localdate() or "\x00" in reason:
        return None
    try:
        items = _clean_items(items, zero)
    except ValidationError:
        return None
    reason = reason.strip()[:500]
    pending = audit_pending(
        action="report",
        model="reports.dailyreport",
        object_id=f"{unit_id}:{day.isoformat()}:v1",
        object_repr=_HOLES[3],
        changes={"zero": zero, "items": items, "reason": reason, "late_s": _HOLES[2]},
        actor=Actor(id=_HOLES[0], label=_HOLES[1], ip=ip),  # type: ignore[arg-type]
    )
    pieces = hash_prefix_around(pending, _HOLES)
    if pieces is None:
        return None
    now = pending["at"]  # the receipt's time is the report's
    del pending["changes"]["late_s"]
    from psycopg.types.json import Jsonb  # PostgreSQL's driver, there when this runs

    with prepared_cursor() as cursor:
        cursor.execute(
            _SUBMIT_DIRECT,
            [
                key_hash,
                now,
                noted_before,
                unit_id,
                day,
                zero,
                Jsonb(items),
                reason,
                *pieces,
                ip,
                pending["action"],
                pending["model"],
                pending["object_id"],
                Jsonb(pending["changes"]),
                _MANAGE_ROLES,
                _REPORTER_ROLES,
            ],
        )
        row = cursor.fetchone()
    pk, seq, hash_, person_id, username, due, late, schedule_id, children, token = row
    if pk is None:
        return None
    if token is not None:
        # api/auth.py's bookkeeping: a plain UPDATE, no audit entry, after the report.
        ApiToken.objects.filter(pk=token).update(last_used_at=now)
    by = Person.from_db(connection.alias, ["id", "username"], [person_id, username])
    report = DailyReport(
        pk=pk,
        unit_id=unit_id,
        date=day,
        version=1,
        schedule_id=schedule_id,
        zero=zero,
        items=items,
        reason=reason,
        children=json.loads(children),  # Django has psycopg leave JSON as text
        submitted_by=by,
        submitted_at=now,
        due_at=due,
        late_seconds=late,
        audit_seq=seq,
        audit_hash=hash_,
    )
    report._state.adding = False
    return report


class _NoRowYet(Exception):
    """The unlocked path stops: the day has no status row yet, and making one writes."""


def _submit(
    by: Person,
    unit: Unit,
    day: dt.date,
    zero: bool,
    items: list[dict[str, Any]] | None,
    reason: str,
    *,
    lock: bool,
    seen: ReportStatus | None = None,
) -> DailyReport | None:
    """report_submit's work. With `lock`, in a transaction, the day's row is locked as it
    is read and two taps take turns there. Without (PostgreSQL outside a transaction),
    None when the row changed before the write (the caller decides again), and
    _NoRowYet when the day has no row (the caller locks)."""
    # The day's row, made when the day opened, answers most of what follows; only a
    # day not opened yet needs the schedules looked up, and its row made.
    status_row = seen if seen is not None and not lock else _status_row(unit.pk, day, lock=lock)
    if status_row is None:
        if not lock:
            raise _NoRowYet
        schedule = schedule_for(unit, day)
        if schedule is None:
            raise ValidationError(
                {
                    "date": _("%(unit)s has no report due on %(day)s.")
                    % {"unit": unit.name, "day": day.isoformat()}
                }
            )
    items = _clean_items(items or [], zero)
    now = timezone.now()
    if status_row is None:
        # Making the row counts it in the ancestors' counters, which every other
        # submission locks after the audit chain: take the chain first, in that order.
        chain_lock()
        status_row = _open_row(unit=unit, day=day, schedule=schedule)
    if status_row.status == Status.EXEMPT:
        raise ValidationError(
            {
                "date": _("%(unit)s is exempt on %(day)s.")
                % {"unit": unit.name, "day": day.isoformat()}
            }
        )
    latest = (
        DailyReport.objects.filter(unit=unit, date=day).order_by("-version").first()
        if status_row.report_id is not None
        else None
    )
    if latest is not None:
        if latest.zero == zero and latest.items == items and not reason.strip():
            # The same report again: a second tap, or a resend from a phone.
            latest.repeated = True  # type: ignore[attr-defined]
            return latest
        if not reason.strip():
            raise ValidationError(
                {
                    "reason": _(
                        "This day's report was already submitted; a correction needs a reason."
                    )
                }
            )
    version = latest.version + 1 if latest else 1
    late = max(0, int((now - status_row.due_at).total_seconds()))
    children = _children_rollup(unit, day) if unit.numchild else {}
    report = DailyReport(
        unit=unit,
        date=day,
        version=version,
        schedule_id=status_row.schedule_id,
        zero=zero,
        items=items,
        reason=reason.strip()[:500],
        children=children,
        submitted_by=by,
        submitted_at=now,
        due_at=status_row.due_at,
        late_seconds=late,
    )
    if version == 1:
        status, status_at = (Status.LATE if late else Status.ON_TIME), now
    else:  # a correction keeps the first report's status and time
        status, status_at = status_row.status, status_row.submitted_at
    receipt = audit_pending(
        action="report" if version == 1 else "report_correction",
        model="reports.dailyreport",
        object_id=f"{unit.pk}:{day.isoformat()}:v{version}",
        object_repr=unit.name,
        changes={"zero": zero, "items": items, "reason": reason.strip(), "late_s": late},
    )
    if not _report_record(report, receipt, status_row, status, status_at):
        return None
    return report


# A submission is the busiest write there is (a province's schools in the minutes before
# a deadline). Its statements are written out here once rather than built by the ORM on
# every call, which costs more than the database's own work (bench/reports_submit.py).

_STATUS_SQL = (
    "SELECT id, unit_id, date, status, due_at, submitted_at, schedule_id, report_id "
    "FROM reports_reportstatus WHERE unit_id = %s AND date = %s"
)


# The unit a report is for and its status row for the day, as columns another statement
# can select too (the API's bearer token, reports/api.SubmitterToken): unit__<column>,
# day_row_<field>. The join's parameters: the unit's id, the day.
_DAY_ROW_FIELDS = ["id", "status", "due_at", "submitted_at", "schedule_id", "report_id"]
UNIT_DAY_COLUMNS = ", ".join(
    [f"u.{f.column} AS unit__{f.column}" for f in Unit._meta.concrete_fields]
    + [f"s.{name} AS day_row_{name}" for name in _DAY_ROW_FIELDS]
)
UNIT_DAY_JOINS = (
    "LEFT JOIN orgs_unit u ON u.id = %s "
    "LEFT JOIN reports_reportstatus s ON s.unit_id = u.id AND s.date = %s"
)
_UNIT_DAY_SQL = f"SELECT {UNIT_DAY_COLUMNS} FROM (SELECT 1) one {UNIT_DAY_JOINS}"  # noqa: S608
_UNIT_SQL = f"SELECT {select_list(Unit, 'u')} FROM orgs_unit u WHERE u.id = %s"  # noqa: S608


def unit_for_report(unit_id: int, day: dt.date) -> tuple[Unit | None, ReportStatus | None]:
    """The unit a report is for, and on PostgreSQL its status row for the day read in the
    same statement, without a lock (report_submit's day_row). The API's submission
    reads them with the caller's token (SubmitterToken), one statement fewer still."""
    if connection.vendor != "postgresql":
        return fetch_one(Unit, _UNIT_SQL, [unit_id]), None
    with prepared_cursor() as cursor:
        cursor.execute(_UNIT_DAY_SQL, [unit_id, day])
        row = cursor.fetchone()
        names = [d[0] for d in cursor.description]
    return unit_day_from(SimpleNamespace(**dict(zip(names, row, strict=True))), day)


def unit_day_from(columns: Any, day: dt.date) -> tuple[Unit | None, ReportStatus | None]:
    """The unit and its day's status row from UNIT_DAY_COLUMNS, read as attributes of
    `columns` (PostgreSQL: psycopg gives each its Python type, aware datetimes too)."""
    get = functools.partial(getattr, columns)
    if get("unit__id") is None:
        return None, None
    unit_fields = Unit._meta.concrete_fields
    unit = Unit.from_db(
        connection.alias,
        [f.attname for f in unit_fields],
        [get(f"unit__{f.column}") for f in unit_fields],
    )
    if get("day_row_id") is None:
        return unit, None
    known = {name: get(f"day_row_{name}") for name in _DAY_ROW_FIELDS}
    known.update(unit_id=unit.pk, date=day)
    names = [f.attname for f in ReportStatus._meta.concrete_fields if f.attname in known]
    # from_db takes the values in the model's field order.
    return unit, ReportStatus.from_db(connection.alias, names, [known[n] for n in names])


def _status_row(unit_id: int, day: dt.date, *, lock: bool) -> ReportStatus | None:
    """The unit's row for the day; with `lock`, locked until COMMIT."""
    locking = lock and connection.features.has_select_for_update
    sql = _STATUS_SQL + (" FOR UPDATE" if locking else "")
    return fetch_one(ReportStatus, sql, [unit_id, connection.ops.adapt_datefield_value(day)])


# The report's columns but its receipt, which the audit chain gives.
_REPORT_FIELDS = [
    f
    for f in DailyReport._meta.concrete_fields
    if not f.primary_key and f.name not in ("audit_seq", "audit_hash")
]
_REPORT_COLUMNS = [f.column for f in _REPORT_FIELDS] + ["audit_seq", "audit_hash"]
_report_values = pg_values(_REPORT_FIELDS)  # PostgreSQL's
# The model's column names; the values are parameters.
_REPORT_SQL = (
    f"INSERT INTO reports_dailyreport ({', '.join(_REPORT_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(['%s'] * len(_REPORT_COLUMNS))}) RETURNING id"
)
_APPEND_CALL = (
    f"SELECT report_id, entry_seq, entry_hash FROM {pgsql.FUNCTION}"  # noqa: S608
    f"({', '.join(['%s'] * 29)})"
)  # noqa: S608


def _report_record(
    report: DailyReport,
    receipt: dict[str, Any],
    status_row: ReportStatus,
    status: str,
    status_at: dt.datetime | None,
) -> bool:
    """The writes of a submission, in order: the receipt in the audit chain (on
    PostgreSQL its lock is then held until COMMIT and orders every writer of the
    chain), the report, the day's status row, and the ancestors' counters. False,
    and nothing written, when the status row is no longer as read (PostgreSQL; read
    without a lock).

    No savepoint: the status row's lock means no other transaction inserts this
    version (SQLite transactions are serialized whole); if one did anyway, the error
    fails this transaction, which is what it should do."""
    old, new = status_row.status, status
    if connection.vendor == "postgresql":
        values = _report_values(functools.partial(getattr, report))
        # One round trip for all of it (reports/pgsql.py).
        adapt = connection.ops.adapt_datetimefield_value
        with prepared_cursor() as cursor:
            cursor.execute(
                _APPEND_CALL,
                [
                    *append_params(receipt),
                    *values,
                    status_row.pk,
                    status,
                    adapt(status_at),
                    old,
                    new,
                    _ancestor_paths(report.unit.path),
                    status_row.report_id,
                ],
            )
            report.pk, report.audit_seq, report.audit_hash = cursor.fetchone()
        if report.pk is None:
            return False
    else:
        values = [
            f.get_db_prep_save(getattr(report, f.attname), connection) for f in _REPORT_FIELDS
        ]
        entry = audit_append(receipt)
        report.audit_seq, report.audit_hash = entry.seq, entry.hash
        with connection.cursor() as cursor:
            cursor.execute(_REPORT_SQL, [*values, entry.seq, entry.hash])
            (report.pk,) = cursor.fetchone()
            cursor.execute(
                "UPDATE reports_reportstatus SET status = %s, submitted_at = %s, "
                "report_id = %s WHERE id = %s",
                [
                    status,
                    connection.ops.adapt_datetimefield_value(status_at),
                    report.pk,
                    status_row.pk,
                ],
            )
        rollup_shift(path=report.unit.path, day=report.date, old=old, new=new)
    report._state.adding = False
    return True


def _clean_items(items: list[dict[str, Any]], zero: bool) -> list[dict[str, Any]]:
    if zero and items:
        raise ValidationError({"items": _("A zero report has no items.")})
    if not zero and not items:
        raise ValidationError({"items": _("Give at least one item, or submit a zero report.")})
    cleaned = []
    for i, item in enumerate(items, start=1):
        what = str(item.get("what", "")).strip()
        measures = str(item.get("measures", "")).strip()
        if not what:
            raise ValidationError({"items": _("Item %(n)d: say what happened.") % {"n": i}})
        if "\x00" in what or "\x00" in measures:  # the database's text cannot hold one
            raise ValidationError({"items": _("Null characters are not allowed.")})
        cleaned.append(
            {
                "what": what[:1000],
                "measures": measures[:1000],
                "incident_id": item.get("incident_id"),
                "hazard_id": item.get("hazard_id"),
            }
        )
    return cleaned


@transaction.atomic
def exemption_set(*, by: Person, unit: Unit, day: dt.date, reason: str) -> ReportExemption:
    access.require(access.can_manage(by, unit))
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
        rollup_shift(path=unit.path, day=day, old=row.status, new=Status.EXEMPT)
    return exemption


@transaction.atomic
def report_chase(*, by: Person, unit: Unit, day: dt.date) -> int:
    """One tap: remind every unit under `unit` that has not reported for the day."""
    access.require(access.can_manage(by, unit))
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


def _ancestor_paths(path: str) -> list[str]:
    depth = min(len(path) // Unit.steplen, ROLLUP_DEPTH)
    return [path[: Unit.steplen * d] for d in range(1, depth + 1)]


def rollup_shift(*, path: str, day: dt.date, old: str, new: str) -> None:
    """One unit changed status: move one count in each ancestor's counters."""
    rollup_move(day=day, old=old, new=new, counts=dict.fromkeys(_ancestor_paths(path), 1))


def rollup_move(*, day: dt.date, old: str | None, new: str, counts: dict[str, int]) -> None:
    """Move counts[path] from `old` to `new` in the counters of the unit at each path
    (old None: rows new to the counters, only added to `new`).

    Increments, not a recount: they add up with those of submissions running at the
    same moment. One UPDATE a unit, top-down in path order, as reports/pgsql.py does:
    two transactions that lock counter rows in the same order never deadlock."""
    if old == new:
        return
    if (old is not None and old not in STATUS_FIELDS) or new not in STATUS_FIELDS:
        raise ValueError(f"not a status: {old!r} → {new!r}")
    # Checked status names; the values are parameters.
    take = f"{old} = {old} - %s, " if old else ""
    sql = (
        f"UPDATE reports_reportrollup SET {take}{new} = {new} + %s "  # noqa: S608
        "WHERE date = %s AND unit_id = (SELECT id FROM orgs_unit WHERE path = %s)"
    )
    day_value = connection.ops.adapt_datefield_value(day)
    with connection.cursor() as cursor:
        for path in sorted(counts):
            amounts = [counts[path]] * (2 if old else 1)
            cursor.execute(sql, [*amounts, day_value, path])


def rollup_add(*, path: str, day: dt.date, status: str) -> None:
    """A new status row: count it in each ancestor's counters, making rows that are
    not there yet."""
    ids = list(Unit.objects.filter(path__in=_ancestor_paths(path)).values_list("pk", flat=True))
    ReportRollup.objects.bulk_create(
        [ReportRollup(unit_id=pk, date=day) for pk in ids], ignore_conflicts=True
    )
    rollup_move(day=day, old=None, new=status, counts=dict.fromkeys(_ancestor_paths(path), 1))


def rollup_recompute(*, day: dt.date, root: Unit) -> None:
    """Counters of every unit down to ROLLUP_DEPTH that covers `root`'s subtree, from
    the status rows: one grouped query a depth."""
    top = root.path[: Unit.steplen]
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    rows = ReportStatus.objects.filter(access.subtree(top, "path"), date=day).values_list(
        "path", "status"
    )
    for path, status in rows.iterator(chunk_size=5000):
        for prefix in _ancestor_paths(path):
            counts[prefix][status] += 1
    units = dict(Unit.objects.filter(path__in=list(counts)).values_list("path", "pk"))
    ReportRollup.objects.filter(date=day, unit_id__in=units.values()).delete()
    ReportRollup.objects.bulk_create(
        [
            ReportRollup(unit_id=units[path], date=day, **{s: c.get(s, 0) for s in STATUS_FIELDS})
            for path, c in counts.items()
            if path in units
        ],
        batch_size=2000,
    )
