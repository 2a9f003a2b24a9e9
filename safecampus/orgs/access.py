"""Who may see and do what: the one place that decides.

Every view, API endpoint and export asks this module. The table of role ×
action is written out in README.md ("Who may do what") and checked by
orgs/tests/test_role_table.py, which fails when this module and the table
disagree. In short:

- A membership in a unit (any role) lets a person see that unit's whole
  subtree; nothing outside it.
- A manager role (bureau leader, safety office, group head, principal,
  safety officer) in a unit runs it: they edit that unit and everything under
  it, grant roles there (never to themselves), and do its business: reports,
  exemptions, chasing, schedules, notices, robots.
- Duty staff (值班人员) file and correct the daily report of their own unit
  and acknowledge the notices it receives; they edit nothing else. Other roles
  (head teacher, gate guard, inspector, staff) read.
- The three administrators (三员分立) manage the system, not the business:
  the system administrator manages accounts, the tree and settings; the
  security administrator roles and the security policy; the audit
  administrator reads the audit trail. None of them reports, exempts, chases,
  sends or acknowledges notices, or connects robots, anywhere, whatever
  membership the account holds. No account holds two of these roles (one
  field); none of them grants itself anything, and none takes over another
  administrator's account (account_change_allowed, password_reset_cosigner).

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
    Role,
    Unit,
    UnitKind,
)

# Who files a unit's daily report and acknowledges its notices: its managers, and
# its duty staff (the unit itself only, not the units below it).
REPORTER_ROLES = MANAGER_ROLES | {Role.DUTY_STAFF}

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
    scope: dict[str, list[str]] = {"see": [], "manage": [], "report": []}
    for path, role in memberships:
        scope["see"].append(path)
        if role in MANAGER_ROLES:
            scope["manage"].append(path)
        if role in REPORTER_ROLES:
            scope["report"].append(path)  # the unit itself: not a subtree
    scope = {k: v if k == "report" else _outermost(v) for k, v in scope.items()}
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
    every unit the person belongs to (a principal cannot rename a bureau leader).
    An administrator's account is changed by its holder only (account_change_allowed)."""
    if person.admin_role:
        return False
    if is_admin(user, AdminRole.SYSTEM):
        return True
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


def can_edit_calendar(user: Any) -> bool:
    """The official calendar (holidays, make-up workdays): a setting of the whole system,
    the system administrator's."""
    return is_admin(user, AdminRole.SYSTEM)


def sees_calendar_warning(user: Any) -> bool:
    """Told that next year's calendar is not loaded: those who load it, and the managers
    of a whole tree (the bureau), whose schools it would mark missing."""
    return can_edit_calendar(user) or any(len(p) == Unit.steplen for p in business_paths(user))


def can_edit_security_policy(user: Any) -> bool:
    return is_admin(user, AdminRole.SECURITY)


def can_grant_admin_roles(user: Any) -> bool:
    return is_admin(user, AdminRole.SECURITY)


def can_read_audit(user: Any) -> bool:
    return is_admin(user, AdminRole.AUDIT)


def sees_worker_status(user: Any) -> bool:
    """Watch the watcher: administrators and managers are told when the worker is down."""
    return can_manage_accounts(user) or bool(manageable_paths(user))


def account_change_allowed(by: Any, person: Person) -> bool:
    """Username, mobile, e-mail, active or not, password: may `by` change them on
    `person`'s account without its holder? Never on another administrator's account
    (each logs in by username or mobile, so whoever changes those takes the account
    over): an administrator's password is reset only with a second administrator
    (password_reset_cosigner), and an administrator who leaves first loses the role
    (the security administrator), then the account (the system administrator)."""
    if getattr(by, "pk", None) == person.pk:
        return True
    return can_manage_person(by, person)


def can_reset_password(by: Any, person: Person) -> bool:
    """Start a password reset: the system administrator, for any account but its own
    (that one it changes, knowing the old password). On an administrator's account the
    reset also needs a second administrator (password_reset_cosigner)."""
    return can_manage_accounts(by) and getattr(by, "pk", None) != person.pk


