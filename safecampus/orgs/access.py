"""Who may see and do what: the one place that decides.

Every view, API endpoint and export asks this module. The rule:

- A membership in a unit (any role) lets a person see that unit's whole
  subtree; nothing outside it.
- A manager role (bureau leader, safety office, group head, principal,
  safety officer) in a unit lets them edit that unit and everything under it,
  and grant roles there (never to themselves).
- The system administrator manages accounts, the tree and settings
  everywhere; the security administrator manages roles and the security
  policy everywhere; the audit administrator reads the audit trail. No
  account holds two of these (one field), and none of them grants itself
  anything.

Anything outside what a user may see answers 404 (pages, API, exports): the
existence of another school's record is not revealed.
"""

from functools import reduce
from operator import or_
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from safecampus.lib.sql import prepared_cursor

from .models import (
    MANAGER_ROLES,
    AdminRole,
    Area,
    Membership,
    Person,
    Unit,
)

_CACHE_ATTR = "_safecampus_access"


_SCOPE_SQL = (
    "SELECT u.path, m.role FROM orgs_membership m "
    "JOIN orgs_unit u ON u.id = m.unit_id "
    "WHERE m.person_id = %s AND u.archived_at IS NULL"
)


def _scope(user: Any) -> dict[str, list[str]]:
    """Paths of the units the user belongs to, and those they manage (cached per request)."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    rows: list[tuple[str, str]] = []
    if user is not None and user.is_authenticated and user.is_active:
        # Asked on every request that touches a unit: written out once, prepared.
        with prepared_cursor() as cursor:
            cursor.execute(_SCOPE_SQL, [user.pk])
            rows = cursor.fetchall()
    return remember_scope(user, rows)


def remember_scope(user: Any, memberships: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Cache the scope from the user's (unit path, role) pairs, for one who has just
    been read together with them (the API's bearer token, api/auth.py)."""
    scope: dict[str, list[str]] = {"see": [], "manage": []}
    for path, role in memberships:
        scope["see"].append(path)
        if role in MANAGER_ROLES:
            scope["manage"].append(path)
    scope = {k: _outermost(v) for k, v in scope.items()}
    setattr(user, _CACHE_ATTR, scope)
    return scope


def forget(user: Any) -> None:
    """Drop the cached scope (after the user's own memberships changed)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def _outermost(paths: list[str]) -> list[str]:
    """Keep only paths not already inside another one."""
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(k) for k in kept):
            kept.append(path)
    return kept


# Every character of a materialized path sorts below "~", so the subtree of P is
# the range [P, P + "~"): a plain index range scan on both databases (SQLite
# cannot use an index for Django's LIKE ... ESCAPE, which startswith produces).
PATH_END = "~"


def subtree(path: str, field: str = "path") -> Q:
    """The unit at ``path`` and everything under it, as a filter on ``field``."""
    return Q(**{f"{field}__gte": path, f"{field}__lt": path + PATH_END})


def _under_any(paths: list[str], field: str = "path") -> Q:
    if not paths:
        return Q(pk__in=[])
    return reduce(or_, (subtree(p, field) for p in paths))


def visible_q(user: Any, field: str = "path") -> Q:
    """A filter on a path field: rows of the units the user may see."""
    if sees_everything(user):
        return Q()
    return _under_any(_scope(user)["see"], field)


def is_admin(user: Any, role: AdminRole | str) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.admin_role == role)


def sees_everything(user: Any) -> bool:
    """The system and security administrators work on the whole tree."""
    return is_admin(user, AdminRole.SYSTEM) or is_admin(user, AdminRole.SECURITY)


# --- Units ----------------------------------------------------------------------


def units_visible(user: Any, *, include_archived: bool = True) -> QuerySet[Unit]:
    qs = Unit.objects.all()
    if not sees_everything(user):
        qs = qs.filter(_under_any(_scope(user)["see"]))
    if not include_archived:
        qs = qs.filter(archived_at__isnull=True)
    return qs


def unit_visible(user: Any, unit: Unit) -> bool:
    return path_visible(user, unit.path)


def path_visible(user: Any, path: str) -> bool:
    """The unit at this tree path is one the user may see."""
    if sees_everything(user):
        return True
    return any(path.startswith(p) for p in _scope(user)["see"])


def can_manage(user: Any, unit: Unit) -> bool:
    """Edit the unit, its areas, its children, its people and leadership group."""
    if is_admin(user, AdminRole.SYSTEM):
        return True
    return any(unit.path.startswith(p) for p in _scope(user)["manage"])


def can_grant_roles(user: Any, unit: Unit) -> bool:
    if is_admin(user, AdminRole.SECURITY):
        return True
    return any(unit.path.startswith(p) for p in _scope(user)["manage"])


def can_create_root(user: Any) -> bool:
    return is_admin(user, AdminRole.SYSTEM)


def root_units(user: Any) -> QuerySet[Unit]:
    """The tops of what the user sees: the tree's roots, or their own units."""
    if sees_everything(user):
        return Unit.objects.filter(depth=1)
    paths = _scope(user)["see"]
    return Unit.objects.filter(path__in=paths)


