"""The demo district loads through the services, idempotently, with working logins."""

from django.test import Client, TestCase, override_settings
from django.urls import reverse

from safecampus.audit.services import audit_verify
from safecampus.demo.district import DEMO_LOGINS, demo_load
from safecampus.orgs import access
from safecampus.orgs.models import Area, Person, Unit, UnitKind


@override_settings(SAFECAMPUS_DEMO_PASSWORD="Demo-check-77")
class DemoTest(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.created = demo_load()

    def test_district_shape(self):
        self.assertTrue(self.created)
        self.assertEqual(Unit.objects.filter(kind=UnitKind.BUREAU).count(), 1)
        self.assertEqual(Unit.objects.filter(kind=UnitKind.GROUP).count(), 4)
        schools = Unit.objects.filter(kind__in=[UnitKind.SCHOOL, UnitKind.KINDERGARTEN]).count()
        self.assertGreaterEqual(schools, 36)
        self.assertLessEqual(schools, 44)
        self.assertTrue(Area.objects.filter(responsible__isnull=True).exists())
        self.assertEqual(Unit.objects.filter(head__isnull=True).count(), 0)

    def test_second_load_changes_nothing(self):
        before = (Unit.objects.count(), Person.objects.count(), Area.objects.count())
        self.assertFalse(demo_load())
        self.assertEqual(
            before, (Unit.objects.count(), Person.objects.count(), Area.objects.count())
        )

    def test_every_demo_login_works_with_the_configured_password(self):
        for username, _label in DEMO_LOGINS:
            client = Client()
            response = client.post(
                reverse("login"), {"username": username, "password": "Demo-check-77"}
            )
            # Signed in as that very person, and on the home page (not sent back to the
            # login form nor made to change the password first).
            person = Person.objects.get(username=username)
            self.assertRedirects(response, reverse("home"), fetch_redirect_response=False)
            self.assertEqual(int(client.session["_auth_user_id"]), person.pk, username)
            home = client.get(reverse("home"))
            self.assertEqual(home.status_code, 200, username)
            self.assertEqual(home.context["user"].pk, person.pk, username)
            # Any other password is refused: the login is not open to everyone.
            refused = Client().post(
                reverse("login"), {"username": username, "password": "Wrong-pass-1"}
            )
            self.assertNotIn("_auth_user_id", refused.wsgi_request.session, username)

    def test_principals_are_in_different_groups_and_cannot_see_each_other(self):
        mine = Person.objects.get(username="school.principal")
        other = Person.objects.get(username="other.principal")
        my_school = mine.memberships.get().unit
        their_school = other.memberships.get().unit
        self.assertNotEqual(my_school.path[:8], their_school.path[:8])
        self.assertFalse(access.unit_visible(mine, their_school))
        self.assertFalse(access.unit_visible(other, my_school))
        group_head = Person.objects.get(username="group.head")
        self.assertTrue(access.unit_visible(group_head, my_school))
        self.assertFalse(access.unit_visible(group_head, their_school))

    def test_the_demo_is_in_an_intact_audit_chain(self):
        result = audit_verify()
        self.assertTrue(result.ok, result.reason)
        self.assertGreater(result.checked, 500)

    def test_one_missed_spot_check_to_look_at(self):
        from safecampus.duty import spotchecks
        from safecampus.duty.models import SpotCheck

        check = SpotCheck.objects.get()
        self.assertEqual(check.unit.name, "城关镇中心小学")
        self.assertEqual(check.sent_by.username, "bureau.admin")
        self.assertEqual(spotchecks.outcome(check), spotchecks.Outcome.MISSED)
        for username in ("school.principal", "bureau.admin"):
            client = Client(HTTP_ACCEPT_LANGUAGE="en")
            client.force_login(Person.objects.get(username=username))
            page = client.get(reverse("duty:spot-checks", args=[check.unit_id]))
            self.assertContains(page, 'data-outcome="missed"', count=1)

    def test_past_shifts_taken_over_but_one_and_a_log_to_read(self):
        from django.utils import timezone

        from safecampus.duty.models import DutyLogEntry, LogKind, Shift
        from safecampus.duty.selectors import TAKE_OVER_WITHIN
        from safecampus.duty.services import next_shift

        school = Unit.objects.get(name="城关镇中心小学")
        ended = Shift.objects.filter(ends_at__lt=timezone.now() - TAKE_OVER_WITHIN)
        not_taken = list(ended.filter(taken_over_at__isnull=True))
        if not ended.filter(unit=school).exists():
            # The first morning of a month: nothing of this month has ended yet.
            self.assertEqual(not_taken, [])
            return
        # Exactly one, in the district: the demo school's, not a wall of red.
        self.assertEqual([s.unit_id for s in not_taken], [school.pk])
        left_open = not_taken[0]
        self.assertIsNotNone(left_open.handed_over_at)
        # Every other one was taken over by one of the next shift's people, after it ended.
        for shift in ended.exclude(pk=left_open.pk).order_by("?")[:20]:
            following = next_shift(shift)
            self.assertIn(
                shift.taken_over_by_id, set(following.members.values_list("person_id", flat=True))
            )
            self.assertGreater(shift.taken_over_at, shift.ends_at)
        # The school's roster flags that one shift; the principal reads its log.
        client = Client()
        client.force_login(Person.objects.get(username="school.principal"))
        roster = client.get(reverse("duty:roster", args=[school.pk]))
        self.assertEqual(roster.context["not_taken"], {left_open.pk})
        log = DutyLogEntry.objects.filter(shift__unit=school)
        self.assertGreaterEqual(log.filter(kind=LogKind.PATROL).count(), 2)
        self.assertEqual(log.filter(kind=LogKind.CALL, shift=left_open).count(), 1)
        page = client.get(reverse("duty:shift", args=[left_open.pk]))
        self.assertEqual(len(page.context["log"]), left_open.log.count())
        self.assertGreaterEqual(left_open.log.count(), 3)

    def test_incidents_escalated_followed_up_and_closed_to_look_at(self):
        from safecampus.incidents.models import EntryKind, Incident, State

        fire = Incident.objects.get(kind="fire")
        self.assertTrue(fire.timeline.filter(kind=EntryKind.ESCALATED).exists())
        self.assertGreaterEqual(fire.stages.get(level="unit").tier, 1)
        escalated = fire.timeline.get(kind=EntryKind.ESCALATED)
        self.assertGreaterEqual(escalated.late_seconds, 0)  # at the limit, not before it
        self.assertTrue(
            Incident.objects.filter(kind="bullying", state=State.OPEN, written_at__isnull=False)
        )
        closed = Incident.objects.get(state=State.CLOSED)
        self.assertLess(
            closed.closed_at, closed.reported_at.replace(year=closed.reported_at.year + 1)
        )
        for username in ("bureau.admin", "school.principal"):
            client = Client(HTTP_ACCEPT_LANGUAGE="en")
            client.force_login(Person.objects.get(username=username))
            page = client.get(reverse("incidents:detail", args=[fire.pk]))
            self.assertContains(page, 'data-testid="timeline"')
            self.assertEqual(client.get(reverse("incidents:list")).status_code, 200)

    def test_a_hazard_ledger_to_look_at(self):
        from django.utils import timezone

        from safecampus.hazards.models import Hazard, Status

        school = Hazard.objects.filter(unit__name="城关镇中心小学")
        self.assertEqual({h.status for h in school}, {Status.OPEN, Status.REFERRED, Status.CLOSED})
        self.assertTrue(school.filter(supervising_unit__isnull=False, severity="major").exists())
        self.assertTrue(
            school.filter(status=Status.OPEN, deadline__lt=timezone.localdate()).exists()
        )
        closed = school.get(status=Status.CLOSED)
        self.assertNotEqual(closed.fixed_by, closed.verified_by)
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(Person.objects.get(username="school.principal"))
        page = client.get(reverse("hazards:ledger"), {"state": "overdue"})
        self.assertEqual(len(page.context["rows"]), 1)
