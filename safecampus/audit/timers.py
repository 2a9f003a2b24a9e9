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
# The notification's event; its params hold the head (seq, hash): audit/selectors.py
# reads them back so every verification checks the heads sent so far.
EVENT = "audit_head"


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

    from .selectors import sent_heads
    from .services import audit_verify

    result = audit_verify(sent_heads())
    today = timezone.localdate()
    if result.ok:
        state = _("intact")
    elif result.truncated:
        state = _("TRUNCATED: %(reason)s") % {"reason": result.reason}
    else:
        state = _("BROKEN at entry %(seq)s: %(reason)s") % {
            "seq": result.broken_seq,
            "reason": result.reason,
        }
    notification_create(
        event=EVENT,
        title=_("Audit chain head for %(day)s") % {"day": today.isoformat()},
        body=_(
            "Entries: %(n)d. Chain: %(state)s.\nHead: %(seq)d %(head)s\nKeep this message: "
            "a trail rewritten or cut short would not hold this head. To check it, paste "
            "the line above into the audit trail page, or give it to "
            "'safecampus audit verify --heads'."
        )
        % {"n": result.checked, "state": state, "seq": result.head_seq, "head": result.head},
        urgency="routine" if result.ok else "urgent",
        people=Person.objects.filter(admin_role=AdminRole.AUDIT, is_active=True),
        params={"head": result.head, "seq": str(result.head_seq)},
    )
    schedule_next(today)
