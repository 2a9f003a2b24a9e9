"""Writing notifications to the outbox, and what happens to a delivery after each try.

notification_create() runs in the caller's transaction: a rolled-back change
sends nothing, a committed one is always delivered (by the worker).
"""

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.orgs import access
from safecampus.orgs.models import AdminRole, Person, Unit, mask_mobiles_in

from .models import (
    CHANNEL_KINDS,
    Attempt,
    Channel,
    ContactPreference,
    Delivery,
    DeliveryStatus,
    Notification,
    Transport,
    Urgency,
    priority_of,
)
from .transports import transport_class

# --- Preferences and quiet hours ------------------------------------------------------


def preference_of(person: Person) -> ContactPreference:
    try:
        return person.contact
    except ContactPreference.DoesNotExist:
        return ContactPreference(person=person)


def quiet_until(pref: ContactPreference, now: dt.datetime) -> dt.datetime | None:
    """The end of the person's quiet hours if `now` falls inside them, else None."""
    start, end = pref.quiet_start, pref.quiet_end
    if start is None or end is None or start == end:
        return None
    local = timezone.localtime(now)
    t = local.time()
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(end_day, end), local.tzinfo)


def address_for(person: Person, transport: str) -> str:
    if transport == Transport.EMAIL:
        return person.email or ""
    if transport == Transport.SMS:
        return person.mobile or ""
    return ""


def transport_enabled(transport: str) -> bool:
    """SMS needs a configured provider; without one it is not tried (nor failed)."""
    return transport != Transport.SMS or bool(settings.SMS_PROVIDER)


# People whose contact preferences are read by one query (SQLite: at most 999 values).
PREFERENCES_CHUNK = 500


def preferences_of(people: Sequence[Person]) -> dict[int, ContactPreference]:
    """preference_of for many people at once: a query for each 500 of them (a province's
    order reaches 40,000), not one each."""
    found: dict[int, ContactPreference] = {}
    ids = [p.pk for p in people]
    for i in range(0, len(ids), PREFERENCES_CHUNK):
        found.update(
            (pref.person_id, pref)
            for pref in ContactPreference.objects.filter(
                person_id__in=ids[i : i + PREFERENCES_CHUNK]
            )
        )
    return {p.pk: found.get(p.pk) or ContactPreference(person=p) for p in people}


def _person_transports(person: Person, pref: ContactPreference | None = None) -> list[str]:
    """The person's external channels in order, keeping those with an address."""
    return [
        t
        for t in (pref or preference_of(person)).transports
        if address_for(person, t) and transport_enabled(t)
    ]


def reachable_outside_app(person: Person) -> bool:
    """The person has a channel beyond the in-app inbox (an address on an enabled one)."""
    return bool(_person_transports(person))


@transaction.atomic
def preference_update(
    *,
    by: Person,
    person: Person,
    order: Sequence[str],
    quiet_start: dt.time | None,
    quiet_end: dt.time | None,
) -> ContactPreference:
    access.require(by.pk == person.pk)
    unknown = [t for t in order if t not in (Transport.EMAIL, Transport.SMS)]
    if unknown:
        raise ValidationError({"order": _("Unknown channel.")})
    if (quiet_start is None) != (quiet_end is None):
        raise ValidationError({"quiet_end": _("Give both ends of the quiet hours, or neither.")})
    pref = preference_of(person)
    pref.order = ",".join(dict.fromkeys(order))
    pref.quiet_start, pref.quiet_end = quiet_start, quiet_end
    pref.save()
    return pref


# --- Writing to the outbox -------------------------------------------------------------


# Outbox rows written by one INSERT (each ~18 values: well under a statement's limit).
DELIVERIES_BATCH = 1000


def _queued(
    notification: Notification,
    *,
    transport: str,
    person: Person | None = None,
    channel: Channel | None = None,
    address: str = "",
    at: dt.datetime,
    fallback_from: Delivery | None = None,
) -> Delivery:
    """A queued delivery, not saved yet."""
    return Delivery(
        notification=notification,
        person=person,
        channel=channel,
        transport=transport,
        address=address,
        next_attempt_at=at,
        fallback_from=fallback_from,
        priority=priority_of(notification.urgency),
    )


