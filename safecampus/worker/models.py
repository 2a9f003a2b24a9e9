"""Deadlines the worker acts on, and the worker's own heartbeat.

A Timer is a deadline stored as an instant: "is it due" is computed from the
stored time, so a worker that was down acts on everything that came due as
soon as it is back — once (a conditional claim), recording how late.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Timer(models.Model):
    kind = models.CharField(_("kind"), max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    # One timer per deadline: scheduling the same key again changes nothing.
    key = models.CharField(max_length=200, unique=True)
    due_at = models.DateTimeField(_("due at"))
    fired_at = models.DateTimeField(_("fired at"), null=True, blank=True)
    late_ms = models.BigIntegerField(_("late by (ms)"), null=True, blank=True)
    # After a handler failed: not tried again before this.
    retry_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("timer")
        verbose_name_plural = _("timers")
        indexes = [
            # worker.loop.Worker.fire_timers: unfired timers whose time has come.
            models.Index(
                fields=["due_at"], condition=Q(fired_at__isnull=True), name="timer_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.due_at:%Y-%m-%d %H:%M}"


class Heartbeat(models.Model):
    """Each worker process writes here every few seconds; a silent one is noticed."""

    name = models.CharField(max_length=100, unique=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
    handled = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return self.name
