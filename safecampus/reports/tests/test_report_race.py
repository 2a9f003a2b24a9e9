"""Submissions at the same moment as each other, as the deadline, an exemption and a day
opened late, from several connections, on SQLite and PostgreSQL alike.

A submission (reports.services.report_submit) is one transaction that locks the day's
status row as it reads it, then takes the audit chain's lock (its append), then moves
the counters: whatever else wants the row waits, and decides on what it finds after.
On SQLite every writing transaction holds the whole database (BEGIN IMMEDIATE), so the
same tests show the same answers there."""

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from unittest import mock

from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from safecampus.audit.models import AuditEntry
from safecampus.audit.services import audit_verify
from safecampus.orgs.models import Unit, UnitKind
from safecampus.reports import services
from safecampus.reports.models import DailyReport, Level, ReportRollup, ReportStatus, Status
from safecampus.test import Personas, TransactionalTestCase, make_unit

from .test_report_services import DAY, at, counters, travel


def at_once(*jobs: Callable[[], Any]) -> list[BaseException]:
    """Run the jobs in threads started together (each its own database connection);
    the errors they raised, a refusal with a reason (ValidationError) aside."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> None:
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


def in_a_thread(job: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Start `job` in a thread of its own; the list gets its result or its exception."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(job())
        except BaseException as exc:  # looked at by the main thread
            out.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


# Long enough for another thread to reach the lock it will wait for (a test that
# gives it too little still passes, it only shows less).
SETTLE = 0.3


class SubmitRaceTest(Personas, TransactionalTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.build_district()
        with travel(at(DAY, 8)):
            self.sched = services.schedule_create(
                by=self.officer, root=self.bureau, name="日报", starts_on=DAY
            )
            services.day_open(schedule=self.sched, day=DAY)

    def submit(self, **kwargs) -> DailyReport:
        """School A's report. No clock of its own: the threads share the process's, so
        the main thread sets it (time_machine's travel is one stack for all threads)."""
        kwargs.setdefault("zero", True)
        return services.report_submit(by=self.officer, unit=self.school_a, day=DAY, **kwargs)

    def row(self) -> ReportStatus:
        return ReportStatus.objects.get(unit=self.school_a, date=DAY)

    def assert_counted_once(self) -> None:
        statuses = Counter(ReportStatus.objects.filter(date=DAY).values_list("status", flat=True))
        top = counters(self.bureau, DAY)
        self.assertEqual({s: top[s] for s in statuses}, dict(statuses))
        self.assertEqual(sum(top.values()), sum(statuses.values()))
        self.assertTrue(audit_verify().ok)

    def while_deciding(self, other: Callable[[], Any]):
        """Start `other` in another thread once this thread's submission has locked the
        day's row and decided (when it builds its audit entry), and let it run up to
        whatever it waits for before this one writes. The thread and its outcome."""
        real = services.audit_pending
        started: list[tuple[threading.Thread, list[Any]]] = []

        def pending(**kwargs):
            if not started:
                started.append(in_a_thread(other))
                time.sleep(SETTLE)
            return real(**kwargs)

        patch = mock.patch.object(services, "audit_pending", side_effect=pending)
        return patch, started

    def finish(self, started: list[tuple[threading.Thread, list[Any]]]) -> Any:
        thread, out = started[0]
        thread.join(timeout=30)
        self.assertFalse(thread.is_alive())
        if isinstance(out[0], BaseException):
            raise out[0]
        return out[0]

    def test_the_row_then_the_chain_then_the_counters(self) -> None:
        with travel(at(DAY, 9)), CaptureQueriesContext(connection) as ctx:
            report = self.submit()
        statements = [q["sql"] for q in ctx.captured_queries]

        def first(*words: str) -> int:
            return next(i for i, sql in enumerate(statements) if all(w in sql for w in words))

        if connection.vendor == "postgresql":  # SQLite holds the whole database instead
            self.assertLess(first("reports_reportstatus", "FOR UPDATE"), first("audit"))
        self.assertLess(first("audit"), first('INSERT INTO "reports_dailyreport"'))
        self.assertLess(first('INSERT INTO "reports_dailyreport"'), first("reports_reportrollup"))
        self.assertEqual((self.row().status, self.row().report_id), (Status.ON_TIME, report.pk))
        entry = AuditEntry.objects.get(seq=report.audit_seq)
        self.assertEqual((entry.hash, entry.action), (report.audit_hash, "report"))
        self.assert_counted_once()

    def test_the_other_tap_waits_and_answers_with_the_first(self) -> None:
        patch, started = self.while_deciding(self.submit)
        with travel(at(DAY, 9)):
            with patch:
                report = self.submit()
            other = self.finish(started)
        self.assertEqual(other.pk, report.pk)  # the second tap answers with the first
        self.assertTrue(getattr(other, "repeated", False))
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)
        self.assertEqual(AuditEntry.objects.filter(action="report").count(), 1)
        self.assert_counted_once()

    def test_a_different_correction_waits_and_becomes_the_next_version(self) -> None:
        with travel(at(DAY, 9)):
            first = self.submit()
        items = [{"what": "门卫室漏雨", "measures": "已报修"}]
        patch, started = self.while_deciding(
            lambda: self.submit(zero=True, reason="已修好，改回零报告")
        )
        with travel(at(DAY, 10)):
            with patch:
                second = self.submit(zero=False, items=items, reason="补报漏雨")
            third = self.finish(started)
        versions = list(
            DailyReport.objects.filter(unit=self.school_a)
            .order_by("version")
            .values_list("version", "zero")
        )
        self.assertEqual(versions, [(1, True), (2, False), (3, True)])
        self.assertEqual((second.version, third.version), (2, 3))
        self.assertEqual(self.row().report_id, third.pk)
        self.assertEqual(self.row().submitted_at, first.submitted_at)  # still the first's
        self.assert_counted_once()

    def test_the_same_correction_sent_twice_at_once_is_one_version(self) -> None:
        with travel(at(DAY, 9)):
            self.submit()
        items = [{"what": "门卫室漏雨", "measures": "已报修"}]
        results: list[DailyReport] = []
        for attempt in range(3):
            correction = {"zero": False, "items": items, "reason": f"补报漏雨{attempt}"}
            with travel(at(DAY, 10)):
                errors = at_once(*[lambda c=correction: results.append(self.submit(**c))] * 2)
            self.assertEqual(errors, [])
        self.assertEqual(len(results), 6)
        for pair in (results[0:2], results[2:4], results[4:6]):
            self.assertEqual(pair[0].pk, pair[1].pk)
            self.assertEqual(sum(getattr(r, "repeated", False) for r in pair), 1)
        # Each reason makes its own version (a different correction); no reason twice.
        self.assertEqual(
            list(
                DailyReport.objects.filter(unit=self.school_a)
                .order_by("version")
                .values_list("version", "reason")
            ),
            [(1, ""), (2, "补报漏雨0"), (3, "补报漏雨1"), (4, "补报漏雨2")],
        )
        self.assertEqual(AuditEntry.objects.filter(action="report_correction").count(), 3)
        self.assert_counted_once()

    def test_the_deadline_waits_for_a_report_being_written(self) -> None:
        def deadline() -> int:
            return services.level_due(schedule=self.sched, day=DAY, level=Level.SCHOOL)

        with travel(at(DAY, 13, 30)):  # the minute of the deadline: on time
            patch, started = self.while_deciding(deadline)
            with patch:
                report = self.submit()
            marked = self.finish(started)
        self.assertEqual(marked, 1)  # school B only: A's report was in when it looked
        self.assertEqual((report.late_seconds, self.row().status), (0, Status.ON_TIME))
        top = counters(self.bureau, DAY)
        self.assertEqual((top["on_time"], top["missing"]), (1, 1))
        self.assert_counted_once()

    def test_a_report_waits_for_the_deadline_and_is_late(self) -> None:
        # The deadline job, a second late, holds school A's row (marking it missing) as
        # A's report comes in: the report waits, then finds it missing: late.
        real = services.rollup_move
        started: list[tuple[threading.Thread, list[Any]]] = []

        def moving(**kwargs):  # inside level_due, the rows locked and marked
            if not started:
                started.append(in_a_thread(self.submit))
                time.sleep(SETTLE)
            return real(**kwargs)

        with travel(at(DAY, 13, 30, 1)):
            with mock.patch.object(services, "rollup_move", side_effect=moving):
                services.level_due(schedule=self.sched, day=DAY, level=Level.SCHOOL)
            report = self.finish(started)
        self.assertEqual(report.late_seconds, 1)
        self.assertEqual((self.row().status, self.row().report_id), (Status.LATE, report.pk))
        top = counters(self.bureau, DAY)
        self.assertEqual((top["late"], top["missing"]), (1, 1))  # A late, B missing
        self.assert_counted_once()

    def test_two_taps_at_once_store_one_report(self) -> None:
        results: list[DailyReport] = []
        for _round in range(5):
            with travel(at(DAY, 9)):
                errors = at_once(*[lambda: results.append(self.submit())] * 2)
            self.assertEqual(errors, [])
        self.assertEqual(len(results), 10)
        self.assertEqual({r.pk for r in results}, {results[0].pk})
        self.assertEqual(sum(not getattr(r, "repeated", False) for r in results), 1)
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)
        self.assert_counted_once()

    def api(self) -> Client:
        from safecampus.orgs.services import token_issue

        return Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(person=self.officer)}")

    def test_two_taps_at_once_through_the_api_store_one_report(self) -> None:
        answers: list[tuple[int, int]] = []
        body = {"unit": self.school_a.pk, "date": DAY.isoformat(), "zero": True}

        def tap(client: Client) -> None:
            response = client.post("/api/v1/daily-reports", body, content_type="application/json")
            answers.append((response.status_code, response.json()["id"]))

        clients = [self.api(), self.api()]
        with travel(at(DAY, 9)):  # the whole process's clock
            self.assertEqual(at_once(*[lambda c=c: tap(c) for c in clients]), [])
        self.assertEqual(sorted(code for code, _id in answers), [200, 201])
        self.assertEqual(len({pk for _code, pk in answers}), 1)
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)
        self.assert_counted_once()

    def test_the_same_correction_twice_at_once_through_the_api_is_one_version(self) -> None:
        with travel(at(DAY, 9)):
            self.submit()
        answers: list[tuple[int, int]] = []
        body = {
            "unit": self.school_a.pk,
            "date": DAY.isoformat(),
            "zero": False,
            "items": [{"what": "门卫室漏雨"}],
            "reason": "补报",
        }

        def send(client: Client) -> None:
            response = client.post("/api/v1/daily-reports", body, content_type="application/json")
            answers.append((response.status_code, response.json()["version"]))

        clients = [self.api(), self.api()]
        with travel(at(DAY, 10)):
            self.assertEqual(at_once(*[lambda c=c: send(c) for c in clients]), [])
        self.assertEqual(sorted(answers), [(200, 2), (201, 2)])
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 2)
        self.assert_counted_once()


