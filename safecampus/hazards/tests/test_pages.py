"""The ledger's pages: report a hazard (the form keeps what was typed), fix, verify or send
back from the hazard's page, the ledger paged by key; other units' hazards are not found."""

from django.urls import reverse

from safecampus.hazards import services
from safecampus.hazards.models import Hazard, Status

from .test_services import HazardCase


class HazardPagesTests(HazardCase):
    def test_report_fix_and_close_through_the_pages(self) -> None:
        teacher = self.client_for(self.teacher_a)
        bad = teacher.post(
            reverse("hazards:new"),
            {
                "unit": self.school_a.pk,
                "category": "",
                "description": "灭火器过期",
                "severity": "general",
            },
        )
        self.assertContains(bad, "灭火器过期")
        self.assertIn("category", bad.context["form"].errors)
        response = teacher.post(
            reverse("hazards:new"),
            {
                "unit": self.school_a.pk,
                "category": "fire",
                "description": "灭火器过期",
                "severity": "general",
                "area": self.area_a.pk,
            },
        )
        hazard = Hazard.objects.get()
        self.assertRedirects(response, reverse("hazards:detail", args=[hazard.pk]))
        page = teacher.get(reverse("hazards:detail", args=[hazard.pk]))
        self.assertContains(page, 'data-testid="submit-fix"')
        empty = teacher.post(reverse("hazards:action", args=[hazard.pk, "submit"]), {"note": ""})
        self.assertIn("note", empty.context["fix_form"].errors)
        teacher.post(reverse("hazards:action", args=[hazard.pk, "submit"]), {"note": "已更换"})
        self.assertNotContains(
            teacher.get(reverse("hazards:detail", args=[hazard.pk])), 'data-testid="close"'
        )
        principal = self.client_for(self.principal_a)
        back = principal.post(
            reverse("hazards:action", args=[hazard.pk, "send-back"]), {"reason": ""}
        )
        self.assertIn("reason", back.context["verify_form"].errors)
        principal.post(reverse("hazards:action", args=[hazard.pk, "close"]))
        hazard.refresh_from_db()
        self.assertEqual(hazard.status, Status.CLOSED)
        self.assertEqual(
            self.client_for(self.duty_b)
            .get(reverse("hazards:detail", args=[hazard.pk]))
            .status_code,
            404,
        )
        self.assertEqual(
            principal.post(reverse("hazards:action", args=[hazard.pk, "nonsense"])).status_code, 404
        )

    def test_the_ledger_pages_by_key(self) -> None:
        for i in range(55):
            services.hazard_report(
                by=self.teacher_a, unit=self.school_a, category="fire", description=f"隐患 {i}"
            )
        client = self.client_for(self.principal_a)
        first = client.get(reverse("hazards:ledger"))
        self.assertEqual(len(first.context["rows"]), 50)
        cursor = first.context["next"]
        self.assertTrue(cursor)
        second = client.get(reverse("hazards:ledger"), {"after": cursor})
        self.assertEqual(len(second.context["rows"]), 5)
        self.assertEqual(second.context["next"], "")
        seen = {h.pk for h in first.context["rows"]} | {h.pk for h in second.context["rows"]}
        self.assertEqual(len(seen), 55)
        garbage = client.get(reverse("hazards:ledger"), {"after": "not-a-cursor"})
        self.assertEqual(len(garbage.context["rows"]), 50)
        self.assertEqual(
            len(self.client_for(self.duty_b).get(reverse("hazards:ledger")).context["rows"]), 0
        )


class LedgerExportTests(HazardCase):
    def test_the_ledger_in_the_offices_columns_with_typed_formulas_as_text(self) -> None:
        import io

        from openpyxl import load_workbook

        hazard = services.hazard_report(
            by=self.teacher_a,
            unit=self.school_a,
            category="fire",
            description='=HYPERLINK("http://x")',
            area=self.area_a,
            interim="+1 临时封闭",
        )
        services.hazard_submit_fix(by=self.teacher_a, hazard=hazard, note="已更换")
        services.hazard_verify(by=self.principal_a, hazard=hazard, accept=True)
        response = self.client_for(self.principal_a).get(reverse("hazards:xlsx"))
        self.assertEqual(response.status_code, 200)
        ws = load_workbook(io.BytesIO(response.content)).active
        self.assertIn("学校安全隐患排查整治台账", ws["A1"].value)
        header = [c.value for c in ws[3]]
        self.assertEqual(
            header,
            [
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
                "备注",
            ],
        )
        row = [c for c in ws[4]]
        self.assertEqual(row[1].value, "城关小学")
        self.assertEqual(row[5].value, "一般")
        self.assertEqual(row[10].value, self.principal_a.name)
        for cell in (row[4], row[8]):
            self.assertEqual(cell.data_type, "s")
        self.assertEqual(row[4].value, '=HYPERLINK("http://x")')
        other = self.client_for(self.duty_b).get(reverse("hazards:xlsx"))
        self.assertEqual(load_workbook(io.BytesIO(other.content)).active.max_row, 3)


class DeadlinePageTests(HazardCase):
    def test_a_manager_moves_the_deadline_with_a_reason_the_form_keeps_it(self) -> None:
        hazard = services.hazard_report(
            by=self.teacher_a, unit=self.school_a, category="fire", description="灯坏了"
        )
        principal = self.client_for(self.principal_a)
        url = reverse("hazards:action", args=[hazard.pk, "deadline"])
        self.assertContains(
            principal.get(reverse("hazards:detail", args=[hazard.pk])),
            'data-testid="deadline-form"',
        )
        bad = principal.post(url, {"deadline": "2000-01-01", "reason": "等配件"})
        self.assertIn("deadline", bad.context["deadline_form"].errors)
        self.assertContains(bad, "等配件")
        principal.post(url, {"deadline": "2099-01-01", "reason": "等配件"})
        hazard.refresh_from_db()
        self.assertEqual(f"{hazard.deadline}", "2099-01-01")
        teacher = self.client_for(self.teacher_a)
        self.assertNotContains(
            teacher.get(reverse("hazards:detail", args=[hazard.pk])), 'data-testid="deadline-form"'
        )
        self.assertEqual(
            teacher.post(url, {"deadline": "2099-02-01", "reason": "x"}).status_code, 403
        )
