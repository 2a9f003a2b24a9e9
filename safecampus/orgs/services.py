"""Writes to the organisation. Each checks access, validates, and runs in one transaction.

Errors are raised as django.core.exceptions.ValidationError (bad input, shown
with the field) or PermissionDenied (the user may not do this).
"""

import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from safecampus.audit.models import AuditEntry
from safecampus.audit.services import audit_record

from . import access
from .models import (
    AdminRole,
    ApiToken,
    Area,
    LeadershipSeat,
    Membership,
    Person,
    Position,
    Role,
    SecurityPolicy,
    Unit,
    UnitKind,
)

UNIT_FIELDS = ("code", "name", "kind", "address", "phone", "head", "office_contact")


def _full_clean(obj: Any, exclude: list[str] | None = None) -> None:
    obj.full_clean(exclude=exclude)


def _assign(obj: Any, fields: dict[str, Any]) -> None:
    """Set fields from user input: text stripped, None for a text field means empty."""
    for key, value in fields.items():
        field = obj._meta.get_field(key)
        if value is None and isinstance(field, models.CharField) and not field.null:
            value = ""
        setattr(obj, key, value.strip() if isinstance(value, str) else value)


def _check_kind(parent: Unit | None, kind: str) -> None:
    if kind not in UnitKind.values:
        raise ValidationError({"kind": _("Unknown kind of unit.")})
    if parent is None:
        if kind != UnitKind.BUREAU:
            raise ValidationError({"kind": _("Only a bureau can be at the top of the tree.")})
        return
    if not parent.may_hold(kind):
        raise ValidationError(
            {
                "kind": _("A %(child)s cannot be placed under a %(parent)s.")
                % {"child": UnitKind(kind).label, "parent": parent.get_kind_display()}
            }
        )


def _check_people_visible(by: Person, **people: Person | None) -> None:
    for field, person in people.items():
        if person is not None and not access.person_visible(by, person):
            raise ValidationError({field: _("Unknown person.")})


# --- Units ----------------------------------------------------------------------


@transaction.atomic
def unit_create(
    *,
    by: Person,
    parent: Unit | None,
    code: str,
    name: str,
    kind: str,
    address: str = "",
    phone: str = "",
    head: Person | None = None,
    office_contact: Person | None = None,
) -> Unit:
    if parent is None:
        access.require(access.can_create_root(by))
    else:
        access.require(access.can_manage(by, parent))
        parent = Unit.objects.get(pk=parent.pk)  # fresh path and child count for the insert
        if parent.is_archived:
            raise ValidationError({"parent": _("The parent unit is archived.")})
    _check_kind(parent, kind)
    _check_people_visible(by, head=head, office_contact=office_contact)
    unit = Unit(
        code=code.strip(),
        name=name.strip(),
        kind=kind,
        address=address.strip(),
        phone=phone.strip(),
        head=head,
        office_contact=office_contact,
    )
    _full_clean(unit, exclude=["path", "depth", "numchild"])
    unit = (
        Unit.objects.add_root(instance=unit)
        if parent is None
        else Unit.objects.add_child(parent, instance=unit)
    )
    return unit


@transaction.atomic
def unit_update(*, by: Person, unit: Unit, **fields: Any) -> Unit:
    access.require(access.can_manage(by, unit))
    unknown = set(fields) - set(UNIT_FIELDS)
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in unknown})
    if "kind" in fields and fields["kind"] != unit.kind:
        parent = Unit.objects.get_parent(unit)
        _check_kind(parent, fields["kind"])
        reshaped = Unit(kind=fields["kind"])
        if any(not reshaped.may_hold(child.kind) for child in Unit.objects.get_children(unit)):
            raise ValidationError({"kind": _("Its children could not stay under it.")})
    _check_people_visible(by, head=fields.get("head"), office_contact=fields.get("office_contact"))
    before = {key: getattr(unit, key) for key in fields}
    _assign(unit, fields)
    try:
        _full_clean(unit, exclude=["path", "depth", "numchild"])
    except ValidationError:
        # The caller's unit keeps what is stored (a form re-rendered with the error
        # must not show the refused name as the unit's).
        for key, value in before.items():
            setattr(unit, key, value)
        raise
    unit.save()
    return unit