def password_reset_needs_cosigner(person: Person) -> bool:
    return bool(person.admin_role)


def password_reset_cosigner(by: Any, person: Person, cosigner: Any) -> bool:
    """Dual control (双人操作) for an administrator's password: the one who starts it and
    the one who co-signs are two administrators of two different roles, and neither is
    the account's holder. So no administrator acting alone, of any role, can take over
    another's account. Nor co-signs an account whose password someone else set and its
    holder has not yet replaced: whoever typed that password could sign with it."""
    return bool(
        cosigner is not None
        and cosigner.is_active
        and cosigner.admin_role
        and not cosigner.must_change_password
        and cosigner.admin_role != getattr(by, "admin_role", "")
        and cosigner.pk not in (getattr(by, "pk", None), person.pk)
    )


def may_be_named_administrator(person: Person) -> bool:
    """Only an account whose holder has logged in with a password of their own since the
    last reset: not while a password someone else set is pending (whoever set it could
    log in and choose the new one: a system administrator resets an ordinary account, the
    security administrator then names it), nor an account never used or without a usable
    password (created, or withdrawn by an administrator's reset)."""
    return bool(
        person.has_usable_password()
        and not person.must_change_password
        and person.last_login is not None
    )


def can_import(user: Any) -> bool:
    """Bulk onboarding: the system administrator, or anyone who manages a unit
    (every row is still checked against what they manage)."""
    return is_admin(user, AdminRole.SYSTEM) or bool(_scope(user)["manage"])


def manageable_paths(user: Any) -> list[str] | None:
    """Subtrees the user manages; None means everywhere."""
    if is_admin(user, AdminRole.SYSTEM):
        return None
    return _scope(user)["manage"]


# --- The business: reports, exemptions, chasing, schedules, notices, robots ------------
#
# A unit's managers (a manager role in it or above it) do its business; duty staff file
# and correct their own unit's report and acknowledge its notices. Administrators do
# none of it, whatever memberships their account holds: they manage the system.


def _in_business(user: Any) -> bool:
    return bool(
        user is not None and user.is_authenticated and user.is_active and not user.admin_role
    )


def business_paths(user: Any) -> list[str]:
    """Subtrees whose business the user runs (a manager role there); none for an
    administrator."""
    return _scope(user)["manage"] if _in_business(user) else []


def runs(user: Any, unit: Unit) -> bool:
    """The user runs the unit's business: a manager role in it or above it."""
    return any(unit.path.startswith(p) for p in business_paths(user))


def units_run(user: Any) -> QuerySet[Unit]:
    """The units where the user holds a manager role (not those under them): the units a
    notice is sent from. None for an administrator."""
    if not _in_business(user):
        return Unit.objects.none()
    return Unit.objects.filter(
        archived_at__isnull=True,
        pk__in=Membership.objects.filter(person=user, role__in=MANAGER_ROLES).values("unit_id"),
    )


def can_report(user: Any, unit: Unit) -> bool:
    """Submit or correct the unit's daily report: its managers (and those of the units
    above it), and its own duty staff."""
    return runs(user, unit) or (_in_business(user) and unit.path in _scope(user)["report"])


def reporting_units(user: Any) -> QuerySet[Unit]:
    """The units whose report the user files from their reporting page: where they hold
    a manager role or are on duty. None for an administrator."""
    if not _in_business(user):
        return Unit.objects.none()
    return Unit.objects.filter(
        archived_at__isnull=True,
        pk__in=Membership.objects.filter(person=user, role__in=REPORTER_ROLES).values("unit_id"),
    )


def can_exempt(user: Any, unit: Unit) -> bool:
    """Exempt a day (holiday, closure) for a unit."""
    return runs(user, unit)


