"""Emergency drills (应急演练), planned and recorded (DOMAIN §8).

Each school and kindergarten plans, for a calendar year, how many drills of each kind it will
hold (DrillPlan, one row a kind; a default is offered: REFERENCE, evacuation drills at least
monthly in schools, quarterly in kindergartens). Each drill held is a Drill: its kind, when,
who took part, how long the evacuation took against the target (≤ 2 minutes for a building of
up to 4 floors), the roll call (an incidents.RollCall without an incident, counted by the head
teachers), the problems found — each of which becomes a hazard with one action — and photos.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from safecampus.hazards.models import Hazard
from safecampus.incidents.models import RollCall
from safecampus.orgs.models import Person, Unit, UnitKind


class Kind(models.TextChoices):
    FIRE = "fire", _("Fire evacuation (消防疏散)")
    EARTHQUAKE = "earthquake", _("Earthquake (地震避险)")
    INTRUDER = "intruder", _("Anti-intruder (防恐防暴)")
    STAMPEDE = "stampede", _("Stampede (防踩踏)")
    FLOOD = "flood", _("Flood (防汛)")
    FOOD_POISONING = "food_poisoning", _("Food poisoning (食物中毒)")
    GAS_LEAK = "gas_leak", _("Gas leak (燃气泄漏)")
    OTHER = "other", _("Other")


# What a unit without a plan of its own is offered (REFERENCE.md: evacuation drills at least
# monthly in schools — ten school months a year — and at least quarterly in kindergartens; an
# earthquake and an anti-intruder drill a year beside them). Saved only when the unit saves it.
DEFAULT_PLAN: dict[str, dict[str, int]] = {
    UnitKind.SCHOOL: {Kind.FIRE: 10, Kind.EARTHQUAKE: 1, Kind.INTRUDER: 1},
    UnitKind.KINDERGARTEN: {Kind.FIRE: 4, Kind.EARTHQUAKE: 1, Kind.INTRUDER: 1},
}
MAX_PLANNED = 60  # drills of one kind a year: more than weekly is a typing error
# REFERENCE.md: everyone out within 2 minutes, for buildings of up to 4 floors.
TARGET_SECONDS = 120
TARGET_MAX_FLOORS = 4
MAX_PEOPLE = 100_000
MAX_SECONDS = 2 * 3600
MAX_FLOORS = 100
MAX_PROBLEMS = 30
PROBLEM_MAX = 500
RESULT_MAX = 500
NOTE_MAX = 2000


def minutes_seconds(seconds: int | None) -> str:
    """120 → "2:00"; None → ""."""
    if seconds is None:
        return ""
    return f"{seconds // 60}:{seconds % 60:02d}"


class DrillPlan(models.Model):
    """How many drills of one kind a unit plans for a calendar year. A unit without any row
    for a year has no plan (the level above sees it); a row of 0 is a plan of none."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    kind = models.CharField(_("kind of drill"), max_length=16, choices=Kind.choices)
    planned = models.PositiveSmallIntegerField(_("drills planned"))
    updated_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("drill plan")
        verbose_name_plural = _("drill plans")
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "kind"], name="drill_plan_one_a_kind")
        ]
        indexes = [
            # selectors.progress over a subtree: a year's plans, joined to their units.
            models.Index(fields=["year", "unit"], name="drill_plan_year_unit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.year} {self.kind} {self.planned}"


class Drill(models.Model):
    """A drill held at a unit, recorded afterwards (or as it ends). Never deleted; photos and
    the problems' hazards are added later."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(_("kind of drill"), max_length=16, choices=Kind.choices)
    held_at = models.DateTimeField(_("held at"))
    day = models.DateField(_("day"))  # held_at's local date: the year it counts in
    enrolled = models.PositiveIntegerField(_("pupils enrolled"))
    evacuated = models.PositiveIntegerField(_("pupils evacuated"))
    staff = models.PositiveIntegerField(_("staff taking part"))
    evacuation_seconds = models.PositiveIntegerField(
        _("time to evacuate (seconds)"), null=True, blank=True
    )
    floors = models.PositiveSmallIntegerField(_("floors of the building"), null=True, blank=True)
    roll_call = models.OneToOneField(
        RollCall, null=True, blank=True, on_delete=models.SET_NULL, related_name="drill"
    )
    roll_call_result = models.CharField(_("roll-call result"), max_length=RESULT_MAX, blank=True)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("drill")
        verbose_name_plural = _("drills")
        ordering = ["-held_at", "-pk"]
        indexes = [
            # A unit's drills of a year (selectors.drills_of), its counts (selectors.progress).
            models.Index(fields=["unit", "day"], name="drill_unit_day_idx"),
            # A year's drills over a subtree (selectors.progress, the API's list).
            models.Index(fields=["day"], name="drill_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.kind} {timezone.localtime(self.held_at):%Y-%m-%d %H:%M}"

    @property
    def evacuation_time(self) -> str:
        return minutes_seconds(self.evacuation_seconds)

    @property
    def target_applies(self) -> bool:
        """The 2-minute target holds for buildings of up to 4 floors (unknown: assumed)."""
        return self.evacuation_seconds is not None and (
            self.floors is None or self.floors <= TARGET_MAX_FLOORS
        )

    @property
    def target_met(self) -> bool | None:
        """None when there is no target to meet (no time given, a taller building)."""
        if not self.target_applies:
            return None
        return (self.evacuation_seconds or 0) <= TARGET_SECONDS


class DrillProblem(models.Model):
    """A problem the drill found (one line as typed). Turned into a hazard once: `hazard`."""

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="problems")
    order = models.PositiveSmallIntegerField()
    text = models.CharField(_("problem found"), max_length=PROBLEM_MAX)
    hazard = models.ForeignKey(
        Hazard, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("problem found in a drill")
        verbose_name_plural = _("problems found in drills")
        ordering = ["drill", "order"]

    def __str__(self) -> str:
        return self.text[:60]


def _photo_path(instance: "DrillPhoto", filename: str) -> str:
    # Not under a public URL: served by drills.views.photo, which asks access.
    return f"drills/photos/{timezone.localdate():%Y/%m}/{filename}"


class DrillPhoto(models.Model):
    """A photo of a drill: the phone-size JPEG shown on pages, the original as it was sent,
    and when it was taken (EXIF), read by lib.images as a hazard's photo is."""

    drill = models.ForeignKey(Drill, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to=_photo_path)
    original = models.FileField(_("original"), upload_to=_photo_path)
    original_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    uploaded_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("drill photo")
        verbose_name_plural = _("drill photos")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.image.name
