"""Onboarding a district from Excel: a sheet of units and a sheet of people.

All rows or none: every row is checked first and every bad row is listed
with its reason; only a clean workbook is applied, in one transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from safecampus.lib import xlsx

from . import access, services
from .models import (
    ALLOWED_CHILDREN,
    MOBILE_RE,
    LeadershipSeat,
    Person,
    Position,
    Role,
    Unit,
    UnitKind,
)

UNITS_SHEET = "单位"
PEOPLE_SHEET = "人员"
HELP_SHEET = "说明"

UNIT_ALIASES = {
    "code": {"单位代码", "代码", "code"},
    "name": {"单位名称", "名称", "name"},
    "kind": {"类型", "单位类型", "type", "kind"},
    "parent": {"上级单位代码", "上级代码", "parent code", "parent"},
    "address": {"地址", "address"},
    "phone": {"电话", "办公电话", "phone"},
}
PEOPLE_ALIASES = {
    "name": {"姓名", "name"},
    "mobile": {"手机号", "手机", "手机号码", "mobile"},
    "unit": {"单位代码", "unit code", "unit"},
    "roles": {"角色", "roles", "role"},
    "username": {"用户名", "username"},
}

KIND_NAMES = {
    UnitKind.BUREAU: {"教育局", "bureau"},
    UnitKind.GROUP: {"学区", "乡镇教育服务组", "教育服务组", "group"},
    UnitKind.SCHOOL: {"学校", "school"},
    UnitKind.KINDERGARTEN: {"幼儿园", "kindergarten"},
    UnitKind.DEPARTMENT: {"部门", "科室", "年级", "department"},
}
ROLE_NAMES = {
    Role.BUREAU_LEADER: {"局领导", "bureau_leader"},
    Role.SAFETY_OFFICE: {"安保科", "安稳办", "安全办", "safety_office"},
    Role.GROUP_HEAD: {"学区负责人", "group_head"},
    Role.PRINCIPAL: {"校长", "园长", "principal"},
    Role.SAFETY_OFFICER: {"安全员", "safety_officer"},
    Role.DUTY_STAFF: {"值班人员", "duty_staff"},
    Role.HEAD_TEACHER: {"班主任", "head_teacher"},
    Role.GATE_GUARD: {"门卫", "保安", "gate_guard"},
    Role.INSPECTOR: {"督查员", "inspector"},
    Role.STAFF: {"教职工", "职工", "staff"},
}
ROLE_EXPORT_NAMES = {
    Role.BUREAU_LEADER: "局领导",
    Role.SAFETY_OFFICE: "安保科",
    Role.GROUP_HEAD: "学区负责人",
    Role.PRINCIPAL: "校长",
    Role.SAFETY_OFFICER: "安全员",
    Role.DUTY_STAFF: "值班人员",
    Role.HEAD_TEACHER: "班主任",
    Role.GATE_GUARD: "门卫",
    Role.INSPECTOR: "督查员",
    Role.STAFF: "教职工",
}
POSITION_NAMES = {
    Position.LEADER: {"组长", "领导小组组长", "leader"},
    Position.DEPUTY: {"副组长", "领导小组副组长", "deputy"},
    Position.MEMBER: {"成员", "领导小组成员", "member"},
}
HEAD_NAMES = {"第一责任人", "head"}
ROLE_SEPARATORS = ["、", "，", ",", "；", ";", "/", " "]


def _lookup(names: dict[str, set[str]], text: str) -> str | None:
    key = text.strip().lower()
    for value, aliases in names.items():
        if key in aliases:
            return str(value)
    return None


def split_roles(text: str) -> list[str]:
    for sep in ROLE_SEPARATORS[1:]:
        text = text.replace(sep, ROLE_SEPARATORS[0])
    return [part for part in (p.strip() for p in text.split(ROLE_SEPARATORS[0])) if part]


@dataclass
class RowError:
    sheet: str
    row: int
    reason: str


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    units: int = 0
    people: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _UnitRow:
    row: int
    code: str
    name: str
    kind: str
    parent: str
    address: str
    phone: str


@dataclass
class _PersonRow:
    row: int
    name: str
    mobile: str
    unit: str
    roles: list[str]
    positions: list[str]
    is_head: bool
    username: str


def org_import(*, by: Person, file: IO[bytes]) -> ImportResult:
    """Check the whole workbook; apply it only if every row is good."""
    if not access.can_import(by):
        raise PermissionDenied
    result = ImportResult()
    try:
        wb = xlsx.open_workbook(file)
    except xlsx.WorkbookError:
        result.errors.append(RowError("", 0, _("The file is not an Excel workbook (.xlsx).")))
        return result
    try:
        units = _read_units(wb, result)
        people = _read_people(wb, result)
    finally:
        wb.close()
    if not units and not people and not result.errors:
        result.errors.append(RowError("", 0, _("The workbook has no rows to import.")))
    planned = _check_units(by, units, result)
    _check_people(by, people, planned, result)
    if result.errors:
        return result
    try:
        with transaction.atomic():
            _apply(by, units, people, result)
    except _RowFailed as exc:
        # A rule the checks above missed, on a known row: nothing was kept.
        result.units = result.people = 0
        result.errors.append(exc.error)
    except (ValidationError, PermissionDenied) as exc:
        # A rule the checks above missed: nothing was kept.
        result.units = result.people = 0
        result.errors.append(RowError("", 0, _describe(exc)))
    return result


class _RowFailed(Exception):
    """A service refused one row while applying; the whole import is rolled back."""

    def __init__(self, sheet: str, row: int, exc: Exception) -> None:
        super().__init__(sheet, row)
        self.error = RowError(sheet, row, _describe(exc))


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or _("Not allowed.")


def _sheet(wb: Any, name: str) -> Any:
    if name in wb.sheetnames:
        return wb[name]
    english = {UNITS_SHEET: "units", PEOPLE_SHEET: "people"}[name]
    if english in wb.sheetnames:
        return wb[english]
    return None


def _read_units(wb: Any, result: ImportResult) -> list[_UnitRow]:
    ws = _sheet(wb, UNITS_SHEET)
    if ws is None:
        return []
    rows, missing = xlsx.read_table(ws, UNIT_ALIASES, {"code", "name", "kind"})
    if missing:
        result.errors.append(
            RowError(UNITS_SHEET, 1, _("Missing columns: %(cols)s") % {"cols": ", ".join(missing)})
        )
        return []
    return [
        _UnitRow(
            n,
            r.get("code", ""),
            r.get("name", ""),
            r.get("kind", ""),
            r.get("parent", ""),
            r.get("address", ""),
            r.get("phone", ""),
        )
        for n, r in rows
    ]


def _read_people(wb: Any, result: ImportResult) -> list[_PersonRow]:
    ws = _sheet(wb, PEOPLE_SHEET)
    if ws is None:
        return []
    rows, missing = xlsx.read_table(ws, PEOPLE_ALIASES, {"name", "mobile", "unit"})
    if missing:
        result.errors.append(
            RowError(PEOPLE_SHEET, 1, _("Missing columns: %(cols)s") % {"cols": ", ".join(missing)})
        )
        return []
    people = []
    for n, r in rows:
        roles, positions, is_head, unknown = _read_roles(r.get("roles", ""))
        if unknown:
            result.errors.append(
                RowError(
                    PEOPLE_SHEET, n, _("Unknown role: %(roles)s") % {"roles": "、".join(unknown)}
                )
            )
        if len(positions) > 1:
            result.errors.append(
                RowError(PEOPLE_SHEET, n, _("A person holds one position in a leadership group."))
            )
        people.append(
            _PersonRow(
                n,
                r.get("name", ""),
                r.get("mobile", ""),
                r.get("unit", ""),
                roles,
                positions,
                is_head,
                r.get("username", ""),
            )
        )
    return people


def _read_roles(text: str) -> tuple[list[str], list[str], bool, list[str]]:
    """The roles column: (roles, leadership group positions, is the unit's head, the
    words that name none of these)."""
    roles: list[str] = []
    positions: list[str] = []
    unknown: list[str] = []
    is_head = False
    for part in split_roles(text):
        if part.lower() in HEAD_NAMES:
            is_head = True
        elif role := _lookup(ROLE_NAMES, part):
            if role not in roles:  # 校长、园长 name one role
                roles.append(role)
        elif position := _lookup(POSITION_NAMES, part):
            if position not in positions:
                positions.append(position)
        else:
            unknown.append(part)
    return roles, positions, is_head, unknown


def _field_errors(obj: Any, fields: set[str]) -> list[str]:
    """Length and format of the given model fields, as the model would check them on save."""
    meta = type(obj)._meta
    try:
        obj.clean_fields(exclude=[f.name for f in meta.fields if f.name not in fields])
    except ValidationError as exc:
        return [
            f"{meta.get_field(name).verbose_name}: {message}"
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return []


def _check_units(by: Person, rows: list[_UnitRow], result: ImportResult) -> dict[str, str]:
    """Return code → kind for every unit that will exist after the import."""
    err = result.errors.append
    by_code = _well_formed_units(rows, err)
    existing = {
        u.code: u for u in Unit.objects.filter(code__in=[*by_code, *(r.parent for r in rows)])
    }
    for code, r in list(by_code.items()):
        if code in existing:
            err(RowError(UNITS_SHEET, r.row, _("Code %(code)s already exists.") % {"code": code}))
            del by_code[code]
    manage = access.manageable_paths(by)
    for r in by_code.values():
        _check_unit_place(by, manage, r, by_code, existing, err)
    return {code: r.kind for code, r in by_code.items()}


def _well_formed_units(
    rows: list[_UnitRow], err: Callable[[RowError], None]
) -> dict[str, _UnitRow]:
    """Each row on its own: code, name and type given, fields as the model allows them, a
    known type (stored as its code), a code not already used by a row above. Returns the
    good rows by code."""
    by_code: dict[str, _UnitRow] = {}
    for r in rows:
        if not r.code or not r.name or not r.kind:
            err(RowError(UNITS_SHEET, r.row, _("Code, name and type are required.")))
            continue
        problems = _field_errors(
            Unit(code=r.code, name=r.name, address=r.address, phone=r.phone),
            {"code", "name", "address", "phone"},
        )
        if problems:
            err(RowError(UNITS_SHEET, r.row, "; ".join(problems)))
            continue
        kind = _lookup(KIND_NAMES, r.kind)
        if kind is None:
            err(RowError(UNITS_SHEET, r.row, _("Unknown type: %(kind)s") % {"kind": r.kind}))
            continue
        r.kind = kind
        if r.code in by_code:
            err(
                RowError(
                    UNITS_SHEET,
                    r.row,
                    _("Duplicate code %(code)s (also in row %(other)d).")
                    % {"code": r.code, "other": by_code[r.code].row},
                )
            )
            continue
        by_code[r.code] = r
    return by_code


def _check_unit_place(
    by: Person,
    manage: list[str] | None,
    r: _UnitRow,
    by_code: dict[str, _UnitRow],
    existing: dict[str, Unit],
    err: Callable[[RowError], None],
) -> None:
    """Where the unit goes: its parents in the file form no cycle; a unit without a parent
    is a bureau, added by the system administrator; the unit already in the system that
    the file's parents lead to is known to the importer, managed by them and not archived;
    and the unit's type is allowed under its parent's."""
    top_in_file, cycle = _walk_up_the_file(r, by_code)
    if cycle:
        err(
            RowError(
                UNITS_SHEET,
                r.row,
                _("The parent codes form a cycle: %(codes)s") % {"codes": " → ".join(cycle)},
            )
        )
        return
    if not r.parent:
        if r.kind != UnitKind.BUREAU:
            err(RowError(UNITS_SHEET, r.row, _("A parent code is required.")))
        elif manage is not None:
            err(
                RowError(
                    UNITS_SHEET,
                    r.row,
                    _("Only the system administrator can add a top-level unit."),
                )
            )
        return
    parent_kind = by_code[r.parent].kind if r.parent in by_code else None
    if top_in_file.parent:
        anchor = existing.get(top_in_file.parent)
        problem = _anchor_problem(by, manage, anchor, r.parent)
        if problem:
            err(RowError(UNITS_SHEET, r.row, problem))
            return
        parent_kind = parent_kind or anchor.kind  # type: ignore[union-attr]
    if r.kind not in ALLOWED_CHILDREN.get(parent_kind or "", set()):
        err(
            RowError(
                UNITS_SHEET,
                r.row,
                _("A %(child)s cannot be placed under a %(parent)s.")
                % {"child": UnitKind(r.kind).label, "parent": UnitKind(parent_kind).label},
            )
        )


def _walk_up_the_file(
    r: _UnitRow, by_code: dict[str, _UnitRow]
) -> tuple[_UnitRow, list[str] | None]:
    """Follow the parent codes through the file's rows: the topmost row reached (its parent,
    if any, must already exist), or the codes of a cycle met on the way."""
    seen, cursor = [r.code], r
    while cursor.parent and cursor.parent in by_code:
        if cursor.parent in seen:
            return cursor, [*seen, cursor.parent]
        seen.append(cursor.parent)
        cursor = by_code[cursor.parent]
    return cursor, None


def _anchor_problem(
    by: Person, manage: list[str] | None, anchor: Unit | None, parent_code: str
) -> str | None:
    """What is wrong with the existing unit that new units are placed under, if anything."""
    if anchor is None or not access.unit_visible(by, anchor):
        return _("Unknown parent code %(code)s.") % {"code": parent_code}
    if _outside(manage, anchor):
        return _("Unit %(code)s is outside the units you manage.") % {"code": anchor.code}
    if anchor.is_archived:
        return _("The parent unit %(code)s is archived.") % {"code": anchor.code}
    return None


def _outside(manage: list[str] | None, unit: Unit) -> bool:
    """Is the unit outside the subtrees the importer manages (None: manages everywhere)?"""
    return manage is not None and not any(unit.path.startswith(p) for p in manage)


@dataclass
class _PeopleCheck:
    """What each person's row is checked against: the system as it is, and the rows above."""

    planned: dict[str, str]  # code → kind of the units the file adds
    existing: dict[str, Unit]  # units already in the system that the importer sees
    taken_mobiles: set[str]
    taken_usernames: set[str]
    manage: list[str] | None  # the importer's subtrees; None: everywhere
    led_already: set[str]  # codes of units whose leadership group has its leader
    mobiles: dict[str, int] = field(default_factory=dict)  # in the rows above: → row
    usernames: dict[str, int] = field(default_factory=dict)
    heads: dict[str, int] = field(default_factory=dict)  # unit code → the head's row
    leaders: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, by: Person, rows: list[_PersonRow], planned: dict[str, str]) -> "_PeopleCheck":
        unit_codes = {r.unit for r in rows} - set(planned)
        existing = {u.code: u for u in access.units_visible(by).filter(code__in=unit_codes)}
        mobiles = [r.mobile for r in rows]
        usernames = [r.username for r in rows if r.username]
        return cls(
            planned=planned,
            existing=existing,
            taken_mobiles=set(
                Person.objects.filter(mobile__in=mobiles).values_list("mobile", flat=True)
            ),
            taken_usernames=set(
                Person.objects.filter(username__in=usernames).values_list("username", flat=True)
            ),
            manage=access.manageable_paths(by),
            led_already=set(
                LeadershipSeat.objects.filter(
                    unit__code__in=list(existing), position=Position.LEADER
                ).values_list("unit__code", flat=True)
            ),
        )


