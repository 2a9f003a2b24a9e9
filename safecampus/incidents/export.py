"""What offices submit and keep: an incident's report as a Word document in the official
layout (the docxtpl template docx/report.docx: title, addressee, numbered sections, issuing
unit and date), and the incident register (事件登记台账) of a period and subtree in Excel
(lib/xlsx: a ledger; never a formula from typed text)."""

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from docxtpl import DocxTemplate

from safecampus.lib import xlsx

from .models import Incident, IncidentReport, ReportKind, State
from .services import bureau_of, category_label

TEMPLATE = Path(__file__).resolve().parent / "docx" / "report.docx"
NUMERALS = "一二三四五六七八九十"
# What Word cannot hold in its XML (control characters other than tab and newlines).
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


@dataclass
class Section:
    heading: str
    lines: list[str] = field(default_factory=list)


def _numeral(n: int) -> str:
    if n <= 10:
        return NUMERALS[n - 1]
    return f"十{NUMERALS[n - 11]}" if n < 20 else str(n)


def _lines(text: str) -> list[str]:
    clean = (text or "").translate(_CONTROL)
    return [line.strip() for line in clean.splitlines() if line.strip()] or ["无"]


def _chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def report_sections(incident: Incident, reports: list[IncidentReport]) -> list[Section]:
    """The numbered sections of the report, from what is on record."""
    written = next((r for r in reports if r.kind == ReportKind.WRITTEN), None)
    final = next((r for r in reports if r.kind == ReportKind.FINAL), None)
    follow_ups = [r for r in reports if r.kind == ReportKind.FOLLOW_UP]
    when = timezone.localtime(incident.occurred_at)
    place = " ".join(p for p in (incident.area.name if incident.area else "", incident.place) if p)
    sections = [
        (
            "基本情况",
            [
                f"{when:%Y年%m月%d日%H时%M分}，{incident.unit.name}"
                f"{('（' + place + '）') if place else ''}发生{incident.get_kind_display()}事件。",
                *_lines(incident.summary),
                f"受伤人数：{incident.injured}人。"
                f"{'已' if incident.emergency_called else '未'}拨打急救或报警电话。",
            ],
        ),
        (
            "事件等级和类别",
            [f"等级：{incident.get_grade_display()}；类别：{category_label(incident)}。"],
        ),
    ]
    if written is not None:
        sections += [
            ("信息来源", _lines(written.source)),
            ("影响范围", _lines(written.scope)),
            ("涉及人员及伤亡情况", _lines(written.affected)),
            ("发展趋势", _lines(written.trend)),
            ("已采取的措施", _lines(written.measures)),
        ]
    if follow_ups:
        lines = []
        for r in follow_ups:
            at = timezone.localtime(r.submitted_at)
            lines.append(f"{at:%m月%d日%H时%M分}续报：" + "；".join(_lines(r.changes)))
            if r.measures:
                lines.append("采取措施：" + "；".join(_lines(r.measures)))
        sections.append(("续报情况", lines))
    if final is not None:
        sections += [
            ("事件原因", _lines(final.cause)),
            ("处置经过", _lines(final.handling)),
            ("损失情况", _lines(final.losses)),
            ("经验教训", _lines(final.lessons)),
            ("整改措施", _lines(final.corrective)),
        ]
    return [
        Section(f"{_numeral(n)}、{heading}", lines)
        for n, (heading, lines) in enumerate(sections, start=1)
    ]


def report_title(incident: Incident) -> str:
    when = timezone.localtime(incident.occurred_at)
    what = "终报" if incident.state == State.CLOSED else "报告"
    return (
        f"{incident.unit.name}关于{when.month}月{when.day}日"
        f"{incident.get_kind_display()}事件的{what}"
    )


def report_docx(incident: Incident) -> bytes:
    """The report as a .docx in the official layout (always in Chinese: it is submitted),
    from what is on record now."""
    incident = Incident.objects.select_related("unit", "area").get(pk=incident.pk)
    reports = list(incident.reports.order_by("submitted_at", "pk"))
    above = bureau_of(incident.unit)
    addressee = above.name if above is not None and above.pk != incident.unit_id else "上级主管部门"
    context: dict[str, Any] = {
        "title": report_title(incident),
        "addressee": addressee,
        "opening": "现将有关情况报告如下：",
        "sections": [
            {"heading": s.heading, "lines": s.lines} for s in report_sections(incident, reports)
        ],
        "unit": incident.unit.name,
        "date": _chinese_date(timezone.localdate()),
    }
    doc = DocxTemplate(TEMPLATE)
    doc.render(context, autoescape=True)  # & < > in typed text stay text
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def register_workbook(incidents: QuerySet[Incident], *, title: str, by: str) -> bytes:
    """事件登记台账: one row an incident, with its timeliness."""
    columns = [
        xlsx.Column(_("Unit"), 20),
        xlsx.Column(_("Type"), 12),
        xlsx.Column(_("Category"), 14),
        xlsx.Column(_("Grade"), 10),
        xlsx.Column(_("Occurred at"), 17),
        xlsx.Column(_("Reported at"), 17),
        xlsx.Column(_("Place"), 16),
        xlsx.Column(_("What happened"), 36),
        xlsx.Column(_("People hurt"), 8),
        xlsx.Column(_("Written report at"), 17),
        xlsx.Column(_("Closed at"), 17),
        xlsx.Column(_("State"), 8),
        xlsx.Column(_("Late steps"), 8),
    ]

    def at(value: dt.datetime | None) -> str:
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value else ""

    rows = (
        [
            i.unit.name,
            i.get_kind_display(),
            category_label(i),
            i.get_grade_display(),
            at(i.occurred_at),
            at(i.reported_at),
            i.place,
            i.summary,
            i.injured,
            at(i.written_at),
            at(i.closed_at),
            i.get_state_display(),
            i.late_steps,
        ]
        for i in incidents
    )
    wb = xlsx.new_workbook()
    xlsx.write_ledger(
        wb.create_sheet(_("Incidents")),
        title=title,
        meta=[(_("Exported by"), by), (_("Exported on"), f"{timezone.localdate():%Y-%m-%d}")],
        columns=columns,
        rows=rows,
    )
    return xlsx.to_bytes(wb)
