"""Hazards (隐患排查整治): the ledger (隐患台账) of every hazard found, each with its place,
severity, responsible person, deadline, interim measures and status; fixed, then verified
by someone other than who fixed it, and closed (销号); a major hazard supervised by the level
above (挂牌督办), which alone closes it; one the school cannot fix referred to the outside
authority responsible and tracked until it answers. Each step is an entry of the hazard's
history."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Area, Person, Unit


class Category(models.TextChoices):
    BUILDINGS = "buildings", _("School buildings")
    FIRE = "fire", _("Fire safety")
    FOOD = "food", _("Food and canteen")
    WATER = "water", _("Water supply")
    POWER = "power", _("Electricity and gas")
    LABS = "labs", _("Labs and hazardous chemicals")
    SPORTS = "sports", _("Sports equipment")
    DORMITORY = "dormitory", _("Dormitories")
    GATE = "gate", _("Gate and campus security")
    BUS = "bus", _("School buses")
    SURROUNDINGS = "surroundings", _("Surroundings")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    GENERAL = "general", _("General (一般)")
    MAJOR = "major", _("Major (重大)")


class Status(models.TextChoices):
    OPEN = "open", _("Open")
    FIXING = "fixing", _("Being fixed")
    SUBMITTED = "submitted", _("Fix submitted")
    REFERRED = "referred", _("Referred to an authority")
    CLOSED = "closed", _("Closed (销号)")


OPEN_STATUSES = (Status.OPEN, Status.FIXING, Status.SUBMITTED, Status.REFERRED)


class Hazard(models.Model):
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="hazards"
    )
    area = models.ForeignKey(
        Area, verbose_name=_("area"), null=True, blank=True, on_delete=models.SET_NULL
    )
    place = models.CharField(_("place"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    description = models.TextField(_("description"))
    severity = models.CharField(
        _("severity"), max_length=8, choices=Severity.choices, default=Severity.GENERAL
    )
    responsible = models.ForeignKey(
        Person,
        verbose_name=_("responsible for the fix"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    deadline = models.DateField(_("fix by"))
    interim = models.TextField(_("interim measures"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    reported_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(_("reported at"))
    fix_note = models.TextField(_("what was done"), blank=True)
    fixed_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fixed_at = models.DateTimeField(_("fix submitted at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        Person,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # 挂牌督办: the level above that supervises a major hazard, and alone closes it
    supervising_unit = models.ForeignKey(
        Unit,
        verbose_name=_("supervised by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="supervised_hazards",
    )
    supervisor = models.ForeignKey(
        Person,
        verbose_name=_("supervisor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    supervision_deadline = models.DateField(_("supervision deadline"), null=True, blank=True)
    referred_to = models.CharField(_("referred to"), max_length=200, blank=True)
    referral_answer = models.TextField(_("the authority's answer"), blank=True)

    class Meta:
        verbose_name = _("hazard")
        verbose_name_plural = _("hazards")
        indexes = [
            models.Index(fields=["unit", "status"], name="hazard_unit_status"),
            models.Index(fields=["status", "deadline"], name="hazard_status_deadline"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.get_category_display()} {self.description[:30]}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class EventKind(models.TextChoices):
    REPORTED = "reported", _("Reported")
    FIXING = "fixing", _("Fix started")
    SUBMITTED = "submitted", _("Fix submitted")
    SENT_BACK = "sent_back", _("Sent back")
    CLOSED = "closed", _("Verified and closed")
    SUPERVISED = "supervised", _("Put under supervision")
    REFERRED = "referred", _("Referred")
    ANSWERED = "answered", _("Authority answered")
    OVERDUE = "overdue", _("Overdue")


class HazardEvent(models.Model):
    """The hazard's history: append-only (the services only add)."""

    hazard = models.ForeignKey(Hazard, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("what"), max_length=12, choices=EventKind.choices)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(_("text"), max_length=1000, blank=True)

    class Meta:
        verbose_name = _("hazard event")
        verbose_name_plural = _("hazard events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"
