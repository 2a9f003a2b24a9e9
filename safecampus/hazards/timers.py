"""The hazards app's deadlines (worker timers): a reminder the day before a hazard's
deadline (to its responsible person), the unit's head when it passes, and the level above
(the supervising unit, else the unit's parent) three days after. Each fires once; a hazard
closed (or referred) by then is left alone. A worker that was down fires them when it is
back, and the history says how late."""

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.notify.models import Urgency
from safecampus.notify.services import notification_create, office_people
from safecampus.orgs.models import Unit
from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, on_worker_start, timer_schedule

from . import export
from .models import OPEN_STATUSES, EventKind, Hazard, HazardEvent, Status

REMIND = "hazards.remind"
DUE = "hazards.due"
ESCALATE = "hazards.escalate"
# 挂牌督办: the supervision deadline passed with the hazard still open
SUPERVISION = "hazards.supervision"
EVENT = "hazard_deadline"
REMIND_BEFORE = dt.timedelta(days=1)
ESCALATE_AFTER = dt.timedelta(days=3)
FIXABLE = (Status.OPEN, Status.FIXING, Status.SUBMITTED)


def _end_of(day: dt.date) -> dt.datetime:
    """The deadline passes at the end of its day (local midnight after it)."""
    return dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(), tzinfo=timezone.get_current_timezone()
    )


def schedule(hazard: Hazard) -> None:
    """The three timers of the hazard's deadline, and the supervision deadline's (moved if they
    change)."""
    end = _end_of(hazard.deadline)
    steps = [(REMIND, end - REMIND_BEFORE), (DUE, end), (ESCALATE, end + ESCALATE_AFTER)]
    if hazard.supervision_deadline is not None:
        steps.append((SUPERVISION, _end_of(hazard.supervision_deadline)))
    for kind, at in steps:
        timer_schedule(
            kind=kind, key=f"hazard:{kind}:{hazard.pk}", due_at=at, payload={"hazard": hazard.pk}
        )


def _notify(hazard: Hazard, people: list, title: str) -> None:
    notification_create(
        event=EVENT,
        title=title,
        body=f"{hazard.unit.name}：{hazard.description[:200]}",
        urgency=Urgency.URGENT,
        unit=hazard.unit,
        link=reverse("hazards:detail", kwargs={"pk": hazard.pk}),
        params={"hazard": hazard.pk},
        people=[p for p in people if p is not None],
    )


@transaction.atomic
def deadline_step(*, hazard_id: int, kind: str, due_at: dt.datetime) -> bool:
    hazard = (
        Hazard.objects.select_for_update(of=("self",))
        .select_related("unit", "responsible", "supervising_unit", "supervisor")
        .filter(pk=hazard_id)
        .first()
    )
    # a referred hazard waits for the authority; a supervised one is chased all the same
    if hazard is None or hazard.status not in (OPEN_STATUSES if kind == SUPERVISION else FIXABLE):
        return False
    now = timezone.now()
    late = int((now - due_at).total_seconds())
    if kind == REMIND:
        _notify(
            hazard,
            [hazard.responsible],
            _("Hazard due tomorrow: %(unit)s") % {"unit": hazard.unit.name},
        )
        return True
    if kind == DUE:
        _notify(
            hazard,
            [*office_people(hazard.unit), hazard.unit.head],
            _("Hazard overdue: %(unit)s") % {"unit": hazard.unit.name},
        )
        text = _("Overdue: the unit's head is told")
    elif kind == SUPERVISION:
        # the supervisor and the supervising unit's office, and the level above that unit
        supervising = hazard.supervising_unit
        above = Unit.objects.get_parent(supervising) if supervising else None
        _notify(
            hazard,
            [
                hazard.supervisor,
                *office_people(supervising),
                *(office_people(above) if above else []),
            ],
            _("Supervised hazard past its supervision deadline: %(unit)s")
            % {"unit": hazard.unit.name},
        )
        text = _("Supervision deadline passed: %(unit)s is told") % {
            "unit": " / ".join(u.name for u in (supervising, above) if u is not None)
        }
    else:
        above = hazard.supervising_unit or Unit.objects.get_parent(hazard.unit)
        if above is None:
            return False
        people = [hazard.supervisor] if hazard.supervisor else office_people(above)
        _notify(
            hazard,
            people,
            _("Hazard overdue for %(days)d days: %(unit)s")
            % {"days": ESCALATE_AFTER.days, "unit": hazard.unit.name},
        )
        text = _("Overdue: %(unit)s is told") % {"unit": above.name}
    if late > 60:
        text += " " + _("(the worker was %(minutes)d minutes late)") % {"minutes": late // 60}
    HazardEvent.objects.create(hazard=hazard, at=now, kind=EventKind.OVERDUE, text=text[:1000])
    return True


def _fire(timer: Timer) -> None:
    deadline_step(
        hazard_id=int(timer.payload.get("hazard", 0)), kind=timer.kind, due_at=timer.due_at
    )


on_timer(REMIND)(_fire)
on_timer(DUE)(_fire)
on_timer(ESCALATE)(_fire)
on_timer(SUPERVISION)(_fire)

# Large ledger exports (export.py): the build, its watchdog, the daily purge of old files.
on_timer(export.BUILD)(export.export_start)
on_timer(export.CHECK)(export.export_check)
on_timer(export.PURGE)(export.exports_purge)
on_worker_start(export.purge_ensure)
