"""The quick report calls the chain at once; acknowledging (the link in the message, the
page, the API) records once; at the limit the worker calls the next on the chain, saying how
late it was; a person without a channel makes the chain go on at once; the written, follow-up
and final reports name every missing field; minors' names stay with those who handle it."""

import datetime as dt

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from safecampus.incidents import selectors, services
from safecampus.incidents.models import (
    Call,
    EntryKind,
    Grade,
    Incident,
    Kind,
    Stage,
    StageLevel,
    State,
    TimeLimit,
)
from safecampus.notify.models import Delivery
from safecampus.test import make_person
from safecampus.worker.models import Timer
from safecampus.worker.testing import drain

from .base import NOON, IncidentCase


def kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.order_by("at", "pk").values_list("kind", flat=True))


class QuickReportTests(IncidentCase):
    def report(self, by=None, unit=None, **extra) -> Incident:  # noqa: ANN001, ANN003
        fields = {"kind": Kind.FIRE, "summary": "食堂后厨起火，已疏散"} | extra
        with time_machine.travel(NOON, tick=False):
            return services.incident_report(
                by=by or self.duty_b, unit=unit or self.school_b, **fields
            )

    def called(self, incident: Incident, level: str) -> set[int]:
        return set(
            Call.objects.filter(stage__incident=incident, stage__level=level).values_list(
                "person_id", flat=True
            )
        )

    def test_the_unit_and_the_bureau_are_called_at_once_each_asked_to_acknowledge(self) -> None:
        incident = self.report()
        # the unit: its head and whoever is on duty (leader_b is both: called once)
        self.assertEqual(self.called(incident, StageLevel.UNIT), {self.leader_b.pk, self.duty_b.pk})
        # the bureau: its safety office (no roster there: its fallback has nobody more)
        self.assertIn(self.officer.pk, self.called(incident, StageLevel.BUREAU))
        for call in Call.objects.filter(stage__incident=incident):
            self.assertTrue(call.notification.requires_ack)
            self.assertEqual(call.notification.urgency, "urgent")
            self.assertTrue(
                Delivery.objects.filter(notification=call.notification, transport="email").exists()
            )
        unit_stage = incident.stages.get(level=StageLevel.UNIT)
        bureau_stage = incident.stages.get(level=StageLevel.BUREAU)
        self.assertEqual(unit_stage.due_at, NOON + dt.timedelta(minutes=10))
        self.assertEqual(bureau_stage.due_at, NOON + dt.timedelta(hours=2))  # grade IV
        self.assertEqual(Timer.objects.filter(kind=services.ACK_TIMER).count(), 2)
        self.assertEqual(kinds(incident)[0], EntryKind.REPORTED)

    def test_a_serious_grade_gives_the_bureau_one_hour_and_a_setting_overrides(self) -> None:
        incident = self.report(grade=Grade.II)
        bureau_stage = incident.stages.get(level=StageLevel.BUREAU)
        self.assertEqual(bureau_stage.due_at, NOON + dt.timedelta(hours=1))
        TimeLimit.objects.create(
            category="accident",
            grade=Grade.IV,
            level=StageLevel.UNIT,
            acknowledge_minutes=3,
            written_minutes=20,
            follow_up_hours=12,
            final_days=5,
        )
        again = self.report()
        self.assertEqual(
            again.stages.get(level=StageLevel.UNIT).due_at, NOON + dt.timedelta(minutes=3)
        )

    def test_acknowledging_through_the_link_records_once_as_that_person(self) -> None:
        incident = self.report()
        call = Call.objects.get(stage__incident=incident, person=self.leader_b)
        email = Delivery.objects.get(notification=call.notification, transport="email")
        anonymous = Client()
        with time_machine.travel(NOON + dt.timedelta(minutes=4), tick=False):
            self.assertEqual(
                anonymous.post(reverse("ack", args=[email.ack_token])).status_code, 200
            )
            anonymous.post(reverse("ack", args=[email.ack_token]))  # a second tap
            services.incident_acknowledge_mine(by=self.leader_b, incident=incident)  # and the page
        call.refresh_from_db()
        stage = call.stage
        stage.refresh_from_db()
        self.assertEqual(call.acknowledged_at, NOON + dt.timedelta(minutes=4))
        self.assertEqual(stage.acknowledged_by, self.leader_b)
        acks = incident.timeline.filter(kind=EntryKind.ACKNOWLEDGED)
        self.assertEqual(acks.count(), 1)
        self.assertEqual(acks.get().late_seconds, -6 * 60)  # 6 minutes before the limit
        # an altered link acknowledges nothing
        self.assertEqual(
            anonymous.get(reverse("ack", args=[email.ack_token + "x"])).status_code, 404
        )

    def test_nobody_else_acknowledges_for_you(self) -> None:
        incident = self.report()
        with self.assertRaises(PermissionDenied):
            services.incident_acknowledge_mine(by=self.principal_a, incident=incident)
        self.assertFalse(incident.timeline.filter(kind=EntryKind.ACKNOWLEDGED).exists())

    def test_at_the_limit_the_worker_calls_the_next_on_the_chain(self) -> None:
        incident = self.report()
        with time_machine.travel(NOON + dt.timedelta(minutes=10, seconds=5), tick=False):
            drain()
        stage = incident.stages.get(level=StageLevel.UNIT)
        self.assertEqual(stage.tier, 1)
        # the unit's safety officer, and the leader on duty one level up (the group has no
        # roster: its fallback, its head)
        tier1 = set(Call.objects.filter(stage=stage, tier=1).values_list("person_id", flat=True))
        self.assertEqual(tier1, {self.safety_b.pk, self.group_head_2.pk})
        escalated = incident.timeline.get(kind=EntryKind.ESCALATED)
        self.assertEqual(escalated.late_seconds, 5)
        self.assertEqual(stage.due_at, NOON + dt.timedelta(minutes=20, seconds=5))
        # the bureau's stage (2 hours) has not moved
        self.assertEqual(incident.stages.get(level=StageLevel.BUREAU).tier, 0)

    def test_the_worker_down_at_the_limit_escalates_when_back_saying_how_late(self) -> None:
        incident = self.report()
        with time_machine.travel(NOON + dt.timedelta(minutes=55), tick=False):
            drain()
        escalated = incident.timeline.get(kind=EntryKind.ESCALATED)
        self.assertEqual(escalated.late_seconds, 45 * 60)

    def test_an_acknowledged_stage_is_not_escalated(self) -> None:
        incident = self.report()
        with time_machine.travel(NOON + dt.timedelta(minutes=2), tick=False):
            services.incident_acknowledge_mine(by=self.duty_b, incident=incident)
        with time_machine.travel(NOON + dt.timedelta(minutes=30), tick=False):
            drain()
        self.assertFalse(incident.timeline.filter(kind=EntryKind.ESCALATED).exists())
        self.assertEqual(incident.stages.get(level=StageLevel.UNIT).tier, 0)

    def test_the_chain_runs_out_and_says_so(self) -> None:
        incident = self.report()
        for minutes in (11, 22, 33, 44):
            with time_machine.travel(NOON + dt.timedelta(minutes=minutes), tick=False):
                drain()
        stage = incident.stages.get(level=StageLevel.UNIT)
        self.assertIsNotNone(stage.exhausted_at)
        self.assertEqual(incident.timeline.filter(kind=EntryKind.EXHAUSTED).count(), 1)

    def test_no_channel_beyond_the_app_goes_on_to_the_next_at_once(self) -> None:
        # school A: no head, no roster; its only fallback (the safety officer) has no e-mail;
        # one level up, 城关学区's head has one
        self.safety_a.email = ""
        self.safety_a.save()
        head_1 = make_person("group.head.1", "郑学区", "13900000031", email="g1@example.edu.cn")
        self.group_1.head = head_1
        self.group_1.save()
        incident = self.report(by=self.principal_a, unit=self.school_a)
        stage = incident.stages.get(level=StageLevel.UNIT)
        self.assertTrue(incident.timeline.filter(kind=EntryKind.UNREACHABLE).exists())
        self.assertGreaterEqual(stage.tier, 1)  # the next tier was called at once
        self.assertEqual(
            list(Call.objects.filter(stage=stage, reachable=True).values_list("person", "tier")),
            [(head_1.pk, 1)],
        )
        self.assertIsNone(stage.exhausted_at)

    def test_bad_input_is_refused_field_by_field_and_nothing_is_saved(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            self.report(
                kind="meteor",
                summary="  ",
                area=self.area_a,
                occurred_at=NOON + dt.timedelta(hours=1),
            )
        self.assertEqual(
            set(caught.exception.message_dict), {"kind", "summary", "area", "occurred_at"}
        )
        self.assertFalse(Incident.objects.exists())
        self.assertFalse(Stage.objects.exists())

    def test_only_those_who_see_the_unit_report_there(self) -> None:
        with self.assertRaises(PermissionDenied):
            self.report(by=self.duty_b, unit=self.school_a)
        with self.assertRaises(PermissionDenied):
            self.report(by=self.sysadmin, unit=self.school_b)


class WrittenReportTests(IncidentCase):
    def setUp(self) -> None:
        super().setUp()
        with time_machine.travel(NOON, tick=False):
            self.incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.BULLYING, summary="三年级两名学生冲突"
            )

    WRITTEN = {
        "grade": Grade.IV,
        "category": "social",
        "source": "班主任报告",
        "scope": "三年级二班",
        "affected": "学生甲（轻微擦伤）",
        "trend": "已平息",
        "measures": "已通知家长，心理老师介入",
    }
    FINAL = {
        "cause": "课间口角",
        "handling": "调解，家长到校",
        "losses": "无",
        "lessons": "课间巡查不足",
        "corrective": "增加走廊巡查",
    }

    def test_written_report_names_every_missing_field(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.incident_write(
                by=self.leader_b,
                incident=self.incident,
                **(self.WRITTEN | {"source": "", "trend": " ", "grade": "9"}),
            )
        self.assertEqual(set(caught.exception.message_dict), {"source", "trend", "grade"})
        self.incident.refresh_from_db()
        self.assertIsNone(self.incident.written_at)

    def test_written_then_follow_up_then_final_closes_with_lateness_measured(self) -> None:
        with time_machine.travel(NOON + dt.timedelta(hours=3), tick=False):
            services.incident_write(by=self.leader_b, incident=self.incident, **self.WRITTEN)
        with time_machine.travel(NOON + dt.timedelta(hours=5), tick=False):
            services.incident_follow_up(
                by=self.leader_b, incident=self.incident, changes="家长已接回", grade=""
            )
        with self.assertRaises(ValidationError):
            services.incident_write(by=self.leader_b, incident=self.incident, **self.WRITTEN)
        with time_machine.travel(NOON + dt.timedelta(days=2), tick=False):
            services.incident_close(by=self.leader_b, incident=self.incident, **self.FINAL)
        self.incident.refresh_from_db()
        self.assertEqual(self.incident.state, State.CLOSED)
        written = self.incident.timeline.get(kind=EntryKind.WRITTEN)
        self.assertEqual(written.late_seconds, 3600)  # 2 hours allowed for grade IV: 1 h late
        final = self.incident.timeline.get(kind=EntryKind.FINAL)
        self.assertLess(final.late_seconds, 0)  # within 7 days
        with self.assertRaises(ValidationError):
            services.incident_follow_up(by=self.leader_b, incident=self.incident, changes="x")

    def test_final_report_needs_the_written_one_and_every_field(self) -> None:
        with self.assertRaises(ValidationError):
            services.incident_close(by=self.leader_b, incident=self.incident, **self.FINAL)
        services.incident_write(by=self.leader_b, incident=self.incident, **self.WRITTEN)
        with self.assertRaises(ValidationError) as caught:
            services.incident_close(
                by=self.leader_b, incident=self.incident, **(self.FINAL | {"lessons": ""})
            )
        self.assertEqual(set(caught.exception.message_dict), {"lessons"})

    def test_only_those_who_run_the_unit_write_it_up(self) -> None:
        for outsider in (self.duty_b, self.principal_a):
            with self.assertRaises(PermissionDenied):
                services.incident_write(by=outsider, incident=self.incident, **self.WRITTEN)

    def test_minors_names_only_for_those_who_handle_it(self) -> None:
        self.assertTrue(self.incident.involves_minors)
        self.assertTrue(selectors.shows_names(self.leader_b, self.incident))
        self.assertTrue(selectors.shows_names(self.officer, self.incident))
        self.assertFalse(selectors.shows_names(self.duty_b, self.incident))


class AckLinkExpiryTests(IncidentCase):
    def test_an_old_link_is_refused_and_acknowledges_nothing(self) -> None:
        with time_machine.travel(NOON, tick=False):
            incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
            )
        call = Call.objects.get(stage__incident=incident, person=self.leader_b)
        email = Delivery.objects.get(notification=call.notification, transport="email")
        with time_machine.travel(NOON + dt.timedelta(days=15), tick=False):
            self.assertEqual(Client().post(reverse("ack", args=[email.ack_token])).status_code, 410)
        call.refresh_from_db()
        self.assertIsNone(call.acknowledged_at)
        with time_machine.travel(NOON + dt.timedelta(days=13), tick=False):
            self.assertEqual(Client().post(reverse("ack", args=[email.ack_token])).status_code, 200)
        call.refresh_from_db()
        self.assertIsNotNone(call.acknowledged_at)


