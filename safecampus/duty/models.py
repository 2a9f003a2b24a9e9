"""Duty (24小时值班, 领导带班): rosters of shifts, who is on duty now, duty logs and
handover, swaps, spot checks (查岗) and the coverage-gap scan.

A roster is planned from shift templates and a weekly pattern (with its own pattern for
holidays, by the official calendar) and stored as concrete shifts: one row per shift with
its instants, so "who is on duty at T" is one indexed range query and a plan changed later
never rewrites history. Times are instants (aware datetimes); a night shift 18:00–08:00
ends the next morning.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Person, Unit


class DutySettings(models.Model):
    """A unit's duty settings (one row per unit that changed a default)."""

    unit = models.OneToOneField(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="duty_settings"
    )
    duty_phone = models.CharField(_("duty phone"), max_length=32, blank=True)
    remind_minutes = models.PositiveIntegerField(_("remind before a shift (minutes)"), default=30)
    spot_check_minutes = models.PositiveIntegerField(
        _("spot-check answer limit (minutes)"), default=5
    )

    class Meta:
        verbose_name = _("duty settings")
        verbose_name_plural = _("duty settings")

    def __str__(self) -> str:
        return str(self.unit)


class ShiftTemplate(models.Model):
    """A named shift of a unit's day: 白班 08:00–18:00, 夜班 18:00–08:00 (ends the next day
    when ``end`` is not after ``start``)."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="shift_templates"
    )
    name = models.CharField(_("name"), max_length=40)
    start = models.TimeField(_("starts"))
    end = models.TimeField(_("ends"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shift template")
        verbose_name_plural = _("shift templates")
        ordering = ["unit", "order", "start"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="duty_template_unit_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.start:%H:%M}–{self.end:%H:%M}"

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


class DayKind(models.TextChoices):
    """Which pattern plans a day: its weekday, or the holiday pattern (official calendar:
    a make-up workday on a weekend is planned as a working day — Monday's pattern)."""

    MON = "mon", _("Monday")
    TUE = "tue", _("Tuesday")
    WED = "wed", _("Wednesday")
    THU = "thu", _("Thursday")
    FRI = "fri", _("Friday")
    SAT = "sat", _("Saturday")
    SUN = "sun", _("Sunday")
    HOLIDAY = "holiday", _("Holiday")


class PatternSlot(models.Model):
    """The weekly pattern: on days of this kind, this template is staffed by these people
    with this leader on duty. Planning a month turns slots into shifts."""

    template = models.ForeignKey(
        ShiftTemplate, verbose_name=_("shift"), on_delete=models.CASCADE, related_name="slots"
    )
    day_kind = models.CharField(_("days"), max_length=8, choices=DayKind.choices)
    leader = models.ForeignKey(
        Person,
        verbose_name=_("leader on duty"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    staff = models.ManyToManyField(Person, verbose_name=_("duty staff"), related_name="+")

    class Meta:
        verbose_name = _("pattern slot")
        verbose_name_plural = _("pattern slots")
        constraints = [
            models.UniqueConstraint(fields=["template", "day_kind"], name="duty_slot_once"),
        ]

    def __str__(self) -> str:
        return f"{self.template} {self.get_day_kind_display()}"


# A shift lasts at most a day (a 24-hour shift 08:00–08:00): "who is on duty at T" looks
# only at shifts that started in the day before T, a bounded range of the unit's index.
MAX_SHIFT = dt.timedelta(hours=24)


class Shift(models.Model):
    """One shift as planned: its unit, its instants, its leader on duty and duty phone.
    Its people are ShiftMember rows (the leader is one too, role LEADER)."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="shifts"
    )
    template = models.ForeignKey(
        ShiftTemplate,
        verbose_name=_("shift template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="shifts",
    )
    name = models.CharField(_("name"), max_length=40)
    # The day the shift is planned for (a night shift 18:00–08:00 belongs to the day it
    # starts): the roster's rows, the wall export's date column, re-planning a month.
    day = models.DateField(_("day"))
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    phone = models.CharField(_("duty phone"), max_length=32, blank=True)
    # Handover (交接班): the outgoing shift writes its note; the next shift acknowledges it.
    handover_note = models.TextField(_("handover note"), blank=True)
    handed_over_at = models.DateTimeField(_("handed over at"), null=True, blank=True)
    taken_over_by = models.ForeignKey(
        Person,
        verbose_name=_("taken over by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    taken_over_at = models.DateTimeField(_("taken over at"), null=True, blank=True)
    created_by = models.ForeignKey(
        Person, verbose_name=_("planned by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("planned at"), auto_now_add=True)

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["unit", "starts_at"]
        indexes = [
            # who is on duty at T in a unit, a unit's roster for a month (selectors.on_duty_now,
            # selectors.roster): a range on starts_at within the unit.
            models.Index(fields=["unit", "starts_at"], name="duty_shift_unit_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="duty_shift_ends_after"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.starts_at:%Y-%m-%d %H:%M}"


class MemberRole(models.TextChoices):
    LEADER = "leader", _("Leader on duty")
    STAFF = "staff", _("Duty staff")


class ShiftMember(models.Model):
    shift = models.ForeignKey(
        Shift, verbose_name=_("shift"), on_delete=models.CASCADE, related_name="members"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="shift_memberships"
    )
    role = models.CharField(
        _("role"), max_length=8, choices=MemberRole.choices, default=MemberRole.STAFF
    )
    # Copied from the shift so "does this person hold an overlapping shift" is one indexed
    # range query (services.shift_check_overlap) without a join, and the gap scan reads a
    # province's leaders on duty from one index (services.gaps_rescan). A shift keeps its
    # unit and its members are rewritten when its times change (services._member).
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+", db_index=False
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        verbose_name = _("shift member")
        verbose_name_plural = _("shift members")
        constraints = [
            models.UniqueConstraint(fields=["shift", "person"], name="duty_member_once"),
        ]
        indexes = [
            # a person's shifts around an instant (overlap check, "my shifts", iCalendar feed)
            models.Index(fields=["person", "starts_at"], name="duty_member_person_start"),
            # the leaders on duty of every unit in a time window (the gap scan): an
            # index-only range scan on PostgreSQL (INCLUDE; other databases ignore it)
            models.Index(
                fields=["starts_at"],
                include=["unit", "ends_at"],
                condition=models.Q(role="leader"),
                name="duty_member_leader_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.shift}"


class SwapStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    ACCEPTED = "accepted", _("Accepted by the other person")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")


class SwapRequest(models.Model):
    """换班: one person asks another to take their place on a shift (or to exchange it for
    one of theirs); the other accepts; the unit's head or office approves; then the roster
    changes."""

    shift = models.ForeignKey(
        Shift, verbose_name=_("shift"), on_delete=models.CASCADE, related_name="swaps"
    )
    from_person = models.ForeignKey(
        Person, verbose_name=_("asked by"), on_delete=models.PROTECT, related_name="+"
    )
    to_person = models.ForeignKey(
        Person, verbose_name=_("asked of"), on_delete=models.PROTECT, related_name="+"
    )
    # The other person's shift given in exchange, if any.
    in_exchange = models.ForeignKey(
        Shift,
        verbose_name=_("in exchange for"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SwapStatus.choices, default=SwapStatus.REQUESTED
    )
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        Person,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shift swap")
        verbose_name_plural = _("shift swaps")

    def __str__(self) -> str:
        return f"{self.from_person} → {self.to_person} {self.shift}"


class LogKind(models.TextChoices):
    PATROL = "patrol", _("Patrol")
    EVENT = "event", _("Event")
    CALL = "call", _("Call received")
    OTHER = "other", _("Other")


class DutyLogEntry(models.Model):
    """值班记录: what happened on a shift, with its time."""

    shift = models.ForeignKey(
        Shift, verbose_name=_("shift"), on_delete=models.PROTECT, related_name="log"
    )
    at = models.DateTimeField(_("time"))
    kind = models.CharField(
        _("kind"), max_length=8, choices=LogKind.choices, default=LogKind.PATROL
    )
    text = models.CharField(_("what happened"), max_length=500)
    by = models.ForeignKey(
        Person, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("duty log entry")
        verbose_name_plural = _("duty log entries")
        ordering = ["shift", "at"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M} {self.text[:40]}"


class SpotCheck(models.Model):
    """查岗: the level above pings whoever is on duty at a unit; they answer with one tap
    within the limit (default 5 minutes). Late answers count as late; a second answer
    changes nothing."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="spot_checks"
    )
    shift = models.ForeignKey(
        Shift,
        verbose_name=_("shift"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="spot_checks",
    )
    # A sample of several units sent together shares a batch id.
    batch = models.UUIDField(_("batch"), null=True, blank=True, db_index=True)
    sent_by = models.ForeignKey(
        Person, verbose_name=_("sent by"), on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent at"))
    due_at = models.DateTimeField(_("answer by"))
    token = models.CharField(max_length=64, unique=True)
    answered_by = models.ForeignKey(
        Person,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # Set by the worker when the limit passed unanswered (and how late it fired).
    missed_at = models.DateTimeField(_("recorded missed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("spot check")
        verbose_name_plural = _("spot checks")
        indexes = [models.Index(fields=["unit", "sent_at"], name="duty_spot_unit_sent")]

    def __str__(self) -> str:
        return f"{self.unit} {self.sent_at:%Y-%m-%d %H:%M}"

    def is_late(self) -> bool:
        return self.answered_at is not None and self.answered_at > self.due_at


class GapKind(models.TextChoices):
    NOBODY = "nobody", _("Nobody on duty")
    NO_LEADER = "no_leader", _("No leader on duty")


class CoverageGap(models.Model):
    """The worker's 7-day gap scan, kept as rows: the level above reads it (worst first)
    instead of scanning a province's rosters per request. Replaced per unit on each scan."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="coverage_gaps"
    )
    path = models.CharField(max_length=255)  # the unit's path: "gaps under X" is a range scan
    kind = models.CharField(_("kind"), max_length=10, choices=GapKind.choices)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    # ends_at - starts_at, so "worst first" (most time uncovered) is a plain SUM.
    seconds = models.PositiveIntegerField(_("seconds uncovered"), default=0)
    scanned_at = models.DateTimeField(_("scanned at"))

    class Meta:
        verbose_name = _("coverage gap")
        verbose_name_plural = _("coverage gaps")
        indexes = [models.Index(fields=["path"], name="duty_gap_path")]

    def __str__(self) -> str:
        return f"{self.unit} {self.kind} {self.starts_at:%Y-%m-%d %H:%M}"


class CalendarFeed(models.Model):
    """A person's private iCalendar link to their own shifts (revocable: a new one ends
    the old)."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="duty_feeds",
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return str(self.person)
