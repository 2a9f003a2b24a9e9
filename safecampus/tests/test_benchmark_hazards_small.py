"""bench/hazards_scale.py at its small size (--small: 81 units, 2,000 hazards, seconds), on
SQLite and on PostgreSQL, in a database of its own, as test_benchmarks_small.py runs the
others: a benchmark that breaks fails the suite."""

import re
from collections.abc import Callable
from pathlib import Path

from .test_benchmarks_small import BENCH, NUMBER, _env, _run, bench_database  # noqa: F401

FIGURES = [
    rf"database: \w+( \d+)?; units: {NUMBER}; hazards: {NUMBER}",
    rf"state=all \({NUMBER}\), first page\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x",
    rf"state=all \({NUMBER}\), after {NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x",
    rf"state=open&category=fire \({NUMBER}\), after {NUMBER}\s+{NUMBER}",
    r"keyset pages under 100 ms: (yes|NO)",
    rf"export, a district\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}",
    rf"export, a city\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}",
    rf"openpyxl write-only, plain rows \(baseline\)\s+{NUMBER}\s+{NUMBER}",
    rf"peak memory, {NUMBER} rows against {NUMBER}: export RSS {NUMBER}x, Python {NUMBER}x",
    rf"time, {NUMBER} rows: export {NUMBER} s, plain write-only rows {NUMBER} s: {NUMBER}x",
]


def test_hazards_scale_runs_small(
    bench_database: Callable[[], str],  # noqa: F811 (the fixture, imported above)
    tmp_path: Path,
) -> None:
    result = _run([str(BENCH / "hazards_scale.py"), "--small"], _env(tmp_path, bench_database()))
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"bench/hazards_scale.py --small exited:\n{output[-4000:]}"
    for figure in FIGURES:
        assert re.search(figure, result.stdout), f"no {figure!r} in:\n{output[-4000:]}"