@transaction.atomic
def unit_move(*, by: Person, unit: Unit, new_parent: Unit) -> Unit:
    """Put a unit (with its subtree) under another parent; cycles are refused."""
    access.require(access.can_manage(by, unit) and access.can_manage(by, new_parent))
    unit.refresh_from_db()
    new_parent.refresh_from_db()
    if new_parent.path.startswith(unit.path):
        raise ValidationError(
            {"parent": _("A unit cannot be moved under itself or one of its own units.")}
        )
    if unit.depth == 1:
        raise ValidationError({"parent": _("The top of the tree cannot be moved.")})
    if new_parent.is_archived:
        raise ValidationError({"parent": _("The parent unit is archived.")})
    _check_kind(new_parent, unit.kind)
    old_parent = Unit.objects.get_parent(unit)
    Unit.objects.move(unit, new_parent, pos="sorted-child" if Unit.node_order_by else "last-child")
    unit.refresh_from_db()
    audit_record(
        action="move",
        model="orgs.unit",
        object_id=unit.pk,
        object_repr=str(unit),
        changes={"parent": [old_parent.code if old_parent else None, new_parent.code]},
    )
    return unit


@transaction.atomic
def unit_archive(*, by: Person, unit: Unit) -> Unit:
    access.require(access.can_manage(by, unit))
    if Unit.objects.get_children(unit).filter(archived_at__isnull=True).exists():
        raise ValidationError(_("Archive the units under it first."))
    if unit.archived_at is None:
        unit.archived_at = timezone.now()
        unit.save()
    return unit


@transaction.atomic
def unit_restore(*, by: Person, unit: Unit) -> Unit:
    access.require(access.can_manage(by, unit))
    parent = Unit.objects.get_parent(unit)
    if parent is not None and parent.is_archived:
        raise ValidationError(_("Restore the unit above it first."))
    unit.archived_at = None
    unit.save()
    return unit


def unit_has_history(unit: Unit) -> bool:
    """Anything beyond its own creation: children, areas, people, or later changes."""
    if unit.numchild or Unit.objects.get_children(unit).exists():
        return True
    if Area.objects.filter(unit=unit).exists() or Membership.objects.filter(unit=unit).exists():
        return True
    if LeadershipSeat.objects.filter(unit=unit).exists():
        return True
    return (
        AuditEntry.objects.filter(model="orgs.unit", object_id=str(unit.pk))
        .exclude(action="create")
        .exists()
    )


@transaction.atomic
def unit_delete(*, by: Person, unit: Unit) -> None:
    """Only a unit created by mistake, with no history, can be deleted; others are archived."""
    access.require(access.can_manage(by, unit))
    if unit.depth == 1 and not access.can_create_root(by):
        access.require(False)
    if unit_has_history(unit):
        raise ValidationError(_("This unit has history and cannot be deleted; archive it instead."))
    try:
        unit.delete()
    except ProtectedError:
        raise ValidationError(
            _("This unit has history and cannot be deleted; archive it instead.")
        ) from None


# --- Areas ----------------------------------------------------------------------


@transaction.atomic
def area_create(
    *,
    by: Person,
    unit: Unit,
    name: str,
    kind: str,
    responsible: Person | None = None,
    description: str = "",
) -> Area:
    access.require(access.can_manage(by, unit))
    if unit.is_archived:
        raise ValidationError({"unit": _("The unit is archived.")})
    _check_people_visible(by, responsible=responsible)
    area = Area(
        unit=unit,
        name=name.strip(),
        kind=kind,
        responsible=responsible,
        description=description.strip(),
    )
    _full_clean(area)
    area.save()
    return area


@transaction.atomic
def area_update(*, by: Person, area: Area, **fields: Any) -> Area:
    access.require(access.can_manage(by, area.unit))
    allowed = {"name", "kind", "responsible", "description"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in unknown})
    _check_people_visible(by, responsible=fields.get("responsible"))
    _assign(area, fields)
    _full_clean(area)
    area.save()
    return area


@transaction.atomic
def area_archive(*, by: Person, area: Area) -> Area:
    access.require(access.can_manage(by, area.unit))
    area.archived_at = area.archived_at or timezone.now()
    area.save()
    return area


# --- People ---------------------------------------------------------------------


def _unique_username(base: str) -> str:
    candidate, n = base, 1
    while Person.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}.{n}"
    return candidate


