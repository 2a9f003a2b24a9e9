"""PostgreSQL, outside a transaction (the API's case): a submission reads the day's row
without a lock and writes in one statement that checks the row is still as read
(reports/pgsql.py). Whatever lands in between — the other tap of a double tap, the
deadline — the result is the one a locked submission would give."""

import datetime as dt
import threading
from collections import Counter
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safecampus.audit.models import AuditEntry
from safecampus.audit.services import audit_verify
from safecampus.orgs.models import Unit, UnitKind
from safecampus.reports import services
from safecampus.reports.models import DailyReport, Level, ReportRollup, ReportStatus, Status
from safecampus.test import Personas, TransactionalTestCase, make_unit

from .test_report_services import DAY, at, travel

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the unlocked path is PostgreSQL's"
)


class UnlockedSubmitTest(Personas, TransactionalTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.build_district()
        with travel(at(DAY, 8)):
            self.sched = services.schedule_create(
                by=self.officer, root=self.bureau, name="日报", starts_on=DAY
            )
            services.day_open(schedule=self.sched, day=DAY)

    def submit(self, hour: int, minute: int = 0, **kwargs) -> DailyReport:
        kwargs.setdefault("zero", True)
        with travel(at(DAY, hour, minute)):
            return services.report_submit(by=self.officer, unit=self.school_a, day=DAY, **kwargs)

    def row(self) -> ReportStatus:
        return ReportStatus.objects.get(unit=self.school_a, date=DAY)

    def assert_counted_once(self) -> None:
        statuses = Counter(ReportStatus.objects.filter(date=DAY).values_list("status", flat=True))
        top = ReportRollup.objects.get(unit=self.bureau, date=DAY)
        self.assertEqual({s: getattr(top, s) for s in statuses}, dict(statuses))
        self.assertTrue(audit_verify().ok)

    def racing(self, in_between):
        """Run `in_between` once, after the submission has read and decided everything
        and just before it writes (when it builds its audit entry)."""
        real = services.audit_pending
        done: list[bool] = []

        def pending(**kwargs):
            if not done:
                done.append(True)
                in_between()
            return real(**kwargs)

        return mock.patch.object(services, "audit_pending", side_effect=pending)

    def test_one_read_and_one_write_without_a_transaction(self) -> None:
        with CaptureQueriesContext(connection) as ctx:
            report = self.submit(9)
        statements = [q["sql"] for q in ctx.captured_queries]
        self.assertEqual(len(statements), 2, statements)
        self.assertIn("FROM reports_reportstatus", statements[0])
        self.assertNotIn("FOR UPDATE", statements[0])
        self.assertIn("safecampus_report_append", statements[1])
        self.assertEqual(self.row().report_id, report.pk)
        self.assertEqual(self.row().status, Status.ON_TIME)
        entry = AuditEntry.objects.get(seq=report.audit_seq)
        self.assertEqual((entry.hash, entry.action), (report.audit_hash, "report"))
        self.assert_counted_once()

    def test_the_other_tap_lands_between_read_and_write(self) -> None:
        other: list[DailyReport] = []
        with self.racing(lambda: other.append(self.submit(9))):
            report = self.submit(9)
        self.assertEqual(report.pk, other[0].pk)  # the second tap answers with the first
        self.assertTrue(getattr(report, "repeated", False))
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)
        self.assertEqual(AuditEntry.objects.filter(action="report").count(), 1)
        self.assert_counted_once()

    def test_a_correction_lands_between_read_and_write(self) -> None:
        first = self.submit(9)
        items = [{"what": "门卫室漏雨", "measures": "已报修"}]
        with self.racing(lambda: self.submit(10, zero=False, items=items, reason="补报漏雨")):
            # A different correction, decided before the first correction landed:
            # it becomes version 3, not a second version 2.
            third = self.submit(10, 5, zero=True, reason="已修好，改回零报告")
        versions = list(
            DailyReport.objects.filter(unit=self.school_a)
            .order_by("version")
            .values_list("version", "zero")
        )
        self.assertEqual(versions, [(1, True), (2, False), (3, True)])
        self.assertEqual(third.version, 3)
        self.assertEqual(self.row().report_id, third.pk)
        self.assertEqual(self.row().submitted_at, first.submitted_at)  # still the first's
        self.assert_counted_once()

    def test_the_deadline_passes_between_read_and_write(self) -> None:
        def deadline() -> None:
            with travel(at(DAY, 13, 31)):
                services.level_due(schedule=self.sched, day=DAY, level=Level.SCHOOL)

        self.assertEqual(self.row().status, Status.NOT_DUE)
        with self.racing(deadline):
            report = self.submit(13, 31)  # read at 13:31 as not due: the deadline wins
        self.assertEqual(self.row().status, Status.LATE)
        self.assertEqual(report.late_seconds, 60)
        top = ReportRollup.objects.get(unit=self.bureau, date=DAY)
        self.assertEqual((top.late, top.missing), (1, 1))  # school A late, school B missing
        self.assert_counted_once()

    def test_two_taps_at_once_store_one_report(self) -> None:
        results: list[DailyReport] = []
        errors: list[BaseException] = []
        start = threading.Barrier(2)

        def tap() -> None:
            try:
                start.wait(timeout=10)
                results.append(self.submit(9))
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                connections.close_all()

        for _round in range(5):
            threads = [threading.Thread(target=tap) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 10)
        self.assertEqual({r.pk for r in results}, {results[0].pk})
        self.assertEqual(sum(not getattr(r, "repeated", False) for r in results), 1)
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)
        self.assert_counted_once()

    def api(self) -> Client:
        from safecampus.orgs.services import token_issue

        return Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(person=self.officer)}")

    def test_a_first_report_through_the_api_is_one_statement(self) -> None:
        client = self.api()
        body = {"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True}
        client.post("/api/v1/daily-reports", body, content_type="application/json")  # warm
        body["unit"] = self.school_b.pk
        with travel(at(DAY, 9)), CaptureQueriesContext(connection) as ctx:
            response = client.post("/api/v1/daily-reports", body, content_type="application/json")
        self.assertEqual(response.status_code, 201, response.content)
        statements = [q["sql"] for q in ctx.captured_queries]
        # Token, right, decision and writes in one (reports/pgsql.py).
        self.assertEqual(len(statements), 1, statements)
        self.assertIn("safecampus_report_submit", statements[0])
        row = ReportStatus.objects.get(unit=self.school_b, date=DAY)
        self.assertEqual((row.status, row.report_id), (Status.ON_TIME, response.json()["id"]))
        self.assertEqual(response.json()["submitted_by"], self.officer.pk)
        self.assert_counted_once()

    def test_anything_else_reads_the_token_unit_and_day_in_one_statement(self) -> None:
        client = self.api()
        body = {"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True}
        client.post("/api/v1/daily-reports", body, content_type="application/json")
        correction = {**body, "zero": False, "items": [{"what": "漏报"}], "reason": "补报"}
        with travel(at(DAY, 9)), CaptureQueriesContext(connection) as ctx:
            response = client.post(
                "/api/v1/daily-reports", correction, content_type="application/json"
            )
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(response.json()["version"], 2)
        statements = [q["sql"] for q in ctx.captured_queries]
        # The one-statement path writes nothing for a correction; the usual path then
        # reads the token with its holder, the unit and its day's row, and writes.
        self.assertIn("safecampus_report_submit", statements[0])
        self.assertIn("orgs_apitoken", statements[1])
        self.assertIn("LEFT JOIN reports_reportstatus", statements[1])
        self.assertIn("safecampus_report_append", statements[-1])
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 2)
        self.assert_counted_once()

    def test_two_taps_at_once_through_the_api_store_one_report(self) -> None:
        codes: list[int] = []
        ids: set[int] = set()
        errors: list[BaseException] = []
        start = threading.Barrier(2)
        body = {"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True}

        def tap(client: Client) -> None:
            try:
                start.wait(timeout=10)
                response = client.post(
                    "/api/v1/daily-reports", body, content_type="application/json"
                )
                codes.append(response.status_code)
                ids.add(response.json()["id"])
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                connections.close_all()

        clients = [self.api(), self.api()]
        threads = [threading.Thread(target=tap, args=(c,)) for c in clients]
        with travel(at(DAY, 9)):  # the whole process's clock
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(codes), [200, 201])
        self.assertEqual(len(ids), 1)
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)
        self.assert_counted_once()

    def test_the_day_row_read_with_the_unit_is_the_row(self) -> None:
        unit, row = services.unit_for_report(self.school_a.pk, DAY)
        stored = self.row()
        self.assertEqual(unit, self.school_a)
        for name in ("pk", "unit_id", "date", "status", "due_at", "schedule_id", "report_id"):
            self.assertEqual(getattr(row, name), getattr(stored, name), name)
        self.assertIsNotNone(row.due_at.tzinfo)
        self.assertEqual(services.unit_for_report(self.school_a.pk, DAY + dt.timedelta(1))[1], None)
        self.assertEqual(services.unit_for_report(10**9, DAY), (None, None))

    def test_a_stale_day_row_from_the_caller_is_read_again(self) -> None:
        _unit, stale = services.unit_for_report(self.school_a.pk, DAY)
        first = self.submit(9)  # lands after the caller read the row
        again = self.submit(9, day_row=stale)
        self.assertEqual(again.pk, first.pk)
        self.assertTrue(getattr(again, "repeated", False))
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)
        self.assert_counted_once()

    def test_a_day_without_a_row_goes_straight_to_the_locked_path(self) -> None:
        before = DAY - dt.timedelta(days=1)  # before the schedule starts: no row, no schedule
        with (
            CaptureQueriesContext(connection) as ctx,
            self.assertRaises(ValidationError),
            travel(at(DAY, 9)),
        ):
            services.report_submit(by=self.officer, unit=self.school_a, day=before, zero=True)
        reads = [q["sql"] for q in ctx.captured_queries if "FROM reports_reportstatus" in q["sql"]]
        self.assertEqual(len(reads), 2, reads)  # once unlocked, once locked
        self.assertIn("FOR UPDATE", reads[1])


