"""The ledger (隐患台账) in Excel in the columns offices use: 序号, 单位, 隐患类别, 隐患地点,
隐患描述, 等级, 整改责任人, 整改时限, 临时措施, 整改情况, 验收人, 销号日期 (and 备注), written
row by row through lib/xlsx (write-only: memory does not grow with the rows; typed text never
becomes a formula).

Up to MAX_ROWS rows the file is built in the request. A larger one (or any, when asked) is a
LedgerExport built by the worker:

- `ledger_export_request` stores the ledger page's filter and schedules a timer (BUILD, due
  at once);
- the timer's handler claims the export (queued → building, a conditional update in the
  worker's transaction; the file's name, new for each try, is the claim) and, once that
  commits, starts the build on a thread of its own: the worker's timer thread is never
  behind an export, and the build holds no transaction — its count of rows (`rows_done`) is
  committed as it goes, so the page's progress bar moves;
- the build reads the rows the person may see (selectors.ledger, the person who asked,
  hazards reported up to the moment of asking) a chunk at a time, writes a `.part` file
  under MEDIA_ROOT (never served publicly: only hazards.views.export_file sends it), renames
  it, marks the export ready and tells the person in the app inbox — in one transaction;
- a watchdog timer (CHECK) looks at the count every STALL: a build whose count has not
  moved (its worker was killed, even with kill -9) is queued again, up to MAX_TRIES, then
  failed with the reason; a build that lost its claim stops at its next count;
- once a day (PURGE) exports older than KEEP are deleted with their files, and one that
  never got built in a day is failed.
"""

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connections, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from safecampus.audit.services import Actor, audit_record
from safecampus.lib import xlsx
from safecampus.notify.services import notification_create
from safecampus.orgs import access
from safecampus.orgs.models import Person, Unit
from safecampus.worker.models import Timer
from safecampus.worker.timers import timer_schedule

from . import selectors
from .models import Category, ExportStatus, Hazard, LedgerExport, Severity, Status

log = logging.getLogger("safecampus.hazards.export")

MAX_ROWS = 20_000  # built in the request up to this; a larger ledger is built by the worker
CHUNK = 2_000  # rows read from the database at a time
PROGRESS_SECONDS = 1.0  # the count of rows written is committed at most this often
STALL = dt.timedelta(minutes=2)  # a build whose count has not moved for this long is dead
MAX_TRIES = 3
BUILDS_AT_ONCE = 1  # per worker process; more wait (queued) and are tried again shortly
BUSY_RETRY = dt.timedelta(seconds=10)
KEEP = dt.timedelta(days=7)
NEVER_BUILT = dt.timedelta(days=1)
PER_PERSON = 3  # exports a person may have waiting or being built at once
PURGE_AT = dt.time(3, 30)  # local time

BUILD = "hazards.export"
CHECK = "hazards.export_check"
PURGE = "hazards.export_purge"
EVENT = "hazard_export"
UNFINISHED = (ExportStatus.QUEUED, ExportStatus.BUILDING)

COLUMNS = [
    xlsx.Column("单位", 20),
    xlsx.Column("隐患类别", 12),
    xlsx.Column("隐患地点", 14),
    xlsx.Column("隐患描述", 36),
    xlsx.Column("等级", 6),
    xlsx.Column("整改责任人", 10),
    xlsx.Column("整改时限", 11),
    xlsx.Column("临时措施", 24),
    xlsx.Column("整改情况", 24),
    xlsx.Column("验收人", 10),
    xlsx.Column("销号日期", 11),
]


# --- Writing the file ---------------------------------------------------------------------


# What a row needs, read as plain values (no model instances: a third of the time at 100k rows).
FIELDS = (
    "unit__name",
    "category",
    "area__name",
    "place",
    "description",
    "severity",
    "responsible__name",
    "deadline",
    "interim",
    "fix_note",
    "status",
    "verified_by__name",
    "closed_at",
)
_CATEGORIES = dict(Category.choices)
_STATUSES = dict(Status.choices)


