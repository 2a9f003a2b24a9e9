"""Test bases with the personas every test can use.

bureau ─┬─ group_1 ── school_a (areas: 教学楼 with a responsible person, 食堂 without)
        └─ group_2 ── school_b

officer      bureau safety office: sees and manages the whole district
principal_a  principal of school A: sees and edits only A
duty_b       duty staff of school B: sees B, must see nothing of A
sysadmin / secadmin / auditadmin: the three separated administrators
"""

from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.test import Client, TestCase, TransactionTestCase
from django.utils import timezone

from safecampus.lib import appendonly
from safecampus.orgs.models import (
    AdminRole,
    Area,
    AreaKind,
    Membership,
    Person,
    Role,
    Unit,
    UnitKind,
)

PASSWORD = "Test-pass-1"


def make_person(username: str, name: str, mobile: str | None = None, **extra: Any) -> Person:
    person = Person(
        username=username, name=name, mobile=mobile, password_changed_at=timezone.now(), **extra
    )
    person.set_password(PASSWORD)
    person.save()
    return person


def make_unit(parent: Unit | None, code: str, name: str, kind: str) -> Unit:
    unit = Unit(code=code, name=name, kind=kind)
    return (
        Unit.objects.add_root(instance=unit)
        if parent is None
        else Unit.objects.add_child(parent, instance=unit)
    )


class Personas:
    """Builds the persona district; shared by TestCase and TransactionTestCase bases."""

    @classmethod
    def build_district(cls) -> None:
        cls.bureau = make_unit(None, "330100", "示例区教育局", UnitKind.BUREAU)
        cls.bureau.refresh_from_db()
        cls.group_1 = make_unit(cls.bureau, "G1", "城关学区", UnitKind.GROUP)
        cls.bureau.refresh_from_db()
        cls.group_2 = make_unit(cls.bureau, "G2", "西山学区", UnitKind.GROUP)
        cls.group_1.refresh_from_db()
        cls.school_a = make_unit(cls.group_1, "SA", "城关小学", UnitKind.SCHOOL)
        cls.group_2.refresh_from_db()
        cls.school_b = make_unit(cls.group_2, "SB", "西山小学", UnitKind.SCHOOL)

        cls.officer = make_person("officer", "周安保", "13900000001")
        cls.principal_a = make_person("principal.a", "王校长", "13900000002")
        cls.duty_b = make_person("duty.b", "李值班", "13900000003")
        cls.teacher_a = make_person("teacher.a", "陈老师", "13900000004")
        cls.sysadmin = make_person("sysadmin", "系统管理员", admin_role=AdminRole.SYSTEM)
        cls.secadmin = make_person("secadmin", "安全管理员", admin_role=AdminRole.SECURITY)
        cls.auditadmin = make_person("auditadmin", "审计管理员", admin_role=AdminRole.AUDIT)
        for person, unit, role in [
            (cls.officer, cls.bureau, Role.SAFETY_OFFICE),
            (cls.principal_a, cls.school_a, Role.PRINCIPAL),
            (cls.duty_b, cls.school_b, Role.DUTY_STAFF),
            (cls.teacher_a, cls.school_a, Role.HEAD_TEACHER),
        ]:
            Membership.objects.create(person=person, unit=unit, role=role)
        cls.area_a = Area.objects.create(
            unit=cls.school_a, name="教学楼", kind=AreaKind.BUILDING, responsible=cls.teacher_a
        )
        cls.area_a_open = Area.objects.create(unit=cls.school_a, name="食堂", kind=AreaKind.CANTEEN)
        cls.area_b = Area.objects.create(unit=cls.school_b, name="校门", kind=AreaKind.GATE)

    def client_for(self, person: Person) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(person)
        return client


class BaseTestCase(Personas, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.build_district()

    def setUp(self) -> None:
        for unit in (self.bureau, self.group_1, self.group_2, self.school_a, self.school_b):
            unit.refresh_from_db()


@contextmanager
def audit_triggers_dropped() -> Any:
    """Drop the append-only triggers, as a database administrator could, then put them back."""
    tables = appendonly.installed_tables(connection)
    for table in tables:
        appendonly.remove(connection, table)
    try:
        yield
    finally:
        for table in tables:
            appendonly.install(connection, table)


class TransactionalTestCase(TransactionTestCase):
    """For tests that need real commits (browser tests, concurrent workers).

    Django empties every table after each such test; the audit table refuses
    that, so the triggers are lifted for the flush and put back after it.
    """

    def _fixture_teardown(self) -> None:
        with audit_triggers_dropped():
            super()._fixture_teardown()
