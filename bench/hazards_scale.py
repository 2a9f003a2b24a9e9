"""Hazards at district scale: the ledger list at any depth, and a large Excel export.

Full size on PostgreSQL only. Point DATABASE_URL at an empty database:

    DATABASE_URL=postgres://postgres@127.0.0.1:54351/hazards .venv/bin/python bench/hazards_scale.py

(--small: 81 units and 2,000 hazards, seconds, on SQLite or PostgreSQL; the test suite runs
it on both.)

Builds 20,111 units (1 → 10 → 10 → 10 → 19 schools each, as bench/reports_scale.py) and
1,000,000 hazards spread over the 19,000 schools, one every 30 seconds back from now (about a
year), 40% closed, the rest open, being fixed, submitted or referred, twelve categories —
written in SQL on PostgreSQL (INSERT … SELECT over generate_series, indexes dropped during the
load). Then, as a safety-office member of the root (the whole district), each a median of
several runs:

(a) the ledger list, newest first, filtered (state=all, state=open, state=open&category=fire),
    at its first page and at a deep page (99% of the way down: after 990,000 rows of the
    whole ledger), through GET /api/v1/hazards (keyset: `after` = the cursor of the row
    before) and through the selector (selectors.ledger + page_after), beside the same
    query with OFFSET at the same depth (the baseline: what paging by offset would cost).
    Target: every keyset page under 100 ms. When no index on hazards_hazard (reported_at, id)
    exists, the list is measured without, then with one the bench creates (and says so);
(b) an export through the worker's own path (the BUILD timer fired by Worker.tick(), the
    claim, the build on its thread) of a district (~10,000 rows) and of a city (~100,000
    rows), each in a fresh child process: its time and its peak memory (the process's
    ru_maxrss, and Python's own peak under tracemalloc in a second run), beside openpyxl
    writing the same number of plain rows in write-only mode (the time's baseline) and in
    an ordinary workbook (memory that grows with the rows). Flat: the 100k/10k ratio of the
    export's peak near 1.
"""

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="safecampus-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safecampus.settings")
os.environ.setdefault("SAFECAMPUS_TESTING", "0")  # persistent connections, as deployed
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from safecampus.audit.services import acting_as  # noqa: E402
from safecampus.hazards import export, selectors  # noqa: E402
from safecampus.hazards.models import Category, Hazard, LedgerExport  # noqa: E402
from safecampus.orgs.models import Membership, Person, Role, Unit  # noqa: E402
from safecampus.orgs.services import token_issue  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from reports_scale import (  # noqa: E402
    FANOUT,
    SMALL_FANOUT,
    _drop_indexes,
    _execute,
    _fetch,
    build_tree,
    median_ms,
)

HAZARDS = 1_000_000
SMALL_HAZARDS = 2_000
DEEP = 0.99  # how far down the deep page is
PAGE = 50
STATUSES = ["closed"] * 4 + ["open", "open", "fixing", "submitted", "referred", "open"]
ORDER_INDEX = "hazard_reported_at_id"  # the index the list needs (bench creates it if absent)

# Every column the load writes; a NOT NULL column added later gets a neutral value.
LOAD_SQL = """
INSERT INTO hazards_hazard ({columns})
SELECT {values}
FROM generate_series(1, %(n)s) g
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids, count(*) AS n
            FROM orgs_unit WHERE kind = 'school') s
CROSS JOIN LATERAL (SELECT %(t0)s::timestamptz - g * interval '30 seconds' AS at,
                           (ARRAY[{statuses}])[1 + g %% 10] AS status) r
"""
LOAD_VALUES = {
    "unit_id": "s.ids[1 + (g %% s.n)]",
    "place": "'教学楼' || (g %% 7)",
    "category": "(ARRAY[{categories}])[1 + g %% 12]",
    "description": "'隐患描述 ' || g",
    "severity": "CASE WHEN g %% 17 = 0 THEN 'major' ELSE 'general' END",
    "responsible_id": "%(p)s",
    "deadline": "(r.at AT TIME ZONE 'Asia/Shanghai')::date + 30",
    "interim": "CASE WHEN g %% 3 = 0 THEN '临时封闭' ELSE '' END",
    "status": "r.status",
    "reported_by_id": "%(p)s",
    "reported_at": "r.at",
    "fix_note": "CASE WHEN r.status IN ('closed', 'submitted') THEN '已整改' ELSE '' END",
    "fixed_by_id": "CASE WHEN r.status IN ('closed', 'submitted') THEN %(p)s END",
    "fixed_at": "CASE WHEN r.status IN ('closed', 'submitted') THEN r.at + interval '3 days' END",
    "verified_by_id": "CASE WHEN r.status = 'closed' THEN %(p)s END",
    "closed_at": "CASE WHEN r.status = 'closed' THEN r.at + interval '5 days' END",
    "referred_to": "CASE WHEN r.status = 'referred' THEN '交警大队' ELSE '' END",
    "referral_answer": "''",
}
NEUTRAL = {"boolean": "false", "integer": "0", "bigint": "0", "smallint": "0", "jsonb": "'{}'"}


