"""查岗: the level above pings whoever is on duty at a unit, who answers with one tap.

- Sent by a manager of a unit above (orgs.access.can_spot_check), to one unit or to a
  random sample of the units in a subtree (one batch id).
- Each person pinged gets an urgent notification through their channels with a link of
  their own (/duty/spot/<token>/: signed, for this check and this person only, usable
  without logging in), and the check shows a button on their pages.
- Answered within DutySettings.spot_check_minutes (default 5): on time; after: late; a
  second answer changes nothing (a conditional update). At the limit the worker records
  an unanswered check as missed (a timer: if the worker was down it fires when it is back,
  and missed_at - due_at says how late).
- Nobody on duty: the check goes to the fallback (the unit's head, then its safety
  officer) and has no shift: the record says it went to the fallback.
"""

import datetime as dt
import secrets
import uuid
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import Actor, audit_record
from safecampus.notify.models import Delivery, Urgency
from safecampus.notify.services import notification_create
from safecampus.orgs import access
from safecampus.orgs.models import Person, Unit
from safecampus.worker.models import Timer
from safecampus.worker.timers import on_timer, timer_schedule

from . import selectors
from .models import DutySettings, SpotCheck

EVENT = "duty_spot_check"
EVENT_MISSED = "duty_spot_check_missed"
LIMIT_TIMER = "duty.spot_check_limit"
DEFAULT_MINUTES = 5
MAX_SAMPLE = 200
_SALT = "safecampus.duty.spot-answer"  # a token signed for this and nothing else


# --- Tokens ------------------------------------------------------------------------------


def answer_token(check: SpotCheck, person: Person) -> str:
    """The one-tap link's token: this check, this person; nothing else accepts it."""
    return signing.Signer(salt=_SALT).sign(f"{check.token}.{person.pk}")


def from_token(token: str) -> tuple[SpotCheck, Person] | None:
    """The check and the person a token was made for; None for anything else."""
    try:
        value = signing.Signer(salt=_SALT).unsign(token)
        check_token, person_pk = value.rsplit(".", 1)
        check = SpotCheck.objects.select_related("unit", "shift").get(token=check_token)
        person = Person.objects.get(pk=int(person_pk), is_active=True)
    except (signing.BadSignature, ValueError, SpotCheck.DoesNotExist, Person.DoesNotExist):
        return None
    return check, person


def answer_url(check: SpotCheck, person: Person) -> str:
    return reverse("duty:spot-answer", kwargs={"token": answer_token(check, person)})


def was_sent_to(check: SpotCheck, person: Any) -> bool:
    """The check was addressed to this person (their answer counts)."""
    return Delivery.objects.filter(
        person_id=getattr(person, "pk", None),
        notification__event=EVENT,
        notification__params__spot_check=check.pk,
    ).exists()


# --- Sending -----------------------------------------------------------------------------


def limit_minutes(unit: Unit) -> int:
    settings_ = DutySettings.objects.filter(unit=unit).first()
    return settings_.spot_check_minutes if settings_ else DEFAULT_MINUTES


def _send_one(*, by: Person, unit: Unit, now: dt.datetime, batch: uuid.UUID | None) -> SpotCheck:
    duty = selectors.people_on_call(unit, now)
    check = SpotCheck.objects.create(
        unit=unit,
        shift_id=duty.shift_id,
        batch=batch,
        sent_by=by,
        sent_at=now,
        due_at=now + dt.timedelta(minutes=limit_minutes(unit)),
        token=secrets.token_urlsafe(32),
    )
    minutes = limit_minutes(unit)
    for person in duty.people:
        notification_create(
            event=EVENT,
            title=_("Spot check: %(unit)s, answer within %(minutes)d minutes")
            % {"unit": unit.name, "minutes": minutes},
            body=(
                _("%(sender)s checks who is on duty at %(unit)s. Tap the link to answer.")
                if not duty.fallback
                else _(
                    "%(sender)s checks who is on duty at %(unit)s. Nobody is on duty now: "
                    "you are asked as the unit's fallback. Tap the link to answer."
                )
            )
            % {"sender": by.name, "unit": unit.name},
            urgency=Urgency.URGENT,
            unit=unit,
            sender=by,
            link=answer_url(check, person),
            params={"spot_check": check.pk, "fallback": duty.fallback},
            people=[person],
        )
    timer_schedule(
        kind=LIMIT_TIMER,
        key=f"duty:spot:{check.pk}",
        due_at=check.due_at,
        payload={"spot_check": check.pk},
    )
    return check


