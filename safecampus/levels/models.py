"""Alert levels (等级防控, DOMAIN §6): orders from above, and the measures each unit confirms.

Three levels, the strictest first: 1 超常防控 (extraordinary), 2 加强防控 (enhanced), 3 常规防控
(routine, the normal state). A unit's effective level at an instant is the strictest of the
orders in force for it and its ancestors (an order covers its unit's subtree), so a unit may
raise its level but never go below its parent's, and an order is in force everywhere the moment
it is written: nothing is copied down the tree (selectors.effective_level).

An order snapshots the measures of its level when it is issued (OrderMeasure), so a bureau
editing its checklist later changes no order already out; each unit it reaches has one
OrderUnit row (acknowledged, how many measures confirmed, done) and one MeasureConfirmation a
measure it confirmed.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Person, Unit, UnitKind


class Level(models.IntegerChoices):
    EXTRAORDINARY = 1, _("Level 1: extraordinary (超常防控)")
    ENHANCED = 2, _("Level 2: enhanced (加强防控)")
    ROUTINE = 3, _("Level 3: routine (常规防控)")


SHORT_NAMES = {
    Level.EXTRAORDINARY: _("Level 1 超常防控"),
    Level.ENHANCED: _("Level 2 加强防控"),
    Level.ROUTINE: _("Level 3 常规防控"),
}

# The units an order reaches and asks to confirm (departments and areas act through their school).
ORDER_UNIT_KINDS = (UnitKind.GROUP, UnitKind.SCHOOL, UnitKind.KINDERGARTEN)
REASON_MAX = 500
MEASURE_MAX = 300
MAX_WINDOW_DAYS = 366


class Check(models.TextChoices):
    """A measure the system checks rather than takes on trust."""

    NONE = "", _("Confirmed by the unit")
    DUTY_LEADER = "duty_leader", _("Duty: a leader on duty on every shift of the window")


class Measure(models.Model):
    """One line of a level's checklist. `bureau` null: the shipped defaults (measures.py);
    a bureau that edits a level's list gets its own rows, which its orders use."""

    bureau = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    text = models.CharField(_("measure"), max_length=MEASURE_MAX)
    auto_check = models.CharField(
        _("checked by"), max_length=20, choices=Check.choices, default="", blank=True
    )

    class Meta:
        verbose_name = _("measure")
        verbose_name_plural = _("measures")
        ordering = ["bureau_id", "level", "order", "pk"]

    def __str__(self) -> str:
        return self.text


class AlertOrder(models.Model):
    """An order (启动指令) putting `unit`'s subtree at `level` for [starts_at, ends_at)."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("units under"), on_delete=models.PROTECT, related_name="+"
    )
    # The unit's path when issued: "the orders over a unit" is one index scan over its
    # ancestors' paths (selectors.effective_level).
    path = models.CharField(max_length=255)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=REASON_MAX)
    issued_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("issued at"))
    revoked_at = models.DateTimeField(_("ended early at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    units_total = models.PositiveIntegerField(_("units reached"), default=0)
    fanned_out_at = models.DateTimeField(_("messages handed over at"), null=True, blank=True)
    messages = models.PositiveIntegerField(_("messages"), default=0)

    class Meta:
        verbose_name = _("alert level order")
        verbose_name_plural = _("alert level orders")
        ordering = ["-starts_at", "-pk"]
        indexes = [
            # selectors.effective_level / orders_over: path IN (the unit's ancestors),
            # ends_at > now: every page's banner.
            models.Index(fields=["path", "ends_at"], name="levels_order_path_ends"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.get_level_display()} {self.starts_at:%Y-%m-%d}"

    def in_force(self, at) -> bool:  # noqa: ANN001
        return self.revoked_at is None and self.starts_at <= at < self.ends_at

    @property
    def short_level(self) -> str:
        return str(SHORT_NAMES[self.level])


class OrderMeasure(models.Model):
    """The order's copy of a measure, as it was when the order was issued."""

    order = models.ForeignKey(AlertOrder, on_delete=models.CASCADE, related_name="measures")
    position = models.PositiveSmallIntegerField(_("number"))
    text = models.CharField(_("measure"), max_length=MEASURE_MAX)
    auto_check = models.CharField(_("checked by"), max_length=20, blank=True, default="")

    class Meta:
        verbose_name = _("measure of an order")
        verbose_name_plural = _("measures of an order")
        ordering = ["order_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="levels_measure_once"),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.label}"

    @property
    def label(self) -> str:
        """What the unit reads: a measure the system checks is worded in the reader's language."""
        if self.auto_check == Check.DUTY_LEADER:
            from .measures import DUTY_LEADER

            return str(DUTY_LEADER)
        return self.text


class OrderUnit(models.Model):
    """A unit an order reaches: has it acknowledged, how many measures has it confirmed."""

    order = models.ForeignKey(AlertOrder, on_delete=models.CASCADE, related_name="units")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=255)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed = models.PositiveSmallIntegerField(_("measures confirmed"), default=0)
    done_at = models.DateTimeField(_("all confirmed at"), null=True, blank=True)
    chased_at = models.DateTimeField(_("last chased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("unit reached by an order")
        verbose_name_plural = _("units reached by an order")
        constraints = [
            models.UniqueConstraint(fields=["order", "unit"], name="levels_order_unit_once"),
        ]
        indexes = [
            # The issuer's "who has not confirmed": an order's units not done, by path.
            models.Index(
                fields=["order", "path"],
                name="levels_orderunit_open",
                condition=models.Q(done_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.unit_id}"


class MeasureConfirmation(models.Model):
    """A unit confirmed a measure of an order (once: a second confirmation is the first)."""

    order_unit = models.ForeignKey(
        OrderUnit, on_delete=models.CASCADE, related_name="confirmations"
    )
    measure = models.ForeignKey(OrderMeasure, on_delete=models.CASCADE, related_name="+")
    by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("confirmed at"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("confirmed measure")
        verbose_name_plural = _("confirmed measures")
        constraints = [
            models.UniqueConstraint(fields=["order_unit", "measure"], name="levels_confirm_once"),
        ]

    def __str__(self) -> str:
        return f"{self.order_unit_id} {self.measure_id}"