class AtTheDeadlineTest(Personas, TransactionalTestCase):
    """Submissions, the deadline and exemptions at the same moment, from several
    connections: the counters stay equal to a recount and nobody deadlocks."""

    def setUp(self) -> None:
        super().setUp()
        self.build_district()
        self.schools = [self.school_a, self.school_b]
        for i in range(10):
            parent = self.group_1 if i % 2 else self.group_2
            parent.refresh_from_db()
            self.schools.append(make_unit(parent, f"S{i}", f"第{i}小学", UnitKind.SCHOOL))
        with travel(at(DAY, 8)):
            self.sched = services.schedule_create(
                by=self.officer, root=self.bureau, name="日报", starts_on=DAY
            )
            services.day_open(schedule=self.sched, day=DAY)
        self.direct_reports = 0

    def at_once(self, *jobs) -> list[BaseException]:
        errors: list[BaseException] = []
        start = threading.Barrier(len(jobs))

        def run(job) -> None:
            try:
                start.wait(timeout=10)
                job()
            except ValidationError:
                pass  # a refusal with a reason is an answer, not a failure
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return errors

    def assert_counters_are_a_recount(self, day: dt.date = DAY) -> None:
        rows = list(ReportStatus.objects.filter(date=day).values_list("path", "status"))
        for rollup in ReportRollup.objects.filter(date=day).select_related("unit"):
            recount = Counter(s for p, s in rows if p.startswith(rollup.unit.path))
            stored = {s: getattr(rollup, s) for s in Status.values}
            self.assertEqual(
                stored, {s: recount.get(s, 0) for s in Status.values}, (day, rollup.unit)
            )

    def submitter(self, unit, day: dt.date = DAY):
        """Half the schools report as the API's one statement does (falling back as the
        API does), half through the service: the two ways meet at every lock."""
        from safecampus.api.auth import USE_NOTED_EVERY, token_digest
        from safecampus.orgs.services import token_issue

        def usual() -> None:
            services.report_submit(by=self.officer, unit=unit, day=day, zero=True)

        key_hash = token_digest(token_issue(person=self.officer))

        def direct() -> None:
            report = services.report_submit_direct(
                key_hash=key_hash,
                noted_before=timezone.now() - USE_NOTED_EVERY,
                unit_id=unit.pk,
                day=day,
                zero=True,
                items=[],
                reason="",
                ip="127.0.0.1",
            )
            if report is None:
                usual()
            else:
                self.direct_reports += 1

        return direct if unit.pk % 2 else usual

    def test_the_school_deadline_while_schools_submit(self) -> None:
        with travel(at(DAY, 13, 30)):  # at the deadline itself: on time
            deadline = lambda: services.level_due(  # noqa: E731
                schedule=self.sched, day=DAY, level=Level.SCHOOL
            )
            errors = self.at_once(deadline, *(self.submitter(u) for u in self.schools[:6]))
            self.assertEqual(errors, [])
        with travel(at(DAY, 13, 31)):  # three more, a minute after it: late
            self.assertEqual(self.at_once(*(self.submitter(u) for u in self.schools[6:9])), [])
        statuses = Counter(
            ReportStatus.objects.filter(unit__in=self.schools, date=DAY).values_list(
                "status", flat=True
            )
        )
        self.assertEqual(statuses[Status.NOT_DUE], 0)  # the deadline saw every school
        self.assertEqual(statuses[Status.ON_TIME], 6)
        self.assertEqual(statuses[Status.LATE], 3)
        self.assertEqual(
            set(DailyReport.objects.filter(late_seconds__gt=0).values_list("late_seconds")),
            {(60,)},
        )
        self.assertEqual(statuses[Status.MISSING], 3)  # the last three never reported
        self.assertEqual(DailyReport.objects.count(), 9)
        self.assertGreater(self.direct_reports, 0)  # both ways were taken
        self.assert_counters_are_a_recount()

    def test_an_exemption_and_a_submission_for_the_same_school_at_once(self) -> None:
        with travel(at(DAY, 10)):
            for unit in self.schools:
                exempt = lambda unit=unit: services.exemption_set(  # noqa: E731
                    by=self.officer, unit=unit, day=DAY, reason="停电停课"
                )
                self.assertEqual(self.at_once(exempt, self.submitter(unit)), [])
        for unit in self.schools:
            row = ReportStatus.objects.get(unit=unit, date=DAY)
            reported = DailyReport.objects.filter(unit=unit, date=DAY).exists()
            # Whichever came first holds: reported on time, or exempt and no report.
            self.assertEqual(row.status, Status.ON_TIME if reported else Status.EXEMPT, unit)
        self.assert_counters_are_a_recount()

    def test_a_school_without_a_row_and_schools_with_one_submit_at_once(self) -> None:
        # A school added after the day opened makes its row and counts it as it reports
        # (the locked path), while the others report through the unlocked one.
        for offset in range(1, 6):
            day = DAY + dt.timedelta(days=offset)
            with travel(at(day, 0, 1)):
                services.day_open(schedule=self.sched, day=day)
            self.group_1.refresh_from_db()
            late_comer = make_unit(self.group_1, f"N{offset}", f"新校{offset}", UnitKind.SCHOOL)
            with travel(at(day, 9)):
                jobs = [self.submitter(u, day) for u in [late_comer, *self.schools[:3]]]
                self.assertEqual(self.at_once(*jobs), [], day)
            self.assert_counters_are_a_recount(day)
        self.assertEqual(DailyReport.objects.count(), 20)

    def test_the_day_opens_late_while_schools_report(self) -> None:
        # The worker was down at midnight and opens the day at 9:00, as schools report.
        for offset in range(1, 6):
            day = DAY + dt.timedelta(days=offset)
            with travel(at(day, 9)):
                opening = lambda day=day: services.day_open(schedule=self.sched, day=day)  # noqa: E731
                jobs = [self.submitter(u, day) for u in self.schools[:5]]
                self.assertEqual(self.at_once(opening, *jobs), [], day)
            self.assertEqual(ReportStatus.objects.filter(date=day).count(), Unit.objects.count())
            self.assert_counters_are_a_recount(day)
        self.assertEqual(DailyReport.objects.count(), 25)

    def test_opening_a_day_holds_the_chain_that_every_counter_writer_takes(self) -> None:
        from safecampus.audit.services import CHAIN_LOCK

        seen: list[bool] = []

        def try_the_chain_elsewhere() -> None:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [CHAIN_LOCK])
                seen.append(cursor.fetchone()[0])

        real = services.timer_schedule

        def scheduling(**kwargs):  # runs inside day_open, after the recount
            if not seen:
                self.assertEqual(self.at_once(try_the_chain_elsewhere), [])
            return real(**kwargs)

        day = DAY + dt.timedelta(days=1)
        with mock.patch.object(services, "timer_schedule", side_effect=scheduling):
            services.day_open(schedule=self.sched, day=day)
        self.assertEqual(seen, [False])  # another connection could not take it
