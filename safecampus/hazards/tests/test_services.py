"""The ledger's workflow: reported (the area's responsible person by default), fixed,
verified by someone else and closed, or sent back with a reason; a major hazard supervised
by the level above, which alone closes it; referred to an authority and tracked until it
answers; every step in the history; bad input refused field by field."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from safecampus.hazards import services
from safecampus.hazards.models import EventKind, Hazard, Severity, Status
from safecampus.orgs.models import Membership, Role
from safecampus.test import BaseTestCase, make_person


class HazardCase(BaseTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.safety_a = make_person("safety.a", "钱安全", "13900000012")
        Membership.objects.create(person=cls.safety_a, unit=cls.school_a, role=Role.SAFETY_OFFICER)
        cls.group_head_1 = make_person("group.head.1", "郑学区", "13900000031")
        Membership.objects.create(person=cls.group_head_1, unit=cls.group_1, role=Role.GROUP_HEAD)

    def report(self, **extra):  # noqa: ANN003, ANN201
        fields = {
            "by": self.teacher_a,
            "unit": self.school_a,
            "category": "fire",
            "description": "教学楼二楼灭火器过期",
            "area": self.area_a,
        } | extra
        return services.hazard_report(**fields)


class LedgerTests(HazardCase):
    def test_reported_fixed_by_one_closed_by_another(self) -> None:
        hazard = self.report()
        self.assertEqual(hazard.responsible, self.teacher_a)  # the area's responsible person
        self.assertEqual(hazard.deadline, timezone.localdate() + dt.timedelta(days=30))
        services.hazard_start_fix(by=self.teacher_a, hazard=hazard)
        services.hazard_submit_fix(by=self.teacher_a, hazard=hazard, note="已更换灭火器 4 具")
        # the fixer never verifies; here the fixer is not a manager anyway
        with self.assertRaises(PermissionDenied):
            services.hazard_verify(by=self.teacher_a, hazard=hazard, accept=True)
        services.hazard_verify(by=self.principal_a, hazard=hazard, accept=True)
        hazard.refresh_from_db()
        self.assertEqual((hazard.status, hazard.verified_by), (Status.CLOSED, self.principal_a))
        self.assertEqual(
            list(hazard.events.values_list("kind", flat=True)),
            [EventKind.REPORTED, EventKind.FIXING, EventKind.SUBMITTED, EventKind.CLOSED],
        )

    def test_a_manager_who_fixed_it_cannot_close_it_and_a_send_back_needs_a_reason(self) -> None:
        hazard = self.report()
        services.hazard_submit_fix(by=self.principal_a, hazard=hazard, note="已更换")
        with self.assertRaises(PermissionDenied):
            services.hazard_verify(by=self.principal_a, hazard=hazard, accept=True)
        with self.assertRaises(ValidationError) as caught:
            services.hazard_verify(by=self.safety_a, hazard=hazard, accept=False, reason=" ")
        self.assertEqual(set(caught.exception.message_dict), {"reason"})
        services.hazard_verify(by=self.safety_a, hazard=hazard, accept=False, reason="照片不清楚")
        hazard.refresh_from_db()
        self.assertEqual(hazard.status, Status.FIXING)
        self.assertEqual(hazard.events.last().text, "照片不清楚")
        # closing what is not submitted: refused, nothing changes
        with self.assertRaises(ValidationError):
            services.hazard_verify(by=self.safety_a, hazard=hazard, accept=True)

    def test_a_supervised_major_hazard_is_closed_only_by_the_supervising_level(self) -> None:
        hazard = self.report(severity=Severity.MAJOR, category="buildings", description="围墙开裂")
        with self.assertRaises(PermissionDenied):  # one does not supervise oneself
            services.hazard_supervise(
                by=self.principal_a,
                hazard=hazard,
                supervising_unit=self.school_a,
                supervisor=self.principal_a,
                deadline=timezone.localdate() + dt.timedelta(days=10),
            )
        services.hazard_supervise(
            by=self.officer,
            hazard=hazard,
            supervising_unit=self.bureau,
            supervisor=self.officer,
            deadline=timezone.localdate() + dt.timedelta(days=10),
        )
        services.hazard_submit_fix(by=self.teacher_a, hazard=hazard, note="已加固")
        with self.assertRaises(PermissionDenied):  # from below
            services.hazard_verify(by=self.principal_a, hazard=hazard, accept=True)
        services.hazard_verify(by=self.officer, hazard=hazard, accept=True)
        hazard.refresh_from_db()
        self.assertEqual(hazard.status, Status.CLOSED)

    def test_only_a_major_hazard_is_supervised(self) -> None:
        hazard = self.report()
        with self.assertRaises(ValidationError) as caught:
            services.hazard_supervise(
                by=self.officer,
                hazard=hazard,
                supervising_unit=self.bureau,
                supervisor=self.officer,
                deadline=timezone.localdate() - dt.timedelta(days=1),
            )
        self.assertEqual(set(caught.exception.message_dict), {"severity", "deadline"})

    def test_referred_then_answered_then_verified(self) -> None:
        hazard = self.report(category="surroundings", description="校门口无人行横道")
        services.hazard_refer(by=self.principal_a, hazard=hazard, authority="区交警大队")
        self.assertEqual(hazard.status, Status.REFERRED)
        with self.assertRaises(ValidationError):  # a referred hazard is not fixed by the school
            services.hazard_submit_fix(by=self.teacher_a, hazard=hazard, note="x")
        services.hazard_referral_answer(
            by=self.principal_a, hazard=hazard, answer="交警已施划人行横道并设置提示牌"
        )
        services.hazard_verify(by=self.safety_a, hazard=hazard, accept=True)
        hazard.refresh_from_db()
        self.assertEqual((hazard.status, hazard.referred_to), (Status.CLOSED, "区交警大队"))

    def test_bad_input_and_outsiders(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            self.report(
                category="x",
                description="",
                area=self.area_b,
                deadline=timezone.localdate() - dt.timedelta(days=1),
            )
        self.assertEqual(
            set(caught.exception.message_dict), {"category", "description", "area", "deadline"}
        )
        self.assertFalse(Hazard.objects.exists())
        with self.assertRaises(PermissionDenied):
            self.report(by=self.duty_b)  # school B's staff do not see school A
        hazard = self.report()
        with self.assertRaises(PermissionDenied):
            services.hazard_start_fix(by=self.duty_b, hazard=hazard)
