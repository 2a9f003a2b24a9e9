"""The audit trail: append-only and hash-chained.

Each entry carries the hash of the one before it; the database refuses
UPDATE and DELETE of entries (triggers installed by migration 0002, see
audit/triggers.py), and `safecampus audit verify` walks the chain.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    seq = models.BigIntegerField(_("sequence"), unique=True)
    at = models.DateTimeField(_("time"))
    # No foreign key: an entry outlives whatever it names.
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True)
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    ip = models.CharField(_("address"), max_length=45, blank=True)
    action = models.CharField(_("action"), max_length=32)
    model = models.CharField(_("record type"), max_length=64, blank=True)
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    object_repr = models.CharField(_("record"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-seq"]
        indexes = [
            # The audit page filters by record ("history of this unit").
            models.Index(fields=["model", "object_id"], name="audit_record_idx"),
            # ... and by time.
            models.Index(fields=["at"], name="audit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.model}:{self.object_id}"
