"""Shift reminders: the people of a shift are told before it starts
(DutySettings.remind_minutes, default 30; 0 turns them off), through their channels.

A periodic sweep (every SWEEP_MINUTES, started by every worker) schedules one timer per
shift starting in the next hours, keyed by the shift and its start: planning does not
have to know about reminders, a shift moved gets a new timer at the next sweep (the old
one finds the start changed and does nothing), a deleted shift's timer does nothing.
A worker that was down fires what came due when it is back; the timer records how late
(Timer.late_ms) and the message says so.
"""

import datetime as dt

from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.notify.models import Urgency
from safecampus.notify.services import notification_create
from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, on_worker_start, timer_schedule

from .models import DutySettings, Shift, ShiftMember

REMIND_TIMER = "duty.shift_remind"
SWEEP_TIMER = "duty.reminder_sweep"
DEFAULT_MINUTES = 30
SWEEP_MINUTES = 10
# How far ahead a sweep schedules (beyond the longest reminder), and how far back it
# still reminds of a shift that started while the worker was down (and has not ended).
AHEAD = dt.timedelta(hours=2)
BEHIND = dt.timedelta(hours=6)
EVENT = "duty_shift_reminder"


def reminder_key(shift_id: int, starts_at: dt.datetime) -> str:
    return f"duty:remind:{shift_id}:{int(starts_at.timestamp())}"


def shift_reminders_schedule(*, now: dt.datetime | None = None) -> int:
    """Create the timers of the shifts starting soon that have none yet (bulk: one query
    to read, one to write). Returns how many were created."""
    now = now or timezone.now()
    longest = DutySettings.objects.aggregate(m=Max("remind_minutes"))["m"] or 0
    ahead = AHEAD + dt.timedelta(minutes=max(longest, DEFAULT_MINUTES))
    remind = dict(DutySettings.objects.values_list("unit_id", "remind_minutes"))
    shifts = list(
        Shift.objects.filter(
            starts_at__gte=now - BEHIND, starts_at__lte=now + ahead, ends_at__gt=now
        ).values_list("pk", "unit_id", "starts_at")
    )
    wanted: dict[str, Timer] = {}
    for pk, unit_id, starts_at in shifts:
        minutes = remind.get(unit_id, DEFAULT_MINUTES)
        due = starts_at - dt.timedelta(minutes=minutes)
        if minutes <= 0 or due > now + AHEAD:
            continue
        key = reminder_key(pk, starts_at)
        wanted[key] = Timer(
            kind=REMIND_TIMER,
            key=key,
            due_at=due,
            payload={"shift": pk, "starts_at": starts_at.isoformat()},
        )
    if not wanted:
        return 0
    have = set(Timer.objects.filter(key__in=list(wanted)).values_list("key", flat=True))
    new = [t for k, t in wanted.items() if k not in have]
    Timer.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def sweep_schedule(at: dt.datetime) -> Timer:
    """The sweep of the 10-minute slot holding `at` (one per slot, by its key)."""
    slot = int(at.timestamp()) // (SWEEP_MINUTES * 60) * (SWEEP_MINUTES * 60)
    due = dt.datetime.fromtimestamp(slot, tz=dt.UTC)
    return timer_schedule(kind=SWEEP_TIMER, key=f"duty:remind-sweep:{slot}", due_at=due)


@on_worker_start
def sweep_ensure() -> None:
    sweep_schedule(timezone.now())


@on_timer(SWEEP_TIMER)
def _sweep(timer: Timer) -> None:
    now = timezone.now()
    shift_reminders_schedule(now=now)
    sweep_schedule(now + dt.timedelta(minutes=SWEEP_MINUTES))


def shift_remind(*, shift: Shift, due_at: dt.datetime) -> bool:
    """Tell the shift's people it starts soon (or started, when the reminder is late)."""
    now = timezone.now()
    if shift.ends_at <= now:
        return False
    people = [m.person for m in ShiftMember.objects.filter(shift=shift).select_related("person")]
    if not people:
        return False
    late = now - due_at
    late_minutes = int(late.total_seconds() // 60)
    start = timezone.localtime(shift.starts_at)
    body = _("%(unit)s, %(shift)s: from %(start)s to %(end)s. Duty phone: %(phone)s.") % {
        "unit": shift.unit.name,
        "shift": shift.name,
        "start": start.strftime("%m-%d %H:%M"),
        "end": timezone.localtime(shift.ends_at).strftime("%m-%d %H:%M"),
        "phone": shift.phone or "—",
    }
    if late_minutes >= 1:
        body += " " + _(
            "This reminder is %(minutes)d minutes late: the server was not running when it was due."
        ) % {"minutes": late_minutes}
    notification_create(
        event=EVENT,
        title=_("Your duty shift starts at %(time)s") % {"time": start.strftime("%H:%M")},
        body=body,
        urgency=Urgency.URGENT if late_minutes >= 1 else Urgency.ROUTINE,
        unit=shift.unit,
        link=reverse("duty:my-shifts"),
        params={"shift": shift.pk, "late_minutes": late_minutes},
        people=people,
    )
    return True


@on_timer(REMIND_TIMER)
def _remind(timer: Timer) -> None:
    shift = Shift.objects.select_related("unit").filter(pk=timer.payload.get("shift")).first()
    if shift is None or shift.starts_at.isoformat() != timer.payload.get("starts_at"):
        return  # deleted or moved: the sweep made the moved shift its own timer
    shift_remind(shift=shift, due_at=timer.due_at)
