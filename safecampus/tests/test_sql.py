"""lib.sql: a hand-written SELECT gives the instance the ORM would; PostgreSQL prepares
the hot path's statements."""

import datetime as dt
import threading
from unittest import skipUnless

from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safecampus.lib.sql import fetch_one, prepared_cursor, select_list
from safecampus.orgs.models import Unit
from safecampus.reports.models import ReportSchedule, ReportStatus
from safecampus.test import BaseTestCase, Personas, TransactionalTestCase


class FetchOneTest(BaseTestCase):
    def test_values_match_the_orm_on_either_database(self) -> None:
        due = timezone.now().replace(microsecond=123456)
        schedule = ReportSchedule.objects.create(
            root=self.bureau, name="日报", starts_on=dt.date(2026, 11, 1)
        )
        row = ReportStatus.objects.create(
            unit=self.school_a,
            date=dt.date(2026, 11, 23),
            path=self.school_a.path,
            schedule=schedule,
            level="school",
            due_at=due,
        )
        got = fetch_one(
            ReportStatus,
            "SELECT id, unit_id, date, status, due_at, schedule_id FROM reports_reportstatus "
            "WHERE id = %s",
            [row.pk],
        )
        self.assertEqual(got.pk, row.pk)
        self.assertEqual(got.date, dt.date(2026, 11, 23))
        self.assertEqual(got.due_at, due)  # aware, microseconds kept
        self.assertIsNotNone(got.due_at.tzinfo)
        self.assertEqual(got.schedule_id, schedule.pk)
        self.assertFalse(got._state.adding)
        # A column not selected is loaded on first use, as with only().
        self.assertEqual(got.get_deferred_fields(), {"path", "level", "submitted_at", "report_id"})
        self.assertEqual(got.path, self.school_a.path)

    def test_no_row_is_none_and_other_columns_become_attributes(self) -> None:
        self.assertIsNone(fetch_one(Unit, "SELECT * FROM orgs_unit WHERE id = %s", [0]))
        unit = fetch_one(
            Unit, "SELECT id, name, 1 + 1 AS two FROM orgs_unit WHERE id = %s", [self.school_a.pk]
        )
        self.assertEqual((unit.name, unit.two), (self.school_a.name, 2))
        self.assertEqual(unit, self.school_a)

    def test_every_column_of_a_whole_row(self) -> None:
        unit = fetch_one(Unit, "SELECT * FROM orgs_unit WHERE id = %s", [self.school_a.pk])
        expected = Unit.objects.get(pk=self.school_a.pk)
        for field in Unit._meta.concrete_fields:
            self.assertEqual(getattr(unit, field.attname), getattr(expected, field.attname))
        self.assertEqual(unit.get_deferred_fields(), set())

    def test_a_joined_models_columns_become_the_related_instance(self) -> None:
        schedule = ReportSchedule.objects.create(
            root=self.bureau, name="日报", starts_on=dt.date(2026, 11, 1)
        )
        row = ReportStatus.objects.create(
            unit=self.school_a,
            date=dt.date(2026, 11, 23),
            path=self.school_a.path,
            schedule=schedule,
            level="school",
            due_at=timezone.now(),
        )
        sql = (
            f"SELECT {select_list(ReportStatus, 's')}, {select_list(Unit, 'u', 'unit')} "  # noqa: S608
            "FROM reports_reportstatus s JOIN orgs_unit u ON u.id = s.unit_id WHERE s.id = %s"
        )
        got = fetch_one(ReportStatus, sql, [row.pk])
        self.assertEqual(got.pk, row.pk)  # the row's own id, not the unit's
        self.assertNotEqual(got.pk, self.school_a.pk)
        with self.assertNumQueries(0):
            unit = got.unit
        expected = Unit.objects.get(pk=self.school_a.pk)
        for field in Unit._meta.concrete_fields:
            self.assertEqual(getattr(unit, field.attname), getattr(expected, field.attname))
        self.assertEqual(unit.get_deferred_fields(), set())
        self.assertFalse(hasattr(got, "unit__id"))


class PreparedCursorTest(BaseTestCase):
    SQL = "SELECT id, path FROM orgs_unit WHERE id = %s"

    def _run(self, pk: int) -> tuple:
        with prepared_cursor() as cursor:
            cursor.execute(self.SQL, [pk])
            return cursor.fetchone()

    def test_same_rows_as_a_plain_cursor(self) -> None:
        for unit in (self.school_a, self.school_b, self.bureau):
            self.assertEqual(self._run(unit.pk), (unit.pk, unit.path))
        self.assertIsNone(self._run(10**9))

    @skipUnless(connection.vendor == "postgresql", "prepared statements: PostgreSQL")
    def test_postgresql_prepares_the_statement_once_per_connection(self) -> None:
        self._run(self.school_a.pk)
        self._run(self.school_b.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements "
                "WHERE statement = 'SELECT id, path FROM orgs_unit WHERE id = $1'"
            )
            self.assertEqual(cursor.fetchone()[0], 1)

    def test_statements_are_logged_readably_while_captured(self) -> None:
        with CaptureQueriesContext(connection) as ctx:
            self._run(self.school_a.pk)
        self.assertEqual(len(ctx.captured_queries), 1)
        self.assertIn(f"WHERE id = {self.school_a.pk}", ctx.captured_queries[0]["sql"])


@skipUnless(connection.vendor == "postgresql", "prepared statements: PostgreSQL")
class PreparedAcrossMigrationTest(Personas, TransactionalTestCase):
    """A migration run by another process while this one holds prepared statements (the
    moments between `migrate` and the restart of a deploy): the hot path keeps working."""

    def _from_another_connection(self, sql: str) -> None:
        def run() -> None:
            try:
                with connections["default"].cursor() as cursor:
                    cursor.execute(sql)
            finally:
                connections.close_all()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(timeout=30)

    def test_a_column_added_meanwhile_does_not_break_token_reads(self) -> None:
        from safecampus.api.auth import BearerToken
        from safecampus.orgs.services import token_issue

        self.build_district()
        token = token_issue(person=self.officer)
        for _ in range(2):  # prepared now
            self.assertEqual(BearerToken().authenticate(type("R", (), {})(), token), self.officer)
        self.addCleanup(
            self._from_another_connection,
            "ALTER TABLE orgs_person DROP COLUMN IF EXISTS later; "
            "ALTER TABLE orgs_unit DROP COLUMN IF EXISTS later",
        )
        self._from_another_connection(
            "ALTER TABLE orgs_person ADD COLUMN later integer; "
            "ALTER TABLE orgs_unit ADD COLUMN later integer"
        )
        person = BearerToken().authenticate(type("R", (), {})(), token)
        self.assertEqual(person, self.officer)
