"""The roster for the wall (值班表): Excel opened again with openpyxl; the print view is
one A4 page a week."""

import datetime as dt
import io

import openpyxl
import time_machine
from django.urls import reverse
from django.utils import translation

from safecampus.duty import export

from .edge_base import NOON, DutyCase


class ExportTests(DutyCase):
    def test_excel_has_the_wall_layout(self) -> None:
        with time_machine.travel(NOON, tick=False), translation.override("zh-hans"):
            response = self.client_for(self.duty_b).get(
                reverse("duty:roster-xlsx", kwargs={"pk": self.school_b.pk}) + "?month=2026-11",
                HTTP_ACCEPT_LANGUAGE="zh-hans",
            )
        self.assertEqual(response.status_code, 200)
        ws = openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]
        rows = [[c for c in row] for row in ws.iter_rows(values_only=True)]
        self.assertIn("西山小学", rows[0][0])
        self.assertIn("2026-11-01 – 2026-11-30", rows[1][0])
        data = [r for r in rows[3:] if r[0] is not None]
        self.assertEqual(len(data), 1)
        self.assertEqual(
            list(data[0][1:7]),
            ["2026-11-24", export.WEEKDAYS[1], "白班 08:00–18:00", "李值班", "赵校长", "0571-8888"],
        )

    def test_b_cannot_export_a(self) -> None:
        for name in ("duty:roster-xlsx", "duty:roster-print"):
            response = self.client_for(self.duty_b).get(
                reverse(name, kwargs={"pk": self.school_a.pk})
            )
            self.assertEqual(response.status_code, 404)

    def test_print_view_one_section_a_week(self) -> None:
        response = self.client_for(self.duty_b).get(
            reverse("duty:roster-print", kwargs={"pk": self.school_b.pk}) + "?month=2026-11"
        )
        self.assertEqual(response.status_code, 200)
        # November 2026: Monday Oct 26 .. Sunday Dec 6, six weeks.
        self.assertEqual(response.content.count(b'data-testid="week"'), 6)
        weeks = response.context["weeks"]
        self.assertEqual(weeks[0].monday, dt.date(2026, 10, 26))
        self.assertEqual([len(w.rows) for w in weeks], [0, 0, 0, 0, 1, 0])
