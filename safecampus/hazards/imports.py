"""An existing Excel ledger (隐患台账) into the hazard ledger: /hazards/import/ and
POST /api/v1/hazards/import.

The columns offices use — 序号, 单位, 隐患类别, 隐患地点, 隐患描述, 等级, 整改责任人, 整改时限,
临时措施, 整改情况, 验收人, 销号日期 — on every sheet whose header row names at least 单位,
隐患类别 and 隐患描述 (found among its first rows: a title and a 填报单位 row above it are
fine, so the file our own export writes imports back). All rows or none: every row is checked
first and every bad row listed with its sheet, row, column and reason; only a clean file is
applied, in one transaction, each row through services.hazard_import (history and audit).

A cell is read as the text in it: a formula is kept as its text (=A1+1), never evaluated nor
replaced by the value Excel cached for it. A file that is not an .xlsx, larger than MAX_BYTES,
larger than MAX_UNPACKED once unpacked, or with more than MAX_ROWS rows is refused whole.
"""

import datetime as dt
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from safecampus.lib import xlsx
from safecampus.lib.text import clean_text
from safecampus.orgs import access
from safecampus.orgs.models import Area, Membership, Person, Unit

from . import services
from .models import Category, Severity, Status

MAX_BYTES = 5 * 1024 * 1024
MAX_UNPACKED = 100 * 1024 * 1024  # a zip bomb is refused before it is read
MAX_PARTS = 2000
MAX_ROWS = 20_000
MAX_COLUMNS = 60
SCAN_ROWS = 10  # the header row is among the first rows of a sheet

# The columns: the field, the header our export writes (how a bad cell is named), and the
# other headers offices use for it. Headers are compared without spaces and case.
COLUMNS: dict[str, tuple[str, set[str]]] = {
    "number": ("序号", {"序号", "编号", "no", "no."}),
    "unit": ("单位", {"单位", "单位名称", "学校", "unit"}),
    "category": ("隐患类别", {"隐患类别", "类别", "隐患类型", "category"}),
    "place": ("隐患地点", {"隐患地点", "隐患位置", "地点", "位置", "place"}),
    "description": ("隐患描述", {"隐患描述", "隐患内容", "描述", "description"}),
    "severity": ("等级", {"等级", "隐患等级", "severity"}),
    "responsible": ("整改责任人", {"整改责任人", "责任人", "responsible"}),
    "deadline": ("整改时限", {"整改时限", "整改期限", "deadline", "fixby"}),
    "interim": ("临时措施", {"临时措施", "临时防范措施", "interimmeasures", "interim"}),
    "fix_note": ("整改情况", {"整改情况", "整改措施", "整改结果", "whatwasdone"}),
    "verifier": ("验收人", {"验收人", "复查人", "verifiedby", "verifier"}),
    "closed_on": ("销号日期", {"销号日期", "复查日期", "closedon"}),
}
REQUIRED = {"unit", "category", "description"}

# Short names offices write for the categories, besides the labels in Chinese and English.
CATEGORY_NAMES = {
    Category.BUILDINGS: {"校舍", "校舍安全", "建筑"},
    Category.FIRE: {"消防", "消防安全"},
    Category.FOOD: {"食品", "食品卫生", "食堂", "食品安全"},
    Category.WATER: {"饮用水", "供水", "饮水"},
    Category.POWER: {"用电", "用气", "用电用气", "水电气"},
    Category.LABS: {"实验室", "危化品", "实验室与危化品"},
    Category.SPORTS: {"体育器材", "体育设施"},
    Category.DORMITORY: {"宿舍", "学生宿舍"},
    Category.GATE: {"门卫", "安保", "门卫与安保", "校园安保"},
    Category.BUS: {"校车"},
    Category.SURROUNDINGS: {"周边", "校园周边", "周边环境"},
    Category.OTHER: {"其他", "其它"},
}
SEVERITY_NAMES = {
    Severity.GENERAL: {"一般", "一般隐患", "general"},
    Severity.MAJOR: {"重大", "重大隐患", "major"},
}
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?$"
)
_SPACE = re.compile(r"\s+")


@dataclass
class RowError:
    sheet: str
    row: int
    column: str
    reason: str


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    hazards: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Row:
    sheet: str
    row: int
    cells: dict[str, str]


@dataclass
class _Plan:
    """A checked row: what services.hazard_import is called with."""

    row: _Row
    values: dict[str, Any]


class _RowFailed(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.reason)
        self.error = error


