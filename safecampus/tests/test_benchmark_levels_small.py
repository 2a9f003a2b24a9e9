"""bench/levels_scale.py at its small size (--small: 117 units, seconds), on PostgreSQL only
(the benchmark refuses SQLite), in a database of its own, as test_benchmarks_small.py runs
the others: a benchmark that breaks fails the suite. Its figures are printed, not asserted
(two shared cores are too noisy for timings); its checks are."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from .test_benchmarks_small import (  # noqa: F401
    BENCH,
    NUMBER,
    ON_POSTGRES,
    _env,
    _run,
    bench_database,
)

FIGURES = [
    rf"database: postgresql \d+; units: {NUMBER}; people: {NUMBER}; on duty now: {NUMBER}",
    rf"worker: queued → sent, recorded\s+{NUMBER}\s+{NUMBER}",
    rf"order: level 1 over the province, {NUMBER} units reached",
    rf"\(a\) order_issue, province \(INSERT … SELECT\)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x",
    rf"every unit's level at once, one query: {NUMBER} ms: level 1: {NUMBER} \(all level 1\)",
    r"selectors.effective_level, a sample: (\d+) of \1 at level 1",
    rf"\(b\) GET / as a principal, with the banner \(without\)\s+{NUMBER}\s+{NUMBER}",
    rf"the context processor \(SQL by hand\)\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x  < 10",
    rf"\(c\) order_fan_out: {NUMBER} messages to the outbox\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x",
    rf"the worker: queued → sent, recorded\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x",
    r"checked: recipients ([\d,]+) \(SQL: \1\); inbox \1, SMS sent \1, not sent 0; "
    r"at the gateway: missed 0, doubled 0",
    rf"\(d\) order page, {NUMBER} of {NUMBER} pending\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x  < 100",
    rf"API pending, first page\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x  < 100",
    rf"API pending, after= a page in the middle\s+{NUMBER}\s+{NUMBER}",
    r"targets: (met|NOT met)",
]


@pytest.mark.skipif(not ON_POSTGRES, reason="a PostgreSQL-only benchmark")
def test_levels_scale_runs_small(
    bench_database: Callable[[], str],  # noqa: F811 (the fixture, imported above)
    tmp_path: Path,
) -> None:
    result = _run([str(BENCH / "levels_scale.py"), "--small"], _env(tmp_path, bench_database()))
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"bench/levels_scale.py --small exited:\n{output[-4000:]}"
    for figure in FIGURES:
        assert re.search(figure, result.stdout), f"no {figure!r} in:\n{output[-4000:]}"