class PlanTests(IncidentCase):
    def test_an_incident_follows_the_nearest_plan_and_its_steps_are_ticked_once(self) -> None:
        from safecampus.incidents.plans import DEFAULT_PLANS

        with time_machine.travel(NOON, tick=False):
            fire = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
            )
        self.assertEqual(
            list(fire.steps.values_list("text", flat=True)), DEFAULT_PLANS[Kind.FIRE].steps
        )
        # the group's own copy applies to its schools; the school's own copy beats it
        services.plan_save(
            by=self.officer,
            unit=self.group_2,
            kind=Kind.FIRE,
            title="学区火灾预案",
            roles="",
            steps="报警\n疏散\n\n清点人数",
            contacts="",
            supplies="",
        )
        self.assertEqual(
            services.plan_for(self.school_b, Kind.FIRE).steps, ["报警", "疏散", "清点人数"]
        )
        services.plan_save(
            by=self.leader_b,
            unit=self.school_b,
            kind=Kind.FIRE,
            title="本校火灾预案",
            roles="",
            steps="本校第一步",
            contacts="",
            supplies="",
        )
        self.assertEqual(services.plan_for(self.school_b, Kind.FIRE).title, "本校火灾预案")
        self.assertEqual(
            services.plan_for(self.school_a, Kind.FIRE).title, DEFAULT_PLANS[Kind.FIRE].title
        )
        step = fire.steps.get(order=2)
        services.step_done(by=self.duty_b, step=step)  # called: may tick
        first = step.done_at
        services.step_done(by=self.leader_b, step=step)
        step.refresh_from_db()
        self.assertEqual((step.done_at, step.done_by), (first, self.duty_b))
        with self.assertRaises(PermissionDenied):
            services.step_done(by=self.principal_a, step=fire.steps.get(order=3))

    def test_a_plan_without_steps_or_by_an_outsider_is_refused(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            services.plan_save(
                by=self.leader_b,
                unit=self.school_b,
                kind=Kind.FIRE,
                title="",
                roles="",
                steps=" \n ",
                contacts="",
                supplies="",
            )
        self.assertEqual(set(caught.exception.message_dict), {"title", "steps"})
        with self.assertRaises(PermissionDenied):
            services.plan_save(
                by=self.duty_b,
                unit=self.school_b,
                kind=Kind.FIRE,
                title="x",
                roles="",
                steps="a",
                contacts="",
                supplies="",
            )


class ChatGroupTests(IncidentCase):
    def test_the_units_robots_get_the_alarm_at_once(self) -> None:
        from safecampus.notify.models import Channel

        Channel.objects.create(
            unit=self.school_b,
            kind="webhook",
            name="西山小学值班群",
            config={"url": "http://127.0.0.1:9/hook", "secret": ""},
        )
        Channel.objects.create(
            unit=self.school_b,
            kind="webhook",
            name="停用的群",
            config={"url": "http://127.0.0.1:9/off", "secret": ""},
            enabled=False,
        )
        with time_machine.travel(NOON, tick=False):
            incident = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
            )
        deliveries = Delivery.objects.filter(notification__event=services.EVENT_GROUP)
        self.assertEqual([d.channel.name for d in deliveries], ["西山小学值班群"])
        self.assertEqual(deliveries.get().notification.urgency, "urgent")
        self.assertTrue(incident.timeline.filter(text__contains="西山小学值班群").exists())