def _check_people(
    by: Person, rows: list[_PersonRow], planned: dict[str, str], result: ImportResult
) -> None:
    err = result.errors.append
    check = _PeopleCheck.load(by, rows, planned)
    for r in rows:
        _check_person_fields(r, err)
        _check_mobile(r, check, err)
        _check_username(r, check, err)
        may_grant = _check_person_unit(by, r, check, err)
        granted = [role for role in r.roles if role != Role.STAFF]
        if granted and not may_grant:
            err(
                RowError(
                    PEOPLE_SHEET,
                    r.row,
                    _("You may not grant these roles: %(roles)s")
                    % {"roles": "、".join(ROLE_EXPORT_NAMES[Role(role)] for role in granted)},
                )
            )
        _check_head_and_leader(r, check, err)


def _check_person_fields(r: _PersonRow, err: Callable[[RowError], None]) -> None:
    """A name, and the name and username as the model allows them."""
    if not r.name:
        err(RowError(PEOPLE_SHEET, r.row, _("A name is required.")))
    checked = {"name"} if r.name else set()
    if r.username:
        checked.add("username")
    problems = _field_errors(Person(name=r.name, username=r.username), checked)
    if problems:
        err(RowError(PEOPLE_SHEET, r.row, "; ".join(problems)))


def _check_mobile(r: _PersonRow, check: _PeopleCheck, err: Callable[[RowError], None]) -> None:
    """A mainland mobile number, not in a row above nor registered already."""
    if not MOBILE_RE.match(r.mobile):
        err(
            RowError(
                PEOPLE_SHEET,
                r.row,
                _("Bad mobile number: %(mobile)s") % {"mobile": r.mobile or "—"},
            )
        )
    elif r.mobile in check.mobiles:
        err(
            RowError(
                PEOPLE_SHEET,
                r.row,
                _("Duplicate mobile number (also in row %(other)d).")
                % {"other": check.mobiles[r.mobile]},
            )
        )
    elif r.mobile in check.taken_mobiles:
        err(
            RowError(
                PEOPLE_SHEET,
                r.row,
                _("Mobile number %(mobile)s is already registered.") % {"mobile": r.mobile},
            )
        )
    else:
        check.mobiles[r.mobile] = r.row


