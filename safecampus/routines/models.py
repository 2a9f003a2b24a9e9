"""Routine safety checks (日常检查) and their missing-alarm.

The kinds are fixed in code (each has its own fields: a food sample's dish and weight, a fire
patrol's items); how many each needs, per school day or per month, and for which schools, is a
default here that a bureau overrides (RoutineKind). Each check done is a RoutineRecord; each
unit, kind and period has one RoutineTally counting them, closed by the worker when the period
ends: a tally short of its count is then missed, and the level above sees it.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Person, Unit, UnitKind

# The units that keep routine checks.
ROUTINE_UNIT_KINDS = (UnitKind.SCHOOL, UnitKind.KINDERGARTEN)


class Code(models.TextChoices):
    FIRE_PATROL = "fire_patrol", _("Daily fire patrol (防火巡查)")
    FOOD_SAMPLE = "food_sample", _("Food samples (食品留样)")
    MEAL = "meal", _("Leader's meal with pupils (陪餐)")
    GATE_PATROL = "gate_patrol", _("Gate patrols (门卫巡查)")
    FIRE_CHECK = "fire_check", _("Monthly fire check (月度消防检查)")


class Period(models.TextChoices):
    SCHOOL_DAY = "school_day", _("Each school day")
    MONTH = "month", _("Each month")


class Applies(models.TextChoices):
    ALL = "all", _("Every school and kindergarten")
    CANTEEN = "canteen", _("Those with a canteen (an area of kind canteen)")
    BOARDING = "boarding", _("Boarding schools (an area of kind dormitory)")


class Meal(models.TextChoices):
    BREAKFAST = "breakfast", _("Breakfast")
    LUNCH = "lunch", _("Lunch")
    DINNER = "dinner", _("Dinner")


@dataclass(frozen=True)
class Kind:
    """A kind of check as it applies under one bureau: the default, or the bureau's own."""

    code: str
    period: str
    required: int
    applies_to: str
    remind_at: dt.time
    active: bool = True
    min_grams: int = 125  # a food sample (REFERENCE.md: ≥ 125 g a dish)
    keep_hours: int = 48  # kept refrigerated at least this long (≥ 48 h)

    @property
    def label(self) -> str:
        return str(Code(self.code).label)

    @property
    def period_label(self) -> str:
        return str(Period(self.period).label)

    @property
    def monthly(self) -> bool:
        return self.period == Period.MONTH

    def period_start(self, day: dt.date) -> dt.date:
        return day.replace(day=1) if self.monthly else day


# The shipped defaults (REFERENCE.md: a daily fire patrol with records, a fire check at least
# monthly, gate patrols ≥ 5 a day, a leader eats with pupils and records it, samples of each
# dish kept). One food sample and one meal a school day are the least a canteen records; a
# bureau raises them.
REMIND_AT = dt.time(17, 0)
DEFAULTS: dict[str, Kind] = {
    Code.FIRE_PATROL: Kind(Code.FIRE_PATROL, Period.SCHOOL_DAY, 1, Applies.ALL, REMIND_AT),
    Code.FOOD_SAMPLE: Kind(Code.FOOD_SAMPLE, Period.SCHOOL_DAY, 1, Applies.CANTEEN, REMIND_AT),
    Code.MEAL: Kind(Code.MEAL, Period.SCHOOL_DAY, 1, Applies.CANTEEN, REMIND_AT),
    Code.GATE_PATROL: Kind(Code.GATE_PATROL, Period.SCHOOL_DAY, 5, Applies.ALL, REMIND_AT),
    Code.FIRE_CHECK: Kind(Code.FIRE_CHECK, Period.MONTH, 1, Applies.ALL, REMIND_AT),
}
MAX_REQUIRED = 50
NOTE_MAX = 500


class RoutineKind(models.Model):
    """A bureau's own setting of one kind of check, over the default, for every unit under it."""

    bureau = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(_("check"), max_length=20, choices=Code.choices)
    period = models.CharField(_("period"), max_length=12, choices=Period.choices)
    required = models.PositiveSmallIntegerField(_("checks required per period"))
    applies_to = models.CharField(_("kept by"), max_length=10, choices=Applies.choices)
    remind_at = models.TimeField(_("remind those short at"))
    active = models.BooleanField(_("in use"), default=True)
    min_grams = models.PositiveSmallIntegerField(_("least grams a food sample"), default=125)
    keep_hours = models.PositiveSmallIntegerField(_("hours a food sample is kept"), default=48)
    updated_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("kind of routine check")
        verbose_name_plural = _("kinds of routine check")
        constraints = [
            models.UniqueConstraint(fields=["bureau", "code"], name="routine_kind_one_a_bureau")
        ]

    def __str__(self) -> str:
        return f"{self.bureau_id} {self.code}"

    def as_kind(self) -> Kind:
        return Kind(
            code=self.code,
            period=self.period,
            required=self.required,
            applies_to=self.applies_to,
            remind_at=self.remind_at,
            active=self.active,
            min_grams=self.min_grams,
            keep_hours=self.keep_hours,
        )


class RoutineRecord(models.Model):
    """One check done: a patrol, a food sample, a meal with pupils. Never changed."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", db_index=False)
    code = models.CharField(_("check"), max_length=20, choices=Code.choices)
    day = models.DateField(_("day"))
    done_at = models.DateTimeField(_("at"))
    who = models.CharField(_("by whom"), max_length=64, blank=True)
    meal = models.CharField(_("meal"), max_length=10, choices=Meal.choices, blank=True)
    dish = models.CharField(_("dish"), max_length=100, blank=True)
    grams = models.PositiveIntegerField(_("weight (g)"), null=True, blank=True)
    kept_until = models.DateTimeField(_("kept until"), null=True, blank=True)
    # Under the bureau's least weight when recorded: recorded (it was taken), and flagged.
    underweight = models.BooleanField(_("under weight"), default=False)
    exits_clear = models.BooleanField(_("exits and stairways clear"), null=True, blank=True)
    extinguishers_ok = models.BooleanField(_("extinguishers in place"), null=True, blank=True)
    hazards_found = models.BooleanField(_("hazards found"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True)
    recorded_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("routine check record")
        verbose_name_plural = _("routine check records")
        ordering = ["done_at", "pk"]
        indexes = [
            # A unit's checklist of a day (selectors.checklists).
            models.Index(fields=["unit", "day"], name="routine_record_unit_day_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.code} {self.done_at:%Y-%m-%d %H:%M}"

    @property
    def failed(self) -> bool:
        """A fire patrol or check that found something: offer to record a hazard."""
        return (
            self.exits_clear is False or self.extinguishers_ok is False or bool(self.hazards_found)
        )


class RoutineTally(models.Model):
    """How many checks of a kind a unit did in a period (a school day, a month), against how
    many were required then. Closed at the period's end; missed if short. `path` is the
    unit's, copied, so "a period under X grouped by child" is one index range scan."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", db_index=False)
    path = models.CharField(max_length=255)
    code = models.CharField(max_length=20, choices=Code.choices)
    period = models.CharField(max_length=12, choices=Period.choices)
    period_start = models.DateField()
    required = models.PositiveSmallIntegerField()
    done = models.PositiveIntegerField(default=0)
    closed_at = models.DateTimeField(null=True, blank=True)
    missed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "code", "period_start"], name="routine_tally_one_a_period"
            )
        ]
        indexes = [
            # selectors.status and services.routines_close: a period under a unit, by child.
            models.Index(fields=["period_start", "path"], name="routine_tally_period_path_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.code} {self.period_start} {self.done}/{self.required}"

    @property
    def complete(self) -> bool:
        return self.done >= self.required
