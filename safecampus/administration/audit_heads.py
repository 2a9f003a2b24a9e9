"""Every day, the audit administrators receive the chain head (sequence and hash).

Copies held outside the database — their inbox, their email — are what a
rewritten history would contradict, including a trail cut short at its end.
Every verification (the audit trail page, `safecampus audit verify`) checks the
heads sent so far (`sent_heads`) besides those it is given.

Here, above audit: the head goes to people by their administrator role (orgs)
through notify's outbox on a worker timer, none of which audit may know.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import RecordedHead, audit_verify
from safecampus.notify.models import Notification
from safecampus.notify.services import notification_create
from safecampus.orgs.models import AdminRole, Person
from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, on_worker_start, timer_schedule

KIND = "audit.daily_head"
# The notification's event; its params hold the head (seq, hash): sent_heads() below
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


# --- The heads sent so far, read back for every verification ---------------------------


@dataclass(frozen=True)
class SentHead:
    day: dt.date
    seq: int
    hash: str


def _sent_messages():  # type: ignore[no-untyped-def]
    return Notification.objects.filter(event=EVENT).order_by("-created_at", "-pk")


def _sent(params: dict, created_at: dt.datetime) -> SentHead | None:
    head = str(params.get("head", "")).lower()
    seq = str(params.get("seq", ""))
    if not seq.isdigit() or len(head) != 64:
        return None
    return SentHead(timezone.localdate(created_at), int(seq), head)


def last_sent_heads(n: int = 3) -> list[SentHead]:
    """The heads most recently sent to the audit administrators, newest first."""
    rows = _sent_messages().values_list("params", "created_at")[:n]
    return [head for params, at in rows if (head := _sent(params, at)) is not None]


def sent_heads() -> list[RecordedHead]:
    """Every head sent to the audit administrators that is still in the outbox, for
    verification. The message in their inboxes and e-mail is the record outside the
    database; the outbox copy lets each verification check them all by itself."""
    heads = []
    for params, at in _sent_messages().values_list("params", "created_at").iterator():
        head = _sent(params, at)
        if head is not None and head.seq > 0:
            heads.append(
                RecordedHead(
                    seq=head.seq,
                    hash=head.hash,
                    source=_("the daily message of %(day)s") % {"day": head.day.isoformat()},
                )
            )
    return heads