def build_hazards(n: int, person: Person) -> None:
    """n hazards over the schools, one every 30 s back from now."""
    categories = ", ".join(f"'{c}'" for c in Category.values[:12])
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    values = {k: v.replace("{categories}", categories) for k, v in LOAD_VALUES.items()}
    for name, kind in _fetch(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'hazards_hazard' AND is_nullable = 'NO' AND column_default IS NULL"
    ):
        if name != "id" and name not in values:
            values[name] = NEUTRAL.get(kind, "''")
    restore = _drop_indexes("hazards_hazard")
    _execute("SET session_replication_role = replica")  # no per-row FK checks on the load
    _execute(
        LOAD_SQL.format(
            columns=", ".join(values), values=", ".join(values.values()), statuses=statuses
        ),
        {"n": n, "t0": timezone.now(), "p": person.pk},
    )
    _execute("SET session_replication_role = DEFAULT")
    for statement in restore:
        _execute(statement)
    _execute("VACUUM ANALYZE hazards_hazard")
    _execute("ANALYZE orgs_unit")


def build_hazards_orm(n: int, person: Person) -> None:
    """The same rows through the ORM (--small on SQLite)."""
    schools = list(Unit.objects.filter(kind="school").order_by("pk").values_list("pk", flat=True))
    t0 = timezone.now()
    rows = []
    for g in range(1, n + 1):
        at = t0 - dt.timedelta(seconds=30 * g)
        status = STATUSES[g % 10]
        done = status in ("closed", "submitted")
        rows.append(
            Hazard(
                unit_id=schools[g % len(schools)],
                place=f"教学楼{g % 7}",
                category=Category.values[g % 12],
                description=f"隐患描述 {g}",
                severity="major" if g % 17 == 0 else "general",
                responsible=person,
                deadline=timezone.localdate(at) + dt.timedelta(days=30),
                interim="临时封闭" if g % 3 == 0 else "",
                status=status,
                reported_by=person,
                reported_at=at,
                fix_note="已整改" if done else "",
                fixed_by=person if done else None,
                fixed_at=at + dt.timedelta(days=3) if done else None,
                verified_by=person if status == "closed" else None,
                closed_at=at + dt.timedelta(days=5) if status == "closed" else None,
                referred_to="交警大队" if status == "referred" else "",
            )
        )
    Hazard.objects.bulk_create(rows, batch_size=1000)


def has_order_index() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: not measured at scale
    return any(
        "(reported_at" in d.replace('"', "") and "id" in d.split("(reported_at", 1)[-1]
        for (d,) in _fetch("SELECT indexdef FROM pg_indexes WHERE tablename = 'hazards_hazard'")
    )


# --- (a) the ledger list -----------------------------------------------------------------------


def measure_list(runs: int) -> list[tuple[str, list[float]]]:
    """The district's safety office (everything), then one school's principal (~50 rows of
    the million: the planner must not walk the whole ledger to find them)."""
    office = Person.objects.get(username="bench")
    principal = Person.objects.get(username="bench.school")
    lines = []
    for who, label, params in (
        (office, "state=all", {"state": "all"}),
        (office, "state=open", {"state": "open"}),
        (office, "state=open&category=fire", {"state": "open", "category": "fire"}),
        (principal, "one school, state=all", {"state": "all"}),
    ):
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(person=who)}")
        lines += _measure_filter(client, who, label, params, runs)
    return lines


