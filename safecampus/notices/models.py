"""Notices (通知公告 / 预警通知): a unit tells the units below it, and sees who read and confirmed.

A Notice goes from a sender unit to recipient units in its subtree; each
recipient unit has one NoticeReceipt recording when it was read (已读) and
acknowledged (已确认), and how often it was chased (催办). The messages
themselves travel through the notify outbox (event "notice").
"""

import os
import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from safecampus.notify.models import Urgency
from safecampus.orgs.models import Person, Unit

# Each attachment may be at most this large.
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
# Kinds of file a notice may carry: office documents, PDF, pictures, archives.
ATTACHMENT_EXTENSIONS = {
    ".pdf",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".wps",
    ".txt",
    ".jpg",
    ".jpeg",
    ".png",
    ".zip",
    ".rar",
}


class NoticeKind(models.TextChoices):
    NOTICE = "notice", _("Notice")
    WARNING = "warning", _("Warning")


class Notice(models.Model):
    kind = models.CharField(
        _("kind"), max_length=12, choices=NoticeKind.choices, default=NoticeKind.NOTICE
    )
    sender_unit = models.ForeignKey(
        Unit, verbose_name=_("sent by unit"), on_delete=models.PROTECT, related_name="notices_sent"
    )
    sent_by = models.ForeignKey(
        Person,
        verbose_name=_("sent by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    urgency = models.CharField(
        _("urgency"), max_length=12, choices=Urgency.choices, default=Urgency.ROUTINE
    )
    requires_ack = models.BooleanField(_("acknowledgement required"), default=False)
    ack_deadline = models.DateTimeField(_("acknowledge by"), null=True, blank=True)
    # Kinds of unit chosen as recipients, comma-separated; empty: every unit below.
    recipient_kinds = models.CharField(_("recipient kinds"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-created_at", "-pk"]
        indexes = [
            # selectors.notices_visible: notices sent by the units a person sees.
            models.Index(fields=["sender_unit", "-created_at"], name="notice_sender_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_warning(self) -> bool:
        return self.kind == NoticeKind.WARNING


def _attachment_path(instance: "NoticeAttachment", filename: str) -> str:
    """A random name under MEDIA_ROOT/notices/: the original name is kept in the row only."""
    ext = os.path.splitext(filename)[1].lower()[:10]
    return f"notices/{uuid.uuid4().hex}{ext}"


class NoticeAttachment(models.Model):
    """A file sent with a notice; served only through the access-checked view."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to=_attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size"))

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class NoticeReceipt(models.Model):
    """One recipient unit of a notice: read, acknowledged, chased."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="receipts")
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="notice_receipts"
    )
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    read_by = models.ForeignKey(
        Person,
        verbose_name=_("read by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acked_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acked_by = models.ForeignKey(
        Person,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # How it was acknowledged: "app", or the notify transport of the message's link.
    acked_via = models.CharField(_("acknowledged via"), max_length=16, blank=True)
    chased_at = models.DateTimeField(_("last chased at"), null=True, blank=True)
    chase_count = models.PositiveSmallIntegerField(_("times chased"), default=0)

    class Meta:
        verbose_name = _("notice receipt")
        verbose_name_plural = _("notice receipts")
        constraints = [
            models.UniqueConstraint(fields=["notice", "unit"], name="receipt_one_per_unit"),
        ]
        indexes = [
            # selectors.notices_visible / inbox: the notices sent to the units a person sees.
            models.Index(fields=["unit", "notice"], name="receipt_unit_idx"),
            # services.notice_chase and the ack deadline: a notice's units not yet acknowledged.
            models.Index(
                fields=["notice"], condition=Q(acked_at__isnull=True), name="receipt_unacked_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.notice_id} → {self.unit_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def is_acked(self) -> bool:
        return self.acked_at is not None


class NoticeTemplate(models.Model):
    """A ready text for a common seasonal warning (防溺水, 汛期, 高温, 寒潮, 节假日安全)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(
        _("kind"), max_length=12, choices=NoticeKind.choices, default=NoticeKind.WARNING
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    urgency = models.CharField(
        _("urgency"), max_length=12, choices=Urgency.choices, default=Urgency.URGENT
    )
    requires_ack = models.BooleanField(_("acknowledgement required"), default=True)
    position = models.PositiveSmallIntegerField(_("position in the list"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notice template")
        verbose_name_plural = _("notice templates")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name
