"""Incidents (突发事件, 安全事故): the quick report (先口头), the escalation chain that asks each
person called to acknowledge, the written report (书面报告), follow-ups (续报) and the final
report (终报) that closes the incident, all on one timeline.

The chain is kept as stages, one per level of the tree that must know (the incident's unit,
then the bureau): each stage calls its first tier of people at once, and at its limit, if
nobody of the stage acknowledged, the next tier (escalation). Each person called is a Call
with the notification that reached them; acknowledging the notification (a button, or the
link in the message) acknowledges the call and the stage. The timeline is append-only.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Area, Person, Unit


class Category(models.TextChoices):
    """The Emergency Response Law's four, and the bureau's own two."""

    NATURAL = "natural", _("Natural disaster (自然灾害)")
    ACCIDENT = "accident", _("Accident (事故灾难)")
    HEALTH = "health", _("Public health (公共卫生事件)")
    SOCIAL = "social", _("Social safety (社会安全事件)")
    CYBER = "cyber", _("Network and information security (网络与信息安全)")
    EXAM = "exam", _("Examination security (教育考试安全)")


class Kind(models.TextChoices):
    FIRE = "fire", _("Fire")
    FOOD_POISONING = "food_poisoning", _("Food poisoning")
    INFECTIOUS = "infectious", _("Infectious disease")
    TRAFFIC = "traffic", _("Traffic or school-bus accident")
    INJURY = "injury", _("Injury")
    VIOLENCE = "violence", _("Violence or intrusion")
    BULLYING = "bullying", _("Bullying")
    DROWNING = "drowning", _("Drowning")
    BUILDING = "building", _("Building or facility failure")
    LAB = "lab", _("Laboratory chemical")
    FLOOD = "flood", _("Flood")
    EARTHQUAKE = "earthquake", _("Earthquake")
    LANDSLIDE = "landslide", _("Landslide")
    CROWD = "crowd", _("Crowd crush")
    FRAUD = "fraud", _("Fraud against students")
    IT = "it", _("IT system incident")
    EXAM = "exam", _("Examination security")
    MISSING = "missing", _("Missing student")
    OTHER = "other", _("Other")


# The category a kind falls in (the written report may say otherwise).
KIND_CATEGORY = {
    Kind.FIRE: Category.ACCIDENT,
    Kind.FOOD_POISONING: Category.HEALTH,
    Kind.INFECTIOUS: Category.HEALTH,
    Kind.TRAFFIC: Category.ACCIDENT,
    Kind.INJURY: Category.ACCIDENT,
    Kind.VIOLENCE: Category.SOCIAL,
    Kind.BULLYING: Category.SOCIAL,
    Kind.DROWNING: Category.ACCIDENT,
    Kind.BUILDING: Category.ACCIDENT,
    Kind.LAB: Category.ACCIDENT,
    Kind.FLOOD: Category.NATURAL,
    Kind.EARTHQUAKE: Category.NATURAL,
    Kind.LANDSLIDE: Category.NATURAL,
    Kind.CROWD: Category.ACCIDENT,
    Kind.FRAUD: Category.SOCIAL,
    Kind.IT: Category.CYBER,
    Kind.EXAM: Category.EXAM,
    Kind.MISSING: Category.SOCIAL,
    Kind.OTHER: Category.ACCIDENT,
}

# Kinds that involve minors by their nature: names and contacts only for those who handle
# the incident (orgs.access.can_see_incident_names).
MINOR_KINDS = {Kind.BULLYING, Kind.INJURY, Kind.MISSING, Kind.DROWNING}


class Grade(models.TextChoices):
    """The national four grades (I highest)."""

    I = "1", _("I 特别重大")  # noqa: E741 (the grade's own name)
    II = "2", _("II 重大")
    III = "3", _("III 较大")
    IV = "4", _("IV 一般")


class State(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Incident(models.Model):
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="incidents"
    )
    area = models.ForeignKey(
        Area, verbose_name=_("area"), null=True, blank=True, on_delete=models.SET_NULL
    )
    place = models.CharField(_("place"), max_length=200, blank=True)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    # One of Category, or a code of the bureau's own (LocalCategory): services.category_label
    category = models.CharField(_("category"), max_length=12)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, default=Grade.IV)
    summary = models.TextField(_("what happened"))
    injured = models.PositiveIntegerField(_("people hurt"), default=0)
    emergency_called = models.BooleanField(_("emergency services called"), default=False)
    occurred_at = models.DateTimeField(_("occurred at"))
    reported_at = models.DateTimeField(_("reported at"))
    reported_by = models.ForeignKey(
        Person, verbose_name=_("reported by"), on_delete=models.PROTECT, related_name="+"
    )
    # The written report (书面报告) and the final one (终报, which closes the incident).
    written_at = models.DateTimeField(_("written report at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.OPEN)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        indexes = [
            models.Index(fields=["unit", "reported_at"], name="incident_unit_reported"),
            models.Index(fields=["state", "reported_at"], name="incident_state_reported"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def involves_minors(self) -> bool:
        return self.kind in MINOR_KINDS


class StageLevel(models.TextChoices):
    UNIT = "unit", _("The unit")
    BUREAU = "bureau", _("The bureau")


class Stage(models.Model):
    """One level of the chain that must acknowledge: the incident's unit, or the bureau.
    `tier` is how far along its list of people the chain has gone (0: the first called)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="stages")
    level = models.CharField(_("level"), max_length=8, choices=StageLevel.choices)
    unit = models.ForeignKey(Unit, verbose_name=_("unit"), on_delete=models.PROTECT)
    tier = models.PositiveSmallIntegerField(_("tier"), default=0)
    due_at = models.DateTimeField(_("acknowledge by"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Everyone on the chain was called and nobody acknowledged.
    exhausted_at = models.DateTimeField(_("chain exhausted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("escalation stage")
        verbose_name_plural = _("escalation stages")
        constraints = [
            models.UniqueConstraint(fields=["incident", "level"], name="incident_stage_level"),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.level}"


class Call(models.Model):
    """A person the chain asked to acknowledge, and the notification that asked them."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="calls")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    notification = models.ForeignKey(
        "notify.Notification", on_delete=models.PROTECT, related_name="+"
    )
    tier = models.PositiveSmallIntegerField(default=0)
    why = models.CharField(_("why called"), max_length=40)
    called_at = models.DateTimeField(_("called at"))
    reachable = models.BooleanField(_("has a channel beyond the app"), default=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        constraints = [
            models.UniqueConstraint(fields=["stage", "person"], name="incident_call_once"),
        ]

    def __str__(self) -> str:
        return f"{self.stage} {self.person}"


class EntryKind(models.TextChoices):
    REPORTED = "reported", _("Reported")
    CALLED = "called", _("Called")
    UNREACHABLE = "unreachable", _("No channel")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ESCALATED = "escalated", _("Escalated")
    EXHAUSTED = "exhausted", _("Nobody acknowledged")
    WRITTEN = "written", _("Written report")
    FOLLOW_UP = "follow_up", _("Follow-up report")
    FINAL = "final", _("Final report")
    EXPLAIN = "explain", _("Explanation asked")
    OVERDUE = "overdue", _("Overdue")
    HAZARD = "hazard", _("Lesson recorded as a hazard")


class TimelineEntry(models.Model):
    """What happened to an incident, when: append-only (the services only add)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("what"), max_length=16, choices=EntryKind.choices)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(_("text"), max_length=500, blank=True)
    # How late a step was taken against its limit (seconds; negative: early), where it had one.
    late_seconds = models.IntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["incident", "at"], name="incident_timeline_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"


class ReportKind(models.TextChoices):
    WRITTEN = "written", _("Written report (书面报告)")
    FOLLOW_UP = "follow_up", _("Follow-up report (续报)")
    FINAL = "final", _("Final report (终报)")


class IncidentReport(models.Model):
    """The written report, a follow-up, or the final report: what an office submits."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(_("kind"), max_length=10, choices=ReportKind.choices)
    submitted_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(_("submitted at"))
    # the written report's (and a follow-up's what changed)
    source = models.CharField(_("source of the information"), max_length=200, blank=True)
    scope = models.TextField(_("scope of impact"), blank=True)
    affected = models.TextField(_("people affected"), blank=True)
    trend = models.TextField(_("trend"), blank=True)
    measures = models.TextField(_("measures taken"), blank=True)
    changes = models.TextField(_("what changed"), blank=True)
    # the final report's
    cause = models.TextField(_("cause"), blank=True)
    handling = models.TextField(_("handling"), blank=True)
    losses = models.TextField(_("losses"), blank=True)
    lessons = models.TextField(_("lessons"), blank=True)
    corrective = models.TextField(_("corrective measures"), blank=True)

    class Meta:
        verbose_name = _("incident report")
        verbose_name_plural = _("incident reports")
        ordering = ["submitted_at", "pk"]

    def __str__(self) -> str:
        return f"{self.incident} {self.kind}"


class TimeLimit(models.Model):
    """How long a level has to acknowledge, and the clocks of the written, follow-up and
    final reports, per (category, grade, level). A missing row: the defaults
    (services.DEFAULT_LIMITS)."""

    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices)
    level = models.CharField(_("level"), max_length=8, choices=StageLevel.choices)
    acknowledge_minutes = models.PositiveIntegerField(_("acknowledge within (minutes)"))
    written_minutes = models.PositiveIntegerField(_("written report within (minutes)"))
    follow_up_hours = models.PositiveIntegerField(_("follow-up every (hours)"))
    final_days = models.PositiveIntegerField(_("final report within (days)"))
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("time limit")
        verbose_name_plural = _("time limits")
        constraints = [
            models.UniqueConstraint(
                fields=["category", "grade", "level"], name="incident_limit_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.grade} {self.level}"


class EmergencyPlan(models.Model):
    """A unit's own copy of the emergency plan (应急预案) for one incident type; without one,
    the nearest unit's above it, else the shipped default (incidents.plans)."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="emergency_plans"
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=100)
    roles = models.TextField(_("roles"), blank=True)
    steps = models.TextField(_("steps, one a line"))
    contacts = models.TextField(_("contacts"), blank=True)
    supplies = models.TextField(_("supplies"), blank=True)
    updated_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("emergency plan")
        verbose_name_plural = _("emergency plans")
        constraints = [
            models.UniqueConstraint(fields=["unit", "kind"], name="incident_plan_unit_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.title}"


class IncidentStep(models.Model):
    """A step of the plan the incident follows, ticked off with who and when."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"))
    text = models.CharField(_("step"), max_length=300)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("plan step")
        verbose_name_plural = _("plan steps")
        ordering = ["incident", "order"]

    def __str__(self) -> str:
        return f"{self.order}. {self.text}"


class RollCall(models.Model):
    """Evacuation roll call (疏散点名) at a unit, during an incident or a drill (no incident:
    drills.Drill points at it): each head teacher of the unit counts their class from a
    phone; the principal sees the live total and the classes not yet counted. Who counts and
    who closes it is decided by `unit`."""

    incident = models.OneToOneField(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="roll_call"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+"
    )
    started_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(_("started at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("roll call")
        verbose_name_plural = _("roll calls")

    def __str__(self) -> str:
        return f"{self.incident or self.unit} {self.started_at:%H:%M}"


class RollCallCount(models.Model):
    """One class's count, by its head teacher (a second count replaces the first)."""

    roll_call = models.ForeignKey(RollCall, on_delete=models.CASCADE, related_name="counts")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    class_name = models.CharField(_("class"), max_length=40)
    present = models.PositiveIntegerField(_("present"))
    absent = models.PositiveIntegerField(_("absent"))
    at = models.DateTimeField(_("counted at"))

    class Meta:
        verbose_name = _("class count")
        verbose_name_plural = _("class counts")
        constraints = [
            models.UniqueConstraint(fields=["roll_call", "person"], name="incident_roll_once"),
        ]

    def __str__(self) -> str:
        return f"{self.class_name} {self.present}/{self.absent}"


class LocalCategory(models.Model):
    """A bureau's own incident category, beside the law's four and the shipped two (DOMAIN
    §4; REFERENCE: keep the list editable per bureau). Archived, it is no longer offered;
    incidents filed under it keep it."""

    bureau = models.ForeignKey(
        Unit, verbose_name=_("bureau"), on_delete=models.CASCADE, related_name="incident_categories"
    )
    code = models.SlugField(_("code"), max_length=12)
    name = models.CharField(_("name"), max_length=40)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    class Meta:
        verbose_name = _("incident category")
        verbose_name_plural = _("incident categories")
        constraints = [
            models.UniqueConstraint(fields=["bureau", "code"], name="incident_local_category"),
        ]

    def __str__(self) -> str:
        return self.name