def _measure_filter(
    client: Client, person: Person, label: str, params: dict[str, str], runs: int
) -> list[tuple[str, list[float]]]:
    rows = selectors.ledger(
        person, selectors.LedgerFilter(state=params["state"], category=params.get("category", ""))
    )
    total = rows.count()
    depth = int(total * DEEP)
    cursor = selectors.encode_cursor(rows[depth - 1]) if depth else ""
    # The deep page by key is the page by offset (same rows, same order).
    by_key, _next = selectors.page_after(rows, cursor, PAGE)
    assert [h.pk for h in by_key] == [h.pk for h in rows[depth : depth + PAGE]]
    lines = []
    for where, after, at in (("first page", "", 0), (f"after {depth:,}", cursor, depth)):
        size = min(PAGE, total - at)

        def api(after: str = after, size: int = size) -> None:
            response = client.get("/api/v1/hazards", {**params, "after": after, "size": PAGE})
            assert response.status_code == 200, response.content[:300]
            assert len(response.json()["items"]) == size, "a short page"

        def keyset(after: str = after, size: int = size) -> None:
            assert len(selectors.page_after(rows, after, PAGE)[0]) == size

        def offset(at: int = at, size: int = size) -> None:
            assert len(list(rows[at : at + PAGE])) == size

        lines.append(
            (
                f"{label} ({total:,}), {where}",
                [median_ms(api, runs), median_ms(keyset, runs), median_ms(offset, runs)],
            )
        )
    return lines


def print_list(title: str, lines: list[tuple[str, list[float]]]) -> float:
    print(title)
    print(f"{'':52}{'API ms':>9}{'keyset':>9}{'OFFSET':>9}{'ratio':>8}")
    for label, (api, keyset, offset) in lines:
        print(f"  {label:50}{api:9.1f}{keyset:9.1f}{offset:9.1f}{offset / keyset:7.1f}x")
    return max(api for _label, (api, _k, _o) in lines)


# --- (b) the export, each in a child process ---------------------------------------------------