def _for_person(
    notification: Notification,
    person: Person,
    now: dt.datetime,
    transports: list[str] | None = None,
    fallback_from: Delivery | None = None,
    pref: ContactPreference | None = None,
) -> Delivery | None:
    """The first external channel of the person (not saved yet); routine messages wait
    out quiet hours. `pref`: the person's preference, when the caller has read it."""
    if transports is None:
        pref = pref or preference_of(person)
        transports = _person_transports(person, pref)
    if not transports:
        return None
    transport = transports[0]
    at = now
    if notification.urgency == Urgency.ROUTINE:
        at = quiet_until(pref or preference_of(person), now) or now
    return _queued(
        notification,
        transport=transport,
        person=person,
        address=address_for(person, transport),
        at=at,
        fallback_from=fallback_from,
    )


def _queue_for_person(
    notification: Notification,
    person: Person,
    now: dt.datetime,
    transports: list[str] | None = None,
    fallback_from: Delivery | None = None,
) -> Delivery | None:
    delivery = _for_person(notification, person, now, transports, fallback_from)
    if delivery is not None:
        delivery.save()
    return delivery


def notification_create(
    *,
    event: str,
    title: str,
    body: str,
    urgency: str = Urgency.ROUTINE,
    requires_ack: bool = False,
    unit: Unit | None = None,
    sender: Person | None = None,
    link: str = "",
    params: dict[str, Any] | None = None,
    people: Iterable[Person] = (),
    channels: Iterable[Channel] = (),
    inbox_only: bool = False,
) -> Notification:
    """Write a notification and its deliveries in the caller's transaction.

    Each person gets it in the in-app inbox (at once) and on their first
    external channel; each channel (a unit's robot) gets it once. The people's
    preferences are read 500 at a time and the deliveries written in batches, in
    the same order as one by one: an order to a province is 40,000 people
    (bench/levels_scale.py).
    """
    now = timezone.now()
    unique: dict[int, Person] = {}
    for person in people:
        if person.is_active:
            unique.setdefault(person.pk, person)
    reached = list(unique.values())
    with transaction.atomic():
        prefs = {} if inbox_only else preferences_of(reached)
        notification = Notification.objects.create(
            event=event,
            title=title[:200],
            body=body,
            urgency=urgency,
            requires_ack=requires_ack,
            unit=unit,
            sender=sender,
            link=link,
            params=params or {},
        )
        rows: list[Delivery] = []
        for person in reached:
            rows.append(
                Delivery(
                    notification=notification,
                    person=person,
                    transport=Transport.INBOX,
                    status=DeliveryStatus.SENT,
                    next_attempt_at=now,
                    sent_at=now,
                )
            )
            if not inbox_only:
                queued = _for_person(notification, person, now, pref=prefs[person.pk])
                if queued is not None:
                    rows.append(queued)
        rows.extend(
            _queued(notification, transport=channel.kind, channel=channel, at=now)
            for channel in {c.pk: c for c in channels}.values()
            if channel.enabled
        )
        Delivery.objects.bulk_create(rows, batch_size=DELIVERIES_BATCH)
    return notification


def office_people(unit: Unit) -> list[Person]:
    """Who is told about a unit's business: its office contact, else its head."""
    people = [p for p in (unit.office_contact, unit.head) if p is not None]
    return people[:1]


# --- After a try ---------------------------------------------------------------------


def backoff(attempts: int) -> dt.timedelta | None:
    """Wait before the next try after `attempts` failures; None when tries are used up."""
    steps = settings.NOTIFY_BACKOFF
    if attempts > len(steps):
        return None
    return dt.timedelta(seconds=steps[attempts - 1])