def can_chase(user: Any, unit: Unit) -> bool:
    """Chase (催办) the units under `unit` that have not reported, or a notice it sent."""
    return runs(user, unit)


def can_edit_schedules(user: Any, root: Unit) -> bool:
    """Create or change a reporting schedule covering `root`'s subtree."""
    return runs(user, root)


def can_send_notice(user: Any, unit: Unit) -> bool:
    """Send a notice from `unit` to the units below it."""
    return runs(user, unit)


def can_acknowledge(user: Any, unit: Unit) -> bool:
    """Confirm receipt of a notice sent to `unit` FOR THE UNIT: the unit's own managers and
    duty staff (those it is addressed to and those who keep watch), not everyone in it,
    and not the units above it (they sent it or passed it on). Every path asks this: the
    notice's page, the API, and a message's inbox button or link (`user` is then the
    message's addressee; None for a robot's chat group, where anyone may click). Anyone
    acknowledges a message addressed to them; that records only that they read it."""
    return _in_business(user) and unit.path in _scope(user)["report"]


def can_connect_robots(user: Any, unit: Unit) -> bool:
    """Connect, change and test the unit's chat-group robots: they post as the unit, into
    its own groups. (The system administrator sets the gateways and allowed networks.)"""
    return runs(user, unit)


def can_edit_notice_templates(user: Any) -> bool:
    """The shared notice templates: a manager of a whole tree (a bureau's safety office)."""
    return any(len(p) == Unit.steplen for p in business_paths(user))


def can_spot_check(user: Any, unit: Unit) -> bool:
    """Spot-check (查岗) who is on duty at `unit`: the level above, a manager of a unit
    above it (not the unit's own managers: one does not check oneself)."""
    return any(unit.path.startswith(p) and unit.path != p for p in business_paths(user))


def can_call_on_duty(user: Any, unit: Unit) -> bool:
    """The full mobile numbers of whoever is on duty at `unit` (tap to call), in "who is on
    duty now": those who run it (it and the level above). Others see the duty phone and
    masked mobiles (can_see_mobile: their own in full)."""
    return runs(user, unit)


def can_see_spot_checks(user: Any, unit: Unit) -> bool:
    """The spot checks of `unit` and their answers: those who may send them, and the
    unit's own managers (they see how their unit answered)."""
    return runs(user, unit)


def can_subscribe_shifts(user: Any) -> bool:
    """A private calendar link to one's own shifts: anyone in the business (not the three
    administrators, who hold no shifts)."""
    return _in_business(user)


# --- Duty (24小时值班) ----------------------------------------------------------------------
#
# Everyone who sees a unit sees its roster and who is on duty now (whom to call); its
# managers plan it, approve swaps and chase gaps below them; the people of a shift write
# its log and hand it over, and those of the next shift take it over. Administrators do
# none of it.


def can_see_duty(user: Any, unit: Unit) -> bool:
    return unit_visible(user, unit)


def can_plan_duty(user: Any, unit: Unit) -> bool:
    """Shift templates, the weekly pattern, planning a month, editing single shifts."""
    return runs(user, unit)


def can_drop_swap_request(user: Any, unit: Unit, asker_id: int, asked_id: int) -> bool:
    """End a swap still asked for (not yet accepted): its asker cancels it, the person
    asked declines it, the unit's head or office refuses it."""
    return getattr(user, "pk", None) in (asker_id, asked_id) or can_approve_swap(user, unit)


def can_approve_swap(user: Any, unit: Unit) -> bool:
    """Approve (or refuse) a swap two of the unit's people agreed: its head or office."""
    return runs(user, unit)


def can_chase_duty_gap(user: Any, unit: Unit) -> bool:
    """Tell a unit's head that its roster has a gap: a manager above it (or of it)."""
    return runs(user, unit)


def is_on_shift(user: Any, member_ids: Any) -> bool:
    """One of the shift's people (its log, its handover; the next shift's take-over).
    `member_ids`: the person ids of the shift's members."""
    return _in_business(user) and user.pk in set(member_ids)


