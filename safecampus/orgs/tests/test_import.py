"""Onboarding a district from Excel: a good workbook, every kind of bad row, all or nothing."""

from collections.abc import Iterable, Sequence
from io import BytesIO
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from safecampus.audit.models import AuditEntry
from safecampus.lib.xlsx import XLSX_MIME
from safecampus.orgs.imports import (
    PEOPLE_COLUMNS,
    UNIT_COLUMNS,
    ImportResult,
    org_import,
    template_workbook,
)
from safecampus.orgs.models import (
    LeadershipSeat,
    Membership,
    Person,
    Position,
    Role,
    Unit,
    UnitKind,
)
from safecampus.test import BaseTestCase

UNIT_HEADERS = [c.header for c in UNIT_COLUMNS]
PEOPLE_HEADERS = [c.header for c in PEOPLE_COLUMNS]


def workbook(units: Iterable[Sequence[Any]] = (), people: Iterable[Sequence[Any]] = ()) -> bytes:
    """A workbook as an office fills in the template: 单位 and 人员 with Chinese headers."""
    wb = Workbook()
    wb.remove(wb.active)
    units_ws = wb.create_sheet("单位")
    units_ws.append(UNIT_HEADERS)
    for row in units:
        units_ws.append(list(row))
    people_ws = wb.create_sheet("人员")
    people_ws.append(PEOPLE_HEADERS)
    for row in people:
        people_ws.append(list(row))
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def upload(content: bytes, name: str = "district.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=XLSX_MIME)


class ImportTestCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def run_import(self, by: Person, content: bytes) -> ImportResult:
        return org_import(by=by, file=BytesIO(content))

    def counts(self) -> tuple[int, int, int, int]:
        return (
            Unit.objects.count(),
            Person.objects.count(),
            Membership.objects.count(),
            LeadershipSeat.objects.count(),
        )

    def errors_of(self, result: ImportResult) -> set[tuple[str, int]]:
        return {(e.sheet, e.row) for e in result.errors}

    def assert_refused(
        self, by: Person, content: bytes, expected: dict[tuple[str, int], str]
    ) -> ImportResult:
        """Every expected (sheet, row) is listed with a reason containing the text; nothing kept."""
        before = self.counts()
        result = self.run_import(by, content)
        self.assertFalse(result.ok)
        for (sheet, row), text in expected.items():
            reasons = [e.reason for e in result.errors if e.sheet == sheet and e.row == row]
            self.assertTrue(reasons, f"{sheet} row {row} not listed in {result.errors}")
            self.assertTrue(
                any(text in reason for reason in reasons),
                f"{sheet} row {row}: {text!r} not in {reasons}",
            )
        self.assertEqual(self.counts(), before, "a refused import must create nothing")
        self.assertEqual((result.units, result.people), (0, 0))
        return result


class GoodWorkbookTest(ImportTestCase):
    def good_workbook(self) -> bytes:
        return workbook(
            units=[
                # A child before its parent: the import orders them itself.
                ("S31", "城东小学", "学校", "G3", "城东路1号", "0571-88880001"),
                ("G3", "城东学区", "学区", "330100", "城东路", "0571-88880000"),
                ("K31", "城东幼儿园", "幼儿园", "G3", "", ""),
                ("S31-JW", "教务处", "部门", "S31", "", ""),
                ("S12", "城关二小", "学校", "G1", "", ""),
            ],
            people=[
                ("刘一", "13800000011", "S31", "校长、组长、第一责任人", ""),
                # A mobile typed as a number in Excel keeps every digit.
                ("刘二", 13800000012, "S31", "安全员，副组长", ""),
                ("刘三", "13800000013", "S31", "成员", ""),
                ("刘四", "13800000014", "G3", "学区负责人 第一责任人", "liu.si"),
                ("刘五", "13800000015", "SA", "班主任", ""),
                ("刘六", "13800000016", "S12", "校长、园长", ""),
            ],
        )

    def test_units_people_roles_seats_and_heads_are_created(self):
        units_before, people_before, members_before, _ = self.counts()
        result = self.run_import(self.officer, self.good_workbook())
        self.assertTrue(result.ok, result.errors)
        self.assertEqual((result.units, result.people), (5, 6))
        self.assertEqual(Unit.objects.count(), units_before + 5)
        self.assertEqual(Person.objects.count(), people_before + 6)
        self.assertEqual(Membership.objects.count(), members_before + 6)

        g3 = Unit.objects.get(code="G3")
        s31 = Unit.objects.get(code="S31")
        self.assertEqual(g3.kind, UnitKind.GROUP)
        self.assertEqual((g3.address, g3.phone), ("城东路", "0571-88880000"))
        self.assertEqual(Unit.objects.get_parent(g3), self.bureau)
        self.assertEqual(Unit.objects.get_parent(s31), g3)
        self.assertEqual(s31.kind, UnitKind.SCHOOL)
        self.assertEqual(Unit.objects.get_parent(Unit.objects.get(code="K31")), g3)
        self.assertEqual(Unit.objects.get(code="K31").kind, UnitKind.KINDERGARTEN)
        self.assertEqual(Unit.objects.get_parent(Unit.objects.get(code="S31-JW")), s31)
        # A new school placed under an existing group given by its code.
        self.assertEqual(Unit.objects.get_parent(Unit.objects.get(code="S12")), self.group_1)

        liu1 = Person.objects.get(mobile="13800000011")
        liu2 = Person.objects.get(mobile="13800000012")
        liu3 = Person.objects.get(mobile="13800000013")
        liu4 = Person.objects.get(mobile="13800000014")
        liu5 = Person.objects.get(mobile="13800000015")
        liu6 = Person.objects.get(mobile="13800000016")
        self.assertEqual(liu4.username, "liu.si")
        self.assertEqual(liu1.username, "13800000011")  # no username: log in by mobile
        self.assertFalse(liu1.has_usable_password())

        def roles(person: Person) -> set[tuple[str, str]]:
            return set(person.memberships.values_list("unit__code", "role"))

        self.assertEqual(roles(liu1), {("S31", Role.PRINCIPAL)})
        self.assertEqual(roles(liu2), {("S31", Role.SAFETY_OFFICER)})
        self.assertEqual(roles(liu3), {("S31", Role.STAFF)})
        self.assertEqual(roles(liu4), {("G3", Role.GROUP_HEAD)})
        self.assertEqual(roles(liu5), {("SA", Role.HEAD_TEACHER)})
        self.assertEqual(roles(liu6), {("S12", Role.PRINCIPAL)})  # 校长、园长: one role

        seats = set(LeadershipSeat.objects.filter(unit=s31).values_list("person", "position"))
        self.assertEqual(
            seats,
            {
                (liu1.pk, Position.LEADER),
                (liu2.pk, Position.DEPUTY),
                (liu3.pk, Position.MEMBER),
            },
        )
        self.assertEqual(s31.head, liu1)
        self.assertEqual(g3.head, liu4)

        unit_creates = set(
            AuditEntry.objects.filter(model="orgs.unit", action="create").values_list(
                "object_id", flat=True
            )
        )
        for code in ("G3", "S31", "K31", "S31-JW", "S12"):
            self.assertIn(str(Unit.objects.get(code=code).pk), unit_creates, code)
        self.assertTrue(
            AuditEntry.objects.filter(
                model="orgs.person", action="create", object_id=str(liu1.pk)
            ).exists()
        )
        self.assertTrue(
            AuditEntry.objects.filter(
                model="orgs.unit", action="update", object_id=str(s31.pk)
            ).exists(),
            "naming the head is recorded",
        )
        self.assertTrue(AuditEntry.objects.filter(model="orgs.membership").exists())

    def test_principal_can_import_inside_their_school(self):
        content = workbook(
            units=[("SA-G1", "一年级", "部门", "SA", "", "")],
            people=[
                ("孙老师", "13800000021", "SA-G1", "班主任", ""),
                ("钱老师", "13800000022", "SA", "", ""),
            ],
        )
        result = self.run_import(self.principal_a, content)
        self.assertTrue(result.ok, result.errors)
        dept = Unit.objects.get(code="SA-G1")
        self.assertEqual(Unit.objects.get_parent(dept), self.school_a)
        self.assertTrue(
            Membership.objects.filter(
                person__mobile="13800000022", unit=self.school_a, role=Role.STAFF
            ).exists()
        )

    def test_english_sheet_names_and_headers_are_read(self):
        wb = Workbook()
        wb.remove(wb.active)
        ws = wb.create_sheet("units")
        ws.append(["code", "name", "type", "parent code"])
        ws.append(["G9", "Group nine", "group", "330100"])
        ws = wb.create_sheet("people")
        ws.append(["name", "mobile", "unit code", "roles"])
        ws.append(["Nine", "13800000091", "G9", "group_head"])
        buffer = BytesIO()
        wb.save(buffer)
        result = self.run_import(self.officer, buffer.getvalue())
        self.assertTrue(result.ok, result.errors)
        self.assertTrue(Membership.objects.filter(unit__code="G9", role=Role.GROUP_HEAD).exists())


class BadRowTest(ImportTestCase):
    """Each kind of bad row, alone, refuses the whole workbook and names its row."""

    U = "单位"
    P = "人员"
    GOOD_UNIT = ("G5", "新学区", "学区", "330100", "", "")
    GOOD_PERSON = ("好人", "13800000050", "G5", "学区负责人", "")

    def check(self, units=(), people=(), expected=None, by=None):
        """A good unit row and a good person row come first: they must not be kept either."""
        content = workbook([self.GOOD_UNIT, *units], [self.GOOD_PERSON, *people])
        result = self.assert_refused(by or self.officer, content, expected)
        self.assertNotIn((self.U, 2), self.errors_of(result))
        self.assertNotIn((self.P, 2), self.errors_of(result))
        self.assertFalse(Unit.objects.filter(code="G5").exists())
        return result

    def test_unknown_parent(self):
        self.check(
            units=[("S51", "x", "学校", "NOPE", "", "")],
            expected={(self.U, 3): "Unknown parent code NOPE"},
        )

    def test_duplicate_code_within_the_file(self):
        self.check(
            units=[("S51", "一", "学校", "G5", "", ""), ("S51", "二", "学校", "G5", "", "")],
            expected={(self.U, 4): "Duplicate code S51 (also in row 3)"},
        )

    def test_duplicate_code_already_in_the_database(self):
        self.check(
            units=[("SA", "城关小学", "学校", "G1", "", "")],
            expected={(self.U, 3): "Code SA already exists"},
        )

    def test_bad_code(self):
        self.check(
            units=[("坏 代码", "x", "学校", "G5", "", "")],
            expected={(self.U, 3): "code"},
        )

    def test_missing_required_unit_fields(self):
        self.check(
            units=[("S51", "", "学校", "G5", "", "")],
            expected={(self.U, 3): "Code, name and type are required"},
        )

    def test_too_long_name(self):
        self.check(
            units=[("S51", "长" * 101, "学校", "G5", "", "")],
            expected={(self.U, 3): "at most 100 characters"},
        )

    def test_bad_mobile(self):
        for mobile in ("12345", "1380000001a", "23800000001", ""):
            with self.subTest(mobile=mobile):
                self.check(
                    people=[("张三", mobile, "G5", "", "")],
                    expected={(self.P, 3): "Bad mobile number"},
                )

    def test_duplicate_mobile_within_the_file(self):
        self.check(
            people=[("张三", "13800000051", "G5", "", ""), ("李四", "13800000051", "G5", "", "")],
            expected={(self.P, 4): "Duplicate mobile number (also in row 3)"},
        )

    def test_mobile_already_registered(self):
        self.check(
            people=[("张三", self.duty_b.mobile, "G5", "", "")],
            expected={(self.P, 3): "already registered"},
        )

    def test_cycle(self):
        result = self.check(
            units=[("A1", "甲", "学校", "B1", "", ""), ("B1", "乙", "学校", "A1", "", "")],
            expected={(self.U, 3): "cycle", (self.U, 4): "cycle"},
        )
        reason = next(e.reason for e in result.errors if e.row == 3)
        self.assertIn("A1 → B1 → A1", reason)

    def test_unit_that_is_its_own_parent(self):
        self.check(
            units=[("A1", "甲", "学校", "A1", "", "")],
            expected={(self.U, 3): "cycle"},
        )

    def test_unknown_type(self):
        self.check(
            units=[("S51", "x", "大学", "G5", "", "")],
            expected={(self.U, 3): "Unknown type: 大学"},
        )

    def test_unknown_role(self):
        self.check(
            people=[("张三", "13800000051", "G5", "校长、老板", "")],
            expected={(self.P, 3): "Unknown role: 老板"},
        )

    def test_two_positions_in_the_leadership_group(self):
        self.check(
            people=[("张三", "13800000051", "G5", "组长、副组长", "")],
            expected={(self.P, 3): "one position"},
        )

    def test_two_leaders_and_two_heads_in_one_unit(self):
        self.check(
            people=[
                ("张三", "13800000051", "G5", "组长、第一责任人", ""),
                ("李四", "13800000052", "G5", "组长、第一责任人", ""),
            ],
            expected={(self.P, 4): "already has a leader"},
        )
        self.check(
            people=[
                ("张三", "13800000051", "G5", "第一责任人", ""),
                ("李四", "13800000052", "G5", "第一责任人", ""),
            ],
            expected={(self.P, 4): "already has a head"},
        )

    def test_leader_when_the_unit_already_has_one(self):
        LeadershipSeat.objects.create(
            unit=self.school_a, person=self.principal_a, position=Position.LEADER
        )
        self.check(
            people=[("张三", "13800000051", "SA", "组长", "")],
            expected={(self.P, 3): "already has a leader"},
        )

    def test_unknown_unit_code_for_a_person(self):
        self.check(
            people=[("张三", "13800000051", "ZZZ", "", "")],
            expected={(self.P, 3): "Unknown unit code ZZZ"},
        )

    def test_username_taken_or_malformed(self):
        self.check(
            people=[
                ("张三", "13800000051", "G5", "", "officer"),
                ("李四", "13800000052", "G5", "", "bad name!"),
            ],
            expected={(self.P, 3): "already taken", (self.P, 4): "username"},
        )

    def test_kind_not_allowed_under_parent(self):
        self.check(
            units=[
                ("G6", "学区下的学区", "学区", "G1", "", ""),  # group under a group
                ("S51", "部门下的学校", "学校", "SA", "", ""),  # school under a school
                ("B2", "第二个局", "教育局", "", "", ""),  # a root only the sysadmin adds
                ("S52", "无上级", "学校", "", "", ""),  # a school needs a parent
                ("D51", "部门", "部门", "G5", "", ""),  # in-file parent of the wrong kind
            ],
            expected={
                (self.U, 3): "cannot be placed under",
                (self.U, 4): "cannot be placed under",
                (self.U, 5): "top-level",
                (self.U, 6): "parent code is required",
                (self.U, 7): "cannot be placed under",
            },
        )

    def test_archived_parent_is_a_row_error(self):
        archived = Unit.objects.add_child(
            self.group_1, instance=Unit(code="S-OLD", name="旧校", kind=UnitKind.SCHOOL)
        )
        archived.archived_at = timezone.now()
        archived.save()
        self.check(
            units=[("D51", "部门", "部门", "S-OLD", "", "")],
            people=[("张三", "13800000051", "S-OLD", "", "")],
            expected={(self.U, 3): "archived", (self.P, 3): "archived"},
        )

    def test_missing_columns(self):
        wb = Workbook()
        wb.remove(wb.active)
        wb.create_sheet("单位").append(["单位代码", "单位名称"])
        buffer = BytesIO()
        wb.save(buffer)
        result = self.assert_refused(self.officer, buffer.getvalue(), {("单位", 1): "kind"})
        self.assertEqual(len(result.errors), 1)

    def test_empty_workbook(self):
        self.assert_refused(self.officer, workbook(), {("", 0): "no rows"})

    def test_not_a_workbook(self):
        self.assert_refused(self.officer, b"name,mobile\n", {("", 0): "not an Excel workbook"})

    def test_someone_who_manages_nothing_may_not_import(self):
        with self.assertRaises(PermissionDenied):
            self.run_import(self.duty_b, workbook([self.GOOD_UNIT]))
        self.assertFalse(Unit.objects.filter(code="G5").exists())

    def test_sysadmin_places_staff_but_grants_no_roles(self):
        content = workbook(
            [self.GOOD_UNIT],
            [("好人", "13800000050", "G5", "", ""), ("张三", "13800000051", "SA", "校长", "")],
        )
        self.assert_refused(self.sysadmin, content, {(self.P, 3): "may not grant"})
        staff_only = workbook(
            [self.GOOD_UNIT], [("好人", "13800000050", "G5", "第一责任人、组长", "")]
        )
        result = self.run_import(self.sysadmin, staff_only)
        self.assertTrue(result.ok, result.errors)
        self.assertEqual(Unit.objects.get(code="G5").head.mobile, "13800000050")


class SubtreeTest(ImportTestCase):
    """principal_a imports only inside school A; school B is never revealed."""

    def test_rows_outside_the_subtree_are_refused_without_revealing_b(self):
        content = workbook(
            units=[
                ("P1", "B的部门", "部门", "SB", "", ""),
                ("P2", "G2的学校", "学校", "G2", "", ""),
                ("P3", "G1的学校", "学校", "G1", "", ""),
                ("P4", "A的部门", "部门", "SA", "", ""),  # the only good row
            ],
            people=[
                ("甲", "13800000061", "SB", "", ""),
                ("乙", "13800000062", "G1", "", ""),
                ("丙", "13800000063", "P4", "", ""),  # good
            ],
        )
        result = self.assert_refused(
            self.principal_a,
            content,
            {
                ("单位", 2): "Unknown parent code SB",
                ("单位", 3): "Unknown parent code G2",
                ("单位", 4): "Unknown parent code G1",
                ("人员", 2): "Unknown unit code SB",
                ("人员", 3): "Unknown unit code G1",
            },
        )
        self.assertNotIn(("单位", 5), self.errors_of(result))
        self.assertNotIn(("人员", 4), self.errors_of(result))
        text = " ".join(e.reason for e in result.errors)
        self.assertNotIn(self.school_b.name, text)
        self.assertNotIn(self.group_2.name, text)
        self.assertNotIn("outside", text)  # B is unknown to A, not "someone else's"

    def test_visible_but_unmanaged_unit_is_refused(self):
        # teacher_a sees school A but manages nothing: may not import at all.
        with self.assertRaises(PermissionDenied):
            self.run_import(self.teacher_a, workbook(people=[("x", "13800000064", "SA", "", "")]))
        # A group head of G1 who is also staff at the bureau sees the bureau but manages
        # only G1: a unit under the bureau is refused as outside what they manage.
        head = Person.objects.create(username="g1.head", name="学区长", mobile="13800000065")
        Membership.objects.create(person=head, unit=self.group_1, role=Role.GROUP_HEAD)
        Membership.objects.create(person=head, unit=self.bureau, role=Role.STAFF)
        self.assert_refused(
            head,
            workbook(units=[("G7", "x", "学区", "330100", "", "")]),
            {("单位", 2): "outside the units you manage"},
        )


class AllOrNothingTest(ImportTestCase):
    def test_every_bad_row_is_listed_and_nothing_is_created(self):
        content = workbook(
            units=[
                ("G5", "好学区", "学区", "330100", "", ""),  # 2 good
                ("S51", "x", "学校", "NOPE", "", ""),  # 3 unknown parent
                ("G5", "重复", "学区", "330100", "", ""),  # 4 duplicate in file
                ("SB", "重复", "学校", "G2", "", ""),  # 5 duplicate in DB
                ("A1", "甲", "学校", "B1", "", ""),  # 6 cycle
                ("B1", "乙", "学校", "A1", "", ""),  # 7 cycle
                ("S52", "x", "大学", "G5", "", ""),  # 8 unknown type
                ("G6", "x", "学区", "G1", "", ""),  # 9 kind not allowed
                ("S53", "好学校", "学校", "G5", "", ""),  # 10 good
            ],
            people=[
                ("好人", "13800000050", "S53", "校长、组长", ""),  # 2 good
                ("坏号", "1380000005", "G5", "", ""),  # 3 bad mobile
                ("重号", "13800000050", "G5", "", ""),  # 4 duplicate mobile
                ("怪角色", "13800000052", "G5", "皇帝", ""),  # 5 unknown role
                ("无单位", "13800000053", "ZZZ", "", ""),  # 6 unknown unit
                ("已注册", "13900000001", "G5", "", ""),  # 7 mobile taken
            ],
        )
        result = self.assert_refused(
            self.officer,
            content,
            {
                ("单位", 3): "Unknown parent",
                ("单位", 4): "Duplicate code",
                ("单位", 5): "already exists",
                ("单位", 6): "cycle",
                ("单位", 7): "cycle",
                ("单位", 8): "Unknown type",
                ("单位", 9): "cannot be placed under",
                ("人员", 3): "Bad mobile",
                ("人员", 4): "Duplicate mobile",
                ("人员", 5): "Unknown role",
                ("人员", 6): "Unknown unit code",
                ("人员", 7): "already registered",
            },
        )
        self.assertEqual(
            self.errors_of(result),
            {("单位", n) for n in range(3, 10)} | {("人员", n) for n in range(3, 8)},
        )
        for code in ("G5", "S53", "A1", "B1"):
            self.assertFalse(Unit.objects.filter(code=code).exists(), code)
        self.assertFalse(Person.objects.filter(mobile="13800000050").exists())

    def test_failure_while_applying_rolls_back_and_names_the_row(self):
        # Usernames that collide only once applied: row 2 gets its mobile as its
        # username, then row 3 asks for that same username explicitly.
        content = workbook(
            units=[("G5", "好学区", "学区", "330100", "", "")],
            people=[
                ("甲", "13800000071", "G5", "", ""),
                ("乙", "13800000072", "G5", "", "13800000071"),
            ],
        )
        result = self.assert_refused(self.officer, content, {("人员", 3): "username"})
        self.assertFalse(Unit.objects.filter(code="G5").exists())
        self.assertEqual(len(result.errors), 1)


class ImportPageTest(ImportTestCase):
    url = reverse("orgs:import")

    def test_bad_workbook_shows_every_bad_row_and_imports_nothing(self):
        before = self.counts()
        content = workbook(
            units=[("S51", "x", "学校", "NOPE", "", ""), ("S52", "x", "大学", "G1", "", "")],
            people=[("坏号", "123", "SA", "", "")],
        )
        response = self.client_for(self.officer).post(self.url, {"workbook": upload(content)})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'data-testid="import-errors"')
        self.assertContains(response, "Nothing was imported: 3 problems")
        self.assertContains(response, "Unknown parent code NOPE")
        self.assertContains(response, "Unknown type: 大学")
        self.assertContains(response, "Bad mobile number: 123")
        errors = response.context["result"].errors
        self.assertEqual(
            {(e.sheet, e.row) for e in errors}, {("单位", 2), ("单位", 3), ("人员", 2)}
        )
        self.assertEqual(self.counts(), before)

    def test_good_workbook_redirects_and_imports(self):
        content = workbook(
            units=[("G5", "新学区", "学区", "330100", "", "")],
            people=[("好人", "13800000050", "G5", "学区负责人", "")],
        )
        client = self.client_for(self.officer)
        response = client.post(self.url, {"workbook": upload(content)})
        self.assertRedirects(response, self.url, fetch_redirect_response=False)
        self.assertTrue(Unit.objects.filter(code="G5").exists())
        self.assertTrue(
            Membership.objects.filter(
                person__mobile="13800000050", unit__code="G5", role=Role.GROUP_HEAD
            ).exists()
        )
        page = client.get(self.url)
        self.assertContains(page, "Imported 1 units and 1 people.")

    def test_non_xlsx_file_gets_a_form_error(self):
        before = self.counts()
        client = self.client_for(self.officer)
        response = client.post(self.url, {"workbook": upload(b"a,b\n1,2\n", "district.csv")})
        self.assertEqual(response.status_code, 200)
        self.assertFormError(
            response.context["form"], "workbook", "Upload an Excel workbook (.xlsx)."
        )
        # An .xlsx name on something that is not a workbook is refused too.
        response = client.post(self.url, {"workbook": upload(b"not a zip", "fake.xlsx")})
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "The file is not an Excel workbook (.xlsx).")
        self.assertEqual(self.counts(), before)

    def test_page_links_the_template(self):
        response = self.client_for(self.principal_a).get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, reverse("orgs:import-template"))

    def test_template_is_a_workbook_with_the_three_sheets(self):
        response = self.client_for(self.officer).get(reverse("orgs:import-template"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], XLSX_MIME)
        self.assertIn("attachment", response["Content-Disposition"])
        wb = load_workbook(BytesIO(response.content))
        self.assertEqual(wb.sheetnames, ["单位", "人员", "说明"])
        self.assertEqual([c.value for c in wb["单位"][1]], UNIT_HEADERS)
        self.assertEqual([c.value for c in wb["人员"][1]], PEOPLE_HEADERS)
        self.assertGreater(wb["说明"].max_row, 3)

    def test_template_filled_in_imports(self):
        wb = load_workbook(BytesIO(template_workbook()))
        wb["单位"].append(["G5", "新学区", "学区", "330100", "", ""])
        wb["人员"].append(["好人", "13800000050", "G5", "学区负责人", ""])
        buffer = BytesIO()
        wb.save(buffer)
        result = self.run_import(self.officer, buffer.getvalue())
        self.assertTrue(result.ok, result.errors)
        self.assertEqual((result.units, result.people), (1, 1))

    def test_no_manager_role_gets_403(self):
        client = self.client_for(self.duty_b)
        self.assertEqual(client.get(self.url).status_code, 403)
        self.assertEqual(client.get(reverse("orgs:import-template")).status_code, 403)
        before = self.counts()
        content = workbook(units=[("G5", "新学区", "学区", "330100", "", "")])
        self.assertEqual(client.post(self.url, {"workbook": upload(content)}).status_code, 403)
        self.assertEqual(self.counts(), before)


