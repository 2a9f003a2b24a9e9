"""Excel workbooks the way offices keep them, and reading them back.

Ledger layout (REFERENCE.md, data conventions): a merged title row, a
填报单位 / 填报人 / 填报日期 row, 序号 first and 备注 last, a frozen header,
A4 landscape, ID and phone columns stored as text.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass(frozen=True)
class Column:
    header: str
    width: int = 14
    text: bool = False  # phone, ID and code columns: keep every digit, no scientific notation


def new_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def write_table(ws: Worksheet, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> None:
    """A plain table: header in row 1 (import templates)."""
    ws.append([c.header for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    for row in rows:
        ws.append(list(row))
    _format_columns(ws, columns, first_data_row=2)
    ws.freeze_panes = "A2"


def write_ledger(
    ws: Worksheet,
    *,
    title: str,
    meta: Sequence[tuple[str, str]],
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
) -> None:
    """A ledger (台账): title, 填报 row, 序号 … 备注, frozen header, A4 landscape."""
    columns = [Column("序号", 6), *columns, Column("备注", 16)]
    width = len(columns)
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    ws.append(["    ".join(f"{k}：{v}" for k, v in meta)])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.append([c.header for c in columns])
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for n, row in enumerate(rows, start=1):
        ws.append([n, *row, ""])
    _format_columns(ws, columns, first_data_row=4)
    for row in ws.iter_rows(min_row=4):
        for cell in row:
            cell.border = _BORDER
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _format_columns(ws: Worksheet, columns: Sequence[Column], first_data_row: int) -> None:
    for i, col in enumerate(columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = col.width
        if col.text:
            for (cell,) in ws.iter_rows(min_row=first_data_row, min_col=i, max_col=i):
                cell.number_format = "@"
                if cell.value is not None:
                    cell.value = str(cell.value)


def to_bytes(wb: Workbook) -> bytes:
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


class WorkbookError(ValueError):
    """The file is not a workbook we can read."""


def open_workbook(file: IO[bytes]) -> Workbook:
    try:
        return load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise WorkbookError(str(exc)) from None


def cell_text(value: Any) -> str:
    """A cell as the text the user typed: 13800001111.0 → '13800001111'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_table(
    ws: Worksheet, aliases: dict[str, set[str]], required: set[str], scan_rows: int = 6
) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    """Rows of a sheet as dicts keyed by field name, with their row numbers.

    The header row is the first of the top ``scan_rows`` rows that names every
    required field (so a ledger's title rows are skipped). Returns (rows,
    missing required headers).
    """
    rows = list(ws.iter_rows(values_only=True))
    for index, row in enumerate(rows[:scan_rows]):
        found: dict[int, str] = {}
        for col, value in enumerate(row):
            label = cell_text(value).lower()
            for field, names in aliases.items():
                if label in names:
                    found[col] = field
        if required <= set(found.values()):
            records = []
            for number, data in enumerate(rows[index + 1 :], start=index + 2):
                record = {
                    field: cell_text(data[col]) if col < len(data) else ""
                    for col, field in found.items()
                }
                if any(record.values()):
                    records.append((number, record))
            return records, []
    return [], sorted(required)
