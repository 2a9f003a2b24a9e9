"""Reads for the organisation pages and exports, scoped by orgs.access, aggregated in SQL."""

from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Concat

from safecampus.lib import xlsx

from . import access
from .models import (
    POSITION_ORDER,
    Area,
    LeadershipSeat,
    Membership,
    Person,
    Unit,
    mask_mobile,
    mask_mobiles_in,
)


def _unassigned_below() -> Subquery:
    """Open areas with no responsible person in the units under the outer unit (not its
    own): a collapsed node of the tree shows them before it is opened."""
    below = (
        Area.objects.filter(
            unit__path__gt=OuterRef("path"),
            unit__path__lt=Concat(OuterRef("path"), Value(access.PATH_END)),
            unit__archived_at__isnull=True,
            archived_at__isnull=True,
            responsible__isnull=True,
        )
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    return Coalesce(Subquery(below, output_field=IntegerField()), Value(0))


def units_with_counts(qs: QuerySet[Unit]) -> QuerySet[Unit]:
    """Children lists: each unit with its open areas, how many lack a responsible person,
    and how many such areas the units under it have."""
    return qs.select_related("head").annotate(
        unassigned_below=_unassigned_below(),
        area_count=Count("areas", filter=Q(areas__archived_at__isnull=True), distinct=True),
        unassigned_count=Count(
            "areas",
            filter=Q(areas__archived_at__isnull=True, areas__responsible__isnull=True),
            distinct=True,
        ),
    )


def unit_children(user: Any, unit: Unit, *, include_archived: bool = False) -> QuerySet[Unit]:
    qs = Unit.objects.filter(access.subtree(unit.path), depth=unit.depth + 1)
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    return units_with_counts(qs).order_by("kind", "code")


def unit_roots(user: Any) -> QuerySet[Unit]:
    return units_with_counts(access.root_units(user).filter(archived_at__isnull=True)).order_by(
        "path"
    )


def subtree_unassigned_areas(user: Any, unit: Unit) -> int:
    """Open areas anywhere under the unit with no responsible person."""
    return Area.objects.filter(
        access.subtree(unit.path, "unit__path"),
        archived_at__isnull=True,
        responsible__isnull=True,
        unit__archived_at__isnull=True,
    ).count()


@dataclass
class UnitDetail:
    unit: Unit
    ancestors: list[Unit]
    areas: list[Area]
    leadership: list[LeadershipSeat]
    memberships: list[Membership]
    children: list[Unit]
    unassigned_below: int


def unit_detail(user: Any, unit: Unit) -> UnitDetail:
    visible_paths = [u for u in Unit.objects.get_ancestors(unit) if access.unit_visible(user, u)]
    areas = list(
        Area.objects.filter(unit=unit, archived_at__isnull=True).select_related("responsible")
    )
    seats = sorted(
        LeadershipSeat.objects.filter(unit=unit).select_related("person"),
        key=lambda s: (POSITION_ORDER.get(s.position, 9), s.person.name),
    )
    memberships = list(
        Membership.objects.filter(unit=unit)
        .select_related("person")
        .order_by("role", "person__name")
    )
    return UnitDetail(
        unit=unit,
        ancestors=visible_paths,
        areas=areas,
        leadership=seats,
        memberships=memberships,
        children=list(unit_children(user, unit)),
        unassigned_below=subtree_unassigned_areas(user, unit),
    )


def people_in_unit_tree(unit: Unit) -> QuerySet[Person]:
    """Candidates for a head, responsible person or seat: people of the unit and its subtree,
    and of the units above it (a group head can lead a school's group)."""
    paths = unit.path_and_above()
    return (
        Person.objects.filter(
            access.subtree(unit.path, "memberships__unit__path")
            | Q(memberships__unit__path__in=paths),
            is_active=True,
        )
        .distinct()
        .order_by("name")
    )


@dataclass(frozen=True)
class PersonShown:
    """The fields of a person that can carry their mobile number, as one user may see them:
    all masked alike (the username is often the number, the email 13900006054@139.com)
    for anyone access.can_see_mobile does not let see it."""

    mobile: str
    username: str
    email: str


def person_shown(user: Any, person: Person) -> PersonShown:
    if access.can_see_mobile(user, person):
        return PersonShown(person.mobile or "", person.username, person.email)
    return PersonShown(
        mask_mobile(person.mobile),
        mask_mobiles_in(person.username, person.mobile),
        mask_mobiles_in(person.email, person.mobile),
    )


def _with_units(qs: QuerySet[Person]) -> QuerySet[Person]:
    """People with their memberships and units: access.can_see_mobile asks no query a row."""
    return qs.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("unit"))
    )


