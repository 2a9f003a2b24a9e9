"""Notifications and their delivery: the outbox.

A Notification is written in the same transaction as the event that causes it,
with one Delivery per recipient and channel. The worker (safecampus.worker)
claims due deliveries, sends them, and records every Attempt. Delivery is at
least once; each delivery carries an idempotency key that receivers (and our
own inbox) use to show a repeat once.
"""

import secrets
import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from safecampus.orgs.models import Person, Unit


class Urgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


class Priority(models.IntegerChoices):
    """The order the worker takes due deliveries in: the most urgent first."""

    EMERGENCY = 0, _("Emergency")
    URGENT = 1, _("Urgent")
    ROUTINE = 2, _("Routine")


PRIORITY_OF = {Urgency.EMERGENCY: Priority.EMERGENCY, Urgency.URGENT: Priority.URGENT}


def priority_of(urgency: str) -> int:
    return PRIORITY_OF.get(urgency, Priority.ROUTINE)


class Transport(models.TextChoices):
    INBOX = "inbox", _("In-app inbox")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk robot")
    FEISHU = "feishu", _("Feishu bot")
    WEBHOOK = "webhook", _("JSON webhook")


# Transports a unit connects as chat channels; the others reach a person.
CHANNEL_KINDS = [Transport.WECOM, Transport.DINGTALK, Transport.FEISHU, Transport.WEBHOOK]
PERSON_TRANSPORTS = [Transport.EMAIL, Transport.SMS]


class Channel(models.Model):
    """A unit's group chat robot or webhook."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="channels"
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=[(k.value, k.label) for k in CHANNEL_KINDS]
    )
    name = models.CharField(_("name"), max_length=100)
    # Validated by the kind's config class (notify/channels/<kind>/transport.py).
    config = models.JSONField(_("configuration"), default=dict)
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["unit_id", "name"]

    def __str__(self) -> str:
        return self.name


class ContactPreference(models.Model):
    """How a person is reached beyond the in-app inbox (always on)."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="contact")
    # Transports in the order they are tried, e.g. "sms,email"; empty: inbox only.
    order = models.CharField(_("channels in order"), max_length=64, default="email,sms", blank=True)
    quiet_start = models.TimeField(_("quiet hours from"), null=True, blank=True)
    quiet_end = models.TimeField(_("quiet hours until"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact preference")
        verbose_name_plural = _("contact preferences")

    def __str__(self) -> str:
        return f"{self.person}: {self.order}"

    @property
    def transports(self) -> list[str]:
        return [t for t in (p.strip() for p in self.order.split(",")) if t in PERSON_TRANSPORTS]


class Notification(models.Model):
    event = models.CharField(_("event"), max_length=48)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    urgency = models.CharField(
        _("urgency"), max_length=12, choices=Urgency.choices, default=Urgency.ROUTINE
    )
    requires_ack = models.BooleanField(_("acknowledgement required"), default=False)
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    sender = models.ForeignKey(
        Person,
        verbose_name=_("sender"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    link = models.CharField(_("link"), max_length=200, blank=True)
    # Values an SMS template fills in (see SmsTemplate.params).
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


def _ack_token() -> str:
    return secrets.token_urlsafe(24)


def _idempotency_key() -> str:
    return uuid.uuid4().hex


class Delivery(models.Model):
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    transport = models.CharField(_("channel"), max_length=16, choices=Transport.choices)
    address = models.CharField(_("address"), max_length=254, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    # Tries made (an Attempt is recorded, and this counted, right before each request).
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The notification's urgency as a number: the worker sends the most urgent first.
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.ROUTINE)
    # When it may be sent: now, after a back-off, or after the person's quiet hours.
    next_attempt_at = models.DateTimeField(_("next attempt"))
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True, default=_idempotency_key)
    ack_token = models.CharField(max_length=64, unique=True, default=_ack_token)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    fallback_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="fallbacks"
    )

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["pk"]
        indexes = [
            # worker.loop.Worker._fill: queued rows whose time has come, most urgent first.
            models.Index(
                fields=["priority", "next_attempt_at"],
                condition=Q(status="queued"),
                name="delivery_due_idx",
            ),
            # The inbox page: a person's in-app messages, newest first.
            models.Index(fields=["person", "transport", "-id"], name="delivery_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_transport_display()} → {self.address or self.person}"

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class Attempt(models.Model):
    """One try at sending a delivery: recorded right before the request leaves (ok is
    None: 'sending'), then what the channel answered. One that stays None was made by a
    worker that died before the answer came: it may or may not have arrived."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    at = models.DateTimeField(_("time"))
    ok = models.BooleanField(_("succeeded"), null=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=100, blank=True)
    # The claim under which the worker sent it.
    claim_token = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["pk"]
        indexes = [
            # notify.ratelimit: sends to a robot in the last minute.
            models.Index(fields=["channel", "at"], name="attempt_channel_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} {'ok' if self.ok else self.error}"


class SmsTemplate(models.Model):
    """SMS providers send only pre-approved templates: event → template id and parameters."""

    event = models.CharField(_("event"), max_length=48, unique=True)
    template_id = models.CharField(_("template id"), max_length=64)
    # Names of Notification.params, in the order the template takes them.
    params = models.CharField(_("parameters in order"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")

    def __str__(self) -> str:
        return f"{self.event} → {self.template_id}"

    @property
    def param_names(self) -> list[str]:
        return [p.strip() for p in self.params.split(",") if p.strip()]


class AllowedNetwork(models.Model):
    """Private address ranges a webhook may reach (a bureau's own intranet systems)."""

    cidr = models.CharField(_("address range"), max_length=64, unique=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("allowed network")
        verbose_name_plural = _("allowed networks")

    def __str__(self) -> str:
        return self.cidr


class DeliverySettings(models.Model):
    """The system administrator's settings for delivery (one row; none: the defaults)."""

    # Hours a message keeps being retried on a channel that is down; empty: NOTIFY_GIVE_UP_AFTER.
    give_up_after_hours = models.PositiveIntegerField(
        _("give up after (hours)"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("delivery settings")
        verbose_name_plural = _("delivery settings")

    def __str__(self) -> str:
        return f"give up after {self.give_up_after_hours} h"
