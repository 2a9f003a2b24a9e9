"""Reads: a unit's effective level (every page's banner), the orders over a unit, an order's
progress and the units that have not confirmed.

The effective level is computed when read, from the orders of the unit and its ancestors (their
paths are the prefixes of its own): one query on the (path, ends_at) index, so an order is
correct everywhere the moment it is written and nothing has to be copied down a tree of 20,000
units (bench/levels_scale.py)."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from safecampus.orgs import access
from safecampus.orgs.models import Unit

from .models import SHORT_NAMES, AlertOrder, Level, OrderMeasure, OrderUnit


def ancestor_paths(unit: Unit | str, *, include_self: bool = True) -> list[str]:
    """The paths of the unit's ancestors (and its own): the unit or its path."""
    path = unit if isinstance(unit, str) else unit.path
    step = Unit.steplen
    end = len(path) + (step if include_self else 0)
    return [path[:i] for i in range(step, end, step)]


@dataclass(frozen=True)
class Effective:
    level: int
    order: AlertOrder | None  # the order that sets it (None: routine)

    @property
    def label(self) -> str:
        return str(SHORT_NAMES[self.level])

    @property
    def raised(self) -> bool:
        return self.level < Level.ROUTINE


def _in_force(at: dt.datetime) -> Q:
    return Q(revoked_at__isnull=True, starts_at__lte=at, ends_at__gt=at)


def effective_level(unit: Unit | str, at: dt.datetime | None = None) -> Effective:
    """The strictest order in force over `unit` (the unit or its path; its own order or an
    ancestor's) at `at`."""
    at = at or timezone.now()
    order = (
        AlertOrder.objects.filter(_in_force(at), path__in=ancestor_paths(unit))
        .select_related("unit")
        .order_by("level", "-starts_at", "pk")
        .first()
    )
    return Effective(order.level if order else Level.ROUTINE, order)


def orders_over(unit: Unit, at: dt.datetime | None = None) -> QuerySet[AlertOrder]:
    """The orders over `unit` (its own and its ancestors') not ended yet: in force or to come."""
    at = at or timezone.now()
    return (
        AlertOrder.objects.filter(
            path__in=ancestor_paths(unit), revoked_at__isnull=True, ends_at__gt=at
        )
        .select_related("unit", "issued_by")
        .order_by("starts_at", "pk")
    )


def orders_visible(user: Any) -> QuerySet[AlertOrder]:
    q = access.alert_orders_visible_q(user)
    if q is None:
        return AlertOrder.objects.none()
    return AlertOrder.objects.filter(q).select_related("unit", "issued_by")


@dataclass(frozen=True)
class Progress:
    total: int
    acknowledged: int
    done: int

    @property
    def pending(self) -> int:
        return self.total - self.done

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def progress(order: AlertOrder, under: Unit | None = None) -> Progress:
    """How many of the order's units (those under `under`) acknowledged and confirmed all."""
    rows = OrderUnit.objects.filter(order=order)
    if under is not None:
        rows = rows.filter(access.subtree(under.path))
    counts = rows.aggregate(
        total=Count("pk"),
        acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
        done=Count("pk", filter=Q(done_at__isnull=False)),
    )
    return Progress(counts["total"], counts["acknowledged"], counts["done"])


def pending_units(
    order: AlertOrder, *, under: Unit | None = None, after: str = "", limit: int = 100
) -> list[OrderUnit]:
    """The order's units not done, in tree order, from after the path `after` (keyset): the
    partial index levels_orderunit_open."""
    rows = OrderUnit.objects.filter(order=order, done_at__isnull=True)
    if under is not None:
        rows = rows.filter(access.subtree(under.path))
    if after:
        rows = rows.filter(path__gt=after)
    return list(rows.select_related("unit").order_by("path")[:limit])


def measures_with_confirmations(
    order_unit: OrderUnit,
) -> list[tuple[OrderMeasure, Any]]:
    """The order's measures, each with the unit's confirmation (None: not yet)."""
    confirmed = {c.measure_id: c for c in order_unit.confirmations.select_related("by")}
    return [(m, confirmed.get(m.pk)) for m in order_unit.order.measures.all()]


def my_order_units(user: Any, at: dt.datetime | None = None) -> list[OrderUnit]:
    """The orders the user's units have still to confirm (units they may confirm for), in
    force or to come."""
    at = at or timezone.now()
    units = access.alert_units(user)
    return list(
        OrderUnit.objects.filter(
            unit__in=units,
            done_at__isnull=True,
            order__revoked_at__isnull=True,
            order__ends_at__gt=at,
        )
        .select_related("unit", "order", "order__unit")
        .order_by("order__starts_at")[:20]
    )
