"""/api/v1/ endpoints for units, areas, people and memberships, under orgs.access."""

from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from . import access, selectors, services
from .models import Area, Membership, Person, Unit
from .policy import password_expired

router = Router(tags=["organisation"])
auth_router = Router(tags=["auth"])

# Ids and offsets beyond a 64-bit integer would crash the database driver (a 500).
MAX_ID = 2**63 - 1
MAX_PAGE = 1000


# --- Schemas ----------------------------------------------------------------------


class TokenIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(Schema):
    token: str
    expires_in: int


class UnitOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    depth: int
    address: str
    phone: str
    head_id: int | None
    office_contact_id: int | None
    archived: bool
    children: int


class UnitIn(Schema):
    parent_id: int | None = None
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=100)
    kind: str
    address: str = Field("", max_length=200)
    phone: str = Field("", max_length=32)
    head_id: int | None = None
    office_contact_id: int | None = None


class UnitPatch(Schema):
    code: str | None = Field(None, min_length=1, max_length=32)
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: str | None = None
    address: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=32)
    head_id: int | None = None
    office_contact_id: int | None = None
    parent_id: int | None = None


class UnitFilter(Schema):
    parent: int | None = None
    under: int | None = None
    kind: str | None = None
    q: str | None = Field(None, max_length=50)
    archived: bool = False


class AreaOut(Schema):
    id: int
    unit_id: int
    name: str
    kind: str
    responsible_id: int | None
    description: str
    needs_responsible: bool


class AreaIn(Schema):
    unit_id: int
    name: str = Field(min_length=1, max_length=100)
    kind: str = "other"
    responsible_id: int | None = None
    description: str = Field("", max_length=200)


class AreaPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    kind: str | None = None
    responsible_id: int | None = None
    description: str | None = Field(None, max_length=200)


class PersonOut(Schema):
    id: int
    username: str
    name: str
    mobile: str
    email: str
    is_active: bool
    admin_role: str


class PersonIn(Schema):
    unit_id: int
    name: str = Field(min_length=1, max_length=64)
    mobile: str | None = Field(None, max_length=11)
    email: str = Field("", max_length=254)
    username: str | None = Field(None, max_length=150)
    roles: list[str] = ["staff"]


class PersonPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=64)
    mobile: str | None = Field(None, max_length=11)
    email: str | None = Field(None, max_length=254)


class MembershipOut(Schema):
    id: int
    person_id: int
    unit_id: int
    role: str


class MembershipIn(Schema):
    person_id: int
    unit_id: int
    role: str


# --- Helpers ------------------------------------------------------------------------