@transaction.atomic
def spot_check_send(*, by: Person, unit: Unit) -> SpotCheck:
    """Ping whoever is on duty at `unit` now (or its fallback)."""
    access.require(access.can_spot_check(by, unit))
    if unit.is_archived:
        raise ValidationError({"unit": _("This unit is archived.")})
    return _send_one(by=by, unit=unit, now=timezone.now(), batch=None)


@transaction.atomic
def spot_check_send_batch(*, by: Person, root: Unit, sample: int) -> list[SpotCheck]:
    """Ping a random sample of `sample` units under `root` (not `root` itself)."""
    access.require(access.can_spot_check(by, root) or access.runs(by, root))
    if not 1 <= sample <= MAX_SAMPLE:
        raise ValidationError(
            {"sample": _("Choose between 1 and %(max)d units.") % {"max": MAX_SAMPLE}}
        )
    candidates = list(
        Unit.objects.filter(access.subtree(root.path), archived_at__isnull=True)
        .exclude(pk=root.pk)
        .values_list("pk", flat=True)
    )
    if not candidates:
        raise ValidationError({"root": _("There is no unit under this one to check.")})
    chosen = secrets.SystemRandom().sample(candidates, min(sample, len(candidates)))
    batch = uuid.uuid4()
    now = timezone.now()
    units = Unit.objects.filter(pk__in=chosen).order_by("path")
    return [_send_one(by=by, unit=u, now=now, batch=batch) for u in units]


# --- Answering ---------------------------------------------------------------------------


@transaction.atomic
def spot_check_answer(*, check: SpotCheck, by: Person) -> SpotCheck:
    """Record the answer: the first one counts (on time or late), a second changes nothing.
    An answer after the worker recorded a miss still counts, as late."""
    if not was_sent_to(check, by):
        raise ValidationError(_("This spot check was not sent to you."))
    now = timezone.now()
    if SpotCheck.objects.filter(pk=check.pk, answered_at__isnull=True).update(
        answered_at=now, answered_by=by
    ):
        audit_record(
            action="update",
            model="duty.spotcheck",
            object_id=check.pk,
            object_repr=str(check),
            changes={"answered_at": now, "answered_by": by.pk, "late": now > check.due_at},
            actor=Actor(id=by.pk, label=str(by)),
        )
    check.refresh_from_db()
    return check


@transaction.atomic
def spot_check_limit_passed(*, check: SpotCheck) -> bool:
    """The worker at the limit: an unanswered check is recorded as missed (once), and its
    sender is told."""
    now = timezone.now()
    marked = SpotCheck.objects.filter(
        pk=check.pk, answered_at__isnull=True, missed_at__isnull=True
    ).update(missed_at=now)
    if not marked:
        return False
    audit_record(
        action="update",
        model="duty.spotcheck",
        object_id=check.pk,
        object_repr=str(check),
        changes={"missed_at": now, "late_ms": int((now - check.due_at).total_seconds() * 1000)},
    )
    notification_create(
        event=EVENT_MISSED,
        title=_("Spot check missed: %(unit)s") % {"unit": check.unit.name},
        body=_("Nobody answered the spot check sent at %(sent)s within the limit.")
        % {"sent": timezone.localtime(check.sent_at).strftime("%Y-%m-%d %H:%M")},
        unit=check.unit,
        link=reverse("duty:spot-checks", kwargs={"pk": check.unit_id}),
        params={"spot_check": check.pk},
        people=[check.sent_by],
        inbox_only=True,
    )
    return True


@on_timer(LIMIT_TIMER)
def _limit_timer(timer: Timer) -> None:
    check = SpotCheck.objects.select_related("unit", "sent_by").filter(
        pk=timer.payload.get("spot_check")
    )
    found = check.first()
    if found is not None:
        spot_check_limit_passed(check=found)


# --- Reading -----------------------------------------------------------------------------


class Outcome:
    ON_TIME = "on_time"
    LATE = "late"
    MISSED = "missed"
    WAITING = "waiting"