def _row(r: tuple[Any, ...]) -> list[str]:
    unit, category, area, place, description, severity, responsible = r[:7]
    deadline, interim, fix_note, status, verified_by, closed_at = r[7:]
    return [
        unit,
        str(_CATEGORIES.get(category, category)),
        " ".join(p for p in (area or "", place) if p),
        description,
        "重大" if severity == "major" else "一般",
        responsible or "",
        f"{deadline:%Y-%m-%d}",
        interim,
        fix_note or str(_STATUSES.get(status, status)),
        verified_by or "",
        f"{timezone.localtime(closed_at):%Y-%m-%d}" if closed_at else "",
    ]


def title_for(day: dt.date) -> str:
    return f"{day.year}年{day.month}月学校安全隐患排查整治台账"


def ledger_write(
    file: IO[bytes] | str | Path,
    rows: QuerySet[Hazard],
    *,
    title: str,
    unit_name: str,
    by: str,
    day: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """The ledger of `rows` written into `file`, read CHUNK rows at a time (memory stays
    flat); `progress(n)` is called after every CHUNK rows. Always in Chinese (submitted).
    Returns the number of rows written."""

    def values() -> Iterator[list[str]]:
        for n, r in enumerate(rows.values_list(*FIELDS).iterator(chunk_size=CHUNK), start=1):
            yield _row(r)
            if progress is not None and n % CHUNK == 0:
                progress(n)

    with translation.override("zh-hans"):
        return xlsx.stream_ledger(
            file,
            sheet="隐患台账",
            title=title,
            meta=[
                ("填报单位", unit_name),
                ("导出人", by),
                ("导出日期", f"{day or timezone.localdate():%Y-%m-%d}"),
            ],
            columns=COLUMNS,
            rows=values(),
        )


def unit_names(user: Any) -> str:
    return "、".join(u.name for u in access.units_run(user)[:3])


def ledger_workbook(rows: QuerySet[Hazard], *, title: str, unit_name: str, by: str) -> bytes:
    """The ledger of `rows` (at most MAX_ROWS) as an .xlsx, built in the request."""
    buffer = BytesIO()
    ledger_write(buffer, rows[:MAX_ROWS], title=title, unit_name=unit_name, by=by)
    return buffer.getvalue()


# --- The ledger page's filter, stored with the export ---------------------------------------


def filter_query(f: selectors.LedgerFilter) -> dict[str, Any]:
    return {
        "state": f.state,
        "category": f.category,
        "severity": f.severity,
        "under": f.under.pk if f.under is not None else None,
    }


def query_filter(query: dict[str, Any]) -> selectors.LedgerFilter:
    """The stored filter back (what is not one of ours is left out; a unit that is gone
    leaves nothing to export)."""
    under = None
    if query.get("under"):
        under = Unit.objects.filter(pk=query["under"]).first()
        if under is None:
            raise LookupError(_("The unit the export was asked for no longer exists."))
    state = query.get("state")
    return selectors.LedgerFilter(
        under=under,
        state=state if state in ("open", "overdue", "closed", "all") else "all",
        category=query.get("category") if query.get("category") in Category.values else "",
        severity=query.get("severity") if query.get("severity") in Severity.values else "",
    )


# --- Asking ----------------------------------------------------------------------------------


@transaction.atomic
def ledger_export_request(*, by: Person, f: selectors.LedgerFilter) -> LedgerExport:
    """Queue an export of the ledger `by` sees under filter `f`; the worker builds it."""
    waiting = LedgerExport.objects.filter(requested_by=by, status__in=UNFINISHED).count()
    if waiting >= PER_PERSON:
        raise ValidationError(
            {
                "export": _(
                    "You already have %(n)d exports waiting or being built; wait for one to finish."
                )
                % {"n": waiting}
            }
        )
    now = timezone.now()
    export = LedgerExport.objects.create(
        requested_by=by,
        requested_at=now,
        query=filter_query(f),
        rows_total=selectors.ledger(by, f).filter(reported_at__lte=now).count(),
    )
    audit_record(
        action="hazards.export_request",
        model="hazards.ledgerexport",
        object_id=export.pk,
        object_repr=str(export),
        changes={"query": export.query, "rows_total": export.rows_total},
        actor=Actor(id=by.pk, label=str(by)),
    )
    _schedule_build(export.pk, attempt=1)
    return export


def _schedule_build(pk: int, *, attempt: int, wait: int = 0, at: dt.datetime | None = None) -> None:
    timer_schedule(
        kind=BUILD,
        key=f"hazards:export:{pk}:{attempt}:{wait}",
        due_at=at or timezone.now(),
        payload={"export": pk, "attempt": attempt, "wait": wait},
    )


# --- In the worker ----------------------------------------------------------------------------

_builds: list[threading.Thread] = []
_builds_lock = threading.Lock()


def _running() -> int:
    with _builds_lock:
        _builds[:] = [t for t in _builds if t.is_alive()]
        return len(_builds)


def _in_thread(fn: Callable[[], None]) -> None:
    def run() -> None:
        try:
            fn()
        finally:
            connections.close_all()  # this thread's own connection

    # Not a daemon: a worker stopping (SIGTERM, or `worker --once`) finishes the build first;
    # one killed outright leaves it to the watchdog (CHECK).
    thread = threading.Thread(target=run, name="hazards-export", daemon=False)
    with _builds_lock:
        _builds.append(thread)
    thread.start()


# How a claimed build is started once the claim commits: a thread of its own (tests may run
# it in place: a TestCase's connection is not shared with other threads).
background: Callable[[Callable[[], None]], None] = _in_thread


def wait_for_builds(timeout: float = 600) -> None:
    """Join the builds started by this process (tests, benchmarks)."""
    with _builds_lock:
        threads = list(_builds)
    for thread in threads:
        thread.join(timeout)


def export_start(timer: Timer) -> None:
    """BUILD, in the worker's transaction: claim the export, start the build after commit."""
    pk = int(timer.payload.get("export", 0))
    attempt = int(timer.payload.get("attempt", 1))
    if _running() >= BUILDS_AT_ONCE:
        if LedgerExport.objects.filter(pk=pk, status=ExportStatus.QUEUED).exists():
            _schedule_build(
                pk,
                attempt=attempt,
                wait=int(timer.payload.get("wait", 0)) + 1,
                at=timezone.now() + BUSY_RETRY,
            )
        return
    name = f"hazards/exports/{pk}-{attempt}-{uuid.uuid4().hex[:12]}.xlsx"
    claimed = LedgerExport.objects.filter(pk=pk, status=ExportStatus.QUEUED).update(
        status=ExportStatus.BUILDING, rows_done=0, file=name
    )
    if not claimed:
        return  # built, failed or taken already
    _schedule_check(pk, attempt=attempt, name=name, seen=0, n=0)
    transaction.on_commit(lambda: background(lambda: ledger_export_build(pk=pk, name=name)))


def _schedule_check(pk: int, *, attempt: int, name: str, seen: int, n: int) -> None:
    timer_schedule(
        kind=CHECK,
        key=f"hazards:export-check:{pk}:{attempt}:{n}",
        due_at=timezone.now() + STALL,
        payload={"export": pk, "attempt": attempt, "file": name, "seen": seen, "n": n},
    )


class _ClaimLost(Exception):
    pass


def _path(name: str) -> Path:
    return Path(default_storage.path(name))


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def ledger_export_build(*, pk: int, name: str) -> None:
    """Build the claimed export `pk` into file `name`, outside any transaction: the count of
    rows is committed as it goes (at most every PROGRESS_SECONDS)."""
    export = LedgerExport.objects.select_related("requested_by").filter(pk=pk).first()
    if export is None:
        return  # deleted meanwhile
    mine = LedgerExport.objects.filter(pk=pk, status=ExportStatus.BUILDING, file=name)
    user = export.requested_by
    path = _path(name)
    partial = path.with_name(path.name + ".part")
    last = [timezone.now()]

    def progress(n: int) -> None:
        now = timezone.now()
        if (now - last[0]).total_seconds() < PROGRESS_SECONDS:
            return
        last[0] = now
        if not mine.update(rows_done=n):
            raise _ClaimLost

    try:
        rows = selectors.ledger(user, query_filter(export.query)).filter(
            reported_at__lte=export.requested_at
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as out:
            n = ledger_write(
                out,
                rows,
                title=title_for(timezone.localdate(export.requested_at)),
                unit_name=unit_names(user),
                by=user.name,
                day=timezone.localdate(export.requested_at),
                progress=progress,
            )
        partial.replace(path)
        with transaction.atomic():
            if not mine.update(
                status=ExportStatus.READY,
                rows_done=n,
                rows_total=n,
                finished_at=timezone.now(),
                error="",
            ):
                raise _ClaimLost
            _tell(export, _("Hazard ledger export ready: %(n)d rows") % {"n": n})
    except _ClaimLost:
        log.info("export %s: claim %s lost; another try builds it", pk, name)
        _remove(partial, path)
    except Exception as exc:
        log.exception("export %s failed", pk)
        _remove(partial, path)
        _fail(export, name, _("Building the file failed: %(error)s") % {"error": exc})


def _tell(export: LedgerExport, title: str) -> None:
    notification_create(
        event=EVENT,
        title=title,
        body=_("Your export of the hazard ledger, asked for at %(at)s.")
        % {"at": f"{timezone.localtime(export.requested_at):%Y-%m-%d %H:%M}"},
        link=reverse("hazards:export", kwargs={"pk": export.pk}),
        params={"export": export.pk},
        people=[export.requested_by],
        inbox_only=True,
    )


@transaction.atomic
def _fail(export: LedgerExport, name: str, reason: str) -> None:
    if LedgerExport.objects.filter(pk=export.pk, status=ExportStatus.BUILDING, file=name).update(
        status=ExportStatus.FAILED, file="", finished_at=timezone.now(), error=reason[:500]
    ):
        _tell(export, _("Hazard ledger export failed"))


def export_check(timer: Timer) -> None:
    """CHECK, in the worker's transaction: is the build still counting? If its count has
    not moved since the last look, its worker died: queue it again, or fail it."""
    pk = int(timer.payload.get("export", 0))
    attempt = int(timer.payload.get("attempt", 1))
    name = str(timer.payload.get("file", ""))
    seen = int(timer.payload.get("seen", 0))
    export = LedgerExport.objects.filter(pk=pk, status=ExportStatus.BUILDING, file=name).first()
    if export is None:
        return  # finished, failed, or another try has it
    if export.rows_done != seen:
        _schedule_check(
            pk, attempt=attempt, name=name, seen=export.rows_done, n=int(timer.payload["n"]) + 1
        )
        return
    path = _path(name)
    _remove(path.with_name(path.name + ".part"))
    stuck = LedgerExport.objects.filter(
        pk=pk, status=ExportStatus.BUILDING, file=name, rows_done=seen
    )
    if attempt < MAX_TRIES:
        if stuck.update(
            status=ExportStatus.QUEUED,
            file="",
            rows_done=0,
            error=_("The worker stopped while building it (try %(n)d); trying again.")
            % {"n": attempt},
        ):
            _schedule_build(pk, attempt=attempt + 1)
    else:
        _fail(
            export,
            name,
            _("The worker stopped while building it, %(n)d times; not tried again.")
            % {"n": attempt},
        )


def schedule_purge(after: dt.date) -> Timer:
    day = after + dt.timedelta(days=1)
    return timer_schedule(
        kind=PURGE,
        key=f"hazards:export-purge:{day.isoformat()}",
        due_at=timezone.make_aware(dt.datetime.combine(day, PURGE_AT)),
    )


def purge_ensure() -> None:
    """A worker starting makes sure the daily purge is scheduled."""
    if not Timer.objects.filter(kind=PURGE, fired_at__isnull=True).exists():
        schedule_purge(timezone.localdate() - dt.timedelta(days=1))


def exports_purge(timer: Timer | None = None) -> int:
    """PURGE: exports older than KEEP go with their files; one that was never built within
    NEVER_BUILT is failed (its timers gave up). Returns the number deleted."""
    now = timezone.now()
    for export in LedgerExport.objects.filter(
        status__in=UNFINISHED, requested_at__lt=now - NEVER_BUILT
    ).select_related("requested_by"):
        if LedgerExport.objects.filter(pk=export.pk, status=export.status).update(
            status=ExportStatus.FAILED,
            finished_at=now,
            error=_("Not built within a day; ask again."),
        ):
            _tell(export, _("Hazard ledger export failed"))
    old = LedgerExport.objects.filter(requested_at__lt=now - KEEP)
    names = [n for n in old.values_list("file", flat=True) if n]
    deleted, _count = old.delete()
    # Files go after the rows are gone: a download racing this finds no row, not half a file.
    transaction.on_commit(lambda: [default_storage.delete(n) for n in names])
    if timer is not None:
        schedule_purge(timezone.localdate())
    return deleted
