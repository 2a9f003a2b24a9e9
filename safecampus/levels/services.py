"""Issuing an alert-level order, what each unit it reaches does with it, and the issuer's chase.

An order is written with the units it reaches (one OrderUnit each: a bulk insert, 20,000 rows
for a province) and the measures of its level as they are that day. It is in force the moment
it is written, for its window (selectors.effective_level reads the orders, nothing is copied
down the tree). Its messages — each unit's head and whoever is on duty there — are handed to
the channels by the worker (timers.py → order_fan_out), after the commit: a province's 40,000
messages are not written inside the issuer's request.

Confirming a measure is one row (unique per unit and measure: confirming twice is once) and a
conditional increment of the unit's count, so two phones confirming together count once each.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import Actor, audit_record
from safecampus.duty.models import CoverageGap
from safecampus.duty.selectors import on_duty_under
from safecampus.lib.text import clean_text
from safecampus.notify.models import Urgency
from safecampus.notify.services import notification_create
from safecampus.orgs import access
from safecampus.orgs.models import Person, Unit
from safecampus.worker.timers import timer_schedule

from . import selectors
from .measures import DEFAULTS
from .models import (
    MAX_WINDOW_DAYS,
    MEASURE_MAX,
    ORDER_UNIT_KINDS,
    REASON_MAX,
    AlertOrder,
    Check,
    Level,
    Measure,
    MeasureConfirmation,
    OrderMeasure,
    OrderUnit,
)

FAN_OUT = "levels.fan_out"
MEASURES_MAX = 30  # lines of one level's list
NOTE_MAX = 200


def _audit(by: Person, action: str, model: str, pk: Any, text: str, changes: dict) -> None:
    audit_record(
        action=action,
        model=model,
        object_id=pk,
        object_repr=text[:200],
        changes=changes,
        actor=Actor(id=by.pk, label=str(by)),
    )


def _when(value: dt.datetime) -> str:
    return formats.date_format(timezone.localtime(value), "Y-m-d H:i")


# --- Measures ---------------------------------------------------------------------------------


def measures_defaults_ensure() -> None:
    """The shipped lists (bureau null), written once."""
    if Measure.objects.filter(bureau__isnull=True).exists():
        return
    Measure.objects.bulk_create(
        Measure(bureau=None, level=level, order=i, text=text)
        for level, texts in DEFAULTS.items()
        for i, text in enumerate(texts)
    )


def measures_of(bureau: Unit | None, level: int) -> list[Measure]:
    """A level's list as `bureau` uses it: its own when it has edited it, else the shipped."""
    measures_defaults_ensure()
    if bureau is not None:
        own = list(Measure.objects.filter(bureau=bureau, level=level))
        if own:
            return own
    return list(Measure.objects.filter(bureau__isnull=True, level=level))


@transaction.atomic
def measures_edit(*, by: Person, bureau: Unit, level: int, lines: list[str]) -> list[Measure]:
    """Replace a level's list for a bureau's future orders (orders already out keep theirs)."""
    access.require(access.can_edit_alert_measures(by, bureau))
    if level not in (Level.ENHANCED, Level.EXTRAORDINARY):
        raise ValidationError({"level": _("Only levels 1 and 2 have measures.")})
    texts: list[str] = []
    for i, line in enumerate(lines, start=1):
        errors: dict[str, str] = {}
        text = clean_text(line, "lines", errors, required=False, max_length=MEASURE_MAX)
        if errors:
            raise ValidationError(
                {"lines": _("Line %(n)d: %(reason)s") % {"n": i, "reason": errors["lines"]}}
            )
        if text and text not in texts:
            texts.append(text)
    if not texts:
        raise ValidationError({"lines": _("Write at least one measure, one a line.")})
    if len(texts) > MEASURES_MAX:
        raise ValidationError({"lines": _("At most %(n)d measures.") % {"n": MEASURES_MAX}})
    Measure.objects.filter(bureau=bureau, level=level).delete()
    rows = Measure.objects.bulk_create(
        Measure(bureau=bureau, level=level, order=i, text=t) for i, t in enumerate(texts)
    )
    _audit(by, "update", "levels.measure", bureau.pk, f"{bureau} L{level}", {"lines": texts})
    return rows