# --- Incidents (突发事件) ------------------------------------------------------------------
#
# Anyone in the business reports an incident at a unit they belong to or see (a witness
# reports first, 第一时间); everyone who sees the unit sees the incident's facts; its managers
# (the unit's, and those above it) write it up, follow it up and close it, and they alone see
# the names in an incident involving minors. A person the chain called acknowledges their
# own call (incidents.services.incident_acknowledge_mine checks it is theirs).


def can_report_incident(user: Any, unit: Unit) -> bool:
    return _in_business(user) and unit_visible(user, unit)


def can_see_incident(user: Any, unit: Unit) -> bool:
    return _in_business(user) and unit_visible(user, unit)


def incidents_visible_q(user: Any) -> Q | None:
    """A filter on incidents by their unit's path (can_see_incident); None: none at all."""
    return visible_q(user, "unit__path") if _in_business(user) else None


def can_handle_incident(user: Any, unit: Unit) -> bool:
    """The written report, follow-ups, the final report: the unit's managers and those above."""
    return runs(user, unit)


def can_see_incident_names(user: Any, unit: Unit) -> bool:
    """Names and contacts in an incident involving minors (bullying, injury): those who
    handle it. Others see the facts without names."""
    return runs(user, unit)


def can_tick_incident_step(user: Any, unit: Unit, *, called: bool) -> bool:
    """Tick off a step of the incident's plan: those who handle it, and anyone the chain
    called about it (`called`: the person has a call on this incident)."""
    return runs(user, unit) or (called and _in_business(user))


def can_edit_emergency_plans(user: Any, unit: Unit) -> bool:
    """The unit's own copy of its emergency plans: its managers (and those above)."""
    return runs(user, unit)


def can_ask_incident_explanation(user: Any, unit: Unit) -> bool:
    """See the cross-checks of incidents against daily reports and ask a unit to explain
    one: the level above (a manager of a unit above it), as for spot checks."""
    return any(unit.path.startswith(p) and unit.path != p for p in business_paths(user))


def can_count_class(user: Any, unit: Unit) -> bool:
    """Report a class's evacuation count at `unit`: its head teachers (and its managers,
    who may count a class whose teacher is away)."""
    if not _in_business(user):
        return False
    return (
        runs(user, unit)
        or Membership.objects.filter(person=user, unit=unit, role=Role.HEAD_TEACHER).exists()
    )


def can_edit_incident_categories(user: Any, bureau: Unit) -> bool:
    """A bureau's own incident categories: those who run the bureau."""
    return runs(user, bureau)


def can_set_incident_limits(user: Any) -> bool:
    """The time limits per category, grade and level: a manager of a whole tree."""
    return any(len(p) == Unit.steplen for p in business_paths(user))


# --- Hazards (隐患) -----------------------------------------------------------------------
#
# Anyone in the business reports a hazard at a unit they see and sees its ledger. The unit's
# managers and the hazard's responsible person fix it; a manager verifies and closes it — never
# the one who submitted the fix; a hazard supervised by the level above (挂牌督办) is closed
# only by that level. The level above puts a major hazard under supervision.


def can_report_hazard(user: Any, unit: Unit) -> bool:
    return _in_business(user) and unit_visible(user, unit)


def hazards_visible_q(user: Any) -> Q | None:
    """A filter on hazards by their unit's path; None: none at all."""
    return visible_q(user, "unit__path") if _in_business(user) else None


def can_see_hazard(user: Any, unit: Unit) -> bool:
    return _in_business(user) and unit_visible(user, unit)


def can_fix_hazard(user: Any, unit: Unit, responsible_id: int | None) -> bool:
    return runs(user, unit) or (_in_business(user) and user.pk == responsible_id)