@transaction.atomic
def delivery_record(
    *,
    delivery: Delivery,
    ok: bool,
    error: str = "",
    permanent: bool = False,
    duration_ms: int = 0,
    worker: str = "",
    claim_token: str = "",
    attempt: Attempt | None = None,
) -> str:
    """Record what a try answered; decide what comes next. Returns the new status.

    `attempt`: the Attempt the worker recorded (and counted in `delivery.attempts`)
    right before the request; its result is written into it whatever happens. Without
    one, the try is recorded now.

    Only the holder of the claim decides what comes next: a worker whose lease ran out
    and whose delivery another worker took over changes nothing on the delivery
    ("lost"). One conditional UPDATE of the fields a try changes (no whole-row save: a
    read or an acknowledgement recorded meanwhile is kept).
    """
    now = timezone.now()
    # A gateway's answer often names the number ("+8613900006054 is incorrect"), and the
    # error is shown to the sender and sent to the office: the number is on the delivery.
    error = mask_mobiles_in(error)[:500]
    if attempt is None:
        delivery.attempts += 1
        Attempt.objects.create(
            delivery=delivery,
            channel_id=delivery.channel_id,
            at=now,
            ok=ok,
            error=error,
            duration_ms=duration_ms,
            worker=worker[:100],
            claim_token=claim_token,
        )
    else:
        Attempt.objects.filter(pk=attempt.pk).update(ok=ok, error=error, duration_ms=duration_ms)
    attempts = delivery.attempts
    wait = None if ok or permanent else backoff(attempts)
    slow = False
    if not ok and not permanent and wait is None and not _given_up(delivery, now):
        # The back-off is used up but the channel may come back: keep trying, slowly.
        wait, slow = dt.timedelta(seconds=settings.NOTIFY_SLOW_RETRY), True
    if ok:
        status, changes = DeliveryStatus.SENT, {"sent_at": now, "last_error": ""}
    elif wait is not None:
        status = DeliveryStatus.QUEUED
        changes = {"next_attempt_at": now + wait, "last_error": error}
    else:
        status, changes = DeliveryStatus.FAILED, {"last_error": error}
    rows = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.QUEUED)
    if claim_token:
        rows = rows.filter(claim_token=claim_token)
    fields = {"status": status, "attempts": attempts, "claim_token": "", "claimed_until": None}
    if rows.update(**fields, **changes) != 1:
        return "lost"
    for name, value in {**fields, **changes}.items():
        setattr(delivery, name, value)
    if slow and attempts == len(settings.NOTIFY_BACKOFF) + 1:
        _fall_back(delivery, now)  # once, when the back-off runs out; this one keeps trying
    if status == DeliveryStatus.FAILED:
        _after_failure(delivery, now)
    return status


def give_up_after() -> dt.timedelta:
    """How long a message is retried on a channel that is down (the administrator's setting)."""
    from .models import DeliverySettings

    row = DeliverySettings.objects.first()
    hours = row.give_up_after_hours if row and row.give_up_after_hours else None
    return dt.timedelta(hours=hours or settings.NOTIFY_GIVE_UP_AFTER)


def _given_up(delivery: Delivery, now: dt.datetime) -> bool:
    first = (
        Attempt.objects.filter(delivery=delivery)
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )
    return first is not None and now - first >= give_up_after()


def _fall_back(delivery: Delivery, now: dt.datetime) -> bool:
    """Queue the message on the person's next channel not tried yet; False when none is left."""
    if delivery.person_id is None or delivery.transport == Transport.INBOX:
        return False
    notification = delivery.notification
    tried = set(
        Delivery.objects.filter(notification=notification, person=delivery.person).values_list(
            "transport", flat=True
        )
    )
    remaining = [t for t in _person_transports(delivery.person) if t not in tried]
    return bool(
        remaining
        and _queue_for_person(
            notification, delivery.person, now, transports=remaining, fallback_from=delivery
        )
    )


def failure_contacts(unit: Unit | None, *, not_: Person | None = None) -> list[Person]:
    """Who is told that a message could not be delivered: someone who can act on it,
    never the person it failed to reach — the unit's office contact, else its head,
    else the system administrators."""
    for person in (unit.office_contact, unit.head) if unit is not None else ():
        if person is not None and person.is_active and person != not_:
            return [person]
    admins = Person.objects.filter(admin_role=AdminRole.SYSTEM, is_active=True)
    if not_ is not None:
        admins = admins.exclude(pk=not_.pk)
    return list(admins.order_by("pk"))


def _after_failure(delivery: Delivery, now: dt.datetime) -> None:
    """Fall back to the person's next channel; when none is left, tell someone who can act."""
    notification = delivery.notification
    if _fall_back(delivery, now):
        return
    if notification.event == "delivery_failed":
        return  # never a chain of failure reports
    unit = delivery.channel.unit if delivery.channel_id else notification.unit
    target = delivery.channel.name if delivery.channel_id else str(delivery.person)
    people = failure_contacts(unit, not_=delivery.person)
    if not people:
        return
    notification_create(
        event="delivery_failed",
        title=_("A message could not be delivered"),
        body=_("“%(title)s” to %(target)s by %(channel)s failed after %(n)d tries: %(error)s")
        % {
            "title": notification.title,
            "target": target,
            "channel": delivery.get_transport_display(),
            "n": delivery.attempts,
            "error": delivery.last_error,
        },
        urgency=Urgency.URGENT,
        unit=unit,
        people=people,
        inbox_only=True,
        link=f"/notify/notifications/{notification.pk}/",
    )


# --- Acknowledgement ---------------------------------------------------------------------


# Apps that act when one of their messages is acknowledged: event → handler(delivery).
ACK_HANDLERS: dict[str, Callable[[Delivery], None]] = {}


def on_acknowledge(
    event: str,
) -> Callable[[Callable[[Delivery], None]], Callable[[Delivery], None]]:
    def register(fn: Callable[[Delivery], None]) -> Callable[[Delivery], None]:
        ACK_HANDLERS[event] = fn
        return fn

    return register


