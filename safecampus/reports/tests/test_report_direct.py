"""PostgreSQL: a unit's first report through the API in one statement
(services.report_submit_direct, reports/pgsql.py) decides only what the usual path
would decide the same way, and writes what the usual path would write."""

import datetime as dt
import itertools

import pytest
from django.db import connection, transaction
from django.utils import timezone

from safecampus.api.auth import USE_NOTED_EVERY, token_digest
from safecampus.audit.models import AuditEntry
from safecampus.audit.services import audit_verify
from safecampus.orgs import access
from safecampus.orgs.models import ApiToken, Membership, Person, Role, Unit, UnitKind
from safecampus.orgs.services import token_issue
from safecampus.reports import services
from safecampus.reports.models import DailyReport, ReportRollup, ReportStatus, Status
from safecampus.test import BaseTestCase, make_person, make_unit

from .test_report_services import DAY, at, travel

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's"
)


class _Rollback(Exception):
    pass


class DirectSubmitTest(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.travel = travel(at(DAY, 9))
        self.travel.start()
        self.addCleanup(self.travel.stop)
        # More shapes of unit and of right than the district has: a unit with one
        # below it, an archived school, a school straight under the bureau.
        self.dept = make_unit(self.school_b, "SB1", "西山小学教务处", UnitKind.DEPARTMENT)
        self.bureau.refresh_from_db()
        self.direct_school = make_unit(self.bureau, "SC", "区实验中学", UnitKind.SCHOOL)
        self.bureau.refresh_from_db()
        self.old_school = make_unit(self.bureau, "SD", "旧校区", UnitKind.SCHOOL)
        self.bureau.refresh_from_db()
        self.old_group = make_unit(self.bureau, "G3", "撤并学区", UnitKind.GROUP)
        self.kept_school = make_unit(self.old_group, "SE", "保留小学", UnitKind.SCHOOL)
        self.old_head = make_person("old.head", "原学区长")
        self.group_head = make_person("group.head", "城关学区长")
        self.officer_b = make_person("officer.b", "西山安全员")
        self.dept_staff = make_person("dept.staff", "教务员")
        self.retired = make_person("retired", "退休校长", is_active=False)
        self.old_member = make_person("old.member", "旧校区校长")
        for person, unit, role in [
            (self.group_head, self.group_1, Role.GROUP_HEAD),
            (self.officer_b, self.school_b, Role.SAFETY_OFFICER),
            (self.dept_staff, self.dept, Role.DUTY_STAFF),
            (self.retired, self.school_a, Role.PRINCIPAL),
            (self.old_member, self.old_school, Role.PRINCIPAL),
            (self.duty_b, self.dept, Role.STAFF),
            (self.old_head, self.old_group, Role.GROUP_HEAD),
        ]:
            Membership.objects.create(person=person, unit=unit, role=role)
        for unit in Unit.objects.all():
            unit.refresh_from_db()
        self.schedule = services.schedule_create(
            by=self.officer, root=self.bureau, name="日报", starts_on=DAY
        )
        services.day_open(schedule=self.schedule, day=DAY)
        Unit.objects.filter(pk=self.old_school.pk).update(archived_at=timezone.now())
        # A group archived above a school still open: a shape the services do not make
        # (archiving waits for the units below), made here to test the rule anyway.
        Unit.objects.filter(pk=self.old_group.pk).update(archived_at=timezone.now())

    def direct(self, person: Person, unit: Unit, key: str = "", **body) -> DailyReport | None:
        body.setdefault("zero", True)
        return services.report_submit_direct(
            key_hash=key or token_digest(token_issue(person=person)),
            noted_before=timezone.now() - USE_NOTED_EVERY,
            unit_id=unit.pk,
            day=body.pop("day", DAY),
            items=body.pop("items", []),
            reason=body.pop("reason", ""),
            ip="127.0.0.1",
            **body,
        )

    def tried(self, person: Person, unit: Unit) -> bool:
        """Whether the one statement took the report; nothing kept either way."""
        try:
            with transaction.atomic():
                taken = self.direct(person, unit) is not None
                raise _Rollback
        except _Rollback:
            return taken

    def test_it_takes_a_report_only_where_the_usual_path_allows_it(self) -> None:
        people = list(Person.objects.all())
        units = list(Unit.objects.all())
        taken = set()
        for person, unit in itertools.product(people, units):
            unit.refresh_from_db()
            if self.tried(person, unit):
                taken.add((person.username, unit.code))
                fresh = Person.objects.get(pk=person.pk)
                self.assertTrue(
                    fresh.is_active
                    and access.unit_visible(fresh, unit)
                    and services.can_report(fresh, unit),
                    (person.username, unit.code),
                )
                self.assertIsNone(unit.archived_at, unit.code)
        # The plain cases it is for, and the refusals it must leave to the usual path.
        for expected in [
            ("officer", "SA"),  # the bureau's safety office, a school below
            ("officer", "SC"),
            ("principal.a", "SA"),  # a principal, their school
            ("group.head", "SA"),  # a group head, a school of the group
            ("officer.b", "SB1"),  # a safety officer, a department of the school
            ("dept.staff", "SB1"),  # duty staff in the unit itself
            ("officer", "SB"),  # a unit with one below it
            ("officer", "G1"),
        ]:
            self.assertIn(expected, taken)
        for refused in [
            ("principal.a", "SB"),  # outside their subtree
            ("teacher.a", "SA"),  # a head teacher reports nothing
            ("duty.b", "SB1"),  # staff, not a reporter role, in the department
            ("sysadmin", "SA"),  # administrators: the usual path
            ("retired", "SA"),  # inactive
            ("officer", "SD"),  # archived
            ("old.member", "SD"),
            ("principal.a", "G1"),  # above their school
            ("old.head", "SE"),  # their role is in an archived group
        ]:
            self.assertNotIn(refused, taken)

    def test_it_leaves_every_case_but_a_first_report_to_the_usual_path(self) -> None:
        report = self.direct(self.officer, self.school_a)
        self.assertIsNotNone(report)
        self.assertIsNone(self.direct(self.officer, self.school_a))  # a second tap
        self.assertIsNone(self.direct(self.officer, self.school_a, reason="更正"))
        self.assertIsNone(self.direct(self.officer, self.direct_school, day=DAY + dt.timedelta(1)))
        self.assertIsNone(self.direct(self.officer, self.direct_school, day=DAY - dt.timedelta(1)))
        self.assertIsNone(self.direct(self.officer, self.direct_school, zero=False))  # no items
        services.exemption_set(by=self.officer, unit=self.direct_school, day=DAY, reason="停电")
        self.assertIsNone(self.direct(self.officer, self.direct_school))
        expired = token_issue(person=self.officer)
        ApiToken.objects.filter(key_hash=token_digest(expired)).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
        self.assertIsNone(
            services.report_submit_direct(
                key_hash=token_digest(expired),
                noted_before=timezone.now(),
                unit_id=self.school_b.pk,
                day=DAY,
                zero=True,
                items=[],
                reason="",
                ip="",
            )
        )
        self.assertEqual(DailyReport.objects.count(), 1)

    def test_it_writes_what_the_usual_path_writes(self) -> None:
        Unit.objects.filter(pk=self.school_a.pk).update(name='城关"小学"\\\n\t\x01🏫')
        Person.objects.filter(pk=self.principal_a.pk).update(username='wang"\\校长')
        self.school_a.refresh_from_db()
        self.principal_a.refresh_from_db()
        items = [{"what": "学生摔伤\n", "measures": '已送医 "轻伤"'}]
        with travel(at(DAY, 13, 35)):  # five minutes after the schools' deadline
            direct = self.direct(self.principal_a, self.school_a, zero=False, items=items)
            usual = services.report_submit(
                by=self.officer, unit=self.direct_school, day=DAY, zero=False, items=items
            )
        self.assertIsNotNone(direct)
        stored = DailyReport.objects.get(pk=direct.pk)
        for field in DailyReport._meta.concrete_fields:
            self.assertEqual(
                getattr(stored, field.attname), getattr(direct, field.attname), field.name
            )
        self.assertEqual(direct.late_seconds, 300)
        self.assertEqual(direct.late_seconds, usual.late_seconds)
        self.assertEqual(direct.items, usual.items)
        row = ReportStatus.objects.get(unit=self.school_a, date=DAY)
        self.assertEqual((row.status, row.report_id), (Status.LATE, direct.pk))
        self.assertEqual(row.submitted_at, direct.submitted_at)
        top = ReportRollup.objects.get(unit=self.bureau, date=DAY)
        self.assertEqual(top.late, 2)
        entry = AuditEntry.objects.get(seq=direct.audit_seq)
        self.assertEqual(entry.hash, direct.audit_hash)
        self.assertEqual(entry.actor_id, self.principal_a.pk)
        self.assertEqual(entry.actor_label, 'wang"\\校长')
        self.assertEqual(entry.object_repr, self.school_a.name)
        self.assertEqual(entry.changes["late_s"], 300)
        self.assertEqual(
            {k: v for k, v in entry.changes.items()},
            {**AuditEntry.objects.get(seq=usual.audit_seq).changes},
        )
        self.assertTrue(audit_verify().ok)  # the chain hashes what Python would

    def test_text_that_holds_a_stand_in_goes_the_usual_way(self) -> None:
        hole = services._HOLES[2]
        self.assertIsNone(
            self.direct(self.officer, self.school_a, zero=False, items=[{"what": hole}])
        )
        report = services.report_submit(
            by=self.officer, unit=self.school_a, day=DAY, zero=False, items=[{"what": hole}]
        )
        self.assertEqual(report.items[0]["what"], hole)
        self.assertTrue(audit_verify().ok)

    def test_a_unit_with_units_below_reports_their_statuses(self) -> None:
        self.direct(self.officer, self.dept)
        with travel(at(DAY, 14, 1)):  # after the schools' and the groups' deadlines
            services.level_due(schedule=self.schedule, day=DAY, level="school")
            direct = self.direct(self.officer, self.bureau)
            school = self.direct(self.officer, self.school_b)  # above the department
        self.assertIsNotNone(direct)
        expected = services._children_rollup(self.bureau, DAY)
        self.assertEqual(direct.children, expected)
        self.assertEqual(DailyReport.objects.get(pk=direct.pk).children, expected)
        self.assertEqual(sum(expected.values()), 5)  # G1, G2, SC, and the archived SD and G3
        self.assertEqual(school.children, {Status.ON_TIME: 1})
        self.assertEqual(school.late_seconds, 31 * 60)
        self.assertTrue(audit_verify().ok)

    def test_a_row_the_deadline_marked_while_it_waited_is_decided_again(self) -> None:
        # The request read its clock at 13:29:59; the deadline job held the row, marked
        # it missing and committed at 13:30:00; the row is now free. On time would be
        # wrong: the usual path decides again, by a clock read after the deadline.
        with travel(at(DAY, 13, 30)):
            services.level_due(schedule=self.schedule, day=DAY, level="school")
        with travel(at(DAY, 13, 29, 59)):
            self.assertIsNone(self.direct(self.officer, self.school_a))
        self.assertFalse(DailyReport.objects.exists())
        with travel(at(DAY, 13, 30, 2)):
            report = self.direct(self.officer, self.school_a)
        self.assertEqual(report.late_seconds, 2)
        row = ReportStatus.objects.get(unit=self.school_a, date=DAY)
        self.assertEqual(row.status, Status.LATE)

    def test_the_token_use_is_noted_every_few_minutes(self) -> None:
        token = token_issue(person=self.officer)
        key = token_digest(token)
        stored = ApiToken.objects.get(key_hash=key)
        self.assertIsNone(stored.last_used_at)
        self.direct(self.officer, self.school_a, key=key)
        stored.refresh_from_db()
        self.assertEqual(stored.last_used_at, at(DAY, 9))
        with travel(at(DAY, 9, 3)):
            self.assertIsNotNone(self.direct(self.officer, self.direct_school, key=key))
        stored.refresh_from_db()
        self.assertEqual(stored.last_used_at, at(DAY, 9))  # not five minutes yet
        with travel(at(DAY, 9, 6)):
            self.assertIsNotNone(self.direct(self.officer, self.dept, key=key))
        stored.refresh_from_db()
        self.assertEqual(stored.last_used_at, at(DAY, 9, 6))


class SameInputTest(BaseTestCase):
    """One report through the API twice, the one-statement way and (the function
    switched off) the usual way, from the same state at the same instant: the same
    report, status row, counters, audit entry and hash, and the same answer."""

    def setUp(self) -> None:
        super().setUp()
        Unit.objects.filter(pk=self.school_a.pk).update(name='城关"小学"\\\n\t\x01🏫')
        Person.objects.filter(pk=self.principal_a.pk).update(username='wang"\\校长')
        self.school_a.refresh_from_db()
        self.principal_a.refresh_from_db()
        with travel(at(DAY, 8)):
            schedule = services.schedule_create(
                by=self.officer, root=self.bureau, name="日报", starts_on=DAY
            )
            services.day_open(schedule=schedule, day=DAY)

    def state(self, answer) -> dict:
        report = DailyReport.objects.get(unit=self.school_a, date=DAY)
        entry = AuditEntry.objects.get(seq=report.audit_seq)

        def fields(obj, *leave) -> dict:
            return {
                f.attname: getattr(obj, f.attname)
                for f in obj._meta.concrete_fields
                if f.attname not in ("id", *leave)
            }

        body = answer.json()
        body.pop("id")
        return {
            "report": fields(report),
            "row": fields(ReportStatus.objects.get(unit=self.school_a, date=DAY), "report_id"),
            "counters": [fields(r) for r in ReportRollup.objects.order_by("unit_id")],
            "entry": fields(entry),
            "answer": (answer.status_code, body),
        }

    def test_the_same_writes_either_way(self) -> None:
        from unittest import mock

        from django.test.utils import CaptureQueriesContext

        client = self.client_class(
            HTTP_AUTHORIZATION=f"Bearer {token_issue(person=self.principal_a)}"
        )
        body = {
            "unit": self.school_a.pk,
            "date": DAY.isoformat(),
            "zero": False,
            "items": [{"what": "学生摔伤\n", "measures": '已送医 "轻伤"'}],
        }

        def post():
            return client.post("/api/v1/daily-reports", body, content_type="application/json")

        # 1.7 s after the schools' deadline: late by 1 (whole seconds, rounded down).
        moment = at(DAY, 13, 30, 1) + dt.timedelta(microseconds=700_000)
        with travel(moment):
            kept = transaction.savepoint()
            with CaptureQueriesContext(connection) as ctx:
                one = post()
            # One statement, and the token's first use noted after it.
            statements = [q["sql"] for q in ctx.captured_queries]
            self.assertEqual(len(statements), 2, statements)
            self.assertIn("safecampus_report_submit", statements[0])
            self.assertIn('UPDATE "orgs_apitoken"', statements[1])
            one_way = self.state(one)
            transaction.savepoint_rollback(kept)
            with mock.patch.object(services, "report_submit_direct", return_value=None):
                usual = post()
            usual_way = self.state(usual)
        self.assertEqual(one_way["report"]["late_seconds"], 1)
        self.assertEqual(one_way["row"]["status"], Status.LATE)
        self.assertEqual(one_way["entry"]["actor_label"], 'wang"\\校长')
        for part in one_way:
            self.assertEqual(one_way[part], usual_way[part], part)
        self.assertTrue(audit_verify().ok)