def ledger_import(*, by: Person, file: IO[bytes], name: str = "") -> ImportResult:
    """Check every row of the workbook; apply it only if every row is good."""
    access.require(access.can_import_hazards(by))
    result = ImportResult()
    problem = _file_problem(file)
    if problem:
        result.errors.append(RowError("", 0, "", problem))
        return result
    try:
        wb = xlsx.open_workbook(file, formulas=True)
    except xlsx.WorkbookError:
        result.errors.append(RowError("", 0, "", _not_xlsx()))
        return result
    try:
        rows = _read(wb, result)
    finally:
        wb.close()
    if result.errors:
        return result
    plans = _Checker.load(by, rows).check(rows, result)
    if result.errors:
        return result
    source = PurePath(name or "").name[:80] or _("an Excel ledger")
    try:
        with transaction.atomic():
            for plan in plans:
                _apply(by, plan, source)
    except _RowFailed as exc:  # a rule the checks missed, on a known row: nothing was kept
        result.errors.append(exc.error)
        return result
    result.hazards = len(plans)
    return result


def _not_xlsx() -> str:
    return _("The file is not an Excel workbook (.xlsx).")


def _file_problem(file: IO[bytes]) -> str | None:
    """What makes the file unreadable or hostile before any of it is parsed, if anything:
    its size, not a zip (an .xlsx is one), or a zip that unpacks to far more than it is."""
    file.seek(0, 2)
    size = file.tell()
    file.seek(0)
    if size > MAX_BYTES:
        return _("The file is larger than %(mb)d MB.") % {"mb": MAX_BYTES // (1024 * 1024)}
    try:
        with zipfile.ZipFile(file) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return _not_xlsx()
    finally:
        file.seek(0)
    if len(parts) > MAX_PARTS or sum(p.file_size for p in parts) > MAX_UNPACKED:
        return _("The file unpacks to more than %(mb)d MB: it is not an ordinary ledger.") % {
            "mb": MAX_UNPACKED // (1024 * 1024)
        }
    if not any(p.filename == "xl/workbook.xml" for p in parts):
        return _not_xlsx()
    return None


def _header_key(value: Any) -> str:
    return _SPACE.sub("", xlsx.cell_text(value)).strip("*＊").lower()


_HEADER_FIELDS = {alias: f for f, (_h, aliases) in COLUMNS.items() for alias in aliases}


def _cell(value: Any) -> str:
    """A cell as the text in it: a formula's own text; a date as YYYY-MM-DD."""
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        value = value.date()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return xlsx.cell_text(value)


def _read(wb: Any, result: ImportResult) -> list[_Row]:
    """The rows of every sheet that has the ledger's header (other sheets, such as notes,
    are left alone); at most MAX_ROWS in all."""
    rows: list[_Row] = []
    found_any = False
    for ws in wb.worksheets:
        if not hasattr(ws, "iter_rows"):
            continue  # a chart sheet
        columns: dict[int, str] | None = None
        for number, values in enumerate(
            ws.iter_rows(values_only=True, max_col=MAX_COLUMNS), start=1
        ):
            if columns is None:
                if number > SCAN_ROWS:
                    break
                candidate: dict[int, str] = {}
                for i, value in enumerate(values):
                    name = _HEADER_FIELDS.get(_header_key(value))
                    if name and name not in candidate.values():
                        candidate[i] = name
                if set(candidate.values()) >= REQUIRED:
                    columns = candidate
                    found_any = True
                continue
            cells = {
                name: _cell(values[i]) if i < len(values) else "" for i, name in columns.items()
            }
            if not any(v for k, v in cells.items() if k != "number"):
                continue
            rows.append(_Row(ws.title, number, cells))
            if len(rows) > MAX_ROWS:
                result.errors.append(
                    RowError(
                        ws.title,
                        number,
                        "",
                        _("More than %(n)d rows: split the ledger into smaller files.")
                        % {"n": MAX_ROWS},
                    )
                )
                return []
    if not found_any:
        result.errors.append(
            RowError(
                "",
                0,
                "",
                _("No sheet has the ledger's header row (at least the columns %(cols)s).")
                % {"cols": "、".join(COLUMNS[f][0] for f in ("unit", "category", "description"))},
            )
        )
    elif not rows:
        result.errors.append(RowError("", 0, "", _("The ledger has no rows to import.")))
    return rows


def parse_day(text: str) -> dt.date | None:
    """2026-12-01, 2026/12/1, 2026.12.1, 2026年12月1日 (or an Excel date cell, read as the
    first); None when it is not a date."""
    match = _DATE.match(text.strip())
    if not match:
        return None
    try:
        day = dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


def _names(choices: Any, extra: dict[Any, set[str]]) -> dict[str, str]:
    """Every name of each choice: its value, its label in Chinese and in English, and the
    names offices use."""
    names: dict[str, str] = {}
    for value, label in choices:
        for lang in ("zh-hans", "en"):
            with translation.override(lang):
                names[_SPACE.sub("", str(label)).lower()] = value
        names[value] = value
        for alias in extra.get(value, set()):
            names[alias.lower()] = value
    return names


@dataclass
class _Checker:
    """What the rows are checked against, read once (four queries whatever the row count):
    the units the importer sees by name, their areas, the people of those units by name,
    and the people of those units and the units above them (for 验收人)."""

    by: Person
    units: dict[str, list[Unit]]
    areas: dict[int, list[Area]]
    members: dict[tuple[int, str], set[Person]]
    verifiers: dict[tuple[str, str], set[Person]]  # (unit path, name)
    categories: dict[str, str]
    severities: dict[str, str]
    statuses: set[str]

    @classmethod
    def load(cls, by: Person, rows: list[_Row]) -> "_Checker":
        names = {r.cells.get("unit", "") for r in rows} - {""}
        units: dict[str, list[Unit]] = defaultdict(list)
        for unit in access.units_visible(by).filter(name__in=names).order_by("path"):
            units[unit.name].append(unit)
        known = [u for found in units.values() for u in found]
        areas: dict[int, list[Area]] = defaultdict(list)
        for area in Area.objects.filter(unit__in=known).select_related("responsible"):
            areas[area.unit_id].append(area)
        members: dict[tuple[int, str], set[Person]] = defaultdict(set)
        wanted = {r.cells.get("responsible", "") for r in rows} - {""}
        for m in Membership.objects.filter(unit__in=known, person__name__in=wanted).select_related(
            "person"
        ):
            members[(m.unit_id, m.person.name)].add(m.person)
        verifiers: dict[tuple[str, str], set[Person]] = defaultdict(set)
        wanted = {r.cells.get("verifier", "") for r in rows} - {""}
        paths = {p for u in known for p in u.path_and_above()}
        if wanted:
            for m in Membership.objects.filter(
                unit__path__in=paths, person__name__in=wanted
            ).select_related("person", "unit"):
                verifiers[(m.unit.path, m.person.name)].add(m.person)
        return cls(
            by=by,
            units=units,
            areas=areas,
            members=members,
            verifiers=verifiers,
            categories=_names(Category.choices, CATEGORY_NAMES),
            severities=_names(Severity.choices, SEVERITY_NAMES),
            statuses={
                _SPACE.sub("", str(label)).lower()
                for lang in ("zh-hans", "en")
                for label in _labels(Status.choices, lang)
            }
            | {"未整改", "已整改", "已销号"},
        )

    def check(self, rows: list[_Row], result: ImportResult) -> list[_Plan]:
        plans = []
        for r in rows:
            errors: list[RowError] = []
            values = self._values(r, errors)
            if errors:
                result.errors.extend(errors)
            else:
                plans.append(_Plan(r, values))
        return plans

    def _values(self, r: _Row, errors: list[RowError]) -> dict[str, Any]:
        def bad(name: str, reason: str) -> None:
            errors.append(RowError(r.sheet, r.row, COLUMNS[name][0], reason))

        c = r.cells
        values: dict[str, Any] = {}
        texts: dict[str, str] = {}
        for name, limit in (
            ("description", services.MAX_TEXT),
            ("interim", services.MAX_TEXT),
            ("fix_note", services.MAX_TEXT),
            ("place", 200),
        ):
            values[name] = clean_text(
                c.get(name, ""), name, texts, required=name == "description", max_length=limit
            )
        for name, reason in texts.items():
            bad(name, reason)

        key = _SPACE.sub("", c.get("category", "")).lower()
        values["category"] = self.categories.get(key)
        if values["category"] is None:
            bad(
                "category",
                _("Unknown category: %(value)s") % {"value": c.get("category") or "—"},
            )
        key = _SPACE.sub("", c.get("severity", "")).lower()
        values["severity"] = self.severities.get(key) if key else Severity.GENERAL
        if values["severity"] is None:
            bad("severity", _("Write 一般 or 重大."))

        values["deadline"] = None
        if c.get("deadline"):
            values["deadline"] = parse_day(c["deadline"])
            if values["deadline"] is None:
                bad(
                    "deadline",
                    _("Not a date (write 2026-12-01): %(value)s") % {"value": c["deadline"]},
                )
        values["closed_on"] = None
        if c.get("closed_on"):
            values["closed_on"] = parse_day(c["closed_on"])
            if values["closed_on"] is None:
                bad(
                    "closed_on",
                    _("Not a date (write 2026-12-01): %(value)s") % {"value": c["closed_on"]},
                )
            elif values["closed_on"] > timezone.localdate():
                bad("closed_on", _("The closing date is in the future."))
        elif c.get("verifier"):
            bad("closed_on", _("A verifier is named but the closing date is empty."))

        unit = self._unit(c.get("unit", ""), closed=bool(c.get("closed_on")), bad=bad)
        if unit is None:
            return values
        values["unit"] = unit
        values["area"], values["place"] = self._place(unit, values["place"])
        values["responsible"] = self._responsible(unit, c.get("responsible", ""), bad=bad)
        if (
            values["responsible"]
            and not values["closed_on"]
            and not values["responsible"].is_active
        ):
            bad("responsible", _("This person's account is not active."))
        found = self._verifier(unit, c.get("verifier", ""))
        values["verified_by"] = found if values["closed_on"] else None
        values["verifier_name"] = c.get("verifier", "")
        if not values["closed_on"] and _SPACE.sub("", values["fix_note"]).lower() in self.statuses:
            values["fix_note"] = ""  # our export writes the status when nothing was done yet
        return values

    def _unit(self, name: str, *, closed: bool, bad: Any) -> Unit | None:
        """The unit of that name among those the importer sees; unknown (or outside what they
        see: not told apart), ambiguous, or one where they may not import the row: a bad
        row."""
        found = self.units.get(name.strip(), []) if name.strip() else []
        if not found:
            bad("unit", _("Unknown unit: %(name)s") % {"name": name or "—"})
            return None
        if len(found) > 1:
            bad(
                "unit",
                _("%(n)d units are called %(name)s: rename one to tell them apart.")
                % {"n": len(found), "name": name},
            )
            return None
        unit = found[0]
        if unit.is_archived:
            bad("unit", _("This unit is archived."))
            return None
        if not access.can_import_hazard(self.by, unit, closed=closed):
            if closed and access.can_import_hazard(self.by, unit, closed=False):
                bad("unit", _("Only the unit's managers may import a closed hazard."))
            else:
                bad("unit", _("You may not record hazards at %(name)s.") % {"name": unit.name})
            return None
        return unit

    def _place(self, unit: Unit, text: str) -> tuple[Area | None, str]:
        """An area of the unit named by the text (our export writes "area place"), the rest
        kept as the place; else no area and the text as the place."""
        for area in sorted(self.areas.get(unit.pk, []), key=lambda a: -len(a.name)):
            if text == area.name:
                return area, ""
            if text.startswith(area.name + " "):
                return area, text[len(area.name) + 1 :].strip()
        return None, text

    def _responsible(self, unit: Unit, name: str, *, bad: Any) -> Person | None:
        name = name.strip()
        if not name:
            return None
        found = self.members.get((unit.pk, name), set())
        if not found:
            bad(
                "responsible",
                _("Nobody called %(name)s in %(unit)s.") % {"name": name, "unit": unit.name},
            )
            return None
        if len(found) > 1:
            bad(
                "responsible",
                _("%(n)d people called %(name)s in %(unit)s.")
                % {"n": len(found), "name": name, "unit": unit.name},
            )
            return None
        return next(iter(found))

    def _verifier(self, unit: Unit, name: str) -> Person | None:
        """The person of that name in the unit or a unit above it, the nearest first; None
        when nobody or several are (the name is then kept in the history as written)."""
        name = name.strip()
        if not name:
            return None
        for path in reversed(unit.path_and_above()):
            found = self.verifiers.get((path, name), set())
            if len(found) == 1:
                return next(iter(found))
            if found:
                return None
        return None


def _labels(choices: Any, lang: str) -> list[str]:
    with translation.override(lang):
        return [str(label) for _value, label in choices]


def _apply(by: Person, plan: _Plan, source: str) -> None:
    r, v = plan.row, plan.values
    where = _("%(file)s, sheet %(sheet)s, row %(row)d") % {
        "file": source,
        "sheet": r.sheet,
        "row": r.row,
    }
    try:
        services.hazard_import(
            by=by,
            unit=v["unit"],
            category=v["category"],
            description=v["description"],
            source=where,
            area=v["area"],
            place=v["place"],
            severity=v["severity"],
            deadline=v["deadline"],
            interim=v["interim"],
            responsible=v["responsible"],
            fix_note=v["fix_note"],
            closed_on=v["closed_on"],
            verified_by=v["verified_by"],
            verifier_name=v["verifier_name"],
        )
    except ValidationError as exc:
        problems = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        name, messages = next(iter(problems.items()))
        column = COLUMNS[name][0] if name in COLUMNS else ""
        raise _RowFailed(RowError(r.sheet, r.row, column, "; ".join(messages))) from exc
    except PermissionDenied as exc:
        raise _RowFailed(
            RowError(r.sheet, r.row, COLUMNS["unit"][0], str(exc) or _("Not allowed."))
        ) from exc
