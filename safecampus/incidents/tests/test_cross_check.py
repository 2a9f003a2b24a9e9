"""Incidents against daily reports: a zero report for a day with an incident on record is
inconsistent; an incident entered after a zero report covering its time is possibly
concealed (瞒报); a corrected (non-zero) report clears it; the level above asks the unit to
explain, once, with an urgent message."""

import datetime as dt

import time_machine
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.incidents import selectors, services
from safecampus.incidents.models import EntryKind, Kind
from safecampus.incidents.selectors import Mismatch
from safecampus.notify.models import Notification
from safecampus.reports import services as reports

from .base import NOON, IncidentCase

DAY = NOON.date()


class CrossCheckCase(IncidentCase):
    def setUp(self) -> None:
        super().setUp()
        with time_machine.travel(NOON.replace(hour=7), tick=False):
            schedule = reports.schedule_create(
                by=self.officer, root=self.bureau, name="冬季安全日报", starts_on=DAY
            )
            reports.day_open(schedule=schedule, day=DAY)

    def incident(self, at: dt.datetime, occurred: dt.datetime | None = None):  # noqa: ANN201
        with time_machine.travel(at, tick=False):
            return services.incident_report(
                by=self.duty_b,
                unit=self.school_b,
                kind=Kind.INJURY,
                summary="学生摔伤",
                occurred_at=occurred,
            )

    def zero(self, at: dt.datetime) -> None:
        with time_machine.travel(at, tick=False):
            reports.report_submit(by=self.duty_b, unit=self.school_b, day=DAY, zero=True)

    def checks(self, user=None):  # noqa: ANN001, ANN201
        return selectors.cross_checks(user or self.officer, under=None, start=DAY, end=DAY)


class CrossCheckTests(CrossCheckCase):
    def test_an_incident_on_record_then_a_zero_report_is_inconsistent(self) -> None:
        incident = self.incident(NOON.replace(hour=9))
        self.zero(NOON.replace(hour=11))
        (check,) = self.checks()
        self.assertEqual((check.incident, check.kind), (incident, Mismatch.INCONSISTENT))

    def test_an_incident_entered_after_the_zero_report_is_possibly_concealed(self) -> None:
        self.zero(NOON.replace(hour=11))
        self.incident(NOON.replace(hour=15), occurred=NOON.replace(hour=9))
        (check,) = self.checks()
        self.assertEqual(check.kind, Mismatch.CONCEALED)
        # the school itself does not list itself; the level above does
        self.assertEqual(self.checks(self.leader_b), [])

    def test_a_corrected_report_clears_it_and_no_report_is_no_mismatch(self) -> None:
        self.incident(NOON.replace(hour=9))
        self.assertEqual(self.checks(), [])
        self.zero(NOON.replace(hour=11))
        with time_machine.travel(NOON.replace(hour=12), tick=False):
            reports.report_submit(
                by=self.duty_b,
                unit=self.school_b,
                day=DAY,
                zero=False,
                items=[{"what": "学生摔伤，已处理", "measures": "校医处理"}],
                reason="补报伤害事件",
            )
        self.assertEqual(self.checks(), [])

    def test_asking_for_an_explanation_sends_once_and_is_on_the_timeline(self) -> None:
        incident = self.incident(NOON.replace(hour=9))
        self.zero(NOON.replace(hour=11))
        client = self.client_for(self.officer)
        url = reverse("incidents:cross-checks") + f"?from={DAY}&to={DAY}"
        page = client.get(url)
        self.assertContains(page, f'data-testid="ask-{incident.pk}"')
        client.post(url, {"incident": incident.pk})
        self.assertEqual(incident.timeline.filter(kind=EntryKind.EXPLAIN).count(), 1)
        note = Notification.objects.get(event=services.EVENT_EXPLAIN)
        self.assertTrue(note.requires_ack)
        self.assertNotContains(client.get(url), f'data-testid="ask-{incident.pk}"')
        with self.assertRaises(PermissionDenied):
            services.explanation_ask(
                by=self.leader_b, incident=incident, day=DAY, kind=Mismatch.INCONSISTENT
            )
        # another group's principal cannot reach it at all
        self.assertEqual(
            self.client_for(self.principal_a).post(url, {"incident": incident.pk}).status_code,
            404,
        )


class CrossCheckApiTests(CrossCheckCase, ApiTestCase):
    def test_listed_and_asked_through_the_api(self) -> None:
        incident = self.incident(NOON.replace(hour=9))
        self.zero(NOON.replace(hour=11))
        officer = self.api(self.officer)
        rows = officer.get("/incidents/cross-checks", **{"from": str(DAY), "to": str(DAY)}).json()
        self.assertEqual(
            [(r["incident_id"], r["kind"]) for r in rows], [(incident.pk, "inconsistent")]
        )
        self.assertEqual(officer.post(f"/incidents/{incident.pk}/explain").status_code, 201)
        rows = officer.get("/incidents/cross-checks", **{"from": str(DAY), "to": str(DAY)}).json()
        self.assertTrue(rows[0]["explanation_asked"])
        self.assertError(self.api(self.leader_b).post(f"/incidents/{incident.pk}/explain"), 422)
        self.assertError(officer.get("/incidents/cross-checks", **{"from": "2020-01-01"}), 422)
