"""The ledger (隐患台账) in Excel in the columns offices use: 序号, 单位, 隐患类别, 隐患地点,
隐患描述, 等级, 整改责任人, 整改时限, 临时措施, 整改情况, 验收人, 销号日期 (and 备注), through
lib/xlsx (a ledger sheet; typed text never becomes a formula). Built in the request up to
MAX_ROWS; a larger export is for the worker (not built yet)."""

from django.db.models import QuerySet
from django.utils import timezone

from safecampus.lib import xlsx

from .models import Hazard

MAX_ROWS = 20_000

COLUMNS = [
    xlsx.Column("单位", 20),
    xlsx.Column("隐患类别", 12),
    xlsx.Column("隐患地点", 14),
    xlsx.Column("隐患描述", 36),
    xlsx.Column("等级", 6),
    xlsx.Column("整改责任人", 10),
    xlsx.Column("整改时限", 11),
    xlsx.Column("临时措施", 24),
    xlsx.Column("整改情况", 24),
    xlsx.Column("验收人", 10),
    xlsx.Column("销号日期", 11),
]


def ledger_workbook(rows: QuerySet[Hazard], *, title: str, unit_name: str, by: str) -> bytes:
    """The ledger of `rows` (at most MAX_ROWS) as an .xlsx; always in Chinese (submitted)."""
    wb = xlsx.new_workbook()
    xlsx.write_ledger(
        wb.create_sheet("隐患台账"),
        title=title,
        meta=[
            ("填报单位", unit_name),
            ("导出人", by),
            ("导出日期", f"{timezone.localdate():%Y-%m-%d}"),
        ],
        columns=COLUMNS,
        rows=(
            [
                h.unit.name,
                h.get_category_display(),
                " ".join(p for p in (h.area.name if h.area else "", h.place) if p),
                h.description,
                "重大" if h.severity == "major" else "一般",
                h.responsible.name if h.responsible else "",
                f"{h.deadline:%Y-%m-%d}",
                h.interim,
                h.fix_note or h.get_status_display(),
                h.verified_by.name if h.verified_by else "",
                f"{timezone.localtime(h.closed_at):%Y-%m-%d}" if h.closed_at else "",
            ]
            for h in rows.select_related("verified_by")[:MAX_ROWS]
        ),
    )
    return xlsx.to_bytes(wb)