def people_list(user: Any, *, query: str = "", unit: Unit | None = None) -> QuerySet[Person]:
    """People the user sees; `query` matches a name, or a username, mobile or email as the
    user sees it (searching must not confirm a masked number digit by digit)."""
    qs = access.people_visible(user)
    if unit is not None:
        qs = qs.filter(access.subtree(unit.path, "memberships__unit__path")).distinct()
    if query:
        carrying = (
            Q(username__icontains=query) | Q(mobile__contains=query) | Q(email__icontains=query)
        )
        qs = qs.filter(Q(name__icontains=query) | carrying)
        needle = query.lower()
        hidden = [
            p.pk
            for p in _with_units(qs.exclude(name__icontains=query))
            if not any(needle in text.lower() for text in vars(person_shown(user, p)).values())
        ]
        if hidden:
            qs = qs.exclude(pk__in=hidden)
    return _with_units(qs).order_by("name", "pk")


def own_unit(user: Any) -> Unit | None:
    """The first unit (in tree order, not archived) where the user holds a role: where
    what they report happens unless they say otherwise."""
    membership = (
        Membership.objects.filter(person=user, unit__archived_at__isnull=True)
        .select_related("unit")
        .order_by("unit__path")
        .first()
    )
    return membership.unit if membership else None


def report_places(user: Any, kinds: Any) -> tuple[QuerySet[Unit], QuerySet[Area]]:
    """The units of these kinds the user sees (not archived), in tree order, and their
    areas: what a report form (an incident, a hazard) offers to choose from."""
    units = access.units_visible(user, include_archived=False).filter(kind__in=kinds)
    areas = Area.objects.filter(unit__in=units, archived_at__isnull=True).select_related("unit")
    return units.order_by("path"), areas.order_by("unit__path", "name")


def areas_unassigned(user: Any) -> QuerySet[Area]:
    return (
        access.areas_visible(user)
        .filter(archived_at__isnull=True, responsible__isnull=True, unit__archived_at__isnull=True)
        .select_related("unit")
    )


# --- Export -----------------------------------------------------------------------


def export_workbook(user: Any, *, title_unit: str, reporter: str, today: str) -> bytes:
    """Units and people of the user's subtree, in the layout the import reads back."""
    from .imports import PEOPLE_COLUMNS, PEOPLE_SHEET, UNIT_COLUMNS, UNITS_SHEET
    from .models import UnitKind

    kind_label = {
        UnitKind.BUREAU: "教育局",
        UnitKind.GROUP: "学区",
        UnitKind.SCHOOL: "学校",
        UnitKind.KINDERGARTEN: "幼儿园",
        UnitKind.DEPARTMENT: "部门",
    }
    units = list(access.units_visible(user, include_archived=False).order_by("path"))
    by_path = {u.path: u for u in units}

    def parent_code(u: Unit) -> str:
        parent = by_path.get(u.path[: -Unit.steplen])
        return parent.code if parent else ""

    meta = [("填报单位", title_unit), ("填报人", reporter), ("填报日期", today)]
    wb = xlsx.new_workbook()
    xlsx.write_ledger(
        wb.create_sheet(UNITS_SHEET),
        title=f"{title_unit}单位名册",
        meta=meta,
        columns=UNIT_COLUMNS,
        rows=(
            [u.code, u.name, kind_label.get(u.kind, u.kind), parent_code(u), u.address, u.phone]
            for u in units
        ),
    )
    members = (
        access.memberships_visible(user)
        .filter(unit__archived_at__isnull=True)
        .select_related("person", "unit")
        .prefetch_related(  # for access.can_see_mobile: every unit of each person, no query a row
            Prefetch("person__memberships", queryset=Membership.objects.select_related("unit"))
        )
        .order_by("unit__path", "person__name", "role")
    )
    from .imports import ROLE_EXPORT_NAMES as role_label

    rows: dict[tuple[int, int], list[Any]] = {}
    for m in members:
        key = (m.person_id, m.unit_id)
        if key not in rows:
            # The number, and a username that carries it, as the people page shows them.
            shown = person_shown(user, m.person)
            rows[key] = [m.person.name, shown.mobile, m.unit.code, [], shown.username]
        rows[key][3].append(role_label.get(m.role, m.role))
    xlsx.write_ledger(
        wb.create_sheet(PEOPLE_SHEET),
        title=f"{title_unit}人员名册",
        meta=meta,
        columns=PEOPLE_COLUMNS,
        rows=([r[0], r[1], r[2], "、".join(r[3]), r[4]] for r in rows.values()),
    )
    return xlsx.to_bytes(wb)
