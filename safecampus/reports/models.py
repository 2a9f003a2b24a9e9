"""Daily reports and zero reports (日报告, 零报告), with cascading deadlines.

A ReportSchedule says which units report on which days, and by when at each
level of the tree. Each scheduled unit-day has one ReportStatus row (on time,
late, missing, exempt, not yet due), kept up to date as reports arrive and
deadlines pass, and rolled up per ancestor (ReportRollup) for dashboards and
trends. A DailyReport is never changed: a correction is a new version; the
database refuses UPDATE and DELETE (reports/triggers.py).
"""

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Person, Unit, UnitKind


class CalendarDay(models.Model):
    """The Chinese working calendar: holidays and make-up workdays (调休), editable."""

    date = models.DateField(_("date"), primary_key=True)
    is_workday = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"

    @property
    def kind(self) -> str:
        return CalendarKind.WORKDAY if self.is_workday else CalendarKind.HOLIDAY

    @property
    def changes_the_day(self) -> bool:
        """A holiday on a weekday or a workday on a weekend; other rows only name the day."""
        return self.is_workday != (self.date.weekday() < 5)


class CalendarKind(models.TextChoices):
    HOLIDAY = "holiday", _("Holiday (放假)")
    WORKDAY = "workday", _("Working day (上班)")


class CalendarSource(models.TextChoices):
    PACKAGE = "package", _("the holidays package")
    IMPORT = "import", _("the State Council's list (imported)")
    MANUAL = "manual", _("entered by hand")


class CalendarYear(models.Model):
    """A year of the official calendar that has been loaded. A year without a row is not
    loaded: its days are estimated from the holidays package (services.is_workday) and
    the system administrators are warned from November of the year before."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    source = models.CharField(_("source"), max_length=10, choices=CalendarSource.choices)
    # Has its make-up workdays (调休): the State Council's list, or a package that had them.
    # A year loaded from a package that has none yet is loaded but not complete.
    complete = models.BooleanField(_("complete"), default=False)
    loaded_at = models.DateTimeField(_("loaded at"))
    loaded_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class Frequency(models.TextChoices):
    DAILY = "daily", _("Every day")
    WORKDAYS = "workdays", _("Working days")
    WEEKS = "weeks", _("Every N weeks")


class Level(models.TextChoices):
    """Deadline levels, lowest first: a parent's deadline is never before its children's."""

    DEPARTMENT = "department", _("Departments and areas")
    SCHOOL = "school", _("Schools and kindergartens")
    GROUP = "group", _("Township groups")
    BUREAU = "bureau", _("Bureau office")


LEVEL_OF_KIND = {
    UnitKind.DEPARTMENT: Level.DEPARTMENT,
    UnitKind.SCHOOL: Level.SCHOOL,
    UnitKind.KINDERGARTEN: Level.SCHOOL,
    UnitKind.GROUP: Level.GROUP,
    UnitKind.BUREAU: Level.BUREAU,
}
LEVEL_ORDER = [Level.DEPARTMENT, Level.SCHOOL, Level.GROUP, Level.BUREAU]


class ReportSchedule(models.Model):
    name = models.CharField(_("name"), max_length=100)
    root = models.ForeignKey(
        Unit,
        verbose_name=_("units under"),
        on_delete=models.PROTECT,
        related_name="report_schedules",
    )
    frequency = models.CharField(
        _("days"), max_length=10, choices=Frequency.choices, default=Frequency.DAILY
    )
    every_weeks = models.PositiveSmallIntegerField(_("every N weeks"), default=1)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    deadline_department = models.TimeField(_("departments and areas by"), default=dt.time(11, 0))
    deadline_school = models.TimeField(_("schools by"), default=dt.time(13, 30))
    deadline_group = models.TimeField(_("township groups by"), default=dt.time(14, 0))
    deadline_bureau = models.TimeField(_("bureau office by"), default=dt.time(14, 0))
    # A deadline after midnight (evening reports during a campaign: the schools by 23:00,
    # the bureau by 00:30) is the time on the day after the reporting day.
    deadline_department_next_day = models.BooleanField(
        _("departments: the next day"), default=False
    )
    deadline_school_next_day = models.BooleanField(_("schools: the next day"), default=False)
    deadline_group_next_day = models.BooleanField(_("groups: the next day"), default=False)
    deadline_bureau_next_day = models.BooleanField(_("bureau: the next day"), default=False)
    remind_minutes = models.PositiveSmallIntegerField(_("remind minutes before"), default=30)
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reporting schedule")
        verbose_name_plural = _("reporting schedules")
        ordering = ["-starts_on", "pk"]

    def __str__(self) -> str:
        return self.name

    def deadline(self, level: str) -> dt.time:
        return getattr(self, f"deadline_{level}")

    def deadline_next_day(self, level: str) -> bool:
        return bool(getattr(self, f"deadline_{level}_next_day"))

    def deadline_offset(self, level: str) -> dt.timedelta:
        """How long after the reporting day's start (00:00) a level's deadline falls:
        more than a day when it is after midnight."""
        time = self.deadline(level)
        return dt.timedelta(
            days=1 if self.deadline_next_day(level) else 0, hours=time.hour, minutes=time.minute
        )

    def deadline_label(self, level: str) -> str:
        time = self.deadline(level).strftime("%H:%M")
        if self.deadline_next_day(level):
            return _("next day %(time)s") % {"time": time}
        return time

    def deadline_labels(self) -> list[tuple[str, str]]:
        """(level's name, its deadline) lowest level first, for pages."""
        return [(Level(level).label, self.deadline_label(level)) for level in LEVEL_ORDER]


class ReportExemption(models.Model):
    """A day a unit is closed (holiday, closure): counts neither as missing nor as reported."""

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="report_exemptions")
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("exemption")
        verbose_name_plural = _("exemptions")
        constraints = [models.UniqueConstraint(fields=["unit", "date"], name="exemption_one_a_day")]

    def __str__(self) -> str:
        return f"{self.unit} {self.date}: {self.reason}"