@transaction.atomic
def person_create(
    *,
    by: Person,
    unit: Unit,
    name: str,
    mobile: str | None,
    roles: list[str] | tuple[str, ...] = (Role.STAFF,),
    username: str | None = None,
    email: str = "",
    password: str | None = None,
) -> Person:
    """A new person in a unit. Without a password the account cannot log in until one is set."""
    access.require(access.can_manage(by, unit) or access.can_manage_accounts(by))
    mobile = (mobile or "").strip() or None
    person = Person(
        username=(username or "").strip()
        or _unique_username(mobile or f"p{timezone.now():%y%m%d%H%M%S}"),
        name=name.strip(),
        mobile=mobile,
        email=email.strip(),
    )
    if password:
        validate_password(password, person)
        person.set_password(password)
        person.password_changed_at = timezone.now()
    else:
        person.set_unusable_password()
    _full_clean(person, exclude=["password"])
    person.save()
    for role in roles or (Role.STAFF,):
        _grant(by=by, person=person, unit=unit, role=role)
    return person


@transaction.atomic
def person_update(*, by: Person, person: Person, **fields: Any) -> Person:
    access.require(access.account_change_allowed(by, person))
    allowed = {"name", "mobile", "email"}
    if access.can_manage_accounts(by):
        allowed |= {"is_active", "username"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({f: _("This field cannot be changed.") for f in unknown})
    if fields.get("is_active") is False and person.pk == by.pk:
        raise ValidationError({"is_active": _("You cannot disable your own account.")})
    if "mobile" in fields:
        fields["mobile"] = (fields["mobile"] or "").strip() or None
    _assign(person, fields)
    _full_clean(person, exclude=["password"])
    person.save()
    return person


@transaction.atomic
def person_set_password(*, by: Person, person: Person, password: str) -> Person:
    """A person changes their own password; the system administrator resets another's.

    A reset (by anyone but the holder) forces a change at the next login and ends the
    account's API tokens (and, with the password's hash, its sessions). Nobody types
    another administrator's password (they could log in as its holder before the holder
    does): person_password_withdraw resets those.

    Telling the holder of a reset is not done here (orgs is below notify): a reset goes
    through administration.services.password_reset, which calls this and writes the
    message in the same transaction."""
    own = by.pk == person.pk
    access.require(own or access.can_reset_password(by, person))
    if not own and access.password_reset_needs_cosigner(person):
        # Whoever typed it could log in as the holder before they do: an administrator's
        # password is withdrawn instead, and its holder chooses the next one
        # (person_password_withdraw, then a link to the holder only).
        raise PermissionDenied(
            _(
                "Nobody types another administrator's password: a reset sends its holder "
                "a link to choose their own."
            )
        )
    validate_password(password, person)
    person.set_password(password)
    person.password_changed_at = timezone.now()
    person.must_change_password = not own
    person.save()
    changes: dict[str, Any] = {"must_change_password": person.must_change_password}
    if not own:
        ApiToken.objects.filter(person=person).delete()
    audit_record(
        action="password_set",
        model="orgs.person",
        object_id=person.pk,
        object_repr=str(person),
        changes=changes,
    )
    return person


@transaction.atomic
def person_password_withdraw(*, by: Person, person: Person, cosigner: Person | None) -> Person:
    """Reset an administrator's password without anyone knowing the next one.

    Two administrators of two roles (access.password_reset_cosigner) withdraw it: the old
    password stops working, and with its hash the account's sessions end; its API tokens
    end too. Nobody can log in to the account until its holder chooses a password through
    the one-time link sent to their own channels (administration.services
    .admin_password_reset makes and sends it; password_reset_link_path below)."""
    access.require(access.can_reset_password(by, person))
    if not access.password_reset_cosigner(by, person, cosigner):
        raise PermissionDenied(
            _(
                "An administrator's password is reset by two administrators: you and "
                "an administrator of another role, neither of you its holder."
            )
        )
    person.set_unusable_password()
    person.must_change_password = True
    person.save()
    ApiToken.objects.filter(person=person).delete()
    return person


def password_reset_link_path(person: Person) -> str:
    """The holder's one-time page to choose a password (/account/reset/<uid>/<token>/).
    Django's token is signed with the account's password hash and last login: it stops
    working once a password is chosen (single use), after PASSWORD_RESET_TIMEOUT, and at
    the next reset (a new unusable hash)."""
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    token = default_token_generator.make_token(person)
    return reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


# --- Roles ----------------------------------------------------------------------


@transaction.atomic
def membership_grant(*, by: Person, person: Person, unit: Unit, role: str) -> Membership:
    if not access.person_visible(by, person):
        raise ValidationError({"person": _("Unknown person.")})
    return _grant(by=by, person=person, unit=unit, role=role)


def _grant(*, by: Person, person: Person, unit: Unit, role: str) -> Membership:
    """membership_grant without the visibility check: a brand-new person is not yet
    in anybody's subtree."""
    if person.pk == by.pk:
        raise PermissionDenied(_("Nobody can grant a role to themselves."))
    allowed = access.can_grant_roles(by, unit) or (
        # The system administrator places new accounts in units; it grants no rights.
        access.can_manage_accounts(by) and role == Role.STAFF
    )
    access.require(allowed)
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role.")})
    if unit.is_archived:
        raise ValidationError({"unit": _("The unit is archived.")})
    membership, created = Membership.objects.get_or_create(
        person=person, unit=unit, role=role, defaults={"granted_by": by}
    )
    if not created:
        raise ValidationError({"role": _("This person already has this role in this unit.")})
    return membership


@transaction.atomic
def membership_revoke(*, by: Person, membership: Membership) -> None:
    if membership.person_id == by.pk:
        raise PermissionDenied(_("Nobody can change their own roles."))
    access.require(access.can_grant_roles(by, membership.unit))
    membership.delete()


@transaction.atomic
def admin_role_grant(*, by: Person, person: Person, role: str) -> Person:
    """The security administrator names the three administrators; never itself."""
    access.require(access.can_grant_admin_roles(by))
    if person.pk == by.pk:
        raise PermissionDenied(_("Nobody can grant a role to themselves."))
    if role not in AdminRole.values and role != "":
        raise ValidationError({"admin_role": _("Unknown administrator role.")})
    if role and not access.may_be_named_administrator(person):
        raise ValidationError(
            {
                "admin_role": _(
                    "This account's holder has not logged in with a password of their "
                    "own since it was created or reset: they must choose one and log in "
                    "first."
                )
            }
        )
    if role and person.admin_role and person.admin_role != role:
        raise ValidationError(
            {
                "admin_role": _(
                    "This account already holds another administrator role; "
                    "no account may hold two."
                )
            }
        )
    person.admin_role = role
    person.save()
    return person


# --- Leadership group -----------------------------------------------------------


@transaction.atomic
def seat_set(*, by: Person, unit: Unit, person: Person, position: str) -> LeadershipSeat:
    access.require(access.can_manage(by, unit))
    _check_people_visible(by, person=person)
    if position not in Position.values:
        raise ValidationError({"position": _("Unknown position.")})
    if position == Position.LEADER:
        current = (
            LeadershipSeat.objects.filter(unit=unit, position=Position.LEADER)
            .exclude(person=person)
            .first()
        )
        if current is not None:
            raise ValidationError(
                {
                    "position": _("%(name)s already leads this group; change that seat first.")
                    % {"name": current.person.name}
                }
            )
    seat = LeadershipSeat.objects.filter(unit=unit, person=person).first()
    if seat is None:
        seat = LeadershipSeat(unit=unit, person=person, position=position)
    seat.position = position
    try:
        with transaction.atomic():
            seat.save()
    except IntegrityError:
        raise ValidationError({"position": _("This seat is already taken.")}) from None
    return seat


@transaction.atomic
def seat_remove(*, by: Person, seat: LeadershipSeat) -> None:
    access.require(access.can_manage(by, seat.unit))
    seat.delete()


# --- Security policy and tokens ---------------------------------------------------


def policy_get() -> SecurityPolicy:
    policy, _created = SecurityPolicy.objects.get_or_create(pk=1)
    return policy


@transaction.atomic
def policy_update(*, by: Person, **fields: Any) -> SecurityPolicy:
    access.require(access.can_edit_security_policy(by))
    policy = policy_get()
    for key, value in fields.items():
        setattr(policy, key, value)
    _full_clean(policy)
    policy.save()
    from .policy import forget_policy

    transaction.on_commit(forget_policy)
    return policy


def token_issue(*, person: Person) -> str:
    """A new API token; the caller shows it once, only its hash is kept."""
    key = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        person=person,
        key_hash=hashlib.sha256(key.encode()).hexdigest(),
        expires_at=timezone.now() + settings.API_TOKEN_LIFETIME,
    )
    return key
