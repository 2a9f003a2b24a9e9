"""The report as Word (opened again with python-docx: the title, the unit, the grade, the
measures, the final report's sections; typed markup stays text) and the register in Excel
(typed formulas stay text)."""

import datetime as dt
import io

import time_machine
from django.urls import reverse
from docx import Document
from openpyxl import load_workbook

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.incidents import export, services
from safecampus.incidents.models import Kind

from .base import NOON, IncidentCase
from .test_http import FINAL, WRITTEN


def text_of(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


class ExportTests(IncidentCase, ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        with time_machine.travel(NOON, tick=False):
            self.incident = services.incident_report(
                by=self.duty_b,
                unit=self.school_b,
                kind=Kind.FIRE,
                summary="食堂起火 <b>&amp; {{ title }} {% if x %}",
                place="食堂",
            )

    def test_the_written_and_final_report_as_word(self) -> None:
        services.incident_write(
            by=self.leader_b, incident=self.incident, **(WRITTEN | {"grade": "3"})
        )
        services.incident_follow_up(by=self.leader_b, incident=self.incident, changes="已恢复供餐")
        text = text_of(export.report_docx(self.incident))
        self.assertIn("西山小学关于11月24日火灾事件的报告", text)
        self.assertIn("示例区教育局：", text)
        self.assertIn("III 较大", text)
        self.assertIn(WRITTEN["measures"], text)
        self.assertIn("续报：已恢复供餐", text)
        self.assertIn("<b>&amp; {{ title }} {% if x %}", text)  # typed text, not markup
        self.assertTrue(text.rstrip().endswith("日"))  # the date closes it
        services.incident_close(by=self.leader_b, incident=self.incident, **FINAL)
        closed = text_of(export.report_docx(self.incident))
        self.assertIn("事件的终报", closed)
        self.assertIn("整改措施", closed)
        self.assertIn(FINAL["corrective"], closed)

    def test_download_for_those_who_handle_it_page_and_api(self) -> None:
        page = self.client_for(self.leader_b).get(
            reverse("incidents:docx", args=[self.incident.pk])
        )
        self.assertEqual(page.status_code, 200)
        self.assertIn("西山小学", text_of(page.content))
        self.assertEqual(
            self.client_for(self.duty_b)
            .get(reverse("incidents:docx", args=[self.incident.pk]))
            .status_code,
            403,
        )
        api = self.api(self.officer).get(f"/incidents/{self.incident.pk}/report.docx")
        self.assertEqual(api.status_code, 200)
        self.assertIn("食堂", text_of(api.content))
        self.assertError(
            self.api(self.duty_b).get(f"/incidents/{self.incident.pk}/report.docx"), 403
        )

    def test_the_register_in_excel_keeps_formulas_as_text_and_counts_late_steps(self) -> None:
        with time_machine.travel(NOON + dt.timedelta(minutes=1), tick=False):
            services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.INJURY, summary="=HYPERLINK(1)"
            )
        with time_machine.travel(NOON + dt.timedelta(hours=4), tick=False):
            services.incident_write(by=self.leader_b, incident=self.incident, **WRITTEN)  # late
        response = self.client_for(self.officer).get(
            reverse("incidents:register"), {"from": "2026-11-01", "to": "2026-11-30"}
        )
        self.assertEqual(response.status_code, 200)
        ws = load_workbook(io.BytesIO(response.content)).active
        rows = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
        self.assertEqual(len(rows), 2)
        summaries = {r[8]: r for r in rows}
        self.assertIn("=HYPERLINK(1)", summaries)
        cell = next(c for row in ws.iter_rows(min_row=4) for c in row if c.value == "=HYPERLINK(1)")
        self.assertEqual(cell.data_type, "s")
        fire = next(r for r in rows if r[2] == "Fire")
        self.assertEqual(fire[13], 1)  # the written report, 2 hours late
        # another unit's principal: nothing of school B
        other = self.client_for(self.principal_a).get(
            reverse("incidents:register"), {"from": "2026-11-01", "to": "2026-11-30"}
        )
        self.assertEqual(load_workbook(io.BytesIO(other.content)).active.max_row, 3)