# What one report may hold: reports.services refuses more, naming the field; the API's
# schema and the report form use the same figures. A school's day rarely has more than
# a few items; each is a line in the register and is copied for ever into the audit
# trail, and the full story of an incident belongs in the incident (incident_id).
REPORT_MAX_ITEMS = 50
ITEM_TEXT_MAX = 500  # characters of "what happened", and of "measures taken"
CORRECTION_REASON_MAX = 200  # characters (the column holds 500: older reasons fit)
MAX_RECORD_ID = 2**63 - 1  # the largest id a record can have (a BigAutoField's)


class DailyReport(models.Model):
    """One version of a unit's report for a day. Never updated, never deleted."""

    # No index of its own: report_one_version (unit, date, version) leads with it, and a
    # second index on it would cost every submission one more write at a random place
    # (bench/reports_submit.py).
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="daily_reports", db_index=False
    )
    date = models.DateField(_("date"))
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    schedule = models.ForeignKey(ReportSchedule, on_delete=models.PROTECT, related_name="+")
    zero = models.BooleanField(_("zero report"))
    # [{"what": …, "measures": …, "incident_id": null, "hazard_id": null}]
    items = models.JSONField(_("items"), default=list, blank=True)
    reason = models.CharField(_("reason for the correction"), max_length=500, blank=True)
    # The children's statuses when this unit reported (its roll-up).
    children = models.JSONField(_("units below"), default=dict, blank=True)
    submitted_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("received at"))
    due_at = models.DateTimeField(_("due at"))
    late_seconds = models.PositiveIntegerField(_("late by (s)"), default=0)
    audit_seq = models.BigIntegerField(_("receipt number"))
    audit_hash = models.CharField(_("receipt hash"), max_length=64)

    class Meta:
        verbose_name = _("daily report")
        verbose_name_plural = _("daily reports")
        ordering = ["-date", "unit_id", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "date", "version"], name="report_one_version"),
        ]
        indexes = [
            # The register: a period for a subtree.
            models.Index(fields=["date", "unit"], name="report_date_unit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.date} v{self.version}"

    @property
    def is_late(self) -> bool:
        return self.late_seconds > 0


class Status(models.TextChoices):
    NOT_DUE = "not_due", _("Not yet due")
    ON_TIME = "on_time", _("On time")
    LATE = "late", _("Late")
    MISSING = "missing", _("Missing")
    EXEMPT = "exempt", _("Exempt")


class ReportStatus(models.Model):
    """Where one unit stands on one reporting day. `path` is the unit's, copied, so
    "one day under X grouped by child" is one index range scan."""

    # Indexes are few on purpose: a submission's UPDATE touches no indexed column, so
    # PostgreSQL rewrites the row in place (a HOT update) instead of every index.
    # (unit, date) is unique, which also serves "the calendar of one unit".
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    path = models.CharField(max_length=255)
    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=12, choices=Level.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NOT_DUE)
    due_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True, blank=True)
    report = models.ForeignKey(
        DailyReport,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # reports are never deleted (the table refuses it)
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["unit", "date"], name="status_one_a_day")]
        indexes = [
            # reports.selectors.day_counts: one date under a unit, grouped by child.
            models.Index(fields=["date", "path"], name="status_date_path_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.date} {self.status}"


# Counters per unit (its whole subtree) and day, for dashboards and trends.
ROLLUP_DEPTH = 3


class ReportRollup(models.Model):
    """Counts of statuses over a unit's subtree on a day, for units down to
    ROLLUP_DEPTH: a 365-day trend reads 365 rows, not millions."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    # The level of the units counted (the status rows' level): a bureau's counters say
    # how many schools reported apart from its groups' and its own compiled reports.
    level = models.CharField(max_length=12, choices=Level.choices)
    not_due = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0)
    late = models.IntegerField(default=0)
    missing = models.IntegerField(default=0)
    exempt = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "date", "level"], name="rollup_one_a_day_a_level"
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.date} {self.level}"