def can_verify_hazard(
    user: Any, unit: Unit, *, fixed_by_id: int | None, supervising: Unit | None
) -> bool:
    """Verify a submitted fix and close the hazard (or send it back)."""
    if getattr(user, "pk", None) == fixed_by_id:
        return False  # the one who fixed it never verifies it
    return runs(user, supervising if supervising is not None else unit)


def can_supervise_hazard(user: Any, unit: Unit) -> bool:
    """Put a major hazard under the supervision of the level above: a manager above it."""
    return any(unit.path.startswith(p) and unit.path != p for p in business_paths(user))


def can_change_hazard_deadline(user: Any, unit: Unit, *, supervising: Unit | None) -> bool:
    """Move a hazard's deadline (with a reason): the unit's managers; for a supervised hazard
    only the supervising level, which set it."""
    return runs(user, supervising if supervising is not None else unit)


def can_refer_hazard(user: Any, unit: Unit) -> bool:
    """Refer a hazard the school cannot fix to the outside authority, record its answer."""
    return runs(user, unit)


def can_import_hazard(user: Any, unit: Unit, *, closed: bool) -> bool:
    """A row of an existing Excel ledger brought into the ledger: an open hazard by whoever may
    report one there; one already closed (销号日期) only by its managers, who could have
    verified and closed it."""
    return runs(user, unit) if closed else can_report_hazard(user, unit)


def can_import_hazards(user: Any) -> bool:
    """Open the ledger import (page and API): anyone in the business; every row is then
    checked with can_import_hazard."""
    return _in_business(user)


def can_see_ledger_export(user: Any, requested_by_id: int) -> bool:
    """A ledger export built by the worker (its progress and its file): only the person who
    asked, while their account is active (it holds what they could see when they asked)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return bool(user.pk == requested_by_id)


def can_see_inspection(user: Any, unit: Unit) -> bool:
    """A unit's inspection in a round, its answers and photos: as its hazards."""
    return _in_business(user) and unit_visible(user, unit)


def inspection_rounds_visible_q(user: Any) -> Q | None:
    """Rounds a user sees: those launched in the units they see, and those launched above
    them that cover their units (a school sees the bureau's round). None: none at all."""
    if not _in_business(user):
        return None
    if sees_everything(user):
        return Q()
    step = Unit.steplen
    above = {p[:i] for p in _scope(user)["see"] for i in range(step, len(p), step)}
    return visible_q(user, "unit__path") | Q(unit__path__in=above)


def can_inspect(user: Any, unit: Unit) -> bool:
    """Answer a unit's inspection: its managers (the principal, the safety officer) and, in a
    group or bureau check, the managers of a unit above."""
    return runs(user, unit)


def can_launch_inspection_round(user: Any, unit: Unit) -> bool:
    """Launch a round for a subtree: a unit that has units below it, run by the user."""
    return runs(user, unit) and unit.kind in (UnitKind.BUREAU, UnitKind.GROUP)


def can_edit_checklists(user: Any, bureau: Unit) -> bool:
    """A bureau's own versions of the checklists: those who run a root of the tree."""
    return runs(user, bureau) and bureau.is_root()


# --- Routine checks (防火巡查, 食品留样, 陪餐, 门卫巡查, 月度消防检查) ----------------------------------
#
# Whoever holds a role in a school records its routine checks (the gate guard his patrols, the
# canteen staff the food samples, the safety officer the fire patrol), and so do its managers
# and those above it. Everyone in the business who sees a unit sees its checks and, over its
# subtree, who is short or missed; the level above chases. A bureau's managers set how many
# checks each kind needs and when. Administrators do none of it.


def can_record_routine(user: Any, unit: Unit) -> bool:
    if not _in_business(user):
        return False
    return runs(user, unit) or Membership.objects.filter(person=user, unit=unit).exists()


def routine_units(user: Any) -> QuerySet[Unit]:
    """The units whose checklist the user keeps: where they hold any role (not archived)."""
    if not _in_business(user):
        return Unit.objects.none()
    return Unit.objects.filter(
        archived_at__isnull=True,
        pk__in=Membership.objects.filter(person=user).values("unit_id"),
    )


