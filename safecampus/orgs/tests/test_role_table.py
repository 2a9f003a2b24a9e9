"""Who may do what: the table in README.md ("Who may do what"), checked against the code.

Each row is an action, each column a persona of the demo district's kinds
(safecampus/test.py): a manager of the unit (the bureau's safety office over a
school, and the school's own principal), the school's duty staff, a head
teacher, and the three administrators. Every cell is tried through the service
or the page a user goes through, on the persona's own school (the bureau's
officer: school A, below it); a refusal is a PermissionDenied or a 403/404.
A cell that the code answers differently from the table fails, naming it.

Then the same actions on another school: nobody but its managers above
(the bureau) may do anything there.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from safecampus.notices import services as notices
from safecampus.orgs import access
from safecampus.orgs.models import Person, Role, Unit
from safecampus.reports import services as reports
from safecampus.reports.models import Frequency
from safecampus.test import BaseTestCase, make_person

MORNING = dt.datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Tuesday

# The columns of the README's table, in its order.
MANAGER, ABOVE, DUTY, READER, SYSTEM, SECURITY, AUDIT = (
    "manager of the unit",
    "manager of a unit above it",
    "duty staff of the unit",
    "head teacher / gate guard / inspector / staff",
    "system administrator",
    "security administrator",
    "audit administrator",
)
COLUMNS = [MANAGER, ABOVE, DUTY, READER, SYSTEM, SECURITY, AUDIT]
EVERY_MANAGER = {MANAGER, ABOVE}

# The README's table: action → the columns that may do it (in their scope).
TABLE: dict[str, set[str]] = {
    "see the tree and the unit": {*EVERY_MANAGER, DUTY, READER, SYSTEM, SECURITY},
    "edit units and people": {*EVERY_MANAGER, SYSTEM},
    "grant roles in units": {*EVERY_MANAGER, SECURITY},
    "submit a daily report": {*EVERY_MANAGER, DUTY},
    "correct a daily report": {*EVERY_MANAGER, DUTY},
    "exempt a day": EVERY_MANAGER,
    "chase units that have not reported": EVERY_MANAGER,
    "create or edit schedules": EVERY_MANAGER,
    "send a notice": EVERY_MANAGER,
    "acknowledge a notice": {MANAGER, DUTY},
    "connect chat robots": EVERY_MANAGER,
    "export the organisation ledger": {*EVERY_MANAGER, DUTY, READER, SYSTEM, SECURITY},
    "import a district": {*EVERY_MANAGER, SYSTEM},
    "manage accounts": {SYSTEM},
    "name administrators": {SECURITY},
    "edit the security policy": {SECURITY},
    "read the audit trail": {AUDIT},
}


class _Undo(Exception):
    """Leave nothing behind: every attempt runs in a savepoint rolled back after it."""


def allowed(attempt: Callable[[], Any]) -> bool:
    """True when the code let the attempt through (done, or refused for its content);
    False when it refused the person (PermissionDenied, 404, or a 403/404 page)."""
    try:
        with transaction.atomic():
            result = attempt()
            raise _Undo
    except _Undo:
        status = getattr(result, "status_code", 200)
        return status not in (403, 404)
    except ValidationError:
        return True
    except (PermissionDenied, Http404):
        return False


class RoleTableTest(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.duty_a = make_person("duty.a", "赵值班", "13900000011")
        cls.guard_b = make_person("guard.b", "钱门卫", "13900000012")
        from safecampus.orgs.models import Membership

        Membership.objects.create(person=cls.duty_a, unit=cls.school_a, role=Role.DUTY_STAFF)
        Membership.objects.create(person=cls.guard_b, unit=cls.school_b, role=Role.GATE_GUARD)

    def setUp(self) -> None:
        super().setUp()
        clock = time_machine.travel(MORNING, tick=False)
        clock.start()
        self.addCleanup(clock.stop)
        self.today = MORNING.date()
        schedule = reports.schedule_create(
            by=self.officer,
            root=self.bureau,
            name="冬季安全日报",
            starts_on=self.today,
            frequency=Frequency.DAILY,
        )
        reports.day_open(schedule=schedule, day=self.today)
        self.notice = notices.notice_send(
            by=self.officer,
            unit=self.bureau,
            title="寒潮预警",
            body="请做好防寒工作。",
            requires_ack=True,
        )

    def personas(self) -> dict[str, list[Person]]:
        """Each column's personas; each acts on its own school (the officer: school A)."""
        return {
            MANAGER: [self.principal_a],
            ABOVE: [self.officer],
            DUTY: [self.duty_a],
            READER: [self.teacher_a],
            SYSTEM: [self.sysadmin],
            SECURITY: [self.secadmin],
            AUDIT: [self.auditadmin],
        }

    def actions(self, person: Person, unit: Unit) -> dict[str, Callable[[], Any]]:
        client = self.client_for(person)
        receipt = self.notice.receipts.get(unit=unit)

        def correct() -> Any:
            reports.report_submit(by=self.officer, unit=unit, day=self.today, zero=True)
            return reports.report_submit(
                by=person,
                unit=unit,
                day=self.today,
                zero=False,
                items=[{"what": "门卫发现围墙破损", "measures": "已围挡"}],
                reason="补充情况",
            )

        return {
            "see the tree and the unit": lambda: client.get(f"/orgs/units/{unit.pk}/"),
            "edit units and people": lambda: client.get(f"/orgs/units/{unit.pk}/edit/"),
            "grant roles in units": lambda: client.get(f"/orgs/units/{unit.pk}/roles/new/"),
            "submit a daily report": lambda: reports.report_submit(
                by=person, unit=unit, day=self.today, zero=True
            ),
            "correct a daily report": correct,
            "exempt a day": lambda: reports.exemption_set(
                by=person, unit=unit, day=self.today, reason="停电闭校"
            ),
            "chase units that have not reported": lambda: reports.report_chase(
                by=person, unit=unit, day=self.today
            ),
            "create or edit schedules": lambda: reports.schedule_create(
                by=person, root=unit, name="汛期日报", starts_on=self.today
            ),
            "send a notice": lambda: notices.notice_send(
                by=person, unit=unit, title="防溺水", body="请开展防溺水教育。"
            ),
            "acknowledge a notice": lambda: notices.notice_acknowledge(by=person, receipt=receipt),
            "connect chat robots": lambda: client.get(f"/notify/units/{unit.pk}/channels/"),
            "export the organisation ledger": lambda: client.get("/orgs/export.xlsx"),
            "import a district": lambda: client.get("/orgs/import/"),
            "manage accounts": lambda: client.get("/admin/accounts/"),
            "name administrators": lambda: client.get("/admin/admins/"),
            "edit the security policy": lambda: client.get("/admin/policy/"),
            "read the audit trail": lambda: client.get("/audit/"),
        }

    def own_school(self, person: Person) -> Unit:
        return self.school_b if person in (self.duty_b, self.guard_b) else self.school_a

    def test_the_table_covers_every_action_tried(self) -> None:
        self.assertEqual(set(self.actions(self.officer, self.school_a)), set(TABLE))

    def test_code_follows_the_table(self) -> None:
        disagreements = []
        for column, people in self.personas().items():
            for person in people:
                unit = self.own_school(person)
                for action, attempt in self.actions(person, unit).items():
                    expected = column in TABLE[action]
                    got = allowed(attempt)
                    if got != expected:
                        disagreements.append(
                            f"{action} · {column} ({person.username} on {unit.code}): "
                            f"table says {'yes' if expected else 'no'}, code says "
                            f"{'yes' if got else 'no'}"
                        )
        self.assertEqual(disagreements, [])

    def test_nothing_on_another_school(self) -> None:
        """School B's business is its own and the bureau's: school A's principal, duty
        staff and head teacher may do none of it (they do not even see B)."""
        per_unit = [a for a in TABLE if a not in _GLOBAL]
        for person in (self.principal_a, self.duty_a, self.teacher_a):
            for action, attempt in self.actions(person, self.school_b).items():
                if action in per_unit:
                    with self.subTest(person=person.username, action=action):
                        self.assertFalse(allowed(attempt))

    def test_duty_staff_report_for_their_own_unit_only(self) -> None:
        """A bureau's duty staff file the bureau's report, not the schools' below it."""
        bureau_duty = make_person("duty.bureau", "孙值班", "13900000013")
        from safecampus.orgs.models import Membership

        Membership.objects.create(person=bureau_duty, unit=self.bureau, role=Role.DUTY_STAFF)
        self.assertTrue(access.can_report(bureau_duty, self.bureau))
        self.assertFalse(access.can_report(bureau_duty, self.school_a))
        self.assertFalse(access.can_acknowledge(bureau_duty, self.school_a))

    def test_an_administrator_with_a_membership_still_does_no_business(self) -> None:
        """The administrator roles decide, whatever unit roles the account also holds."""
        from safecampus.orgs.models import Membership

        Membership.objects.create(person=self.sysadmin, unit=self.school_a, role=Role.PRINCIPAL)
        access.forget(self.sysadmin)
        for action in (
            "submit a daily report",
            "exempt a day",
            "chase units that have not reported",
            "send a notice",
            "acknowledge a notice",
            "create or edit schedules",
        ):
            with self.subTest(action=action):
                attempt = self.actions(self.sysadmin, self.school_a)[action]
                self.assertFalse(allowed(attempt))
        self.assertFalse(access.reporting_units(self.sysadmin).exists())
        self.assertFalse(access.units_run(self.sysadmin).exists())

    def test_the_duty_account_reports_through_the_pages(self) -> None:
        """The one tap (今日平安无事) on the duty account's reporting page."""
        client = self.client_for(self.duty_a)
        page = client.get("/reports/")
        self.assertContains(page, f"/reports/units/{self.school_a.pk}/zero/")
        response = client.post(f"/reports/units/{self.school_a.pk}/zero/")
        self.assertEqual(response.status_code, 302)
        self.assertTrue(self.school_a.daily_reports.exists())

    def test_administrators_have_no_reporting_page_rows_and_are_refused(self) -> None:
        for admin in (self.sysadmin, self.secadmin, self.auditadmin):
            client = self.client_for(admin)
            with self.subTest(admin=admin.username):
                self.assertNotContains(client.get("/reports/"), "/zero/")
                response = client.post(f"/reports/units/{self.school_a.pk}/zero/")
                self.assertIn(response.status_code, (403, 404))
        self.assertFalse(self.school_a.daily_reports.exists())


# Actions not tied to a unit: they are the same on any school.
_GLOBAL = {
    "export the organisation ledger",
    "import a district",
    "manage accounts",
    "name administrators",
    "edit the security policy",
    "read the audit trail",
}
