"""Alert levels at province scale: a level-1 order to 20,000 units, its banner, its 40,000
messages, and the issuer's "who has not confirmed".

PostgreSQL only. Point DATABASE_URL at an empty database:

    DATABASE_URL=postgres://postgres@127.0.0.1:54329/lvbench .venv/bin/python bench/levels_scale.py

(--small: 117 units, seconds; the test suite runs it on PostgreSQL.)

Builds a province as bench/duty_scale.py does (its tree and people: 1 → 20 cities → 5
districts each → 10 township groups each → 19 schools each, 20,121 units of which 20,000
groups and schools an order reaches; two people a unit, a principal who is made the unit's
head and a duty staff member), then in SQL: a roster of yesterday, today and tomorrow (three
shifts a day, the staff member on each, one unit in 97 with nobody on duty), a mobile number
and a contact preference "sms" for everyone (the SMS gateway is a local receiver: Aliyun's
API answered "OK" by a process of its own), and 1,000 past orders over scattered units plus a
level-2 order in force over one city (rows the banner's index has to step past).

Then, each a median of several runs, beside a baseline measured in the same run:

(a) services.order_issue of a level-1 order for the province root, as the bureau's safety
    office issues it (the order, its measures, one OrderUnit a unit reached, the audit
    entry), beside a plain INSERT … SELECT of the same OrderUnit rows; then EVERY unit's
    effective level, at once, in one set-based query (the strictest order in force over its
    own and its ancestors' paths, the rule of selectors.effective_level), and a sample of
    1,000 units through selectors.effective_level itself;
(b) the banner: GET / as a school's principal (django.test.Client, logged in), beside the
    same page with the alert_level context processor taken out (the baseline), and the
    context processor's own queries (its membership and selectors.effective_level for the
    school, depth 5) beside the same SQL by hand. Target: under 10 ms;
(c) the fan-out: services.order_fan_out (what the worker's timer runs): the time to write
    every message to the outbox (each unit's head and who is on duty: an inbox row and an
    SMS each), then the real worker (safecampus.worker.loop, run_in_thread, the `worker`
    command's 8 senders) until every SMS is recorded as sent, checked at the receiver (each
    delivery's key once). Beside bench/notify_fanout.py's own fan-out (10,000 webhooks;
    --small 200), run first in the same process. The worker's start-up hooks (the duty gap
    scan, shift reminders and the other periodic jobs) are not started and no timer is
    left pending: only the deliveries are measured, in both;
(d) the issuer's "who has not confirmed", half the units having confirmed every measure
    (done_at set in SQL): GET /levels/orders/<id>/ and its live part …/progress/ as the
    bureau's safety office, GET /api/v1/alert-orders/<id>/pending (first page, and a page
    in the middle by `after`), beside the same SQL by hand. Target: under 100 ms.
"""