def can_see_routines(user: Any, unit: Unit) -> bool:
    return _in_business(user) and unit_visible(user, unit)


def can_chase_routines(user: Any, unit: Unit) -> bool:
    """Remind the units under `unit` that are short of today's checks."""
    return runs(user, unit)


def can_edit_routine_kinds(user: Any, bureau: Unit) -> bool:
    """How many checks of each kind, per school day or month: those who run a root."""
    return runs(user, bureau) and bureau.is_root()


# --- Alert levels (等级防控) --------------------------------------------------------------------
#
# A unit's managers order a level for its subtree (the bureau for the district, a group for its
# schools, a school for itself) and end their order early; those of a root edit the measures.
# A unit reached by an order acknowledges it and confirms its measures itself: its own managers
# and duty staff (those it is addressed to, as a notice), not the levels above, who issued it
# or passed it on and see who has not. Everyone in the business sees the orders over their
# units and those issued in the units they see. Administrators do none of it.


def member_paths(user: Any) -> list[str]:
    """The paths of the units the user holds a role in (the outermost of each subtree), as
    read once a request: the alert-level banner's units."""
    return list(_scope(user)["see"])


def can_issue_alert_order(user: Any, unit: Unit) -> bool:
    return runs(user, unit) and unit.kind != UnitKind.DEPARTMENT


def can_edit_alert_measures(user: Any, bureau: Unit) -> bool:
    return runs(user, bureau) and bureau.is_root()


def can_confirm_alert_measures(user: Any, unit: Unit) -> bool:
    return _in_business(user) and unit.path in _scope(user)["report"]


def alert_units(user: Any) -> QuerySet[Unit]:
    """The units whose orders the user acknowledges and confirms (their own units)."""
    return reporting_units(user)


def alert_orders_visible_q(user: Any) -> Q | None:
    """Orders issued in the units the user sees, and those issued above them (a school sees
    the bureau's order). None: none at all."""
    if not _in_business(user):
        return None
    if sees_everything(user):
        return Q()
    step = Unit.steplen
    above = {p[:i] for p in _scope(user)["see"] for i in range(step, len(p), step)}
    return visible_q(user, "path") | Q(path__in=above)


# --- Drills (应急演练) ------------------------------------------------------------------------
#
# Schools and kindergartens plan their drills for the year and record each one held. Everyone
# in the business who sees a unit sees its drills, its plan against what was done and, over
# its subtree, who is behind; its managers (the principal, the safety officer, and those above)
# plan, record, add photos, turn a problem found into a hazard and open a drill's roll call,
# which its head teachers count as in an incident (can_count_class). Administrators do none
# of it.

DRILL_UNIT_KINDS = (UnitKind.SCHOOL, UnitKind.KINDERGARTEN)


def can_see_drills(user: Any, unit: Unit) -> bool:
    return _in_business(user) and unit_visible(user, unit)


def drills_visible_q(user: Any) -> Q | None:
    """A filter on drills by their unit's path (can_see_drills); None: none at all."""
    return visible_q(user, "unit__path") if _in_business(user) else None


def can_record_drill(user: Any, unit: Unit) -> bool:
    """Record a drill held at `unit`, add its photos, turn its problems into hazards."""
    return runs(user, unit) and unit.kind in DRILL_UNIT_KINDS


def can_plan_drills(user: Any, unit: Unit) -> bool:
    """The unit's drill plan of a year: how many drills of each kind."""
    return runs(user, unit) and unit.kind in DRILL_UNIT_KINDS


def can_open_roll_call(user: Any, unit: Unit) -> bool:
    """A roll call at `unit` without an incident (a drill's); closed by the same people."""
    return runs(user, unit)


def drill_units(user: Any) -> QuerySet[Unit]:
    """The schools and kindergartens whose drills the user records and plans: those under the
    units they run. None for an administrator."""
    return Unit.objects.filter(
        _under_any(business_paths(user)), kind__in=DRILL_UNIT_KINDS, archived_at__isnull=True
    )


