"""Record every saved or deleted domain record in the audit trail.

This is cross-cutting plumbing, not business logic: the services stay free of
audit calls for plain changes, and no write can forget them. Bulk
``QuerySet.update()`` bypasses it, so services call ``audit_record`` for those.
"""

from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save

from .services import audit_record, jsonable

# Apps whose models are audited. Later apps add their label here.
AUDITED_APPS = {"orgs", "notify", "notices", "reports", "duty"}
# The outbox and the worker's bookkeeping change on every send: their history is
# the Attempt rows, not the audit trail.
SKIPPED_MODELS = {
    "notify.notification",
    "notify.delivery",
    "notify.attempt",
    # Reports get their own receipt entry (reports.services.report_submit); statuses and
    # counters are derived from them.
    "reports.dailyreport",
    "reports.reportstatus",
    "reports.reportrollup",
    "reports.calendarday",
    # Duty: shifts and their people are written in bulk (a month's plan) with one entry
    # of their own (duty.services); the gap scan's rows are derived from them.
    "duty.shift",
    "duty.shiftmember",
    "duty.coveragegap",
}
# Never written into the trail: secrets, and bookkeeping that changes on every login.
# "token": the private keys of links (a duty calendar feed, a spot check's answer link).
SKIPPED_FIELDS = {"password", "last_login", "key_hash", "last_used_at", "config", "token"}


def _audited(sender: type[models.Model]) -> bool:
    meta = sender._meta
    return (
        meta.app_label in AUDITED_APPS
        and meta.label_lower not in SKIPPED_MODELS
        and not meta.auto_created
        and not meta.proxy
    )


def _fields(sender: type[models.Model]) -> list[models.Field]:
    return [f for f in sender._meta.concrete_fields if f.name not in SKIPPED_FIELDS]


def _values(instance: models.Model) -> dict[str, Any]:
    return {f.attname: jsonable(getattr(instance, f.attname)) for f in _fields(type(instance))}


def _label(sender: type[models.Model]) -> str:
    return sender._meta.label_lower


def _before_save(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if not _audited(sender) or kwargs.get("raw"):
        return
    if instance._state.adding or instance.pk is None:
        instance._audit_old = None  # type: ignore[attr-defined]
        return
    attnames = [f.attname for f in _fields(sender)]
    old = sender._base_manager.filter(pk=instance.pk).values(*attnames).first()
    instance._audit_old = (  # type: ignore[attr-defined]
        {k: jsonable(v) for k, v in old.items()} if old else None
    )


def _after_save(
    sender: type[models.Model], instance: models.Model, created: bool, **kwargs: Any
) -> None:
    if not _audited(sender) or kwargs.get("raw"):
        return
    new = _values(instance)
    old = getattr(instance, "_audit_old", None)
    if created or old is None:
        changes = {k: [None, v] for k, v in new.items() if v not in (None, "")}
        action = "create"
    else:
        changes = {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}
        action = "update"
        if "password" in (kwargs.get("update_fields") or ()):
            changes["password"] = ["***", "***"]
        if not changes:
            return
    audit_record(
        action=action,
        model=_label(sender),
        object_id=instance.pk,
        object_repr=str(instance),
        changes=changes,
    )


def _after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if not _audited(sender):
        return
    changes = {k: [v, None] for k, v in _values(instance).items() if v not in (None, "")}
    audit_record(
        action="delete",
        model=_label(sender),
        object_id=instance.pk,
        object_repr=str(instance),
        changes=changes,
    )


def connect() -> None:
    for model in apps.get_models():
        if _audited(model):
            pre_save.connect(_before_save, sender=model, dispatch_uid=f"audit-pre-{_label(model)}")
            post_save.connect(_after_save, sender=model, dispatch_uid=f"audit-post-{_label(model)}")
            post_delete.connect(
                _after_delete, sender=model, dispatch_uid=f"audit-del-{_label(model)}"
            )