def child(args: list[str]) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 (this script, with this interpreter)
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"bench child {args} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _peak() -> dict[str, float]:
    return {"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_export(pk: int, trace: bool) -> None:
    """In a fresh process: fire the export's BUILD timer as the worker does, wait for the
    build's thread."""
    from safecampus.worker.loop import Worker

    worker = Worker(threads=1)
    # Connected, the URLs (and every module they import) loaded: not counted.
    LedgerExport.objects.get(pk=pk)
    reverse("hazards:ledger")
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    worker.tick()
    export.wait_for_builds()
    seconds = time.perf_counter() - start
    worker.pool.shutdown()
    job = LedgerExport.objects.get(pk=pk)
    assert job.status == "ready", (job.status, job.error)
    out = {"seconds": seconds, "rows": job.rows_done, **_peak()}
    if trace:
        out["py_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    print(json.dumps(out))


def child_plain(n: int, normal: bool) -> None:
    """openpyxl writing n plain rows of 13 text cells (no database)."""
    from openpyxl import Workbook

    start = time.perf_counter()
    wb = Workbook(write_only=not normal)
    ws = wb.active if normal else wb.create_sheet("台账")
    for g in range(n):
        ws.append([g, "单位", "消防", "教学楼", f"隐患描述 {g}", "一般", "张三", "2026-01-01",
                   "临时封闭", "已整改", "李四", "2026-01-05", ""])  # fmt: skip
    with tempfile.TemporaryFile() as out:
        wb.save(out)
    print(json.dumps({"seconds": time.perf_counter() - start, "rows": n, **_peak()}))


def measure_export(person: Person, units: dict[str, Unit]) -> list[tuple[str, dict[str, Any]]]:
    results = []
    for label, unit in units.items():
        figures: dict[str, Any] = {}
        for trace in (False, True):
            job = export.ledger_export_request(
                by=person, f=selectors.LedgerFilter(under=unit, state="all")
            )
            figures |= child(["--child-export", str(job.pk), *(["--trace"] if trace else [])])
            if not trace:
                figures["seconds_untraced"] = figures["seconds"]
        figures["seconds"] = figures.pop("seconds_untraced")
        results.append((f"export, {label}", figures))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="81 units, 2,000 hazards")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--again", action="store_true", help="measure an earlier run's data")
    parser.add_argument("--child-export", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-plain", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--normal", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_export:
        return child_export(args.child_export, args.trace)
    if args.child_plain:
        return child_plain(args.child_plain, args.normal)
    if args.small:
        args.runs = 3
    if connection.vendor != "postgresql" and not args.small:
        sys.exit("bench: full size on PostgreSQL only; set DATABASE_URL (or use --small)")
    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    if args.again:
        person = Person.objects.filter(username="bench").first()
        if person is None:
            sys.exit("bench: --again needs a database an earlier run of this bench built")
    else:
        if Unit.objects.exists():
            sys.exit("bench: the database is not empty; point DATABASE_URL at an empty one")
        with acting_as("bench"):
            build_tree(SMALL_FANOUT if args.small else FANOUT)
            person = Person.objects.create(username="bench", name="安全科")
            root = Unit.objects.get(depth=1)
            Membership.objects.create(person=person, unit=root, role=Role.SAFETY_OFFICE)
        n = SMALL_HAZARDS if args.small else HAZARDS
        if connection.vendor == "postgresql":
            build_hazards(n, person)
        else:
            build_hazards_orm(n, person)
    if not Person.objects.filter(username="bench.school").exists():
        school = Unit.objects.filter(kind="school").order_by("path")[7]
        principal = Person.objects.create(username="bench.school", name="校长")
        Membership.objects.create(person=principal, unit=school, role=Role.PRINCIPAL)
    built = time.perf_counter() - began
    version = f" {connection.pg_version // 10000}" if connection.vendor == "postgresql" else ""
    print(
        f"database: {connection.vendor}{version}; units: {Unit.objects.count():,}; "
        f"hazards: {Hazard.objects.count():,}; built in {built:.0f} s"
    )
    indexed = has_order_index()
    slowest = print_list(
        "(a) the ledger list, 50 a page"
        + ("" if indexed else " — no index on (reported_at, id): as migrated"),
        measure_list(args.runs),
    )
    if not indexed:
        _execute(f"CREATE INDEX {ORDER_INDEX} ON hazards_hazard (reported_at, id)")
        _execute("ANALYZE hazards_hazard")
        slowest = print_list(
            f"    again with CREATE INDEX {ORDER_INDEX} ON hazards_hazard (reported_at, id)",
            measure_list(args.runs),
        )
    print(f"keyset pages under 100 ms: {'yes' if slowest < 100 else 'NO'} (slowest {slowest:.1f})")

    # A district (~10,000 rows at full size), then a city (~100,000).
    district = Unit.objects.filter(depth=3).order_by("path").first()
    city = Unit.objects.filter(depth=2).order_by("path").first()
    exports = measure_export(person, {"a district": district, "a city": city})
    sizes = [str(f["rows"]) for _label, f in exports]
    write_only = [child(["--child-plain", n]) for n in sizes]
    ordinary = [child(["--child-plain", n, "--normal"]) for n in sizes]
    print("(b) the ledger in Excel, built through the worker's path (each in a new process)")
    print(f"{'':52}{'rows':>9}{'s':>8}{'rows/s':>9}{'RSS MB':>9}{'py MB':>8}")
    for label, f in [
        *exports,
        *[("openpyxl write-only, plain rows (baseline)", f) for f in write_only],
        *[("openpyxl ordinary workbook, plain rows", f) for f in ordinary],
    ]:
        py = f"{f['py_mb']:8.1f}" if "py_mb" in f else f"{'':8}"
        print(
            f"  {label:50}{f['rows']:9,}{f['seconds']:8.2f}{f['rows'] / f['seconds']:9,.0f}"
            f"{f['rss_mb']:9.1f}{py}"
        )
    small, large = exports[0][1], exports[1][1]
    print(
        f"peak memory, {large['rows']:,} rows against {small['rows']:,}: export RSS "
        f"{large['rss_mb'] / small['rss_mb']:.2f}x, Python {large['py_mb'] / small['py_mb']:.2f}x; "
        f"ordinary workbook RSS {ordinary[1]['rss_mb'] / ordinary[0]['rss_mb']:.2f}x"
    )
    print(
        f"time, {large['rows']:,} rows: export {large['seconds']:.2f} s, plain write-only rows "
        f"{write_only[1]['seconds']:.2f} s: {large['seconds'] / write_only[1]['seconds']:.2f}x; "
        f"export per million rows {large['seconds'] / large['rows'] * 1e6:.0f} s"
    )
    print(f"(load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