def _check_username(r: _PersonRow, check: _PeopleCheck, err: Callable[[RowError], None]) -> None:
    """A username, when given, not in a row above nor taken already."""
    if not r.username:
        return
    if r.username in check.usernames or r.username in check.taken_usernames:
        err(
            RowError(
                PEOPLE_SHEET,
                r.row,
                _("Username %(name)s is already taken.") % {"name": r.username},
            )
        )
    check.usernames[r.username] = r.row


def _check_person_unit(
    by: Person, r: _PersonRow, check: _PeopleCheck, err: Callable[[RowError], None]
) -> bool:
    """The person's unit: added by the file, or one the importer manages and not archived.
    Returns whether the importer may grant roles (other than staff) there."""
    if r.unit in check.planned:
        # Under a unit the importer manages (checked with the units): who manages may
        # grant roles there; the system administrator only places staff.
        return check.manage is not None
    unit = check.existing.get(r.unit)
    if unit is None:
        err(
            RowError(
                PEOPLE_SHEET, r.row, _("Unknown unit code %(code)s.") % {"code": r.unit or "—"}
            )
        )
        return True  # the unknown unit is the row's error
    if _outside(check.manage, unit):
        err(
            RowError(
                PEOPLE_SHEET,
                r.row,
                _("Unit %(code)s is outside the units you manage.") % {"code": r.unit},
            )
        )
    elif unit.is_archived:
        err(RowError(PEOPLE_SHEET, r.row, _("Unit %(code)s is archived.") % {"code": r.unit}))
    return access.can_grant_roles(by, unit)


