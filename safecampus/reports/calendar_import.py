"""Importing a year's official calendar: the State Council's list of holidays and
make-up workdays (国务院办公厅关于某年部分节假日安排的通知).

Two ways in, one check: lines pasted from the notice as typed out
(``2028-01-26~2028-02-01 放假 春节``, one day or range a line), or the template
workbook (columns 日期 / 类型 / 名称). All rows or none: every row is checked first
and every bad row is listed with its reason (bad date, wrong year, duplicate,
unknown kind…); only a clean list is applied, and it replaces the year's days.
The notice's own prose is not parsed: its wording changes from year to year, and
a misread day would silently open or close every school.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from safecampus.lib import xlsx
from safecampus.orgs.models import Person

from .official_calendar import NAME_MAX, ReplaceResult, calendar_year_replace

SHEET = "节假日安排"
HELP_SHEET = "说明"
ALIASES = {
    "date": {"日期", "date"},
    "kind": {"类型", "类型(放假/上班)", "类型（放假/上班）", "kind", "type"},
    "name": {"名称", "节日", "name"},
}
HOLIDAY_WORDS = {"放假", "休", "休息", "假", "节假日", "holiday", "off"}
WORKDAY_WORDS = {"上班", "班", "补班", "调休上班", "工作日", "workday", "work"}
MAX_ROWS = 400  # a year has 366 days at most
MAX_RANGE_DAYS = 31
MAX_TEXT = 20_000  # characters pasted
MAX_UPLOAD = 1_000_000  # bytes

_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?$"
)
_RANGE = re.compile(r"\s*(?:~|～|至|到|—|–)\s*")


@dataclass
class RowError:
    row: int  # line or spreadsheet row; 0 for the whole list
    reason: str


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    replaced: ReplaceResult | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_date(text: str) -> dt.date | None:
    match = _DATE.match(text.strip())
    if not match:
        return None
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def _kind(text: str) -> bool | None:
    """True for a working day, False for a holiday, None when unknown."""
    key = text.strip().lower()
    if key in WORKDAY_WORDS:
        return True
    if key in HOLIDAY_WORDS:
        return False
    return None


def check_rows(
    rows: list[tuple[int, str, str, str]], year: int
) -> tuple[dict[dt.date, tuple[bool, str]], list[RowError]]:
    """(row, date or range, kind, name) → the days, and every bad row with its reason."""
    days: dict[dt.date, tuple[bool, str]] = {}
    seen: dict[dt.date, int] = {}
    errors: list[RowError] = []
    if not rows:
        errors.append(RowError(0, _("The list has no days.")))
    if len(rows) > MAX_ROWS:
        errors.append(RowError(0, _("At most %(n)d rows.") % {"n": MAX_ROWS}))
        return {}, errors
    for number, date_text, kind_text, name in rows:
        reasons = []
        parts = _RANGE.split(date_text.strip())
        dates = [parse_date(p) for p in parts]
        span: list[dt.date] = []
        if not date_text.strip():
            reasons.append(_("The date is missing."))
        elif len(parts) > 2 or None in dates:
            reasons.append(
                _("'%(text)s' is not a date: write 2028-01-26, or a range 2028-01-26~2028-02-01.")
                % {"text": date_text}
            )
        else:
            first, last = dates[0], dates[-1]
            if last < first:
                reasons.append(_("The range ends before it starts."))
            elif (last - first).days >= MAX_RANGE_DAYS:
                reasons.append(_("A range is at most %(n)d days.") % {"n": MAX_RANGE_DAYS})
            else:
                span = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
                wrong = [d for d in span if d.year != year]
                if wrong:
                    reasons.append(
                        _("%(day)s is not in %(year)d.") % {"day": wrong[0], "year": year}
                    )
                    span = []
        work = _kind(kind_text)
        if work is None:
            reasons.append(
                _("'%(text)s' is not a kind: write 放假 (holiday) or 上班 (working day).")
                % {"text": kind_text}
                if kind_text.strip()
                else _("The kind is missing: write 放假 (holiday) or 上班 (working day).")
            )
        name = name.strip()
        if len(name) > NAME_MAX:
            reasons.append(_("The name is longer than %(n)d characters.") % {"n": NAME_MAX})
        for day in span:
            if day in seen:
                reasons.append(
                    _("%(day)s is already on row %(row)d.") % {"day": day, "row": seen[day]}
                )
                break
        if reasons:
            errors.extend(RowError(number, reason) for reason in reasons)
            continue
        for day in span:
            seen[day] = number
            days[day] = (bool(work), name)
    return days, errors


def rows_from_text(text: str) -> list[tuple[int, str, str, str]]:
    """One day or range a line: date, kind, name, separated by spaces, tabs or commas.
    Blank lines and lines starting with # are skipped."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = _RANGE.sub("~", line.strip())
        if not line or line.startswith("#"):
            continue
        parts = re.split(r"[\s,，、;；]+", line, maxsplit=2)
        parts += [""] * (3 - len(parts))
        rows.append((number, parts[0], parts[1], parts[2]))
    return rows


def rows_from_workbook(file: IO[bytes]) -> tuple[list[tuple[int, str, str, str]], list[RowError]]:
    try:
        wb = xlsx.open_workbook(file)
    except xlsx.WorkbookError:
        return [], [RowError(0, _("The file is not an Excel workbook (.xlsx)."))]
    ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
    records, missing = xlsx.read_table(ws, ALIASES, {"date", "kind"})
    if missing:
        headers = {"date": "日期", "kind": "类型"}
        return [], [
            RowError(
                0,
                _("Columns missing: %(names)s.")
                % {"names": "、".join(headers[m] for m in missing)},
            )
        ]
    return [(n, r.get("date", ""), r.get("kind", ""), r.get("name", "")) for n, r in records], []


def calendar_import(
    *, by: Person, year: int, text: str = "", file: IO[bytes] | None = None
) -> ImportResult:
    """Check every row; when all are good the list replaces the year's days."""
    result = ImportResult()
    if file is not None:
        rows, result.errors = rows_from_workbook(file)
    else:
        rows = rows_from_text(text)
    if result.errors:
        return result
    days, result.errors = check_rows(rows, year)
    if result.errors:
        return result
    try:
        result.replaced = calendar_year_replace(by=by, year=year, days=days)
    except ValidationError as exc:
        result.errors = [RowError(0, m) for m in exc.messages]
    return result


def template_workbook() -> bytes:
    wb = xlsx.new_workbook()
    ws = wb.create_sheet(SHEET)
    xlsx.write_table(
        ws,
        [xlsx.Column("日期", 24, text=True), xlsx.Column("类型", 10), xlsx.Column("名称", 24)],
        [],
    )
    lines = [
        ("填写说明", ""),
        ("日期", "2028-01-26，或一段日期 2028-01-26~2028-02-01（至多31天）；只能是导入的那一年"),
        ("类型", "放假 或 上班（周末调休上班的日子写 上班）"),
        ("名称", "如 春节、春节调休上班（可空）"),
        ("", ""),
        ("示例", ""),
        ("2028-01-26~2028-02-01", "放假  春节"),
        ("2028-01-23", "上班  春节调休上班"),
        ("", ""),
        ("注意", "导入的名单替换该年全部节假日和调休上班日；有任何一行错误则全部不导入。"),
    ]
    xlsx.write_notes(wb.create_sheet(HELP_SHEET), lines, widths=[24, 70])
    return xlsx.to_bytes(wb)
