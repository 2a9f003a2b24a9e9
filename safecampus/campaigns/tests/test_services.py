"""Launching a campaign and running it through its services: default phases, the refused input
(a window ending before it starts, a phase outside the campaign, a deadline outside it), the
leadership group, tasks done in time and late, what it switches on through the other apps'
services (a refused overlapping schedule surfaced), summaries, and who may do what."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from safecampus.campaigns import selectors, services
from safecampus.campaigns.models import Campaign, Phase, Summary, Switch, TaskDone
from safecampus.hazards.models import Inspection
from safecampus.levels import selectors as level_selectors
from safecampus.levels.models import AlertOrder
from safecampus.orgs.models import Membership, Role
from safecampus.reports import services as reports
from safecampus.test import BaseTestCase, make_person

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 24)  # a Tuesday


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


class CampaignCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")
        self.addCleanup(translation.deactivate)
        self.traveller = time_machine.travel(at(DAY), tick=False)
        self.traveller.start()
        self.addCleanup(self.traveller.stop)

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.principal_b = make_person("principal.b", "赵校长", "13900000009")
        Membership.objects.create(person=cls.principal_b, unit=cls.school_b, role=Role.PRINCIPAL)

    def launch(self, **extra) -> Campaign:  # noqa: ANN003
        values = {
            "by": self.officer,
            "unit": self.bureau,
            "name": "冬季安全专项整治行动",
            "goal": "消除火灾、食品、交通隐患",
            "starts_on": DAY,
            "ends_on": DAY + dt.timedelta(days=29),
        } | extra
        return services.campaign_create(**values)


class LaunchTests(CampaignCase):
    def test_four_default_phases_split_the_window(self) -> None:
        campaign = self.launch()
        phases = list(campaign.phases.order_by("position"))
        self.assertEqual([p.name for p in phases], ["动员部署", "组织实施", "重点攻坚", "总结提升"])
        self.assertEqual(phases[0].starts_on, campaign.starts_on)
        self.assertEqual(phases[-1].ends_on, campaign.ends_on)
        for before, after in zip(phases, phases[1:], strict=False):
            self.assertEqual(after.starts_on, before.ends_on + dt.timedelta(days=1))
        self.assertEqual(selectors.current_phase(campaign).name, "动员部署")
        self.assertEqual(campaign.state(), "running")
        self.assertEqual(campaign.summary_days, 5)
        self.assertEqual(campaign.summary_due_on, DAY + dt.timedelta(days=34))

    def test_a_short_window_still_has_its_phases_inside(self) -> None:
        for days in (1, 2, 3, 4, 7):
            phases = services.default_phases(DAY, DAY + dt.timedelta(days=days - 1))
            self.assertEqual(len(phases), 4)
            for _name, start, end in phases:
                self.assertLessEqual(DAY, start)
                self.assertLessEqual(start, end)
                self.assertLessEqual(end, DAY + dt.timedelta(days=days - 1))

    def test_a_window_ending_before_it_starts_is_refused(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            self.launch(ends_on=DAY - dt.timedelta(days=1), starts_on=DAY + dt.timedelta(days=3))
        reason = caught.exception.message_dict["ends_on"][0]
        self.assertIn("before it starts", reason)
        self.assertIn("2026-11-23", reason)
        self.assertFalse(Campaign.objects.exists())

    def test_other_refusals_name_their_field(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            self.launch(name=" ", goal="", summary_days=0)
        self.assertEqual(set(caught.exception.message_dict), {"name", "goal", "summary_days"})
        with self.assertRaises(ValidationError) as caught:
            self.launch(starts_on=DAY - dt.timedelta(days=9), ends_on=DAY - dt.timedelta(days=2))
        self.assertIn("already over", caught.exception.message_dict["ends_on"][0])

    def test_only_a_manager_of_a_bureau_or_group_launches(self) -> None:
        with self.assertRaises(PermissionDenied):
            self.launch(by=self.principal_a, unit=self.school_a)
        with self.assertRaises(PermissionDenied):
            self.launch(by=self.principal_a, unit=self.group_1)
        with self.assertRaises(PermissionDenied):
            self.launch(by=self.sysadmin)
        group = self.launch(unit=self.group_1)
        self.assertEqual(
            list(selectors.campaign_units(group).values_list("pk", flat=True)), [self.school_a.pk]
        )


class PhaseTests(CampaignCase):
    def test_a_phase_outside_the_campaign_is_refused_naming_the_dates(self) -> None:
        campaign = self.launch()
        phase = campaign.phases.get(position=2)
        with self.assertRaises(ValidationError) as caught:
            services.phase_update(
                by=self.officer,
                phase=phase,
                name=phase.name,
                starts_on=phase.starts_on,
                ends_on=DAY + dt.timedelta(days=40),
            )
        reason = caught.exception.message_dict["ends_on"][0]
        self.assertIn("outside the campaign's window", reason)
        self.assertIn("2026-11-24 – 2026-12-23", reason)
        self.assertIn("2027-01-03", reason)
        with self.assertRaises(ValidationError) as caught:
            services.phase_update(
                by=self.officer,
                phase=phase,
                name=phase.name,
                starts_on=DAY + dt.timedelta(days=5),
                ends_on=DAY + dt.timedelta(days=4),
            )
        self.assertIn("before it starts", caught.exception.message_dict["ends_on"][0])
        phase.refresh_from_db()
        self.assertLess(phase.ends_on, DAY + dt.timedelta(days=29))

    def test_phases_set_changes_adds_and_names_a_refused_line(self) -> None:
        campaign = self.launch()
        old = list(campaign.phases.order_by("position"))
        end = campaign.ends_on
        lines = [
            services.PhaseIn("动员部署", DAY, DAY + dt.timedelta(days=2), old[0].id),
            services.PhaseIn("组织实施", DAY + dt.timedelta(days=3), end, old[1].id),
        ]
        rows = services.phases_set(by=self.officer, campaign=campaign, phases=lines)
        self.assertEqual([p.name for p in rows], ["动员部署", "组织实施"])
        self.assertEqual(Phase.objects.filter(campaign=campaign).count(), 2)
        bad = [*lines, services.PhaseIn("总结", end, end + dt.timedelta(days=1))]
        with self.assertRaises(ValidationError) as caught:
            services.phases_set(by=self.officer, campaign=campaign, phases=bad)
        self.assertIn("phases.2.ends_on", caught.exception.message_dict)
        services.task_create(by=self.officer, phase=rows[1], title="排查", due_on=end)
        with self.assertRaises(ValidationError) as caught:
            services.phases_set(by=self.officer, campaign=campaign, phases=lines[:1])
        self.assertIn("has tasks", caught.exception.message_dict["phases"][0])

    def test_only_who_runs_the_campaign_edits_phases(self) -> None:
        campaign = self.launch()
        phase = campaign.phases.first()
        with self.assertRaises(PermissionDenied):
            services.phase_update(
                by=self.principal_a,
                phase=phase,
                name="x",
                starts_on=phase.starts_on,
                ends_on=phase.ends_on,
            )


class TaskTests(CampaignCase):
    def test_units_mark_done_in_time_late_and_the_bureau_sees_it(self) -> None:
        campaign = self.launch()
        phase = campaign.phases.get(position=1)
        task = services.task_create(
            by=self.officer, phase=phase, title="制定本校方案", due_on=DAY + dt.timedelta(days=2)
        )
        done, created = services.task_mark_done(
            by=self.principal_a, task=task, unit=self.school_a, note="已印发"
        )
        self.assertTrue(created)
        self.assertFalse(done.late)
        again, created = services.task_mark_done(by=self.principal_a, task=task, unit=self.school_a)
        self.assertEqual((again.pk, created), (done.pk, False))
        with time_machine.travel(at(DAY + dt.timedelta(days=4)), tick=False):
            (progress,) = selectors.task_progress(campaign)
            self.assertEqual((progress.total, progress.on_time, progress.not_done), (4, 1, 3))
            self.assertTrue(progress.overdue)
            self.assertEqual(selectors.overdue([progress]), [progress])
            late, _created = services.task_mark_done(
                by=self.principal_b, task=task, unit=self.school_b
            )
            self.assertTrue(late.late)
            (progress,) = selectors.task_progress(campaign)
            self.assertEqual((progress.on_time, progress.late, progress.not_done), (1, 1, 2))
            states = {r.unit.pk: r.state for r in selectors.task_units(task)}
            self.assertEqual(
                states,
                {
                    self.group_1.pk: "not_done",
                    self.group_2.pk: "not_done",
                    self.school_a.pk: "done",
                    self.school_b.pk: "late",
                },
            )

    def test_a_deadline_outside_the_campaign_is_refused(self) -> None:
        campaign = self.launch()
        phase = campaign.phases.first()
        with self.assertRaises(ValidationError) as caught:
            services.task_create(
                by=self.officer, phase=phase, title="x", due_on=DAY + dt.timedelta(days=30)
            )
        self.assertIn("outside the campaign's window", caught.exception.message_dict["due_on"][0])

    def test_another_school_cannot_do_a_schools_task(self) -> None:
        campaign = self.launch()
        task = services.task_create(
            by=self.officer, phase=campaign.phases.first(), title="x", due_on=DAY
        )
        for person, unit in [
            (self.principal_b, self.school_a),  # another school's principal
            (self.principal_a, self.school_b),
            (self.duty_b, self.school_b),  # duty staff: not a manager
            (self.teacher_a, self.school_a),
            (self.officer, self.school_a),  # the level above sets it, the school does it
        ]:
            with self.assertRaises(PermissionDenied, msg=f"{person} {unit}"):
                services.task_mark_done(by=person, task=task, unit=unit)
        self.assertFalse(TaskDone.objects.exists())
        # A school outside a group's campaign is not one of its units.
        group_campaign = self.launch(unit=self.group_1)
        task_g = services.task_create(
            by=self.officer, phase=group_campaign.phases.first(), title="y", due_on=DAY
        )
        with self.assertRaises(ValidationError):
            services.task_mark_done(by=self.principal_b, task=task_g, unit=self.school_b)

    def test_campaigns_visible_over_my_units_only(self) -> None:
        district = self.launch()
        west = self.launch(unit=self.group_2, name="西山学区专项")
        self.assertEqual(
            set(selectors.campaigns_visible(self.principal_a)), {district}
        )  # not group 2's campaign
        self.assertEqual(set(selectors.campaigns_visible(self.principal_b)), {district, west})
        self.assertEqual(set(selectors.campaigns_visible(self.officer)), {district, west})
        self.assertEqual(list(selectors.campaigns_visible(self.sysadmin)), [])

    def test_my_tasks_due(self) -> None:
        campaign = self.launch()
        task = services.task_create(
            by=self.officer, phase=campaign.phases.first(), title="x", due_on=DAY
        )
        due = selectors.my_tasks_due(self.principal_a)
        self.assertEqual([(d.task, d.unit) for d in due], [(task, self.school_a)])
        services.task_mark_done(by=self.principal_a, task=task, unit=self.school_a)
        self.assertEqual(selectors.my_tasks_due(self.principal_a), [])
        self.assertEqual(selectors.my_tasks_due(self.duty_b), [])


class MemberTests(CampaignCase):
    def test_leadership_group(self) -> None:
        campaign = self.launch()
        services.member_add(
            by=self.officer, campaign=campaign, person=self.principal_a, position="member"
        )
        services.member_add(
            by=self.officer,
            campaign=campaign,
            person=self.officer,
            position="leader",
            duty="全面负责",
        )
        seats = [(m.person, m.position) for m in selectors.members(campaign)]
        self.assertEqual(seats, [(self.officer, "leader"), (self.principal_a, "member")])
        with self.assertRaises(ValidationError) as caught:
            services.member_add(
                by=self.officer, campaign=campaign, person=self.duty_b, position="boss"
            )
        self.assertIn("position", caught.exception.message_dict)
        with self.assertRaises(PermissionDenied):
            services.member_add(
                by=self.principal_a, campaign=campaign, person=self.teacher_a, position="member"
            )


class SwitchTests(CampaignCase):
    def test_level_two_for_a_week_then_level_one_until_the_end(self) -> None:
        campaign = self.launch()
        week = DAY + dt.timedelta(days=6)
        orders = services.campaign_orders_issue(
            by=self.officer,
            campaign=campaign,
            orders=[
                services.PlannedOrder(2, DAY, week),
                services.PlannedOrder(1, week + dt.timedelta(days=1), campaign.ends_on),
            ],
        )
        self.assertEqual([o.level for o in orders], [2, 1])
        self.assertEqual(orders[0].starts_at, at(DAY))  # now: the day has begun
        self.assertEqual(orders[0].ends_at, orders[1].starts_at)
        self.assertEqual(orders[1].ends_at, dt.datetime(2026, 12, 24, tzinfo=TZ))
        self.assertIn(campaign.name, orders[0].reason)
        self.assertEqual(level_selectors.effective_level(self.school_a).level, 2)
        self.assertEqual(
            level_selectors.effective_level(self.school_a, at(DAY + dt.timedelta(days=8))).level,
            1,
        )
        rows = selectors.switches(campaign)
        self.assertEqual(
            [(r.switch.kind, str(r.state)) for r in rows],
            [
                ("order", "in force"),
                ("order", "to come"),
            ],
        )

    def test_orders_are_all_or_none_and_named(self) -> None:
        campaign = self.launch()
        with self.assertRaises(ValidationError) as caught:
            services.campaign_orders_issue(
                by=self.officer,
                campaign=campaign,
                orders=[
                    services.PlannedOrder(2, DAY, DAY + dt.timedelta(days=3)),
                    services.PlannedOrder(1, DAY, campaign.ends_on + dt.timedelta(days=3)),
                ],
            )
        self.assertIn("Order 2:", caught.exception.message_dict["orders"][0])
        self.assertFalse(AlertOrder.objects.exists())
        self.assertFalse(Switch.objects.exists())

    def test_a_schedule_overlapping_another_is_refused_with_its_reason(self) -> None:
        campaign = self.launch()
        reports.schedule_create(
            by=self.officer, root=self.bureau, name="日常日报", starts_on=DAY - dt.timedelta(days=5)
        )
        with self.assertRaises(ValidationError) as caught:
            services.campaign_schedule_switch(by=self.officer, campaign=campaign)
        self.assertIn("日常日报", " ".join(caught.exception.messages))
        # Nearer: a group's own schedule for the window wins over the bureau's.
        schedule = services.campaign_schedule_switch(
            by=self.officer,
            campaign=campaign,
            root=self.group_1,
            deadline_school=dt.time(17, 0),
            deadline_group=dt.time(18, 0),
            deadline_bureau=dt.time(18, 30),
        )
        self.assertEqual(
            (schedule.starts_on, schedule.ends_on), (campaign.starts_on, campaign.ends_on)
        )
        self.assertEqual(reports.schedule_for(self.school_a, DAY + dt.timedelta(days=1)), schedule)
        with self.assertRaises(ValidationError):
            services.campaign_schedule_switch(
                by=self.officer, campaign=self.launch(unit=self.group_2), root=self.group_1
            )

    def test_an_inspection_round_for_the_window(self) -> None:
        campaign = self.launch()
        round_ = services.campaign_round_switch(
            by=self.officer,
            campaign=campaign,
            kind="self",
            title="专项自查",
            categories=["fire", "food"],
        )
        self.assertEqual((round_.starts_on, round_.ends_on), (DAY, campaign.ends_on))
        self.assertEqual(Inspection.objects.filter(round=round_).count(), 2)
        self.assertEqual(Switch.objects.get().round, round_)
        with self.assertRaises(ValidationError):
            services.campaign_round_switch(
                by=self.officer,
                campaign=campaign,
                kind="self",
                title="x",
                categories=["fire"],
                ends_on=campaign.ends_on + dt.timedelta(days=1),
            )
        with self.assertRaises(PermissionDenied):
            services.campaign_round_switch(
                by=self.principal_a, campaign=campaign, kind="self", title="x", categories=["fire"]
            )


class SummaryTests(CampaignCase):
    def test_written_in_the_last_phase_late_after_the_deadline(self) -> None:
        campaign = self.launch()
        last = campaign.phases.order_by("-position").first()
        with self.assertRaises(ValidationError) as caught:
            services.summary_submit(
                by=self.principal_a, campaign=campaign, unit=self.school_a, text="总结"
            )
        self.assertIn("text", caught.exception.message_dict)
        with time_machine.travel(at(last.starts_on), tick=False):
            with self.assertRaises(ValidationError) as caught:
                services.summary_submit(
                    by=self.principal_a, campaign=campaign, unit=self.school_a, text="  "
                )
            self.assertIn("required", caught.exception.message_dict["text"][0])
            with self.assertRaises(ValidationError):
                services.summary_submit(
                    by=self.principal_a, campaign=campaign, unit=self.school_a, text="x" * 10001
                )
            first = services.summary_submit(
                by=self.principal_a, campaign=campaign, unit=self.school_a, text="一、工作开展"
            )
        with time_machine.travel(at(campaign.summary_due_on + dt.timedelta(days=1)), tick=False):
            again = services.summary_submit(
                by=self.principal_a, campaign=campaign, unit=self.school_a, text="一、二、三"
            )
            self.assertEqual((again.pk, again.submitted_at), (first.pk, first.submitted_at))
            self.assertEqual(again.text, "一、二、三")
            services.summary_submit(
                by=self.principal_b, campaign=campaign, unit=self.school_b, text="西山小学总结"
            )
            states = {r.unit.pk: r.state for r in selectors.summaries(campaign)}
            self.assertEqual(
                states,
                {
                    self.group_1.pk: "missing",
                    self.group_2.pk: "missing",
                    self.school_a.pk: "submitted",
                    self.school_b.pk: "late",
                },
            )
        with self.assertRaises(PermissionDenied):
            services.summary_submit(
                by=self.principal_b, campaign=campaign, unit=self.school_a, text="x"
            )
        self.assertEqual(Summary.objects.count(), 2)
