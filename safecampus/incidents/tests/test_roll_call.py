"""Evacuation roll call: head teachers count their classes from a phone (a second count
replaces the first); the live total and the classes not counted yet; closed, it takes no
more counts; other units and other roles are refused."""

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.incidents import selectors, services
from safecampus.incidents.models import Kind
from safecampus.orgs.models import Membership, Role
from safecampus.test import make_person

from .base import NOON, IncidentCase


class RollCallTests(IncidentCase, ApiTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.teacher_1 = make_person("teacher.b1", "林老师", "13900000041")
        self.teacher_2 = make_person("teacher.b2", "何老师", "13900000042")
        for t in (self.teacher_1, self.teacher_2):
            Membership.objects.create(person=t, unit=self.school_b, role=Role.HEAD_TEACHER)
        with time_machine.travel(NOON, tick=False):
            self.incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.EARTHQUAKE, summary="地震"
            )
        self.roll = services.roll_call_start(by=self.leader_b, incident=self.incident)

    def test_counts_add_up_a_second_count_replaces_and_missing_classes_are_named(self) -> None:
        services.roll_call_count(
            by=self.teacher_1, roll_call=self.roll, class_name="一年级一班", present=40, absent=2
        )
        state = selectors.roll_call_state(self.roll)
        self.assertEqual((state.present, state.absent), (40, 2))
        self.assertEqual(state.missing, [self.teacher_2])
        services.roll_call_count(
            by=self.teacher_1, roll_call=self.roll, class_name="一年级一班", present=42, absent=0
        )
        services.roll_call_count(
            by=self.teacher_2, roll_call=self.roll, class_name="二年级一班", present=38, absent=1
        )
        state = selectors.roll_call_state(self.roll)
        self.assertEqual((state.present, state.absent, state.missing), (80, 1, []))
        self.assertEqual(
            services.roll_call_start(by=self.leader_b, incident=self.incident), self.roll
        )

    def test_bad_counts_outsiders_and_a_closed_roll_call_are_refused(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.roll_call_count(
                by=self.teacher_1, roll_call=self.roll, class_name=" ", present=-1, absent=3
            )
        self.assertEqual(set(caught.exception.message_dict), {"class_name", "present"})
        with self.assertRaises(PermissionDenied):
            services.roll_call_count(
                by=self.teacher_a, roll_call=self.roll, class_name="x", present=1, absent=0
            )
        services.roll_call_close(by=self.leader_b, roll_call=self.roll)
        with self.assertRaises(ValidationError):
            services.roll_call_count(
                by=self.teacher_1, roll_call=self.roll, class_name="x", present=1, absent=0
            )

    def test_page_counts_and_keeps_what_was_typed_on_error_and_the_api(self) -> None:
        url = reverse("incidents:roll-call", args=[self.incident.pk])
        client = self.client_for(self.teacher_1)
        bad = client.post(url, {"class_name": "一年级一班", "present": "", "absent": 0})
        self.assertContains(bad, "一年级一班")
        self.assertIn("present", bad.context["form"].errors)
        client.post(url, {"class_name": "一年级一班", "present": 40, "absent": 1})
        page = self.client_for(self.leader_b).get(url)
        self.assertContains(page, 'data-testid="roll-missing"')
        self.assertContains(page, self.teacher_2.name)
        live = self.client_for(self.leader_b).get(url, headers={"HX-Request": "true"})
        self.assertContains(live, "40")
        self.assertNotContains(live, "<html")
        api = self.api(self.teacher_2).post(
            f"/incidents/{self.incident.pk}/roll-call/counts",
            {"class_name": "二年级一班", "present": 30, "absent": 0},
        )
        self.assertEqual(api.status_code, 200, api.content)
        self.assertEqual((api.json()["present"], api.json()["not_counted"]), (70, []))
        self.assertError(
            self.api(self.teacher_2).post(
                f"/incidents/{self.incident.pk}/roll-call/counts",
                {"class_name": "", "present": 30, "absent": 0},
            ),
            422,
            "class_name",
        )
        self.assertEqual(self.client_for(self.teacher_a).get(url).status_code, 404)
