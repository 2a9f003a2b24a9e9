"""The organisation: a tree of units, the people in them and what each may do.

bureau (教育局) → township group (学区) → school / kindergarten → department;
each unit has a head (第一责任人), a leadership group (领导小组), an office
contact, and responsibility-grid areas (网格), each with a responsible person.
"""

import re

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from safecampus.lib.masking import mask_mobile, mask_mobiles_in  # noqa: F401 (orgs' callers)

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
mobile_validator = RegexValidator(
    MOBILE_RE, _("Enter a mainland mobile number: 11 digits starting with 13–19.")
)
code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
    _("A code is 1–32 letters, digits, '-' or '_'."),
)


class AdminRole(models.TextChoices):
    """The three separated administrators of graded protection (三员分立)."""

    SYSTEM = "system", _("System administrator")
    SECURITY = "security", _("Security administrator")
    AUDIT = "audit", _("Audit administrator")


class Person(AbstractUser):
    """Anyone with a place in the organisation; every person can hold an account.

    Log-in is by username or mobile number. ``admin_role`` is a single field,
    so no account can hold two of the three administrator roles.
    """

    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    name = models.CharField(_("full name"), max_length=64)
    mobile = models.CharField(
        _("mobile"),
        max_length=11,
        unique=True,
        null=True,
        blank=True,
        validators=[mobile_validator],
    )
    admin_role = models.CharField(
        _("administrator role"), max_length=16, choices=AdminRole.choices, blank=True
    )
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    # Set when someone else sets the password (a reset): the holder must choose a new
    # one before anything else (orgs.middleware for pages, the API's token endpoint).
    must_change_password = models.BooleanField(
        _("must change the password at the next login"), default=False
    )

    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name or self.username

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name

    @property
    def mobile_masked(self) -> str:
        return mask_mobile(self.mobile)


class UnitKind(models.TextChoices):
    BUREAU = "bureau", _("Education bureau")
    GROUP = "group", _("Township education group")
    SCHOOL = "school", _("School")
    KINDERGARTEN = "kindergarten", _("Kindergarten")
    DEPARTMENT = "department", _("Department")


# Which kinds of unit may sit directly under which. A province is bureaus
# under bureaus; a department can hold departments (grade → class building).
ALLOWED_CHILDREN: dict[str, set[str]] = {
    UnitKind.BUREAU: {UnitKind.BUREAU, UnitKind.GROUP, UnitKind.SCHOOL, UnitKind.KINDERGARTEN},
    UnitKind.GROUP: {UnitKind.SCHOOL, UnitKind.KINDERGARTEN},
    UnitKind.SCHOOL: {UnitKind.DEPARTMENT},
    UnitKind.KINDERGARTEN: {UnitKind.DEPARTMENT},
    UnitKind.DEPARTMENT: {UnitKind.DEPARTMENT},
}


class Unit(MP_Node):
    """A node of the organisation tree (materialized path: one query per subtree)."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind.choices)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("office phone"), max_length=32, blank=True)
    head = models.ForeignKey(
        Person,
        verbose_name=_("head (first responsible person)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_units",
    )
    office_contact = models.ForeignKey(
        Person,
        verbose_name=_("office contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="office_of_units",
    )
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        # MP_Node indexes `path` (unique): the subtree range [P, P+"~") used by
        # orgs.access and every selector.
        indexes = [
            # The children of a unit: depth = d + 1 within its path range.
            models.Index(fields=["depth", "path"], name="unit_depth_path_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def path_and_above(self) -> list[str]:
        """The paths of this unit and of every unit above it, the root's first."""
        step = self.steplen
        return [self.path[:i] for i in range(step, len(self.path) + 1, step)]

    def may_hold(self, kind: str) -> bool:
        return kind in ALLOWED_CHILDREN.get(self.kind, set())


class AreaKind(models.TextChoices):
    BUILDING = "building", _("Teaching building")
    CANTEEN = "canteen", _("Canteen")
    GATE = "gate", _("Gate")
    DORMITORY = "dormitory", _("Dormitory")
    LAB = "lab", _("Laboratory")
    SPORTS = "sports", _("Playground and sports")
    OFFICE = "office", _("Office")
    OTHER = "other", _("Other")