# --- Issuing an order -------------------------------------------------------------------------


def _check_parents(unit: Unit, level: int, starts_at: dt.datetime, ends_at: dt.datetime) -> None:
    """Refuse an order below a level an ancestor has ordered for any part of the window."""
    stricter = (
        AlertOrder.objects.filter(
            path__in=selectors.ancestor_paths(unit, include_self=False),
            revoked_at__isnull=True,
            level__lt=level,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        )
        .select_related("unit")
        .order_by("level", "starts_at")
        .first()
    )
    if stricter is not None:
        raise ValidationError(
            {
                "level": _(
                    "%(unit)s is at %(level)s from %(start)s to %(end)s (ordered by %(above)s): "
                    "a unit may raise its level but never go below its parent's. Choose "
                    "%(level)s or stricter, or a window outside that order."
                )
                % {
                    "unit": unit.name,
                    "level": stricter.short_level,
                    "start": _when(stricter.starts_at),
                    "end": _when(stricter.ends_at),
                    "above": stricter.unit.name,
                }
            }
        )


def _clean_window(starts_at: Any, ends_at: Any, now: dt.datetime) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(starts_at, dt.datetime):
        errors["starts_at"] = _("Give the date and time the order starts.")
    if not isinstance(ends_at, dt.datetime):
        errors["ends_at"] = _("Give the date and time the order ends.")
    if errors:
        return errors
    if ends_at <= starts_at:
        errors["ends_at"] = _("The window ends (%(end)s) before it starts (%(start)s).") % {
            "end": _when(ends_at),
            "start": _when(starts_at),
        }
    elif ends_at <= now:
        errors["ends_at"] = _("The window is already over.")
    elif ends_at - starts_at > dt.timedelta(days=MAX_WINDOW_DAYS):
        errors["ends_at"] = _("A window is at most %(n)d days.") % {"n": MAX_WINDOW_DAYS}
    return errors


@transaction.atomic
def order_issue(
    *,
    by: Person,
    unit: Unit,
    level: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    reason: str,
) -> AlertOrder:
    """Put `unit`'s subtree at `level` (1 or 2) for [starts_at, ends_at)."""
    access.require(access.can_issue_alert_order(by, unit))
    now = timezone.now()
    errors = _clean_window(starts_at, ends_at, now)
    if level not in (Level.ENHANCED, Level.EXTRAORDINARY):
        errors["level"] = _("An order is for level 2 (加强防控) or level 1 (超常防控).")
    reason = clean_text(reason, "reason", errors, required=True, max_length=REASON_MAX)
    if unit.archived_at is not None:
        errors["unit"] = _("This unit is archived.")
    if errors:
        raise ValidationError(errors)
    _check_parents(unit, level, starts_at, ends_at)
    order = AlertOrder.objects.create(
        unit=unit,
        path=unit.path,
        level=level,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        issued_by=by,
        issued_at=now,
    )
    bureau = unit if unit.is_root() else Unit.objects.get(path=unit.path[: Unit.steplen])
    # The roster rule first, then the level's list (level 1: level 2's too).
    measures = [OrderMeasure(order=order, position=1, text="", auto_check=Check.DUTY_LEADER)]
    for lvl in sorted({Level.ENHANCED, level}, reverse=True):
        for m in measures_of(bureau, lvl):
            measures.append(OrderMeasure(order=order, position=len(measures) + 1, text=m.text))
    OrderMeasure.objects.bulk_create(measures)
    reached = (
        Unit.objects.filter(
            access.subtree(unit.path), archived_at__isnull=True, kind__in=ORDER_UNIT_KINDS
        )
        .order_by()
        .values_list("pk", "path")
    )
    rows = OrderUnit.objects.bulk_create(
        (OrderUnit(order=order, unit_id=pk, path=path) for pk, path in reached.iterator()),
        batch_size=2000,
    )
    order.units_total = len(rows)
    order.save(update_fields=["units_total"])
    _audit(
        by,
        "create",
        "levels.alertorder",
        order.pk,
        str(order),
        {"level": level, "starts_at": str(starts_at), "ends_at": str(ends_at), "reason": reason},
    )
    transaction.on_commit(
        lambda: timer_schedule(
            kind=FAN_OUT,
            key=f"levels:fan-out:{order.pk}",
            due_at=timezone.now(),
            payload={"order": order.pk},
        )
    )
    return order