def _check_head_and_leader(
    r: _PersonRow, check: _PeopleCheck, err: Callable[[RowError], None]
) -> None:
    """One head (第一责任人) a unit, one leader of its leadership group: in the file, and
    for the leader also in the system."""
    if r.is_head:
        if r.unit in check.heads:
            err(
                RowError(
                    PEOPLE_SHEET,
                    r.row,
                    _("Unit %(code)s already has a head (row %(other)d).")
                    % {"code": r.unit, "other": check.heads[r.unit]},
                )
            )
        check.heads[r.unit] = r.row
    if Position.LEADER in r.positions:
        if r.unit in check.led_already:
            err(
                RowError(
                    PEOPLE_SHEET,
                    r.row,
                    _("The leadership group of %(code)s already has a leader.") % {"code": r.unit},
                )
            )
        elif r.unit in check.leaders:
            err(
                RowError(
                    PEOPLE_SHEET,
                    r.row,
                    _("The leadership group of %(code)s already has a leader (row %(other)d).")
                    % {"code": r.unit, "other": check.leaders[r.unit]},
                )
            )
        check.leaders[r.unit] = r.row


def _apply(
    by: Person, units: list[_UnitRow], people: list[_PersonRow], result: ImportResult
) -> None:
    created = _create_units(by, units)
    result.units = len(created)
    for r in people:
        _create_person(by, r, created)
        result.people += 1