import argparse
import contextlib
import copy
import datetime as dt
import io
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="safecampus-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safecampus.settings")
os.environ.setdefault("SAFECAMPUS_TESTING", "0")  # persistent connections, as deployed
os.environ.setdefault("HTTPS", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("NOTIFY_ALLOWED_NETWORKS", "127.0.0.0/8")
# The SMS gateway: Aliyun's API, answered by the local receiver (SMS_ENDPOINT is set to it
# once it listens).
os.environ.setdefault("SMS_PROVIDER", "aliyun")
os.environ.setdefault("SMS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("SMS_ACCESS_KEY_SECRET", "bench")
os.environ.setdefault("SMS_SIGN_NAME", "平安校园")

import django  # noqa: E402

django.setup()

import notify_fanout  # noqa: E402  (its fan-out is the baseline of (c))
from bench_common import RemoteSink, build  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from duty_scale import FANOUT, build_people, build_tree  # noqa: E402
from reports_scale import _execute, _fetch, median_ms  # noqa: E402

from safecampus.audit.services import acting_as  # noqa: E402
from safecampus.levels import context_processors, selectors, services  # noqa: E402
from safecampus.levels.models import AlertOrder, Level, OrderMeasure  # noqa: E402
from safecampus.notify.models import Delivery, DeliveryStatus, SmsTemplate  # noqa: E402
from safecampus.notify.testing import HttpSink  # noqa: E402
from safecampus.orgs.models import Membership, Person, Role, Unit, UnitKind  # noqa: E402
from safecampus.orgs.services import token_issue  # noqa: E402
from safecampus.worker.loop import run_in_thread  # noqa: E402
from safecampus.worker.models import Timer  # noqa: E402
from safecampus.worker.timers import ON_START  # noqa: E402

STEP = Unit.steplen
SMALL_FANOUT = [1, 2, 3, 3, 5]  # 117 units, 108 reached
SMS_PATH = "/sms/"
THREADS = 8  # the `worker` command's default senders (and notify_fanout's)
BATCH = 200


# --- The SMS gateway ----------------------------------------------------------------------


class SmsSink(RemoteSink):
    """bench_common's receiver in a process of its own, answering as Aliyun's SendSms does
    on success; each request is logged as (path, OutId: the delivery's key, time)."""

    @staticmethod
    def _serve(conn: Any, delays: dict[str, float]) -> None:
        from urllib.parse import parse_qs

        ok = {"Code": "OK", "Message": "OK", "BizId": "bench", "RequestId": "bench"}
        sink = HttpSink(default=(200, ok)).start()
        conn.send(sink.url)
        while (command := conn.recv()) != "stop":
            if command == "clear":
                sink.clear()
                conn.send(None)
            elif command == "count":
                conn.send(len(sink.requests))
            elif command == "records":
                conn.send(
                    [
                        (r.path, parse_qs(r.body.decode()).get("OutId", [""])[0], r.at)
                        for r in sink.requests
                    ]
                )
        sink.stop()


# --- The province ---------------------------------------------------------------------------


def build_province(fanout: list[int]) -> None:
    """duty_scale's tree and people, then heads, mobiles, preferences, rosters and past
    orders in SQL."""
    build_tree(fanout)
    build_people()  # p<unit>l: principal (made the head); p<unit>s: duty staff
    # Passwords set today: a page is not the "change your password" redirect.
    _execute("UPDATE orgs_person SET password_changed_at = now()")
    _execute(
        "UPDATE orgs_unit u SET head_id = p.id FROM orgs_person p "
        "WHERE p.username = 'p' || u.id || 'l'"
    )
    _execute(
        "UPDATE orgs_person SET mobile = '137' || lpad(id::text, 8, '0') "
        "WHERE mobile IS NULL AND username LIKE 'p%%s'"
    )
    # One external channel each: SMS (the numbers above; nobody has an email address).
    _execute(
        'INSERT INTO notify_contactpreference (person_id, "order") '
        "SELECT id, 'sms' FROM orgs_person WHERE username LIKE 'p%%'"
    )
    today = timezone.localdate()
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
        WHERE u.id %% 97 <> 0
        """,
        [today - dt.timedelta(days=1), today + dt.timedelta(days=1)],
    )
    _execute(
        """
        INSERT INTO duty_shiftmember (shift_id, unit_id, person_id, role, starts_at, ends_at)
        SELECT s.id, s.unit_id, p.id, 'leader', s.starts_at, s.ends_at
        FROM duty_shift s JOIN orgs_person p ON p.username = 'p' || s.unit_id || 's'
        """
    )
    issuer = Person.objects.get(username="bench")
    # Orders of the past year, ended (level 2, a week each, over every 20th unit), and one in
    # force: level 2 over the first city.
    _execute(
        """
        INSERT INTO levels_alertorder (unit_id, path, level, starts_at, ends_at, reason,
            issued_by_id, issued_at, units_total, messages)
        SELECT u.id, u.path, 2, now() - (u.id %% 300 + 10) * interval '1 day',
               now() - (u.id %% 300 + 3) * interval '1 day', '汛期', %s,
               now() - (u.id %% 300 + 10) * interval '1 day', 0, 0
        FROM orgs_unit u WHERE u.id %% 20 = 0
        """,
        [issuer.pk],
    )
    _execute(
        """
        INSERT INTO levels_alertorder (unit_id, path, level, starts_at, ends_at, reason,
            issued_by_id, issued_at, units_total, messages)
        SELECT u.id, u.path, 2, now() - interval '1 day', now() + interval '6 days', '考试周',
               %s, now() - interval '1 day', 0, 0
        FROM orgs_unit u WHERE u.depth = 2 ORDER BY u.path LIMIT 1
        """,
        [issuer.pk],
    )
    SmsTemplate.objects.create(event="levels.order", template_id="SMS_LEVEL", params="title,unit")
    for table in (
        "orgs_unit",
        "orgs_person",
        "orgs_membership",
        "notify_contactpreference",
        "duty_shift",
        "duty_shiftmember",
        "levels_alertorder",
    ):
        _execute(f"VACUUM ANALYZE {table}")


# --- The baselines: the same answers in SQL by hand -------------------------------------------

INSERT_UNITS_SQL = """
INSERT INTO levels_orderunit (order_id, unit_id, path, confirmed)
SELECT %(order)s, u.id, u.path, 0 FROM orgs_unit u
WHERE u.path >= %(lo)s AND u.path < %(hi)s AND u.archived_at IS NULL
  AND u.kind IN ('group', 'school', 'kindergarten')
"""

# Every unit's level: the strictest order in force over its own path and its ancestors'.
EFFECTIVE_SQL = """
SELECT coalesce(o.level, 3), count(*)
FROM orgs_unit u
LEFT JOIN LATERAL (
  SELECT min(level) AS level FROM levels_alertorder o
  WHERE o.path IN (SELECT left(u.path, n) FROM generate_series(%(step)s, length(u.path),
                                                               %(step)s) n)
    AND o.revoked_at IS NULL AND o.starts_at <= %(at)s AND o.ends_at > %(at)s
) o ON true
WHERE u.path >= %(lo)s AND u.path < %(hi)s AND u.archived_at IS NULL
GROUP BY 1 ORDER BY 1
"""

BANNER_SQL = """
SELECT m.id, u.id, u.path FROM orgs_membership m JOIN orgs_unit u ON u.id = m.unit_id
WHERE m.person_id = %(person)s AND u.archived_at IS NULL ORDER BY u.depth DESC, m.id LIMIT 1;
"""
ORDER_OVER_SQL = """
SELECT o.*, u.name FROM levels_alertorder o JOIN orgs_unit u ON u.id = o.unit_id
WHERE o.path = ANY(%(paths)s) AND o.revoked_at IS NULL AND o.starts_at <= %(at)s
  AND o.ends_at > %(at)s
ORDER BY o.level, o.starts_at DESC, o.id LIMIT 1
"""

# Each reached unit's head and whoever is on duty there now: the order's recipients.
RECIPIENTS_SQL = """
SELECT count(*) FROM (
  SELECT u.head_id FROM levels_orderunit ou JOIN orgs_unit u ON u.id = ou.unit_id
  WHERE ou.order_id = %(order)s AND u.head_id IS NOT NULL
  UNION
  SELECT m.person_id FROM levels_orderunit ou
  JOIN duty_shift s ON s.unit_id = ou.unit_id AND s.starts_at <= %(at)s AND s.ends_at > %(at)s
  JOIN duty_shiftmember m ON m.shift_id = s.id
  WHERE ou.order_id = %(order)s
) people
"""

PENDING_SQL = """
SELECT ou.unit_id, u.name, ou.path, ou.acknowledged_at, ou.confirmed, ou.chased_at
FROM levels_orderunit ou JOIN orgs_unit u ON u.id = ou.unit_id
WHERE ou.order_id = %(order)s AND ou.done_at IS NULL AND ou.path > %(after)s
ORDER BY ou.path LIMIT 100
"""
PROGRESS_SQL = """
SELECT count(*), count(acknowledged_at), count(done_at) FROM levels_orderunit
WHERE order_id = %(order)s
"""


# --- Helpers ------------------------------------------------------------------------------------


def _median_s(times: list[float]) -> float:
    return statistics.median(times)


def row(label: str, value: float, baseline: float, target: str = "") -> None:
    """One figure in ms: value, baseline, value ÷ baseline, target."""
    print(f"{label:<52}{value:10.1f}{baseline:10.1f}{value / baseline:8.2f}x  {target}".rstrip())


def delete_order(order_id: int) -> None:
    _execute("DELETE FROM levels_orderunit WHERE order_id = %s", [order_id])
    _execute("DELETE FROM levels_ordermeasure WHERE order_id = %s", [order_id])
    _execute("DELETE FROM levels_alertorder WHERE id = %s", [order_id])
    _execute("DELETE FROM worker_timer WHERE key = %s", [f"levels:fan-out:{order_id}"])
    _execute("VACUUM ANALYZE levels_orderunit")


def quiet_worker() -> None:
    """Only deliveries are measured: no periodic job starts with the worker, none pending."""
    ON_START.clear()
    Timer.objects.filter(fired_at__isnull=True).delete()


def clear_outbox() -> None:
    _execute("DELETE FROM notify_attempt")
    _execute("DELETE FROM notify_delivery")
    _execute("DELETE FROM notify_notification")
    for table in ("notify_attempt", "notify_delivery", "notify_notification"):
        _execute(f"VACUUM ANALYZE {table}")


def subtree(unit: Unit) -> dict[str, str]:
    return {"lo": unit.path, "hi": unit.path + "~"}


# --- (c)'s baseline: notify_fanout's own fan-out ------------------------------------------------


def fanout_baseline(n: int, sink: RemoteSink) -> dict[str, float]:
    """bench/notify_fanout.py's fan-out (n webhooks at `sink`, its worker settings), its
    table printed as it prints it; returns its write and delivery times (s)."""
    with acting_as("bench"):
        channels = build(n, sink.url)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        notify_fanout.fanout(channels, sink, THREADS, BATCH)
    text = out.getvalue()
    for line in text.splitlines():
        print(f"    {line}")
    write = re.search(r"outbox write \(one transaction\)\s+([\d.]+)", text)
    sent = re.search(r"worker: queued → sent, recorded\s+([\d.]+)", text)
    assert write and sent, text
    return {"write": float(write.group(1)), "deliver": float(sent.group(1))}


# --- The measures -------------------------------------------------------------------------------


def measure_issue(officer: Person, province: Unit, runs: int) -> tuple[AlertOrder, float, float]:
    """(a): order_issue, `runs` times (the last order is kept), beside INSERT … SELECT."""
    times = []
    order = None
    for i in range(runs):
        if order is not None:
            delete_order(order.pk)
        start = time.perf_counter()
        order = services.order_issue(
            by=officer,
            unit=province,
            level=Level.EXTRAORDINARY,
            starts_at=timezone.now(),
            ends_at=timezone.now() + dt.timedelta(days=7),
            reason=f"台风红色预警 {i}",
        )
        times.append(time.perf_counter() - start)
    assert order is not None
    # The bench runs the fan-out itself, timed ((c)); the worker is not to fire it meanwhile.
    Timer.objects.filter(kind=services.FAN_OUT).delete()
    base = []
    for _ in range(runs):
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "INSERT INTO levels_alertorder (unit_id, path, level, starts_at, ends_at, "
                "reason, issued_by_id, issued_at, units_total, messages) "
                "VALUES (%s, %s, 1, now(), now() + interval '7 days', 'baseline', %s, now(), "
                "0, 0) RETURNING id",
                [province.pk, province.path, officer.pk],
            )
            dummy = cursor.fetchone()[0]
            cursor.execute(INSERT_UNITS_SQL, {"order": dummy, **subtree(province)})
            cursor.execute("COMMIT")
        base.append(time.perf_counter() - start)
        delete_order(dummy)
    return order, _median_s(times) * 1000, _median_s(base) * 1000


def check_levels(
    order: AlertOrder, province: Unit
) -> tuple[dict[int, int], float, tuple[int, int], float]:
    """Every unit's level at once (one query), and 1,000 units through the selector."""
    at = timezone.now()
    start = time.perf_counter()
    levels = dict(_fetch(EFFECTIVE_SQL, {"step": STEP, "at": at, **subtree(province)}))
    set_ms = (time.perf_counter() - start) * 1000
    units = list(Unit.objects.filter(path__startswith=province.path).order_by("path"))
    sample = units[:: max(1, len(units) // 1000)][:1000]
    wrong = 0
    times = []
    for unit in sample:
        start = time.perf_counter()
        effective = selectors.effective_level(unit, at)
        times.append((time.perf_counter() - start) * 1000)
        if effective.level != Level.EXTRAORDINARY or effective.order != order:
            wrong += 1
    return levels, set_ms, (len(sample) - wrong, len(sample)), statistics.median(times)


def measure_banner(principal: Person, school: Unit, runs: int) -> dict[str, Any]:
    """(b): the home page with and without the banner, and the context processor's queries."""
    client = Client()
    client.force_login(principal)

    def page() -> str:
        response = client.get("/")
        assert response.status_code == 200, response.status_code
        return response.content.decode()

    assert 'data-testid="alert-banner"' in page(), "no banner on the principal's home page"
    with_ms = median_ms(page, runs)
    no_banner = copy.deepcopy(settings.TEMPLATES)
    options = no_banner[0]["OPTIONS"]
    options["context_processors"] = [
        p for p in options["context_processors"] if not p.endswith(".alert_level")
    ]
    with override_settings(TEMPLATES=no_banner):
        assert 'data-testid="alert-banner"' not in page()
        without_ms = median_ms(page, runs)
    at = timezone.now()
    paths = selectors.ancestor_paths(school)

    def by_hand() -> None:
        _fetch(BANNER_SQL, {"person": principal.pk})
        _fetch(ORDER_OVER_SQL, {"paths": paths, "at": at})

    with CaptureQueriesContext(connection) as queries:
        banner = context_processors._banner(principal)
    assert banner and banner.level == Level.EXTRAORDINARY, banner
    return {
        "with": with_ms,
        "without": without_ms,
        "queries": len(queries),
        "processor": median_ms(lambda: context_processors._banner(principal), runs * 10),
        "effective": median_ms(lambda: selectors.effective_level(school), runs * 10),
        "effective_sql": median_ms(
            lambda: _fetch(ORDER_OVER_SQL, {"paths": paths, "at": at}), runs * 10
        ),
        "sql": median_ms(by_hand, runs * 10),
    }


def measure_fanout(order: AlertOrder, sms: SmsSink, runs: int) -> dict[str, Any]:
    """(c): order_fan_out's write, then the real worker until every SMS is sent."""
    expected = _fetch(RECIPIENTS_SQL, {"order": order.pk, "at": timezone.now()})[0][0]
    writes, delivers = [], []
    people = 0
    for _ in range(runs):
        clear_outbox()
        AlertOrder.objects.filter(pk=order.pk).update(fanned_out_at=None, messages=0)
        sms.clear()
        start = time.perf_counter()
        with acting_as("bench"):
            people = services.order_fan_out(order_id=order.pk)
        writes.append(time.perf_counter() - start)
        assert people == expected, (people, expected)
        queued = Delivery.objects.filter(status=DeliveryStatus.QUEUED)
        start = time.perf_counter()
        _thread, _stop, join = run_in_thread(threads=THREADS, batch=BATCH, poll=0.5)
        while queued.exists():
            time.sleep(0.05)
        delivers.append(time.perf_counter() - start)
        join()
    recipients = []
    for _ in range(runs):
        start = time.perf_counter()
        services.recipients(order)
        recipients.append(time.perf_counter() - start)
    by = Counter(Delivery.objects.values_list("transport", "status"))
    keys = Counter(k for path, k, _at in sms.records() if path == SMS_PATH)
    wanted = set(Delivery.objects.filter(transport="sms").values_list("idempotency_key", flat=True))
    return {
        "people": people,
        "expected": expected,
        "inbox": by[("inbox", DeliveryStatus.SENT)],
        "sms_sent": by[("sms", DeliveryStatus.SENT)],
        "sms_other": sum(n for (t, s), n in by.items() if t == "sms" and s != DeliveryStatus.SENT),
        "missed": len(wanted - set(keys)),
        "doubled": sum(1 for n in keys.values() if n > 1),
        "write": _median_s(writes),
        "recipients": _median_s(recipients),
        "deliver": _median_s(delivers),
    }


def measure_pending(order: AlertOrder, officer: Person, runs: int) -> dict[str, float]:
    """(d): the order's page, its live part and the API's pending pages, half confirmed."""
    measures = OrderMeasure.objects.filter(order=order).count()
    _execute(
        "UPDATE levels_orderunit SET acknowledged_at = now(), done_at = now(), confirmed = %s "
        "WHERE order_id = %s AND unit_id %% 2 = 0",
        [measures, order.pk],
    )
    _execute("VACUUM ANALYZE levels_orderunit")
    client = Client()
    client.force_login(officer)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(person=officer)}")
    pending = selectors.pending_units(order, limit=10_000_000)
    middle = pending[len(pending) // 2].path

    def get(c: Client, url: str, params: dict[str, Any] | None = None) -> Any:
        response = c.get(url, params or {})
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return response

    page_url = f"/levels/orders/{order.pk}/"
    api_url = f"/api/v1/alert-orders/{order.pk}/pending"
    assert 'data-testid="pending"' in get(client, page_url).content.decode()
    first = get(api, api_url).json()
    assert len(first) == min(100, len(pending)) and first[0]["path"] == pending[0].path
    assert get(api, api_url, {"after": middle}).json()[0]["path"] > middle

    def by_hand(after: str = "", progress: bool = True) -> None:
        _fetch(PENDING_SQL, {"order": order.pk, "after": after})
        if progress:
            _fetch(PROGRESS_SQL, {"order": order.pk})

    return {
        "pending": len(pending),
        "total": order.units_total,
        "page": median_ms(lambda: get(client, page_url), runs),
        "progress": median_ms(lambda: get(client, page_url + "progress/"), runs),
        "page_sql": median_ms(by_hand, runs),
        "api": median_ms(lambda: get(api, api_url), runs),
        "api_after": median_ms(lambda: get(api, api_url, {"after": middle}), runs),
        "api_sql": median_ms(lambda: by_hand(progress=False), runs),
        "api_after_sql": median_ms(lambda: by_hand(middle, progress=False), runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--small", action="store_true", help="117 units: seconds")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("bench: PostgreSQL only; set DATABASE_URL to an empty PostgreSQL database")
    runs = 3 if args.small else args.runs
    issue_runs = 3 if args.small else 5
    fanout_runs = 3
    baseline_n = 200 if args.small else 10_000

    # The receivers fork before any database connection exists.
    sms, hooks = SmsSink(), RemoteSink()
    settings.SMS_ENDPOINT = sms.url + SMS_PATH
    try:
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)  # pages, as deployed
        if Unit.objects.exists():
            sys.exit("bench: the database is not empty; point DATABASE_URL at an empty one")
        began = time.perf_counter()
        with acting_as("bench"):
            officer = Person.objects.create(username="bench", name="省教育厅安全处")
            build_province(SMALL_FANOUT if args.small else FANOUT)
            province = Unit.objects.get(depth=1, code="U000000")
            Membership.objects.create(person=officer, unit=province, role=Role.SAFETY_OFFICE)
        built = time.perf_counter() - began
        units = Unit.objects.filter(path__startswith=province.path)
        school = units.filter(kind=UnitKind.SCHOOL).order_by("path")[3]
        principal = Person.objects.get(username=f"p{school.pk}l")
        on_duty = _fetch(
            "SELECT count(DISTINCT m.person_id) FROM duty_shiftmember m "
            "WHERE m.starts_at <= now() AND m.ends_at > now()"
        )[0][0]
        print(
            f"\ndatabase: {connection.vendor} {connection.pg_version // 10000}; "
            f"units: {units.count():,}; people: {Person.objects.count():,}; on duty now: "
            f"{on_duty:,}; built in {built:.0f} s"
        )
        quiet_worker()
        print(f"\n(c)'s baseline, bench/notify_fanout.py's fan-out: {baseline_n:,} webhooks")
        base = fanout_baseline(baseline_n, hooks)
        clear_outbox()

        with acting_as("bench"):
            order, issue_ms, insert_ms = measure_issue(officer, province, issue_runs)
        levels, set_ms, right, sample_ms = check_levels(order, province)
        banner = measure_banner(principal, school, runs)
        with acting_as("bench"):
            quiet_worker()
            fan = measure_fanout(order, sms, fanout_runs)
        pend = measure_pending(order, officer, runs)
    finally:
        sms.stop()
        hooks.stop()

    n = fan["people"]
    print(f"\norder: level 1 over the province, {order.units_total:,} units reached")
    print(f"{'':52}{'ms':>10}{'baseline':>10}{'ratio':>9}  target")
    row("(a) order_issue, province (INSERT … SELECT)", issue_ms, insert_ms)
    print(
        f"    every unit's level at once, one query: {set_ms:.1f} ms: "
        + ", ".join(f"level {k}: {v:,}" for k, v in levels.items())
        + f" ({'all level 1' if set(levels) == {1} else 'NOT all level 1'})"
    )
    print(
        f"    selectors.effective_level, a sample: {right[0]:,} of {right[1]:,} at level 1: "
        f"{sample_ms:.2f} ms each (median)"
    )
    row("(b) GET / as a principal, with the banner (without)", banner["with"], banner["without"])
    print(f"    the context processor's queries: {banner['queries']}")
    row("    the context processor (SQL by hand)", banner["processor"], banner["sql"], "< 10")
    row(
        "    selectors.effective_level, depth 5 (SQL)",
        banner["effective"],
        banner["effective_sql"],
        "< 10",
    )
    base_rate = baseline_n / base["deliver"]
    print(f"{'':52}{'s':>10}{'msg/s':>10}{'÷ base':>9}")
    for label, secs, base_secs in (
        (f"(c) order_fan_out: {n:,} messages to the outbox", fan["write"], base["write"]),
        ("    the worker: queued → sent, recorded", fan["deliver"], base["deliver"]),
        (
            "    end to end (write + deliver)",
            fan["write"] + fan["deliver"],
            base["write"] + base["deliver"],
        ),
    ):
        rate, brate = n / secs, baseline_n / base_secs
        print(f"{label:<52}{secs:10.2f}{rate:10.0f}{rate / brate:8.2f}x")
    print(f"    of the write, services.recipients (who): {fan['recipients']:.2f} s")
    print(
        f"    baseline, notify_fanout ({baseline_n:,} webhooks): write {base['write']:.2f} s "
        f"({baseline_n / base['write']:.0f}/s), worker {base['deliver']:.2f} s ({base_rate:.0f}/s)"
    )
    print(
        f"checked: recipients {n:,} (SQL: {fan['expected']:,}); inbox {fan['inbox']:,}, "
        f"SMS sent {fan['sms_sent']:,}, not sent {fan['sms_other']:,}; at the gateway: "
        f"missed {fan['missed']}, doubled {fan['doubled']}"
    )
    print(f"{'':52}{'ms':>10}{'SQL ms':>10}{'ratio':>9}  target")
    row(
        f"(d) order page, {pend['pending']:,} of {pend['total']:,} pending",
        pend["page"],
        pend["page_sql"],
        "< 100",
    )
    row("    its live part (…/progress/)", pend["progress"], pend["page_sql"], "< 100")
    row("    API pending, first page", pend["api"], pend["api_sql"], "< 100")
    row(
        "    API pending, after= a page in the middle",
        pend["api_after"],
        pend["api_after_sql"],
        "< 100",
    )
    verdict = (
        set(levels) == {1}
        and right[0] == right[1]
        and banner["processor"] < 10
        and max(pend["page"], pend["progress"], pend["api"], pend["api_after"]) < 100
        and fan["sms_sent"] == n
        and not fan["missed"]
        and not fan["doubled"]
    )
    print(f"targets: {'met' if verdict else 'NOT met'} (load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