@transaction.atomic
def order_end(*, by: Person, order: AlertOrder) -> AlertOrder:
    """End an order early (the issuing level, or a level above it). Its units fall back to
    whatever else is in force over them."""
    access.require(access.can_issue_alert_order(by, order.unit))
    now = timezone.now()
    if order.revoked_at is not None or order.ends_at <= now:
        raise ValidationError(_("This order has already ended."))
    AlertOrder.objects.filter(pk=order.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by
    )
    order.refresh_from_db()
    _audit(by, "update", "levels.alertorder", order.pk, str(order), {"ended_early": str(now)})
    return order


# --- Messages ---------------------------------------------------------------------------------


def _order_text(order: AlertOrder) -> tuple[str, str]:
    title = _("%(level)s ordered by %(unit)s") % {
        "level": order.short_level,
        "unit": order.unit.name,
    }
    body = _(
        "From %(start)s to %(end)s. Reason: %(reason)s. Acknowledge the order and confirm "
        "each measure of the level."
    ) % {"start": _when(order.starts_at), "end": _when(order.ends_at), "reason": order.reason}
    return title, body


def recipients(order: AlertOrder, unit_ids: set[int] | None = None) -> list[Person]:
    """Each reached unit's head and whoever is on duty there now (all the order's units, or
    those of `unit_ids`): a few set-based queries whatever the number of units."""
    heads = Unit.objects.filter(
        pk__in=OrderUnit.objects.filter(order=order).values("unit_id")
        if unit_ids is None
        else unit_ids,
        head__isnull=False,
    ).values_list("head_id", flat=True)
    wanted = set(heads)
    reached = (
        set(OrderUnit.objects.filter(order=order).values_list("unit_id", flat=True))
        if unit_ids is None
        else unit_ids
    )
    for answer in on_duty_under(order.unit):
        if answer.unit.pk in reached:
            wanted.update(p.pk for p in answer.people)
    found = Person.objects.in_bulk(sorted(wanted))
    return [found[pk] for pk in sorted(found)]


def order_fan_out(*, order_id: int) -> int:
    """Hand the order's messages to the channels (once: a second run finds it done)."""
    with transaction.atomic():
        order = (
            AlertOrder.objects.select_for_update().select_related("unit").filter(pk=order_id)
        ).first()
        if order is None or order.fanned_out_at is not None:
            return 0
        people = recipients(order)
        title, body = _order_text(order)
        notification_create(
            event="levels.order",
            title=title,
            body=body,
            urgency=Urgency.URGENT,
            unit=order.unit,
            sender=order.issued_by,
            link=reverse("levels:order", args=[order.pk]),
            people=people,
        )
        order.fanned_out_at = timezone.now()
        order.messages = len(people)
        order.save(update_fields=["fanned_out_at", "messages"])
    return len(people)


# --- What a unit does -------------------------------------------------------------------------


def _require_live(order: AlertOrder, now: dt.datetime) -> None:
    if order.revoked_at is not None or order.ends_at <= now:
        raise ValidationError(_("This order has ended: there is nothing left to confirm."))


@transaction.atomic
def order_acknowledge(*, by: Person, order_unit: OrderUnit) -> OrderUnit:
    """The unit has received the order (once; later calls change nothing)."""
    access.require(access.can_confirm_alert_measures(by, order_unit.unit))
    now = timezone.now()
    _require_live(order_unit.order, now)
    OrderUnit.objects.filter(pk=order_unit.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=by
    )
    order_unit.refresh_from_db()
    return order_unit


