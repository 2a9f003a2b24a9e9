"""Subtree queries at province scale: "every unit under X" at 20,000 units is one query.

Builds a throwaway database (SQLite in a temp dir, or the DATABASE_URL you
give it: use an empty database) with a five-level tree of ~20,200 units,
then times, for a user at each level:

- orgs.access.units_visible(user): the ORM query every page and export uses;
- the same answer in hand-written SQL (an index range on path), the baseline;
- walking the tree level by level (one query per level per parent), what a
  parent_id table without a materialized path would do.

"queries" counts the whole call: one to read the user's memberships (cached
for the rest of a request) and the one subtree query.

Prints medians in milliseconds and the ratio to the baseline measured in the
same run. Run: .venv/bin/python bench/orgs_subtree.py [--small]
(--small: ~130 units, a few seconds; the test suite runs it so the benchmark keeps working).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="safecampus-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safecampus.settings")
os.environ.setdefault("SAFECAMPUS_TESTING", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from safecampus.orgs import access  # noqa: E402
from safecampus.orgs.models import Membership, Person, Role, Unit, UnitKind  # noqa: E402

STEP = Unit.steplen
FANOUT = [1, 20, 10, 100]  # root → 20 city bureaus → 10 groups each → 100 schools each
SMALL_FANOUT = [1, 3, 4, 10]
KINDS = [UnitKind.BUREAU, UnitKind.BUREAU, UnitKind.GROUP, UnitKind.SCHOOL]


def _segment(n: int) -> str:
    return Unit._int2str(n).rjust(STEP, "0")


def build(fanout: list[int]) -> dict[int, str]:
    """Bulk-insert the tree with computed paths; returns one sample path per depth."""
    rows, level, sample = [], [""], {}
    for depth, (fan, kind) in enumerate(zip(fanout, KINDS, strict=True), start=1):
        next_level = []
        for parent in level:
            for i in range(1, fan + 1):
                path = parent + _segment(i)
                numchild = fanout[depth] if depth < len(fanout) else 0
                rows.append(
                    Unit(
                        path=path,
                        depth=depth,
                        numchild=numchild,
                        kind=kind,
                        code=f"U{len(rows):06d}",
                        name=f"单位{len(rows)}",
                    )
                )
                next_level.append(path)
        sample[depth] = next_level[len(next_level) // 2]
        level = next_level
    Unit.objects.bulk_create(rows, batch_size=2000)
    return sample


def median_ms(fn, runs: int = 15) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def walk_levels(top: Unit) -> list[int]:
    """Level by level through children: one query per parent."""
    found, frontier = [top.pk], [top]
    while frontier:
        nxt = []
        for node in frontier:
            children = list(Unit.objects.filter(path__startswith=node.path, depth=node.depth + 1))
            nxt.extend(children)
        found.extend(c.pk for c in nxt)
        frontier = nxt
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="~130 units: a few seconds")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if Unit.objects.exists():
        sys.exit("bench: the database is not empty; point DATABASE_URL at an empty one")
    sample = build(SMALL_FANOUT if args.small else FANOUT)
    total = Unit.objects.count()
    print(f"database: {connection.vendor}; units: {total}")
    print(
        f"{'user at':<14}{'units seen':>11}{'ORM ms':>9}{'SQL ms':>9}{'ratio':>7}"
        f"{'queries':>9}{'walk ms':>10}"
    )
    for depth, label in [(4, "school"), (3, "group"), (2, "city bureau"), (1, "province")]:
        top = Unit.objects.get(path=sample[depth])
        person = Person.objects.create(username=f"bench{depth}", name="bench")
        Membership.objects.create(person=person, unit=top, role=Role.SAFETY_OFFICE)

        def orm(person=person):
            access.forget(person)
            return list(access.units_visible(person).values_list("id", "code", "name"))

        def raw(top=top):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT id, code, name FROM orgs_unit WHERE path >= %s AND path < %s",
                    [top.path, top.path + "~"],
                )
                return cursor.fetchall()

        seen = len(orm())
        assert seen == len(raw()), "ORM and SQL disagree"
        with CaptureQueriesContext(connection) as ctx:
            orm()
        orm_ms, raw_ms = median_ms(orm), median_ms(raw)
        walk_ms = median_ms(lambda top=top: walk_levels(top), runs=3) if depth > 1 else float("nan")
        print(
            f"{label:<14}{seen:>11}{orm_ms:>9.2f}{raw_ms:>9.2f}{orm_ms / raw_ms:>7.2f}"
            f"{len(ctx.captured_queries):>9}{walk_ms:>10.1f}"
        )
        reset_queries()


if __name__ == "__main__":
    main()