class WrittenDueTests(IncidentCase):
    def test_an_overdue_written_report_is_flagged_and_the_unit_told(self) -> None:
        from safecampus.notify.models import Notification

        with time_machine.travel(NOON, tick=False):
            late = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.FIRE, summary="起火"
            )
            on_time = services.incident_report(
                by=self.duty_b, unit=self.school_b, kind=Kind.INJURY, summary="摔伤"
            )
        with time_machine.travel(NOON + dt.timedelta(hours=1), tick=False):
            services.incident_write(
                by=self.leader_b,
                incident=on_time,
                grade="4",
                category="accident",
                source="班主任",
                scope="一个班",
                affected="一名学生",
                trend="稳定",
                measures="送医",
            )
        with time_machine.travel(NOON + dt.timedelta(hours=2, minutes=5), tick=False):
            drain()
        overdue = late.timeline.get(kind=EntryKind.OVERDUE)
        self.assertEqual(overdue.late_seconds, 300)  # the worker fired 5 minutes late
        self.assertFalse(on_time.timeline.filter(kind=EntryKind.OVERDUE).exists())
        note = Notification.objects.get(event=services.EVENT_OVERDUE)
        self.assertEqual(set(note.deliveries.values_list("person", flat=True)), {self.leader_b.pk})
        with time_machine.travel(NOON + dt.timedelta(hours=3), tick=False):
            data = selectors.overview(
                self.officer,
                under=None,
                month_start=NOON - dt.timedelta(days=1),
                month_end=NOON + dt.timedelta(days=1),
                now=NOON + dt.timedelta(hours=3),
            )
        self.assertEqual(data["written_overdue"], [late])