def unit_or_404(user: Any, pk: Any) -> Unit:
    try:
        unit = Unit.objects.get(pk=pk)
    except (Unit.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not unit_visible(user, unit):
        raise Http404
    return unit


# --- Areas ----------------------------------------------------------------------


def areas_visible(user: Any) -> QuerySet[Area]:
    qs = Area.objects.all()
    if not sees_everything(user):
        qs = qs.filter(_under_any(_scope(user)["see"], "unit__path"))
    return qs


def area_or_404(user: Any, pk: Any) -> Area:
    try:
        area = Area.objects.select_related("unit", "responsible").get(pk=pk)
    except (Area.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not unit_visible(user, area.unit):
        raise Http404
    return area


# --- People ---------------------------------------------------------------------


def people_visible(user: Any) -> QuerySet[Person]:
    """People who belong to a unit the user can see (and the user themselves)."""
    if sees_everything(user):
        return Person.objects.all()
    paths = _scope(user)["see"]
    in_scope = Membership.objects.filter(_under_any(paths, "unit__path")).values("person_id")
    return Person.objects.filter(Q(pk__in=in_scope) | Q(pk=getattr(user, "pk", None)))


def person_visible(user: Any, person: Person) -> bool:
    return people_visible(user).filter(pk=person.pk).exists()


def person_or_404(user: Any, pk: Any) -> Person:
    try:
        person = people_visible(user).get(pk=pk)
    except (Person.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    return person


def can_manage_person(user: Any, person: Person) -> bool:
    """Edit a person's name and mobile: the system administrator, or a manager of
    every unit the person belongs to (a principal cannot rename a bureau leader)."""
    if is_admin(user, AdminRole.SYSTEM):
        return True
    if person.admin_role:
        return False
    if "memberships" in getattr(person, "_prefetched_objects_cache", {}):
        # A list view prefetched them with their units: no query a row.
        paths = [m.unit.path for m in person.memberships.all()]
    else:
        paths = list(person.memberships.values_list("unit__path", flat=True))
    manage = _scope(user)["manage"]
    return bool(paths) and all(any(p.startswith(m) for m in manage) for p in paths)


def can_see_mobile(user: Any, person: Person) -> bool:
    """Full mobile numbers: the person themselves, their managers, the system admin.
    Everyone else sees 138****1234."""
    return getattr(user, "pk", None) == person.pk or can_manage_person(user, person)


def memberships_visible(user: Any) -> QuerySet[Membership]:
    qs = Membership.objects.all()
    if not sees_everything(user):
        qs = qs.filter(_under_any(_scope(user)["see"], "unit__path"))
    return qs


def membership_or_404(user: Any, pk: Any) -> Membership:
    try:
        membership = memberships_visible(user).select_related("unit", "person").get(pk=pk)
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    return membership


# --- Administration -------------------------------------------------------------


def can_manage_accounts(user: Any) -> bool:
    return is_admin(user, AdminRole.SYSTEM)


def can_edit_security_policy(user: Any) -> bool:
    return is_admin(user, AdminRole.SECURITY)


def can_grant_admin_roles(user: Any) -> bool:
    return is_admin(user, AdminRole.SECURITY)


def can_read_audit(user: Any) -> bool:
    return is_admin(user, AdminRole.AUDIT)


def can_import(user: Any) -> bool:
    """Bulk onboarding: the system administrator, or anyone who manages a unit
    (every row is still checked against what they manage)."""
    return is_admin(user, AdminRole.SYSTEM) or bool(_scope(user)["manage"])


def manageable_paths(user: Any) -> list[str] | None:
    """Subtrees the user manages; None means everywhere."""
    if is_admin(user, AdminRole.SYSTEM):
        return None
    return _scope(user)["manage"]


def can_edit_notice_templates(user: Any) -> bool:
    """The shared notice templates: the system administrator, or a manager of a whole
    tree (a bureau's safety office)."""
    paths = manageable_paths(user)
    if paths is None:
        return True
    return any(len(p) == Unit.steplen for p in paths)


def require(allowed: bool) -> None:
    """Refuse (403) what the rules above did not allow: every service and view says so here."""
    if not allowed:
        raise PermissionDenied(_("You may not do this here."))