class Area(models.Model):
    """A cell of the responsibility grid (网格): a place with one responsible person."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="areas"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=16, choices=AreaKind.choices, default=AreaKind.OTHER
    )
    responsible = models.ForeignKey(
        Person,
        verbose_name=_("responsible person"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="areas",
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    class Meta:
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        ordering = ["unit_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="area_unique_name_in_unit"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def needs_responsible(self) -> bool:
        return self.responsible_id is None and self.archived_at is None


class Role(models.TextChoices):
    """Roles come from membership in a unit."""

    BUREAU_LEADER = "bureau_leader", _("Bureau leader")
    SAFETY_OFFICE = "safety_office", _("Safety office staff")
    GROUP_HEAD = "group_head", _("Township group head")
    PRINCIPAL = "principal", _("Principal")
    SAFETY_OFFICER = "safety_officer", _("Safety officer")
    DUTY_STAFF = "duty_staff", _("Duty staff")
    HEAD_TEACHER = "head_teacher", _("Head teacher")
    GATE_GUARD = "gate_guard", _("Gate guard")
    INSPECTOR = "inspector", _("Inspector")
    STAFF = "staff", _("Staff")


# Roles that run a unit: they edit it and everything under it.
MANAGER_ROLES = frozenset(
    {Role.BUREAU_LEADER, Role.SAFETY_OFFICE, Role.GROUP_HEAD, Role.PRINCIPAL, Role.SAFETY_OFFICER}
)


class Membership(models.Model):
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="memberships"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        Person,
        verbose_name=_("granted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "unit", "role"], name="membership_unique_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.unit} · {self.get_role_display()}"


class Position(models.TextChoices):
    LEADER = "leader", _("Leader (组长)")
    DEPUTY = "deputy", _("Deputy leader (副组长)")
    MEMBER = "member", _("Member (成员)")


POSITION_ORDER = {Position.LEADER: 0, Position.DEPUTY: 1, Position.MEMBER: 2}


class LeadershipSeat(models.Model):
    """A seat in a unit's safety leadership group (安全工作领导小组)."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="leadership"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="seats"
    )
    position = models.CharField(_("position"), max_length=10, choices=Position.choices)

    class Meta:
        verbose_name = _("leadership group seat")
        verbose_name_plural = _("leadership group seats")
        constraints = [
            models.UniqueConstraint(fields=["unit", "person"], name="seat_one_per_person"),
            models.UniqueConstraint(
                fields=["unit"], condition=Q(position="leader"), name="seat_one_leader"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} · {self.get_position_display()} · {self.person}"


class SecurityPolicy(models.Model):
    """Password and lockout policy; one row, edited by the security administrator."""

    min_password_length = models.PositiveSmallIntegerField(_("minimum password length"), default=8)
    failure_limit = models.PositiveSmallIntegerField(_("failed logins before lockout"), default=5)
    cooloff_minutes = models.PositiveSmallIntegerField(_("lockout minutes"), default=15)
    idle_timeout_minutes = models.PositiveSmallIntegerField(_("idle timeout (minutes)"), default=30)
    password_max_age_days = models.PositiveSmallIntegerField(
        _("password maximum age (days, 0 = never)"), default=90
    )

    class Meta:
        verbose_name = _("security policy")
        verbose_name_plural = _("security policy")

    def __str__(self) -> str:
        return str(_("security policy"))

    def clean(self) -> None:
        errors = {}
        if not 8 <= self.min_password_length <= 64:
            errors["min_password_length"] = _("Between 8 and 64.")
        if not 3 <= self.failure_limit <= 20:
            errors["failure_limit"] = _("Between 3 and 20.")
        if not 1 <= self.cooloff_minutes <= 1440:
            errors["cooloff_minutes"] = _("Between 1 and 1440.")
        if not 5 <= self.idle_timeout_minutes <= 480:
            errors["idle_timeout_minutes"] = _("Between 5 and 480.")
        if self.password_max_age_days > 3650:
            errors["password_max_age_days"] = _("At most 3650.")
        if errors:
            raise ValidationError(errors)


class ApiToken(models.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"token of {self.person}"
