"""Campaigns (专项行动, 工作方案; DOMAIN §7): a time-bounded piece of safety work launched by a
bureau or a township group for its subtree.

A campaign has a goal, a window (starts_on … ends_on, whole days), a leadership group (领导小组:
people with a seat and a duty), phases (动员部署, 组织实施, 重点攻坚, 总结提升 by default, dates
inside the window) and tasks per phase with a deadline. Every group, school and kindergarten
under the campaign's unit marks each task done (TaskDone) and, at the end, writes a summary
(Summary) within `summary_days` (plan: 5). Its state is read from the dates, never stored.

What it switches on for its window belongs to the other apps — a reporting schedule, an
inspection round, alert-level orders — created through their own services; the campaign keeps a
link to each (Switch).
"""

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from safecampus.hazards.models import InspectionRound
from safecampus.levels.models import AlertOrder
from safecampus.orgs.models import Person, Position, Unit, UnitKind
from safecampus.reports.models import ReportSchedule

# Who launches a campaign, and the units under it that do its tasks and write a summary.
LAUNCH_UNIT_KINDS = (UnitKind.BUREAU, UnitKind.GROUP)
CAMPAIGN_UNIT_KINDS = (UnitKind.GROUP, UnitKind.SCHOOL, UnitKind.KINDERGARTEN)

NAME_MAX = 100
GOAL_MAX = 2000
DUTY_MAX = 200
TITLE_MAX = 200
DETAIL_MAX = 1000
NOTE_MAX = 500
SUMMARY_MAX = 10000
SUMMARY_DAYS = 5  # plan: a written summary within 5 days of the end
SUMMARY_DAYS_MAX = 30
MAX_WINDOW_DAYS = 366
PHASES_MAX = 10

# The default phases (stored as data, in the words of the work plans, as levels' measures are)
# and their share of the window: a short mobilisation, the longest part implementing, then the
# critical period and the summary.
DEFAULT_PHASES = [("动员部署", 1), ("组织实施", 4), ("重点攻坚", 3), ("总结提升", 2)]


def end_of(day: dt.date) -> dt.datetime:
    """A day ends at the local midnight after it: a deadline "by 12-05" is this instant."""
    return dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(), tzinfo=timezone.get_current_timezone()
    )


class State(models.TextChoices):
    PLANNED = "planned", _("Not started")
    RUNNING = "running", _("Under way")
    SUMMARY = "summary", _("Summaries due")
    OVER = "over", _("Over")


class Campaign(models.Model):
    unit = models.ForeignKey(
        Unit, verbose_name=_("units under"), on_delete=models.PROTECT, related_name="+"
    )
    # The unit's path when launched: "the campaigns over my school" is path IN (its ancestors).
    path = models.CharField(max_length=255, db_index=True)
    name = models.CharField(_("name"), max_length=NAME_MAX)
    goal = models.TextField(_("goal"), max_length=GOAL_MAX)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    summary_days = models.PositiveSmallIntegerField(
        _("days after the end for the summary"), default=SUMMARY_DAYS
    )
    created_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("launched at"))
    # Set once by the worker at the end (services.summaries_request claims it).
    summaries_requested_at = models.DateTimeField(
        _("summaries asked for at"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "-pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def summary_due_on(self) -> dt.date:
        return self.ends_on + dt.timedelta(days=self.summary_days)

    @property
    def summary_due_at(self) -> dt.datetime:
        return end_of(self.summary_due_on)

    def state(self, today: dt.date | None = None) -> str:
        today = today or timezone.localdate()
        if today < self.starts_on:
            return State.PLANNED
        if today <= self.ends_on:
            return State.RUNNING
        if today <= self.summary_due_on:
            return State.SUMMARY
        return State.OVER

    @property
    def state_label(self) -> str:
        return str(State(self.state()).label)


class Member(models.Model):
    """A seat in the campaign's leadership group (领导小组) and what its holder answers for."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, verbose_name=_("person"), on_delete=models.PROTECT)
    position = models.CharField(_("seat"), max_length=10, choices=Position.choices)
    duty = models.CharField(_("duty"), max_length=DUTY_MAX, blank=True)

    class Meta:
        verbose_name = _("leadership group member")
        verbose_name_plural = _("leadership group members")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "person"], name="campaign_member_once")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.person_id} {self.position}"


class Phase(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="phases")
    position = models.PositiveSmallIntegerField(_("number"))
    name = models.CharField(_("name"), max_length=NAME_MAX)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))

    class Meta:
        verbose_name = _("phase")
        verbose_name_plural = _("phases")
        ordering = ["campaign_id", "position", "pk"]

    def __str__(self) -> str:
        return self.name

    def holds(self, day: dt.date) -> bool:
        return self.starts_on <= day <= self.ends_on


class Task(models.Model):
    """A task of a phase: each unit of the campaign does it by the deadline."""

    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="tasks")
    # The phase's campaign again: a campaign's tasks without a join.
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("task"), max_length=TITLE_MAX)
    detail = models.TextField(_("what to do"), max_length=DETAIL_MAX, blank=True)
    due_on = models.DateField(_("deadline"))
    # end_of(due_on), stored: "done in time" and "overdue" compare instants in SQL.
    due_at = models.DateTimeField()
    created_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("campaign task")
        verbose_name_plural = _("campaign tasks")
        ordering = ["due_on", "pk"]

    def __str__(self) -> str:
        return self.title


class TaskDone(models.Model):
    """A unit has done a task (once)."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="done")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=255)
    done_at = models.DateTimeField(_("done at"))
    done_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=NOTE_MAX, blank=True)

    class Meta:
        verbose_name = _("task done")
        verbose_name_plural = _("tasks done")
        constraints = [
            models.UniqueConstraint(fields=["task", "unit"], name="campaign_task_done_once")
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.unit_id}"

    @property
    def late(self) -> bool:
        return self.done_at > self.task.due_at


class Summary(models.Model):
    """A unit's written summary of the campaign (工作总结)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="summaries")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=255)
    text = models.TextField(_("summary"), max_length=SUMMARY_MAX)
    submitted_at = models.DateTimeField(_("submitted at"))
    submitted_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(_("last changed at"))

    class Meta:
        verbose_name = _("campaign summary")
        verbose_name_plural = _("campaign summaries")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "unit"], name="campaign_summary_once")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.unit_id}"

    @property
    def late(self) -> bool:
        return self.submitted_at > self.campaign.summary_due_at


class SwitchKind(models.TextChoices):
    SCHEDULE = "schedule", _("Reporting schedule")
    ROUND = "round", _("Inspection round")
    ORDER = "order", _("Alert-level order")


class Switch(models.Model):
    """Something the campaign switched on for its window, made by its own app's service."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="switches")
    kind = models.CharField(_("kind"), max_length=10, choices=SwitchKind.choices)
    schedule = models.ForeignKey(
        ReportSchedule, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    round = models.ForeignKey(
        InspectionRound, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order = models.ForeignKey(
        AlertOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("switched on by a campaign")
        verbose_name_plural = _("switched on by campaigns")
        ordering = ["kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        kind="schedule",
                        schedule__isnull=False,
                        round__isnull=True,
                        order__isnull=True,
                    )
                    | models.Q(
                        kind="round", schedule__isnull=True, round__isnull=False, order__isnull=True
                    )
                    | models.Q(
                        kind="order", schedule__isnull=True, round__isnull=True, order__isnull=False
                    )
                ),
                name="campaign_switch_one_link",
            )
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.kind}"