class LateDayTest(Personas, TransactionalTestCase):
    """A day the worker has not opened: the submission makes the unit's row first, in a
    step of its own, and only then locks it and takes the chain."""

    def setUp(self) -> None:
        super().setUp()
        self.build_district()
        with travel(at(DAY, 8)):
            self.sched = services.schedule_create(
                by=self.officer, root=self.bureau, name="日报", starts_on=DAY
            )
        self.day = DAY + dt.timedelta(days=1)

    def test_an_exemption_holding_the_row_made_meanwhile_does_not_deadlock(self) -> None:
        # The submission finds no row; meanwhile the day opens and an exemption for
        # the school locks its new row, and wants the audit chain (as every writer,
        # after the row). The submission must not hold the chain while it waits for
        # the row: the two would wait for each other.
        real_schedule_for = services.schedule_for
        real_update_or_create = services.ReportExemption.objects.update_or_create
        locked = threading.Event()
        started: list[tuple[threading.Thread, list[Any]]] = []

        def exemption_holding_the_row(**kwargs):  # in exemption_set, the row locked
            locked.set()
            time.sleep(SETTLE)  # the submission goes for the chain meanwhile
            return real_update_or_create(**kwargs)

        def after_finding_no_row(unit, day):
            if not started:
                with travel(at(self.day, 0, 1)):
                    services.day_open(schedule=self.sched, day=self.day)
                started.append(
                    in_a_thread(
                        lambda: services.exemption_set(
                            by=self.officer, unit=self.school_a, day=self.day, reason="停电停课"
                        )
                    )
                )
                self.assertTrue(locked.wait(timeout=10))
            return real_schedule_for(unit, day)

        with (
            travel(at(self.day, 9)),
            mock.patch.object(services, "schedule_for", after_finding_no_row),
            mock.patch.object(
                services.ReportExemption.objects,
                "update_or_create",
                side_effect=exemption_holding_the_row,
            ),
            self.assertRaises(ValidationError) as refused,
        ):
            services.report_submit(by=self.officer, unit=self.school_a, day=self.day, zero=True)
        thread, out = started[0]
        thread.join(timeout=30)
        self.assertNotIsInstance(out[0], BaseException, out)
        self.assertIn("date", refused.exception.message_dict)  # exempt that day
        row = ReportStatus.objects.get(unit=self.school_a, date=self.day)
        self.assertEqual((row.status, row.report_id), (Status.EXEMPT, None))
        self.assertTrue(audit_verify().ok)

    def test_a_report_for_a_day_not_opened_makes_and_counts_its_row(self) -> None:
        with travel(at(self.day, 9)):
            report = services.report_submit(
                by=self.officer, unit=self.school_a, day=self.day, zero=True
            )
        row = ReportStatus.objects.get(unit=self.school_a, date=self.day)
        self.assertEqual((row.status, row.report_id), (Status.ON_TIME, report.pk))
        self.assertEqual(ReportStatus.objects.filter(date=self.day).count(), 1)
        for unit in (self.bureau, self.group_1):
            counted = counters(unit, self.day)
            self.assertEqual((counted["on_time"], counted["not_due"]), (1, 0), unit)
        # The day opens after all: the other units' rows, and the school's kept.
        with travel(at(self.day, 10)):
            services.day_open(schedule=self.sched, day=self.day)
        self.assertEqual(ReportStatus.objects.get(pk=row.pk).status, Status.ON_TIME)
        top = counters(self.bureau, self.day)
        self.assertEqual((top["on_time"], top["not_due"]), (1, Unit.objects.count() - 1))


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

    def assert_counters_are_a_recount(self, day: dt.date = DAY) -> None:
        rows = list(ReportStatus.objects.filter(date=day).values_list("path", "status"))
        counted = Unit.objects.filter(
            pk__in=ReportRollup.objects.filter(date=day).values("unit_id")
        )
        self.assertTrue(counted)
        for unit in counted:
            recount = Counter(s for p, s in rows if p.startswith(unit.path))
            self.assertEqual(
                counters(unit, day), {s: recount.get(s, 0) for s in Status.values}, (day, unit)
            )

    def submitter(self, unit: Unit, day: dt.date = DAY) -> Callable[[], None]:
        """Half the schools report through the API, half through the service: the one
        path, from a request and from a call."""
        from safecampus.orgs.services import token_issue

        if unit.pk % 2:

            def usual() -> None:
                services.report_submit(by=self.officer, unit=unit, day=day, zero=True)

            return usual
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token_issue(person=self.officer)}")

        def through_the_api() -> None:
            body = {"unit": unit.pk, "date": day.isoformat(), "zero": True}
            response = client.post("/api/v1/daily-reports", body, content_type="application/json")
            if response.status_code not in (200, 201, 422):
                raise AssertionError(response.content)

        return through_the_api

    def test_the_school_deadline_while_schools_submit(self) -> None:
        with travel(at(DAY, 13, 30)):  # at the deadline itself: on time
            deadline = lambda: services.level_due(  # noqa: E731
                schedule=self.sched, day=DAY, level=Level.SCHOOL
            )
            errors = at_once(deadline, *(self.submitter(u) for u in self.schools[:6]))
            self.assertEqual(errors, [])
        with travel(at(DAY, 13, 31)):  # three more, a minute after it: late
            self.assertEqual(at_once(*(self.submitter(u) for u in self.schools[6:9])), [])
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
        self.assert_counters_are_a_recount()

    def test_an_exemption_and_a_submission_for_the_same_school_at_once(self) -> None:
        with travel(at(DAY, 10)):
            for unit in self.schools:
                exempt = lambda unit=unit: services.exemption_set(  # noqa: E731
                    by=self.officer, unit=unit, day=DAY, reason="停电停课"
                )
                self.assertEqual(at_once(exempt, self.submitter(unit)), [])
        for unit in self.schools:
            row = ReportStatus.objects.get(unit=unit, date=DAY)
            reported = DailyReport.objects.filter(unit=unit, date=DAY).exists()
            # Whichever came first holds: reported on time, or exempt and no report.
            self.assertEqual(row.status, Status.ON_TIME if reported else Status.EXEMPT, unit)
        self.assert_counters_are_a_recount()

    def test_a_school_without_a_row_and_schools_with_one_submit_at_once(self) -> None:
        # A school added after the day opened makes its row and counts it as it reports,
        # while the others report on rows the day made.
        for offset in range(1, 6):
            day = DAY + dt.timedelta(days=offset)
            with travel(at(day, 0, 1)):
                services.day_open(schedule=self.sched, day=day)
            self.group_1.refresh_from_db()
            late_comer = make_unit(self.group_1, f"N{offset}", f"新校{offset}", UnitKind.SCHOOL)
            with travel(at(day, 9)):
                jobs = [self.submitter(u, day) for u in [late_comer, *self.schools[:3]]]
                self.assertEqual(at_once(*jobs), [], day)
            self.assert_counters_are_a_recount(day)
        self.assertEqual(DailyReport.objects.count(), 20)

    def test_the_day_opens_late_while_schools_report_and_are_exempted(self) -> None:
        # The worker was down at midnight and opens the day at 9:00, as schools report
        # and the bureau exempts one of them.
        for offset in range(1, 6):
            day = DAY + dt.timedelta(days=offset)
            with travel(at(day, 9)):
                opening = lambda day=day: services.day_open(schedule=self.sched, day=day)  # noqa: E731
                exempt = lambda day=day: services.exemption_set(  # noqa: E731
                    by=self.officer, unit=self.schools[0], day=day, reason="停电停课"
                )
                jobs = [self.submitter(u, day) for u in self.schools[:5]]
                self.assertEqual(at_once(opening, exempt, *jobs), [], day)
            self.assertEqual(ReportStatus.objects.filter(date=day).count(), Unit.objects.count())
            self.assert_counters_are_a_recount(day)
        self.assertGreaterEqual(DailyReport.objects.count(), 20)  # school 0: exempt or not

    def test_opening_a_day_holds_the_chain_that_every_counter_writer_takes(self) -> None:
        if connection.vendor != "postgresql":
            self.skipTest("SQLite: a writer holds the whole database")
        from safecampus.audit.services import CHAIN_LOCK

        seen: list[bool] = []

        def try_the_chain_elsewhere() -> None:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [CHAIN_LOCK])
                seen.append(cursor.fetchone()[0])

        real = services.timer_schedule

        def scheduling(**kwargs):  # runs inside day_open, after the recount
            if not seen:
                self.assertEqual(at_once(try_the_chain_elsewhere), [])
            return real(**kwargs)

        day = DAY + dt.timedelta(days=1)
        with mock.patch.object(services, "timer_schedule", side_effect=scheduling):
            services.day_open(schedule=self.sched, day=day)
        self.assertEqual(seen, [False])  # another connection could not take it