def _create_units(by: Person, units: list[_UnitRow]) -> dict[str, Unit]:
    """Create the units, each after its parent; returns them by code."""
    created: dict[str, Unit] = {}
    pending = list(units)
    while pending:
        progressed = False
        waiting = {u.code for u in pending}
        for r in list(pending):
            if not r.parent:
                parent = None
            elif r.parent in created:
                parent = created[r.parent]
            elif r.parent in waiting:
                continue  # its parent is created later in this pass or the next
            else:
                parent = Unit.objects.get(code=r.parent)
            try:
                created[r.code] = services.unit_create(
                    by=by,
                    parent=parent,
                    code=r.code,
                    name=r.name,
                    kind=r.kind,
                    address=r.address,
                    phone=r.phone,
                )
            except (ValidationError, PermissionDenied) as exc:
                raise _RowFailed(UNITS_SHEET, r.row, exc) from exc
            pending.remove(r)
            progressed = True
        if not progressed:  # unreachable after _check_units; refuse rather than loop
            raise ValidationError(_("The parent codes form a cycle."))
    return created


def _create_person(by: Person, r: _PersonRow, created: dict[str, Unit]) -> None:
    """Create the person with their roles, their seat in the leadership group and, when
    named so, as their unit's head."""
    unit = created.get(r.unit) or Unit.objects.get(code=r.unit)
    try:
        person = services.person_create(
            by=by,
            unit=unit,
            name=r.name,
            mobile=r.mobile,
            roles=r.roles or [Role.STAFF],
            username=r.username or None,
        )
        for position in r.positions:
            services.seat_set(by=by, unit=unit, person=person, position=position)
        if r.is_head:
            unit.refresh_from_db()
            services.unit_update(by=by, unit=unit, head=person)
    except (ValidationError, PermissionDenied) as exc:
        raise _RowFailed(PEOPLE_SHEET, r.row, exc) from exc


