"""Every day, the audit administrators receive the chain head (sequence and hash).

Copies held outside the database — their inbox, their email — are what a
rewritten history would contradict, including a trail cut short at its end.
"""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, on_worker_start, timer_schedule

KIND = "audit.daily_head"


def schedule_next(after: dt.date) -> Timer:
    day = after + dt.timedelta(days=1)
    return timer_schedule(
        kind=KIND,
        key=f"audit:daily-head:{day.isoformat()}",
        due_at=timezone.make_aware(dt.datetime.combine(day, dt.time(0, 5))),
    )


@on_worker_start
def ensure_scheduled() -> None:
    """A worker starting makes sure the next daily message is scheduled."""
    if not Timer.objects.filter(kind=KIND, fired_at__isnull=True).exists():
        schedule_next(
            timezone.localdate() - dt.timedelta(days=1)
            if timezone.localtime().time() < dt.time(0, 5)
            else timezone.localdate()
        )


@on_timer(KIND)
def daily_head(timer: Timer) -> None:
    from safecampus.notify.services import notification_create
    from safecampus.orgs.models import AdminRole, Person

    from .services import audit_verify

    result = audit_verify()
    today = timezone.localdate()
    state = (
        _("intact")
        if result.ok
        else _("BROKEN at entry %(seq)s: %(reason)s")
        % {"seq": result.broken_seq, "reason": result.reason}
    )
    notification_create(
        event="audit_head",
        title=_("Audit chain head for %(day)s") % {"day": today.isoformat()},
        body=_(
            "Entries: %(n)d. Chain: %(state)s.\nHead: %(head)s\nKeep this message: a "
            "rewritten audit trail would not end in this hash."
        )
        % {"n": result.checked, "state": state, "head": result.head},
        urgency="routine" if result.ok else "urgent",
        people=Person.objects.filter(admin_role=AdminRole.AUDIT, is_active=True),
        params={"head": result.head, "seq": str(result.checked)},
    )
    schedule_next(today)