def duty_gaps(order_unit: OrderUnit, now: dt.datetime) -> list[CoverageGap]:
    """The unit's shifts without a leader (or anybody) in what is left of the order's window,
    as duty's gap scan found them (the next 7 days are scanned)."""
    order = order_unit.order
    return list(
        CoverageGap.objects.filter(
            unit_id=order_unit.unit_id,
            starts_at__lt=order.ends_at,
            ends_at__gt=max(order.starts_at, now),
        ).order_by("starts_at")[:20]
    )


@transaction.atomic
def measure_confirm(
    *, by: Person, order_unit: OrderUnit, measure: OrderMeasure, note: str = ""
) -> tuple[MeasureConfirmation, bool]:
    """The unit has put `measure` in place. (confirmation, created): a second confirmation
    returns the first. The roster rule is confirmed only when duty finds no gap left."""
    access.require(access.can_confirm_alert_measures(by, order_unit.unit))
    now = timezone.now()
    order = order_unit.order
    if measure.order_id != order.pk:
        raise ValidationError({"measure": _("This measure is not one of the order's.")})
    existing = MeasureConfirmation.objects.filter(order_unit=order_unit, measure=measure).first()
    if existing is not None:
        return existing, False
    _require_live(order, now)
    errors: dict[str, str] = {}
    note = clean_text(note, "note", errors, required=False, max_length=NOTE_MAX)
    if errors:
        raise ValidationError(errors)
    if measure.auto_check == Check.DUTY_LEADER:
        gaps = duty_gaps(order_unit, now)
        if gaps:
            first = gaps[0]
            raise ValidationError(
                {
                    "measure": _(
                        "The duty roster has %(n)d gap(s) in the order's window, the first "
                        "%(start)s – %(end)s (%(kind)s). Put a leader on duty on every shift, "
                        "then confirm."
                    )
                    % {
                        "n": len(gaps),
                        "start": _when(first.starts_at),
                        "end": _when(first.ends_at),
                        "kind": first.get_kind_display(),
                    }
                }
            )
    try:
        with transaction.atomic():
            confirmation = MeasureConfirmation.objects.create(
                order_unit=order_unit, measure=measure, by=by, at=now, note=note
            )
    except IntegrityError:  # another phone confirmed it a moment ago
        return MeasureConfirmation.objects.get(order_unit=order_unit, measure=measure), False
    total = order.measures.count()
    OrderUnit.objects.filter(pk=order_unit.pk).update(confirmed=F("confirmed") + 1)
    OrderUnit.objects.filter(pk=order_unit.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=by
    )
    OrderUnit.objects.filter(pk=order_unit.pk, done_at__isnull=True, confirmed__gte=total).update(
        done_at=now
    )
    order_unit.refresh_from_db()
    _audit(
        by,
        "create",
        "levels.measureconfirmation",
        confirmation.pk,
        f"{order_unit.unit} {measure}",
        {"order": order.pk, "measure": measure.position},
    )
    return confirmation, True


# --- The issuer's chase -----------------------------------------------------------------------


@transaction.atomic
def order_chase(*, by: Person, order: AlertOrder) -> int:
    """Remind every unit that has not confirmed all measures (its head and who is on duty),
    urgently. Returns the number of units chased."""
    access.require(access.can_issue_alert_order(by, order.unit))
    now = timezone.now()
    _require_live(order, now)
    pending = OrderUnit.objects.filter(order=order, done_at__isnull=True)
    unit_ids = set(pending.values_list("unit_id", flat=True))
    if not unit_ids:
        return 0
    title, body = _order_text(order)
    notification_create(
        event="levels.chase",
        title=_("Reminder: %(title)s") % {"title": title},
        body=_("Your unit has not yet confirmed every measure. %(body)s") % {"body": body},
        urgency=Urgency.URGENT,
        unit=order.unit,
        sender=by,
        link=reverse("levels:order", args=[order.pk]),
        people=recipients(order, unit_ids),
    )
    pending.update(chased_at=now)
    _audit(by, "update", "levels.alertorder", order.pk, str(order), {"chased": len(unit_ids)})
    return len(unit_ids)


def order_unit_for(order: AlertOrder, unit: Unit) -> OrderUnit | None:
    return OrderUnit.objects.filter(order=order, unit=unit).select_related("unit", "order").first()
