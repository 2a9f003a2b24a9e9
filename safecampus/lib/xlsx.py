"""Excel workbooks the way offices keep them, and reading them back.

Ledger layout (REFERENCE.md, data conventions): a merged title row, a
填报单位 / 填报人 / 填报日期 row, 序号 first and 备注 last, a frozen header,
A4 landscape, ID and phone columns stored as text.

Every value goes into a cell through ``put`` (and ``to_bytes`` checks the
whole workbook once more before it leaves): a cell holds a value, never a
formula. Names, addresses and report items are typed by users — a school can
call itself ``=HYPERLINK("http://…?"&A1,"点击查看")`` — and the bureau opens the
file in Excel. Text is stored as text (shared string, ``t="s"``), which Excel
and WPS show and never evaluate; text that would be a formula when typed
(starting with = + - @, tab, CR, LF or their full-width forms) also carries
the quote prefix, so editing the cell keeps it text. The value itself is not
changed: the import reads back exactly what was exported.

Large ledgers are written row by row (``stream_ledger``, openpyxl's write-only mode): the
same layout, each row on its way to a temporary file as it is given, so memory does not grow
with the row count. There is no last look over the whole workbook there: every value goes
through ``_stream_cell``, which applies the rules of ``put``.
"""

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
# What makes Excel, WPS or LibreOffice read typed text as a formula (or a DDE call).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
# Characters an .xlsx cannot hold at all (openpyxl refuses them): shown as U+FFFD.
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")
_MAX_TEXT = 32767  # Excel's limit for one cell


@dataclass(frozen=True)
class Column:
    header: str
    width: int = 14
    text: bool = False  # phone, ID and code columns: keep every digit, no scientific notation


def put(cell: Cell, value: Any) -> None:
    """The one way a value goes into a cell of an export: never a formula."""
    if isinstance(value, str):
        text = _ILLEGAL.sub("\ufffd", value)[:_MAX_TEXT]
        cell.value = text  # openpyxl makes "=…" a formula and "#N/A" an error here
        cell.data_type = "s"  # so say again that it is text
        if text.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True
    else:
        cell.value = value


def append_row(ws: Worksheet, values: Iterable[Any]) -> None:
    """``ws.append`` for exports: every value through ``put``."""
    cells = []
    for value in values:
        cell = Cell(ws)
        put(cell, value)
        cells.append(cell)
    ws.append(cells)


def new_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def write_table(ws: Worksheet, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> None:
    """A plain table: header in row 1 (import templates)."""
    append_row(ws, [c.header for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
    for row in rows:
        append_row(ws, row)
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
    append_row(ws, [title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A1"].font = Font(bold=True, size=16)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    append_row(ws, ["    ".join(f"{k}：{v}" for k, v in meta)])
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    append_row(ws, [c.header for c in columns])
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for n, row in enumerate(rows, start=1):
        append_row(ws, [n, *row, ""])
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


def stream_ledger(
    file: IO[bytes] | str | Path,
    *,
    sheet: str,
    title: str,
    meta: Sequence[tuple[str, str]],
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
) -> int:
    """``write_ledger``'s layout written row by row into `file` (openpyxl write-only): memory
    stays flat however many rows come. Returns the number of rows written."""
    columns = [Column("序号", 6), *columns, Column("备注", 16)]
    width = len(columns)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    # Write-only: everything about the sheet is set before its first row.
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = col.width
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.merged_cells.add(f"A1:{get_column_letter(width)}1")
    ws.merged_cells.add(f"A2:{get_column_letter(width)}2")

    head = _stream_cell(ws, title)
    head.font = Font(bold=True, size=16)
    head.alignment = Alignment(horizontal="center", vertical="center")
    ws.append([head])
    ws.append([_stream_cell(ws, "    ".join(f"{k}：{v}" for k, v in meta))])
    header = []
    for col in columns:
        cell = _stream_cell(ws, col.header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        header.append(cell)
    ws.append(header)

    # The style of a bordered cell, and of a bordered text cell kept as text, made once and
    # copied into each cell (setting a border on every cell costs more than the row itself).
    plain = WriteOnlyCell(ws)
    plain.border = _BORDER
    quoted = WriteOnlyCell(ws)
    quoted.border = _BORDER
    quoted.quotePrefix = True
    as_text = WriteOnlyCell(ws)
    as_text.border = _BORDER
    as_text.number_format = "@"
    styles = [as_text._style if col.text else plain._style for col in columns]
    n = 0
    for n, row in enumerate(rows, start=1):
        cells = []
        for i, value in enumerate([n, *row, ""]):
            cell = _stream_cell(ws, str(value) if columns[i].text and value is not None else value)
            cell._style = copy(quoted._style if cell.quotePrefix else styles[i])
            cells.append(cell)
        ws.append(cells)
    wb.save(file)
    return n


_PLAIN = (bool, int, float, Decimal, dt.date, dt.datetime, dt.time)


def _stream_cell(ws: Any, value: Any) -> WriteOnlyCell:
    """``put`` for write-only sheets: text is text (never a formula, the quote prefix on
    what would be one when typed); anything but a number, a date or nothing becomes text."""
    cell = WriteOnlyCell(ws)
    if value is None or isinstance(value, _PLAIN):
        cell.value = value
    else:
        put(cell, str(value))
    return cell


def _format_columns(ws: Worksheet, columns: Sequence[Column], first_data_row: int) -> None:
    for i, col in enumerate(columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = col.width
        if col.text:
            for (cell,) in ws.iter_rows(min_row=first_data_row, min_col=i, max_col=i):
                cell.number_format = "@"
                if cell.value is not None:
                    put(cell, str(cell.value))


def write_notes(ws: Worksheet, lines: Sequence[Sequence[str]], widths: Sequence[int]) -> None:
    """A sheet of notes (an import template's 说明): the first line bold."""
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    for line in lines:
        append_row(ws, line)
    for cell in ws[1]:
        cell.font = Font(bold=True)


def _no_formulas(wb: Workbook) -> None:
    """The last look before a workbook leaves: a cell that did not come through ``put``
    (a future export written another way) is made text all the same."""
    for ws in wb.worksheets:
        for cell in (c for row in ws.iter_rows() for c in row):
            value = cell.value
            if isinstance(value, str) and (
                cell.data_type != "s"
                or (value.startswith(FORMULA_TRIGGERS) and not cell.quotePrefix)
            ):
                put(cell, value)


def to_bytes(wb: Workbook) -> bytes:
    _no_formulas(wb)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


class WorkbookError(ValueError):
    """The file is not a workbook we can read."""


def open_workbook(file: IO[bytes], *, formulas: bool = False) -> Workbook:
    """Read-only. formulas=True: a formula cell gives its own text (never its cached value,
    which whoever made the file may have set to anything)."""
    try:
        return load_workbook(file, read_only=True, data_only=not formulas)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise WorkbookError(str(exc)) from None


def cell_text(value: Any) -> str:
    """A cell as the text the user typed: 13800001111.0 → '13800001111'; an array formula's
    own text."""
    if value is None:
        return ""
    if isinstance(value, ArrayFormula):
        value = value.text
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