def drill_home_units(user: Any) -> QuerySet[Unit]:
    """The schools and kindergartens the user holds a role in: their drills page shows them."""
    if not _in_business(user):
        return Unit.objects.none()
    return Unit.objects.filter(
        kind__in=DRILL_UNIT_KINDS,
        archived_at__isnull=True,
        pk__in=Membership.objects.filter(person=user).values("unit_id"),
    )


# --- Campaigns (专项行动) -------------------------------------------------------------------
#
# A bureau or a township group launches a campaign for its subtree: those who run it launch it
# and run it (phases, tasks, its leadership group, what it switches on) and read every unit's
# progress and summary. Each group, school and kindergarten under it does the tasks and writes
# its summary itself: its own managers (a manager role in that very unit), not the levels above,
# who set the tasks and see who has not. Everyone in the business sees the campaigns over their
# units and those launched in the units they see. Administrators do none of it.

CAMPAIGN_LAUNCH_KINDS = (UnitKind.BUREAU, UnitKind.GROUP)


def can_launch_campaign(user: Any, unit: Unit) -> bool:
    return runs(user, unit) and unit.kind in CAMPAIGN_LAUNCH_KINDS


def can_run_campaign(user: Any, unit: Unit) -> bool:
    """Phases, tasks, leadership group, switch-ons, every unit's progress and summaries of a
    campaign launched at `unit`."""
    return can_launch_campaign(user, unit)


def campaigns_visible_q(user: Any) -> Q | None:
    """Campaigns launched in the units the user sees, and those launched above them (a school
    sees the bureau's campaign). None: none at all."""
    if not _in_business(user):
        return None
    if sees_everything(user):
        return Q()
    step = Unit.steplen
    above = {p[:i] for p in _scope(user)["see"] for i in range(step, len(p), step)}
    return visible_q(user, "path") | Q(path__in=above)


def can_see_campaign(user: Any, unit: Unit) -> bool:
    """A campaign launched at `unit`: those who see the unit, and those of the units under it."""
    if not _in_business(user):
        return False
    return unit_visible(user, unit) or any(p.startswith(unit.path) for p in _scope(user)["see"])


def _manages_itself(user: Any, unit: Unit) -> bool:
    return _in_business(user) and (
        Membership.objects.filter(person=user, unit=unit, role__in=MANAGER_ROLES).exists()
    )


def can_do_campaign_task(user: Any, unit: Unit) -> bool:
    """Mark a campaign's task done for `unit`: the unit's own managers."""
    return _manages_itself(user, unit)


def can_write_campaign_summary(user: Any, unit: Unit) -> bool:
    """Write (and correct) `unit`'s summary of a campaign: the unit's own managers."""
    return _manages_itself(user, unit)


def can_read_campaign_summary(user: Any, campaign_unit: Unit, unit: Unit) -> bool:
    """Read `unit`'s summary of a campaign launched at `campaign_unit`: those who run the
    campaign, and the unit's own managers."""
    return can_run_campaign(user, campaign_unit) or _manages_itself(user, unit)


def campaign_units(user: Any) -> QuerySet[Unit]:
    """The units whose campaign tasks and summaries the user does: the groups, schools and
    kindergartens where they hold a manager role."""
    if not _in_business(user):
        return Unit.objects.none()
    return Unit.objects.filter(
        archived_at__isnull=True,
        kind__in=(UnitKind.GROUP, UnitKind.SCHOOL, UnitKind.KINDERGARTEN),
        pk__in=Membership.objects.filter(person=user, role__in=MANAGER_ROLES).values("unit_id"),
    )


def require(allowed: bool) -> None:
    """Refuse (403) what the rules above did not allow: every service and view says so here."""
    if not allowed:
        raise PermissionDenied(_("You may not do this here."))