class ExportTest(ImportTestCase):
    url = reverse("orgs:export")

    def export(self, person: Person) -> Any:
        response = self.client_for(person).get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], XLSX_MIME)
        return load_workbook(BytesIO(response.content))

    def column(self, ws: Any, header: str) -> list[Any]:
        headers = [c.value for c in ws[3]]
        index = headers.index(header)
        return [row[index] for row in ws.iter_rows(min_row=4, values_only=True)]

    def test_officer_export_is_a_ledger_of_the_whole_district(self):
        wb = self.export(self.officer)
        self.assertEqual(wb.sheetnames[:2], ["单位", "人员"])
        for ws in (wb["单位"], wb["人员"]):
            self.assertTrue(
                any(str(r).startswith("A1:") for r in ws.merged_cells.ranges), "merged title"
            )
            self.assertEqual(ws.freeze_panes, "A4")
            headers = [c.value for c in ws[3]]
            self.assertEqual(headers[0], "序号")
            self.assertEqual(headers[-1], "备注")
        self.assertEqual(
            set(self.column(wb["单位"], "单位代码")), {"330100", "G1", "G2", "SA", "SB"}
        )
        self.assertEqual(self.column(wb["单位"], "序号"), [1, 2, 3, 4, 5])
        names = set(self.column(wb["人员"], "姓名"))
        self.assertTrue({"王校长", "李值班", "陈老师", "周安保"} <= names)
        mobiles = self.column(wb["人员"], "手机号")
        self.assertIn("13900000003", mobiles)  # text, every digit kept

    def test_principal_export_holds_only_school_a(self):
        wb = self.export(self.principal_a)
        codes = self.column(wb["单位"], "单位代码")
        self.assertEqual(codes, ["SA"])
        people_text = " ".join(
            str(v) for row in wb["人员"].iter_rows(values_only=True) for v in row if v
        )
        self.assertNotIn("SB", people_text)
        self.assertNotIn("李值班", people_text)
        self.assertNotIn("13900000003", people_text)
        self.assertIn("王校长", people_text)
        units_text = " ".join(
            str(v) for row in wb["单位"].iter_rows(values_only=True) for v in row if v
        )
        self.assertNotIn("西山", units_text)

    def test_export_read_back_by_the_import(self):
        """The import finds the header under the ledger's title rows and names real rows."""
        response = self.client_for(self.officer).get(self.url)
        before = self.counts()
        result = self.run_import(self.officer, response.content)
        self.assertEqual(self.counts(), before)
        already = {
            e.row for e in result.errors if e.sheet == "单位" and "already exists" in e.reason
        }
        self.assertEqual(already, {4, 5, 6, 7, 8})
        registered = {e.row for e in result.errors if e.sheet == "人员"}
        self.assertTrue(registered)
        self.assertTrue(all(row >= 4 for row in registered))