# --- The template -----------------------------------------------------------------

UNIT_COLUMNS = [
    xlsx.Column("单位代码", 16, text=True),
    xlsx.Column("单位名称", 28),
    xlsx.Column("类型", 12),
    xlsx.Column("上级单位代码", 16, text=True),
    xlsx.Column("地址", 30),
    xlsx.Column("电话", 16, text=True),
]
PEOPLE_COLUMNS = [
    xlsx.Column("姓名", 12),
    xlsx.Column("手机号", 16, text=True),
    xlsx.Column("单位代码", 16, text=True),
    xlsx.Column("角色", 30),
    xlsx.Column("用户名", 16),
]


def template_workbook() -> bytes:
    wb = xlsx.new_workbook()
    xlsx.write_table(wb.create_sheet(UNITS_SHEET), UNIT_COLUMNS, [])
    xlsx.write_table(wb.create_sheet(PEOPLE_SHEET), PEOPLE_COLUMNS, [])
    lines = [
        ("工作表", "说明"),
        (
            "单位",
            "每行一个单位。单位代码唯一（字母、数字、- 或 _，最多32位）；上级单位代码可以是本表中的单位，"
            "也可以是系统中已有的单位；顶级单位（教育局）不填上级。",
        ),
        (
            "类型",
            "教育局、学区（乡镇教育服务组）、学校、幼儿园、部门（科室/年级）。学区只能在教育局下，"
            "学校和幼儿园在教育局或学区下，部门在学校、幼儿园或部门下。",
        ),
        (
            "人员",
            "每行一人。手机号为11位大陆手机号，唯一；单位代码为本表或系统中的单位。"
            "用户名可不填，默认用手机号登录；初始无密码，由系统管理员设置。",
        ),
        (
            "角色",
            "可填多个，用顿号或逗号分隔：局领导、安保科、学区负责人、校长/园长、安全员、值班人员、"
            "班主任、门卫/保安、督查员、教职工；领导小组：组长、副组长、成员；第一责任人。",
        ),
        ("导入规则", "全部行无误才导入；有任何错误则一行都不导入，并列出每一个错误行及原因。"),
        (
            "示例",
            "单位：3301020101 | 城关镇中心小学 | 学校 | 330102-01 | 城关镇解放路12号 | 0571-88880001",
        ),
        ("示例", "人员：王建国 | 13800001111 | 3301020101 | 校长、组长、第一责任人 |"),
    ]
    xlsx.write_notes(wb.create_sheet(HELP_SHEET), lines, widths=[18, 90])
    return xlsx.to_bytes(wb)