@transaction.atomic
def delivery_acknowledge(*, delivery: Delivery) -> Delivery:
    """Acknowledge a message (a button in the app, or the link in the message)."""
    if delivery.acknowledged_at is None:
        now = timezone.now()
        # Acknowledging on one channel acknowledges the message for that recipient.
        same = Delivery.objects.filter(
            notification=delivery.notification, acknowledged_at__isnull=True
        )
        if delivery.person_id:
            same = same.filter(person=delivery.person)
        elif delivery.channel_id:
            same = same.filter(channel=delivery.channel)
        same.update(acknowledged_at=now)
        delivery.acknowledged_at = now
        handler = ACK_HANDLERS.get(delivery.notification.event)
        if handler is not None:
            handler(delivery)
    return delivery


def delivery_read(*, delivery: Delivery) -> None:
    if delivery.read_at is None:
        Delivery.objects.filter(pk=delivery.pk, read_at__isnull=True).update(read_at=timezone.now())


# --- Channels -----------------------------------------------------------------------------


def _clean_channel(kind: str, name: str, config: dict[str, Any]) -> dict[str, Any]:
    if kind not in [k.value for k in CHANNEL_KINDS]:
        raise ValidationError({"kind": _("Unknown kind of channel.")})
    if not name.strip():
        raise ValidationError({"name": _("Give the channel a name.")})
    return transport_class(kind).validate(config)


@transaction.atomic
def channel_create(
    *, by: Person, unit: Unit, kind: str, name: str, config: dict[str, Any]
) -> Channel:
    access.require(access.can_connect_robots(by, unit))
    config = _clean_channel(kind, name, config)
    return Channel.objects.create(unit=unit, kind=kind, name=name.strip(), config=config)


@transaction.atomic
def channel_update(
    *, by: Person, channel: Channel, name: str, config: dict[str, Any], enabled: bool = True
) -> Channel:
    access.require(access.can_connect_robots(by, channel.unit))
    channel.config = _clean_channel(channel.kind, name, config)
    channel.name = name.strip()
    channel.enabled = enabled
    channel.save()
    return channel


@transaction.atomic
def channel_test(*, by: Person, channel: Channel) -> Delivery:
    """One click: a test message to the robot; its delivery shows whether it arrived."""
    access.require(access.can_connect_robots(by, channel.unit))
    notification = notification_create(
        event="test",
        title=_("Test message from Safe Campus"),
        body=_("%(name)s connected this robot to %(unit)s. If you can read this, it works.")
        % {"name": by.name, "unit": channel.unit.name},
        urgency=Urgency.URGENT,
        unit=channel.unit,
        sender=by,
        channels=[channel],
    )
    return notification.deliveries.get(channel=channel)


# --- Settings of the system administrator ---------------------------------------------------


@transaction.atomic
def delivery_settings_set(*, by: Person, give_up_after_hours: int) -> Any:
    from .models import DeliverySettings

    access.require(access.can_manage_accounts(by))
    if not 1 <= give_up_after_hours <= 24 * 30:
        raise ValidationError({"give_up_after_hours": _("Between 1 hour and 30 days (720 hours).")})
    row = DeliverySettings.objects.first() or DeliverySettings()
    row.give_up_after_hours = give_up_after_hours
    row.save()
    return row


@transaction.atomic
def sms_template_set(*, by: Person, event: str, template_id: str, params: str) -> Any:
    from .models import SmsTemplate

    access.require(access.can_manage_accounts(by))
    names = [p.strip() for p in params.split(",") if p.strip()]
    template, _created = SmsTemplate.objects.update_or_create(
        event=event.strip(),
        defaults={"template_id": template_id.strip(), "params": ",".join(names)},
    )
    return template


@transaction.atomic
def allowed_network_add(*, by: Person, cidr: str, note: str = "") -> Any:
    import ipaddress

    from .models import AllowedNetwork

    access.require(access.can_manage_accounts(by))
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise ValidationError({"cidr": _("Not an address range (e.g. 10.20.0.0/16).")}) from None
    if network.prefixlen == 0:
        raise ValidationError({"cidr": _("Allowing every address defeats the check.")})
    return AllowedNetwork.objects.get_or_create(cidr=str(network), defaults={"note": note})[0]


@transaction.atomic
def allowed_network_remove(*, by: Person, pk: int) -> None:
    from .models import AllowedNetwork

    access.require(access.can_manage_accounts(by))
    AllowedNetwork.objects.filter(pk=pk).delete()
