"""A person's own shifts as an iCalendar feed (RFC 5545) behind a private, revocable link:
/duty/feed/<token>.ics. Written by the `icalendar` package (CRLF, lines folded at 75
octets, text escaped); times in UTC ('Z'); one UID per shift, stable across downloads, so
a phone calendar updates a moved shift instead of adding a second one.

Only the person's own shifts, and of each only what the person needs: the unit, the
shift, their role on it, the duty phone. No other person's name or number.
"""

import datetime as dt
import secrets

import icalendar
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from safecampus.audit.services import Actor, audit_record
from safecampus.orgs import access
from safecampus.orgs.models import Person

from .models import CalendarFeed, MemberRole, ShiftMember

# The window a feed shows: recent shifts and the months planned ahead.
PAST = dt.timedelta(days=31)
AHEAD = dt.timedelta(days=190)
PRODID = "-//safecampus//duty roster//ZH"


def feed_active(person: Person) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(person=person, revoked_at__isnull=True).first()


@transaction.atomic
def calendar_feed_create(*, person: Person) -> CalendarFeed:
    """A new private link; any link the person had stops working."""
    access.require(access.can_subscribe_shifts(person))
    now = timezone.now()
    CalendarFeed.objects.filter(person=person, revoked_at__isnull=True).update(revoked_at=now)
    return CalendarFeed.objects.create(person=person, token=secrets.token_urlsafe(32))


@transaction.atomic
def calendar_feed_revoke(*, person: Person) -> int:
    """The link stops working (answers 404)."""
    revoked = CalendarFeed.objects.filter(person=person, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        audit_record(
            action="update",
            model="duty.calendarfeed",
            object_repr=str(person),
            changes={"revoked": revoked},
            actor=Actor(id=person.pk, label=str(person)),
        )
    return revoked


def feed_by_token(token: str) -> CalendarFeed | None:
    """The active feed of this token, of an active person; None otherwise."""
    if not token or len(token) > 64:
        return None
    return (
        CalendarFeed.objects.select_related("person")
        .filter(token=token, revoked_at__isnull=True, person__is_active=True)
        .first()
    )


def feed_ics(person: Person, *, now: dt.datetime | None = None) -> bytes:
    """The person's shifts in the window, as an iCalendar document."""
    now = now or timezone.now()
    stamp = now.astimezone(dt.UTC).replace(microsecond=0)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("My duty shifts"))
    members = (
        ShiftMember.objects.filter(
            person=person, starts_at__gte=now - PAST, starts_at__lt=now + AHEAD
        )
        .select_related("shift", "shift__unit")
        .order_by("starts_at")
    )
    for m in members:
        shift = m.shift
        role = _("Leader on duty") if m.role == MemberRole.LEADER else _("Duty staff")
        event = icalendar.Event()
        event.add("uid", f"duty-shift-{shift.pk}-{person.pk}@safecampus")
        event.add("dtstamp", stamp)
        event.add("dtstart", shift.starts_at.astimezone(dt.UTC))
        event.add("dtend", shift.ends_at.astimezone(dt.UTC))
        event.add("summary", f"{shift.unit.name} {shift.name} ({role})")
        event.add("location", shift.unit.name)
        lines = [f"{_('Role')}: {role}"]
        if shift.phone:
            lines.append(f"{_('Duty phone')}: {shift.phone}")
        event.add("description", "\n".join(lines))
        if shift.created_at:
            event.add("last-modified", shift.created_at.astimezone(dt.UTC).replace(microsecond=0))
        cal.add_component(event)
    return cal.to_ical()
