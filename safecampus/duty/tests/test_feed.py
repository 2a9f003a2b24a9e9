"""The iCalendar feed: a person's own shifts, valid RFC 5545 (parsed back by the
`icalendar` package; CRLF, lines of at most 75 octets, UTC times, a UID per shift that
stays), behind a private link that a new link or a revocation ends (404)."""

import datetime as dt

import icalendar
import time_machine
from django.test import Client
from django.urls import reverse

from safecampus.duty import feeds
from safecampus.duty.models import CalendarFeed

from .edge_base import NOON, DutyCase


class FeedTests(DutyCase):
    def fetch(self, token: str, at: dt.datetime = NOON) -> tuple[int, bytes]:
        with time_machine.travel(at, tick=False):
            response = Client().get(reverse("duty:feed", kwargs={"token": token}))
        return response.status_code, response.content

    def test_the_feed_parses_and_holds_only_my_shifts(self) -> None:
        feed = feeds.calendar_feed_create(person=self.duty_b)
        status, body = self.fetch(feed.token)
        self.assertEqual(status, 200)
        cal = icalendar.Calendar.from_ical(body)
        events = list(cal.walk("VEVENT"))
        self.assertEqual(len(events), 1)
        (event,) = events
        self.assertEqual(event.decoded("dtstart"), self.shift_b.starts_at)
        self.assertEqual(event.decoded("dtend"), self.shift_b.ends_at)
        self.assertIn("西山小学", str(event["summary"]))
        self.assertIn("0571-8888", str(event["description"]))
        # Nobody else's name: the leader on the same shift is not in my feed.
        self.assertNotIn(self.leader_b.name, body.decode())
        for required in ("uid", "dtstamp"):
            self.assertIn(required, event)
        # A principal of another school has no shift: an empty calendar, still valid.
        other = feeds.calendar_feed_create(person=self.principal_a)
        _, body_a = self.fetch(other.token)
        self.assertEqual(list(icalendar.Calendar.from_ical(body_a).walk("VEVENT")), [])

    def test_rfc5545_lines_crlf_folded_utc_and_the_uid_stays(self) -> None:
        self.shift_b.name = "白班（含节假日值守，负责校门口、教学楼、宿舍区、食堂与操场巡查）; a, b"
        self.shift_b.save()
        feed = feeds.calendar_feed_create(person=self.duty_b)
        _, first = self.fetch(feed.token)
        self.assertTrue(first.endswith(b"\r\n"))
        lines = first.split(b"\r\n")
        self.assertNotIn(b"\n", b"".join(lines))  # no bare LF
        self.assertLessEqual(max(len(line) for line in lines), 75)
        self.assertTrue(any(line.startswith(b" ") for line in lines))  # folded
        self.assertIn(b"\\;", first)  # escaped
        self.assertRegex(first.decode(), r"DTSTART:20261124T000000Z")
        _, second = self.fetch(feed.token, NOON + dt.timedelta(hours=1))
        uid = [line for line in lines if line.startswith(b"UID:")]
        self.assertEqual(uid, [line for line in second.split(b"\r\n") if line.startswith(b"UID:")])

    def test_revoked_or_replaced_link_answers_404(self) -> None:
        old = feeds.calendar_feed_create(person=self.duty_b)
        new = feeds.calendar_feed_create(person=self.duty_b)
        self.assertEqual(self.fetch(old.token)[0], 404)
        self.assertEqual(self.fetch(new.token)[0], 200)
        feeds.calendar_feed_revoke(person=self.duty_b)
        self.assertEqual(self.fetch(new.token)[0], 404)
        self.assertEqual(self.fetch("not-a-token")[0], 404)
        # An account that was switched off: its link stops too.
        live = feeds.calendar_feed_create(person=self.duty_b)
        self.duty_b.is_active = False
        self.duty_b.save()
        self.assertEqual(self.fetch(live.token)[0], 404)

    def test_the_page_creates_revokes_and_shows_my_link(self) -> None:
        client = self.client_for(self.duty_b)
        client.post(reverse("duty:feed-page"), {"action": "new"})
        feed = CalendarFeed.objects.get(person=self.duty_b, revoked_at__isnull=True)
        page = client.get(reverse("duty:feed-page"))
        self.assertContains(page, f"/duty/feed/{feed.token}.ics")
        client.post(reverse("duty:feed-page"), {"action": "revoke"})
        self.assertFalse(CalendarFeed.objects.filter(revoked_at__isnull=True).exists())
        # Another person's page never shows it; the administrators hold no shifts.
        self.assertNotContains(
            self.client_for(self.principal_a).get(reverse("duty:feed-page")), feed.token
        )
        self.assertEqual(
            self.client_for(self.sysadmin).get(reverse("duty:feed-page")).status_code, 403
        )
