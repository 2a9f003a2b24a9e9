"""Hazards (隐患排查整治): the ledger (隐患台账) of every hazard found, each with its place,
severity, responsible person, deadline, interim measures and status; fixed, then verified
by someone other than who fixed it, and closed (销号); a major hazard supervised by the level
above (挂牌督办), which alone closes it; one the school cannot fix referred to the outside
authority responsible and tracked until it answers. Each step is an entry of the hazard's
history."""

from django.db import models
from django.utils import timezone
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
            # selectors.page_after (the ledger paged by key, newest first) and the export
            models.Index(fields=["reported_at", "id"], name="hazard_reported_at_id"),
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
    DEADLINE = "deadline", _("Deadline changed")


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


class PhotoStage(models.TextChoices):
    FOUND = "found", _("As found")
    FIXED = "fixed", _("After the fix")


def _photo_path(instance: "Photo", filename: str) -> str:
    # Not under a public URL: photos are served by hazards.views.photo, which asks access.
    return f"hazards/photos/{timezone.localdate():%Y/%m}/{filename}"


class Photo(models.Model):
    """A photo of a hazard (as found, after the fix) or of an inspection answer: the phone-size
    JPEG shown on pages, the original kept as it was sent, and when it was taken (EXIF)."""

    hazard = models.ForeignKey(
        Hazard, null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    answer = models.ForeignKey(
        "InspectionAnswer", null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    stage = models.CharField(
        _("stage"), max_length=8, choices=PhotoStage.choices, default=PhotoStage.FOUND
    )
    image = models.FileField(_("photo"), upload_to=_photo_path)
    original = models.FileField(_("original"), upload_to=_photo_path)
    original_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    uploaded_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return self.image.name


class Checklist(models.Model):
    """One category's inspection items at one version. Shipped defaults have no unit; a bureau
    that edits makes its own version (a new row: the old one stays, and the inspections that
    used it still point at its items)."""

    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="checklists"
    )
    category = models.CharField(_("category"), max_length=16, choices=Category.choices)
    version = models.PositiveIntegerField(_("version"))
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("checklist")
        verbose_name_plural = _("checklists")
        ordering = ["category", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "category", "version"], name="checklist_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} v{self.version}"


class ChecklistItem(models.Model):
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField()
    text = models.CharField(_("item"), max_length=300)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["checklist_id", "order"]

    def __str__(self) -> str:
        return self.text


class RoundKind(models.TextChoices):
    SELF = "self", _("School self-check (自查)")
    GENERAL = "general", _("Group or bureau check (普查)")
    RECHECK = "recheck", _("Re-check (复查)")


class InspectionRound(models.Model):
    """An inspection round launched for a subtree, with dates and the checklists (the
    versions current at launch) every school answers."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("for"), on_delete=models.PROTECT, related_name="inspection_rounds"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=RoundKind.choices)
    title = models.CharField(_("title"), max_length=200)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    checklists = models.ManyToManyField(Checklist, related_name="rounds")
    launched_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    launched_at = models.DateTimeField(_("launched at"))

    class Meta:
        verbose_name = _("inspection round")
        verbose_name_plural = _("inspection rounds")
        ordering = ["-starts_on", "-pk"]

    def __str__(self) -> str:
        return self.title


class InspectionStatus(models.TextChoices):
    NOT_STARTED = "new", _("Not started")
    STARTED = "started", _("In progress")
    SUBMITTED = "submitted", _("Submitted")


class Inspection(models.Model):
    """One unit's inspection in a round: created for every school at launch, answered item by
    item (each answer saved as it is given, so a closed browser loses nothing), then
    submitted, when each failure becomes a hazard."""

    round = models.ForeignKey(InspectionRound, on_delete=models.CASCADE, related_name="inspections")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="inspections")
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=InspectionStatus.choices,
        default=InspectionStatus.NOT_STARTED,
    )
    inspector = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        constraints = [
            models.UniqueConstraint(fields=["round", "unit"], name="inspection_one_per_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.round} · {self.unit}"


class Result(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    NA = "na", _("Not applicable")


class InspectionAnswer(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    result = models.CharField(_("result"), max_length=4, choices=Result.choices)
    note = models.CharField(_("note"), max_length=1000, blank=True)
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL)
    hazard = models.OneToOneField(
        Hazard, null=True, blank=True, on_delete=models.SET_NULL, related_name="answer"
    )
    answered_by = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    answered_at = models.DateTimeField()

    class Meta:
        verbose_name = _("inspection answer")
        verbose_name_plural = _("inspection answers")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="answer_one_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.result}"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    BUILDING = "building", _("Being built")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class LedgerExport(models.Model):
    """A ledger export too large to build in a request: the worker builds it, counting rows as
    it goes, and tells the person who asked when it is ready."""

    requested_by = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField()
    query = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="hazards/exports/", blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("ledger export")
        verbose_name_plural = _("ledger exports")

    def __str__(self) -> str:
        return f"export {self.pk} {self.status}"