def outcome(check: SpotCheck, now: dt.datetime | None = None) -> str:
    if check.answered_at is not None:
        return Outcome.LATE if check.answered_at > check.due_at else Outcome.ON_TIME
    if check.missed_at is not None or (now or timezone.now()) > check.due_at:
        return Outcome.MISSED
    return Outcome.WAITING


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    first = month.replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(first, dt.time(), tzinfo=tz),
        dt.datetime.combine(after, dt.time(), tzinfo=tz),
    )


def spot_checks_visible(user: Any) -> QuerySet[SpotCheck]:
    """Spot checks of the units whose business the user runs (see can_see_spot_checks)."""
    paths = access.business_paths(user)
    if not paths:
        return SpotCheck.objects.none()
    q = Q()
    for p in paths:
        q |= access.subtree(p, "unit__path")
    return SpotCheck.objects.filter(q)


def spot_checks_of(user: Any, *, unit: Unit, month: dt.date) -> QuerySet[SpotCheck]:
    """The checks of `unit`'s subtree sent in `month`, newest first."""
    start, end = month_bounds(month)
    return (
        spot_checks_visible(user)
        .filter(access.subtree(unit.path, "unit__path"), sent_at__gte=start, sent_at__lt=end)
        .select_related("unit", "shift", "sent_by", "answered_by")
        .order_by("-sent_at")
    )


def spot_check_tally(user: Any, *, unit: Unit, month: dt.date) -> list[dict[str, Any]]:
    """Per unit of `unit`'s subtree, the month's checks: on time, late, missed, waiting
    (one query, counted in SQL)."""
    now = timezone.now()
    from django.db.models import F

    answered = Q(answered_at__isnull=False)
    rows = (
        spot_checks_of(user, unit=unit, month=month)
        .order_by()
        .values("unit_id", "unit__name", "unit__path")
        .annotate(
            sent=Count("pk"),
            on_time=Count("pk", filter=answered & Q(answered_at__lte=F("due_at"))),
            late=Count("pk", filter=answered & Q(answered_at__gt=F("due_at"))),
            missed=Count(
                "pk",
                filter=Q(answered_at__isnull=True)
                & (Q(missed_at__isnull=False) | Q(due_at__lt=now)),
            ),
            fallback=Count("pk", filter=Q(shift__isnull=True)),
        )
        .order_by("unit__path")
    )
    return [
        {
            "unit_id": r["unit_id"],
            "unit": r["unit__name"],
            "sent": r["sent"],
            "on_time": r["on_time"],
            "late": r["late"],
            "missed": r["missed"],
            "waiting": r["sent"] - r["on_time"] - r["late"] - r["missed"],
            "fallback": r["fallback"],
        }
        for r in rows
    ]


def spot_checks_waiting_for(person: Any) -> QuerySet[SpotCheck]:
    """Checks sent to this person, still open (the button on their pages)."""
    ids = Delivery.objects.filter(
        person_id=getattr(person, "pk", None),
        notification__event=EVENT,
        notification__created_at__gte=timezone.now() - dt.timedelta(hours=12),
    ).values_list("notification__params__spot_check", flat=True)
    return SpotCheck.objects.filter(
        pk__in=[i for i in ids if i],
        answered_at__isnull=True,
        due_at__gt=timezone.now() - dt.timedelta(hours=12),
    ).select_related("unit")


def lateness(check: SpotCheck) -> dt.timedelta | None:
    """How late the worker recorded the miss (it was down at the limit)."""
    if check.missed_at is None:
        return None
    return check.missed_at - check.due_at


# --- The demo district --------------------------------------------------------------------------


def spot_check_demo_missed(*, by: Person, unit: Unit, at: dt.datetime) -> SpotCheck:
    """A spot check sent at `at` that nobody answered, as the worker records it: for the demo
    district (safecampus/demo calls it), so the list shows a miss."""
    duty = selectors.people_on_call(unit, at)
    due = at + dt.timedelta(minutes=limit_minutes(unit))
    return SpotCheck.objects.create(
        unit=unit,
        shift_id=duty.shift_id,
        sent_by=by,
        sent_at=at,
        due_at=due,
        token=secrets.token_urlsafe(32),
        missed_at=due + dt.timedelta(seconds=2),
    )