class Pages(LimitOffsetPagination):
    """Limit and offset, bounded: at most MAX_PAGE rows a page, offsets the database can take."""

    class Input(Schema):
        limit: int = Field(100, ge=1, le=MAX_PAGE)
        offset: int = Field(0, ge=0, le=MAX_ID // 2)


def _refuse_nulls(data: dict[str, Any], *fields: str) -> None:
    """PATCH with an explicit null for a field that cannot be empty: name the field."""
    nulls = [f for f in fields if f in data and data[f] is None]
    if nulls:
        raise ValidationError({f: _("This field cannot be null.") for f in nulls})


def _unit_out(units: list[Unit], user: Any) -> list[dict[str, Any]]:
    """Units as the API shows them; the parent of a top the caller sees is null."""
    parent_paths = {
        u.path[: -Unit.steplen]
        for u in units
        if u.depth > 1 and access.path_visible(user, u.path[: -Unit.steplen])
    }
    parents = dict(Unit.objects.filter(path__in=parent_paths).values_list("path", "id"))
    return [
        {
            "id": u.pk,
            "code": u.code,
            "name": u.name,
            "kind": u.kind,
            "parent_id": parents.get(u.path[: -Unit.steplen]),
            "depth": u.depth,
            "address": u.address,
            "phone": u.phone,
            "head_id": u.head_id,
            "office_contact_id": u.office_contact_id,
            "archived": u.is_archived,
            "children": u.numchild,
        }
        for u in units
    ]


def _person_out(request: HttpRequest, p: Person) -> dict[str, Any]:
    shown = selectors.person_shown(request.user, p)  # every field that carries the number
    return {
        "id": p.pk,
        "username": shown.username,
        "name": p.name,
        "mobile": shown.mobile,
        "email": shown.email,
        "is_active": p.is_active,
        "admin_role": p.admin_role,
    }


def _person_ref(request: HttpRequest, pk: int | None) -> Person | None:
    return None if pk is None else access.person_or_404(request.user, pk)


class ShapedPage:
    """Let the paginator slice the queryset first, then shape only that page."""

    def __init__(self, qs: Any, shape: Any) -> None:
        self.qs, self.shape = qs, shape

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        return self.shape(list(self.qs[item]))


# --- Auth ---------------------------------------------------------------------------


@auth_router.post(
    "/token",
    response={200: TokenOut},
    auth=None,
    # The errors only this endpoint answers (api/errors.document adds their shape).
    openapi_extra={
        "responses": {
            401: {"description": "Wrong username/mobile or password."},
            403: {"description": "The password was reset or has expired: change it first."},
            429: {"description": "Too many failed attempts: try again later."},
        }
    },
)
def token(request: HttpRequest, payload: TokenIn) -> dict[str, Any]:
    """Exchange a username (or mobile) and password for a bearer token."""
    from django.conf import settings

    user = authenticate(request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        raise HttpError(429, _("Too many failed attempts. Try again later."))
    if user is None:
        raise HttpError(401, _("Wrong username/mobile or password."))
    if user.must_change_password:
        raise HttpError(403, _("Your password was reset. Choose your own in the web app first."))
    if password_expired(user):
        raise HttpError(403, _("Your password has expired. Change it in the web app first."))
    return {
        "token": services.token_issue(person=user),
        "expires_in": int(settings.API_TOKEN_LIFETIME.total_seconds()),
    }


# --- Units --------------------------------------------------------------------------


@router.get("/units", response=list[UnitOut])
@paginate(Pages)
def units_list(request: HttpRequest, filters: Query[UnitFilter]) -> Any:
    qs = access.units_visible(request.user, include_archived=filters.archived)
    if filters.parent is not None:
        parent = access.unit_or_404(request.user, filters.parent)
        qs = qs.filter(access.subtree(parent.path), depth=parent.depth + 1)
    if filters.under is not None:
        top = access.unit_or_404(request.user, filters.under)
        qs = qs.filter(access.subtree(top.path))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.q:
        qs = qs.filter(name__icontains=filters.q) | qs.filter(code__icontains=filters.q)
    return ShapedPage(qs.order_by("path"), lambda page: _unit_out(page, request.user))


@router.get("/units/{unit_id}", response=UnitOut)
def unit_get(request: HttpRequest, unit_id: int) -> dict[str, Any]:
    return _unit_out([access.unit_or_404(request.user, unit_id)], request.user)[0]


@router.post("/units", response={201: UnitOut})
def unit_create(request: HttpRequest, payload: UnitIn) -> Status[dict[str, Any]]:
    parent = access.unit_or_404(request.user, payload.parent_id) if payload.parent_id else None
    unit = services.unit_create(
        by=request.user,
        parent=parent,
        code=payload.code,
        name=payload.name,
        kind=payload.kind,
        address=payload.address,
        phone=payload.phone,
        head=_person_ref(request, payload.head_id),
        office_contact=_person_ref(request, payload.office_contact_id),
    )
    return Status(201, _unit_out([unit], request.user)[0])


@router.patch("/units/{unit_id}", response=UnitOut)
def unit_update(request: HttpRequest, unit_id: int, payload: UnitPatch) -> dict[str, Any]:
    unit = access.unit_or_404(request.user, unit_id)
    data = payload.dict(exclude_unset=True)
    _refuse_nulls(data, "code", "name", "kind", "address", "phone")
    new_parent_id = data.pop("parent_id", None)
    for ref in ("head_id", "office_contact_id"):
        if ref in data:
            data[ref.removesuffix("_id")] = _person_ref(request, data.pop(ref))
    if data:
        unit = services.unit_update(by=request.user, unit=unit, **data)
    if new_parent_id is not None:
        unit = services.unit_move(
            by=request.user, unit=unit, new_parent=access.unit_or_404(request.user, new_parent_id)
        )
    return _unit_out([unit], request.user)[0]


@router.post("/units/{unit_id}/archive", response=UnitOut)
def unit_archive(request: HttpRequest, unit_id: int) -> dict[str, Any]:
    unit = services.unit_archive(by=request.user, unit=access.unit_or_404(request.user, unit_id))
    return _unit_out([unit], request.user)[0]


@router.delete("/units/{unit_id}", response={204: None})
def unit_delete(request: HttpRequest, unit_id: int) -> Status[None]:
    services.unit_delete(by=request.user, unit=access.unit_or_404(request.user, unit_id))
    return Status(204, None)


# --- Areas --------------------------------------------------------------------------


def _area_out(a: Area) -> dict[str, Any]:
    return {
        "id": a.pk,
        "unit_id": a.unit_id,
        "name": a.name,
        "kind": a.kind,
        "responsible_id": a.responsible_id,
        "description": a.description,
        "needs_responsible": a.needs_responsible,
    }


@router.get("/areas", response=list[AreaOut])
@paginate(Pages)
def areas_list(request: HttpRequest, unit: int | None = None, unassigned: bool = False) -> Any:
    qs = access.areas_visible(request.user).filter(archived_at__isnull=True)
    if unit is not None:
        qs = qs.filter(unit=access.unit_or_404(request.user, unit))
    if unassigned:
        qs = qs.filter(responsible__isnull=True)
    return ShapedPage(qs.order_by("unit_id", "name"), lambda page: [_area_out(a) for a in page])


@router.get("/areas/{area_id}", response=AreaOut)
def area_get(request: HttpRequest, area_id: int) -> dict[str, Any]:
    return _area_out(access.area_or_404(request.user, area_id))


@router.post("/areas", response={201: AreaOut})
def area_create(request: HttpRequest, payload: AreaIn) -> Status[dict[str, Any]]:
    area = services.area_create(
        by=request.user,
        unit=access.unit_or_404(request.user, payload.unit_id),
        name=payload.name,
        kind=payload.kind,
        responsible=_person_ref(request, payload.responsible_id),
        description=payload.description,
    )
    return Status(201, _area_out(area))


@router.patch("/areas/{area_id}", response=AreaOut)
def area_update(request: HttpRequest, area_id: int, payload: AreaPatch) -> dict[str, Any]:
    area = access.area_or_404(request.user, area_id)
    data = payload.dict(exclude_unset=True)
    _refuse_nulls(data, "name", "kind", "description")
    if "responsible_id" in data:
        data["responsible"] = _person_ref(request, data.pop("responsible_id"))
    return _area_out(services.area_update(by=request.user, area=area, **data))


# --- People -------------------------------------------------------------------------


@router.get("/people", response=list[PersonOut])
@paginate(Pages)
def people_list(
    request: HttpRequest, unit: int | None = None, q: str | None = Query(None, max_length=50)
) -> Any:
    top = None if unit is None else access.unit_or_404(request.user, unit)
    qs = selectors.people_list(request.user, query=q or "", unit=top)
    return ShapedPage(qs, lambda page: [_person_out(request, p) for p in page])


@router.get("/people/{person_id}", response=PersonOut)
def person_get(request: HttpRequest, person_id: int) -> dict[str, Any]:
    return _person_out(request, access.person_or_404(request.user, person_id))


@router.post("/people", response={201: PersonOut})
def person_create(request: HttpRequest, payload: PersonIn) -> Status[dict[str, Any]]:
    person = services.person_create(
        by=request.user,
        unit=access.unit_or_404(request.user, payload.unit_id),
        name=payload.name,
        mobile=payload.mobile,
        email=payload.email,
        username=payload.username,
        roles=payload.roles,
    )
    return Status(201, _person_out(request, person))


@router.patch("/people/{person_id}", response=PersonOut)
def person_update(request: HttpRequest, person_id: int, payload: PersonPatch) -> dict[str, Any]:
    person = access.person_or_404(request.user, person_id)
    data = payload.dict(exclude_unset=True)
    _refuse_nulls(data, "name")
    person = services.person_update(by=request.user, person=person, **data)
    return _person_out(request, person)


# --- Memberships --------------------------------------------------------------------


@router.get("/memberships", response=list[MembershipOut])
@paginate(Pages)
def memberships_list(
    request: HttpRequest,
    unit: int | None = None,
    person: int | None = Query(None, ge=1, le=MAX_ID),
) -> Any:
    qs = access.memberships_visible(request.user)
    if unit is not None:
        qs = qs.filter(unit=access.unit_or_404(request.user, unit))
    if person is not None:
        qs = qs.filter(person_id=person)
    return qs.order_by("pk")


@router.post("/memberships", response={201: MembershipOut})
def membership_create(request: HttpRequest, payload: MembershipIn) -> Status[Membership]:
    membership = services.membership_grant(
        by=request.user,
        person=access.person_or_404(request.user, payload.person_id),
        unit=access.unit_or_404(request.user, payload.unit_id),
        role=payload.role,
    )
    return Status(201, membership)


@router.delete("/memberships/{membership_id}", response={204: None})
def membership_delete(request: HttpRequest, membership_id: int) -> Status[None]:
    membership = access.membership_or_404(request.user, membership_id)
    services.membership_revoke(by=request.user, membership=membership)
    return Status(204, None)
