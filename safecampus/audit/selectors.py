"""Reads of the audit trail: its entries as people read them.

(The heads sent to the audit administrators are read in administration/audit_heads.py:
they are notify's messages, and audit, below notify, does not read them.)

Entries hold codes (`login_failed`, `orgs.person`, `cooloff_minutes`) and values as
stored (`None`, `[None, 27]`); the page shows words in the reader's language: action
labels, the model's and field's verbose names, a related record's name, '—' for
nothing. Rows are prepared here, so a template never indexes a dictionary whose keys
come from data (a change of a field named `items` is not `dict.items`).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.apps import apps
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from safecampus.lib.masking import mask_mobiles_in

from .models import AuditEntry

ACTION_LABELS = {
    "create": gettext_lazy("created"),
    "update": gettext_lazy("changed"),
    "delete": gettext_lazy("deleted"),
    "move": gettext_lazy("moved"),
    "login": gettext_lazy("logged in"),
    "logout": gettext_lazy("logged out"),
    "login_failed": gettext_lazy("failed login"),
    "password_set": gettext_lazy("password set"),
    "password_reset_link": gettext_lazy("password reset, a link sent to its holder"),
    "report": gettext_lazy("report submitted"),
    "report_correction": gettext_lazy("report corrected"),
    "audit_verify": gettext_lazy("audit chain verified"),
    # Duty (duty/services.py); spot checks and calendar links are "update" entries.
    "duty_plan": gettext_lazy("duty roster planned for the month"),
    "duty_swap": gettext_lazy("shift swapped"),
    "duty_handover": gettext_lazy("shift handed over"),
    "duty_take_over": gettext_lazy("shift taken over"),
}
# Who acted when no person did (services.current_actor, demo.district.demo_load).
ACTOR_LABELS = {
    "system": gettext_lazy("the system"),
    "anonymous": gettext_lazy("someone not logged in"),
    "demo": gettext_lazy("the demo loader"),
}
# Keys of entries that are not a model's fields: a report's receipt, a notice's
# receipts, a failed login, a verification.
KEY_LABELS = {
    "zero": gettext_lazy("zero report"),
    "items": gettext_lazy("items"),
    "reason": gettext_lazy("reason"),
    "late_s": gettext_lazy("late by (s)"),
    "demo": gettext_lazy("demo data"),
    "units": gettext_lazy("units"),
    "read": gettext_lazy("read"),
    "chased": gettext_lazy("chased"),
    "username": gettext_lazy("username"),
    "cosigned_by": gettext_lazy("co-signed by"),
    "sent_to": gettext_lazy("link sent through"),
    "ok": gettext_lazy("intact"),
    "checked": gettext_lazy("entries checked"),
    "broken_seq": gettext_lazy("broken at entry"),
    "heads_checked": gettext_lazy("recorded heads checked"),
    "heads_missing": gettext_lazy("recorded heads missing or not matching"),
    # Inside a report's items.
    "what": gettext_lazy("what happened"),
    "measures": gettext_lazy("measures taken"),
    "incident_id": gettext_lazy("incident"),
    "hazard_id": gettext_lazy("hazard"),
    # Duty entries (duty/services.py, duty/spotchecks.py, duty/feeds.py).
    "shifts": gettext_lazy("shifts replaced, shifts planned"),
    "person": gettext_lazy("person leaving, person coming"),
    "swap": gettext_lazy("swap request"),
    "late": gettext_lazy("late"),
    "late_ms": gettext_lazy("late by (ms)"),
    "revoked": gettext_lazy("links revoked"),
}
# Entries written by the recorder (and moves) hold [old, new] for each field.
PAIR_ACTIONS = {"create", "update", "delete", "move"}
NOTHING = "—"
# Fields of the tree's bookkeeping (django-treebeard): no reader's business.
HIDDEN_KEYS = {"path", "depth", "numchild"}
LONGEST = 400  # characters of one value on the page; the entry itself keeps them all


class ChangeRow(NamedTuple):
    label: str
    old: str
    new: str
    # True: the field went from `old` to `new`; False: `new` is the value recorded.
    changed: bool


@dataclass(frozen=True)
class TrailRow:
    entry: AuditEntry
    action: str
    actor: str
    record_type: str
    record: str
    changes: list[ChangeRow]


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def model_label(label: str) -> str:
    model = _model(label)
    return str(model._meta.verbose_name) if model is not None else label


def _model(label: str) -> type[models.Model] | None:
    if not label or "." not in label:
        return None
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


def _field(model: type[models.Model] | None, key: str) -> models.Field | None:
    if model is None:
        return None
    for field in model._meta.concrete_fields:
        if key in (field.name, field.attname):
            return field
    return None


def _is_pair(action: str, field: models.Field | None, value: Any) -> bool:
    return (
        action in PAIR_ACTIONS and field is not None and isinstance(value, list) and len(value) == 2
    )


def _key_label(field: models.Field | None, key: str) -> str:
    if field is not None:
        return str(field.verbose_name)
    label = KEY_LABELS.get(key)
    return str(label) if label is not None else key


def _cut(text: str) -> str:
    """A value as the page shows it: mobile numbers masked, at most LONGEST characters."""
    # Mobile numbers in any text the page shows (a username, a failed login's typed
    # name, an e-mail address) are masked: the audit administrator manages nobody.
    # The entry itself keeps the number.
    text = mask_mobiles_in(text)
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def readable(value: Any, field: models.Field | None = None, names: dict | None = None) -> str:
    """A stored value as a person reads it."""
    if value is None or value == "":
        return NOTHING
    if field is not None and field.is_relation and field.related_model is not None:
        if isinstance(value, str) and not value.isdigit():
            return value  # recorded by name (a duty take-over's taken_over_by)
        name = (names or {}).get((field.related_model._meta.label_lower, str(value)))
        return f"{name} (#{value})" if name else f"#{value}"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field is not None and field.flatchoices and not isinstance(value, list | dict):
        choices = {str(k): v for k, v in field.flatchoices}
        if str(value) in choices:
            return str(choices[str(value)])
    if isinstance(field, models.DateTimeField) and isinstance(value, str):
        moment = parse_datetime(value)
        if moment is not None:
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return date_format(moment, "Y-m-d H:i:s")
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            return "\n".join(f"{i}. {readable(v)}" for i, v in enumerate(value, start=1))
        return "、".join(readable(v) for v in value) if value else NOTHING
    if isinstance(value, dict):
        shown = [
            f"{_key_label(None, str(k))}: {readable(v)}"
            for k, v in value.items()
            if v not in (None, "")
        ]
        return "; ".join(shown) if shown else NOTHING
    return str(value)


def _related_names(entries: Iterable[AuditEntry]) -> dict[tuple[str, str], str]:
    """The names of the records the page's entries point to: one query per model."""
    wanted: dict[type[models.Model], set[str]] = {}
    for entry in entries:
        model = _model(entry.model)
        if model is None or entry.action not in PAIR_ACTIONS or not isinstance(entry.changes, dict):
            continue
        for key, value in entry.changes.items():
            field = _field(model, key)
            if not _is_pair(entry.action, field, value) or not field.is_relation:
                continue
            related = field.related_model
            if related is None:
                continue
            for v in value:
                if isinstance(v, int) and not isinstance(v, bool):
                    wanted.setdefault(related, set()).add(str(v))
    names = {}
    for model, pks in wanted.items():
        valid = [int(pk) for pk in pks if pk.isdigit() and len(pk) < 19]
        for obj in model._base_manager.filter(pk__in=valid):
            names[(model._meta.label_lower, str(obj.pk))] = _cut(str(obj))
    return names


def _changes(entry: AuditEntry, names: dict) -> list[ChangeRow]:
    if not isinstance(entry.changes, dict):
        return [ChangeRow("", "", _cut(readable(entry.changes)), False)]
    model = _model(entry.model)
    hidden = {model._meta.pk.attname, *HIDDEN_KEYS} if model is not None else set()
    rows = []
    for key, value in entry.changes.items():
        if key in hidden:
            continue
        field = _field(model, key)
        label = _key_label(field, key)
        if _is_pair(entry.action, field, value):
            old, new = value
            rows.append(
                ChangeRow(
                    label,
                    _cut(readable(old, field, names)),
                    _cut(readable(new, field, names)),
                    entry.action != "create" or old is not None,
                )
            )
        else:
            rows.append(ChangeRow(label, "", _cut(readable(value, field, names)), False))
    return rows


def _actor(entry: AuditEntry) -> str:
    if entry.actor_id is None and entry.actor_label in ACTOR_LABELS:
        return str(ACTOR_LABELS[entry.actor_label])
    return _cut(entry.actor_label)


def trail_rows(entries: Iterable[AuditEntry]) -> list[TrailRow]:
    """A page of entries ready to show (one query per related model named in them)."""
    entries = list(entries)
    names = _related_names(entries)
    return [
        TrailRow(
            entry=entry,
            action=action_label(entry.action),
            actor=_actor(entry),
            record_type=model_label(entry.model) if entry.model else "",
            record=_cut(entry.object_repr),
            changes=_changes(entry, names),
        )
        for entry in entries
    ]


def _shown_as(text: str) -> str:
    """A pattern for the stored actors the page shows as `text`: the filter searches what
    the page shows, so a full mobile number typed is masked first and matches every actor
    shown with that masked number (it confirms nothing the page does not show), and a
    masked one as shown (139****6054) matches too."""
    shown = mask_mobiles_in(text)
    return "^" + re.escape(shown).replace(re.escape("****"), "[0-9]{4}") + "$"


def trail_entries(*, model: str = "", object_id: str = "", actor: str = "", action: str = ""):  # type: ignore[no-untyped-def]
    entries = AuditEntry.objects.order_by("-seq")
    if model:
        entries = entries.filter(model=model)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if actor:
        entries = entries.filter(actor_label__regex=_shown_as(actor))
    if action:
        entries = entries.filter(action=action)
    return entries


def model_choices() -> list[tuple[str, str]]:
    """The kinds of record the trail names, for the page's filter."""
    from .recorder import AUDITED_APPS

    choices = [
        (model._meta.label_lower, str(model._meta.verbose_name))
        for model in apps.get_models()
        if model._meta.app_label in AUDITED_APPS
    ]
    return sorted(choices, key=lambda c: c[1])


def action_choices() -> list[tuple[str, str]]:
    return sorted(((k, str(v)) for k, v in ACTION_LABELS.items()), key=lambda c: c[1])
