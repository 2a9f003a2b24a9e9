"""Schedules and submitting daily and zero reports: the rules of issue 4, one by one."""

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import translation

from safecampus.audit.models import AuditEntry
from safecampus.audit.services import audit_verify
from safecampus.notify.models import Notification
from safecampus.orgs.models import Membership, Role, Unit
from safecampus.reports import services
from safecampus.reports.models import (
    CalendarDay,
    DailyReport,
    Frequency,
    Level,
    ReportRollup,
    ReportSchedule,
    ReportStatus,
    Status,
)
from safecampus.test import BaseTestCase, audit_triggers_dropped, make_person

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 10)  # a Tuesday, an ordinary working day


def at(day: dt.date, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=SHANGHAI)


def travel(when: dt.datetime) -> time_machine.travel:
    return time_machine.travel(when, tick=False)


def counters(unit: Unit, day: dt.date) -> dict[str, int]:
    """The unit's roll-up counters for the day, by status (summed over its rows)."""
    rows = ReportRollup.objects.filter(unit=unit, date=day).values(*Status.values)
    return {status: sum(row[status] for row in rows) for status in Status.values}


class ReportCase(BaseTestCase):
    """The persona district with heads and office contacts, as a deployment would set them."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.safety_a = make_person("safety.a", "赵安全", "13900000011")
        cls.head_b = make_person("head.b", "孙校长", "13900000012")
        cls.head_g1 = make_person("head.g1", "钱学区长", "13900000013")
        cls.office_g2 = make_person("office.g2", "吴干事", "13900000014")
        cls.head_bureau = make_person("head.bureau", "郑局长", "13900000015")
        Membership.objects.create(person=cls.safety_a, unit=cls.school_a, role=Role.SAFETY_OFFICER)
        Membership.objects.create(person=cls.head_b, unit=cls.school_b, role=Role.PRINCIPAL)
        Membership.objects.create(person=cls.head_g1, unit=cls.group_1, role=Role.GROUP_HEAD)
        Membership.objects.create(person=cls.office_g2, unit=cls.group_2, role=Role.GROUP_HEAD)
        Membership.objects.create(person=cls.head_bureau, unit=cls.bureau, role=Role.BUREAU_LEADER)
        for unit, head, office in [
            (cls.bureau, cls.head_bureau, cls.officer),
            (cls.group_1, cls.head_g1, None),
            (cls.group_2, None, cls.office_g2),
            (cls.school_a, cls.principal_a, None),
            (cls.school_b, cls.head_b, cls.duty_b),
        ]:
            Unit.objects.filter(pk=unit.pk).update(head=head, office_contact=office)

    def setUp(self) -> None:
        super().setUp()
        self.enterContext(translation.override("en"))  # messages are checked in English

    def schedule(self, *, when: dt.datetime | None = None, **kwargs) -> ReportSchedule:
        kwargs.setdefault("root", self.bureau)
        kwargs.setdefault("name", "开学安全日报")
        kwargs.setdefault("starts_on", DAY)
        with travel(when or at(kwargs["starts_on"], 8)):
            return services.schedule_create(by=self.officer, **kwargs)

    def submit(self, when: dt.datetime, unit: Unit, **kwargs) -> DailyReport:
        kwargs.setdefault("by", self.officer)
        kwargs.setdefault("day", when.astimezone(SHANGHAI).date())
        kwargs.setdefault("zero", True)
        with travel(when):
            return services.report_submit(unit=unit, **kwargs)

    def status(self, unit: Unit, day: dt.date = DAY) -> str:
        return ReportStatus.objects.get(unit=unit, date=day).status

    def told(self, event: str) -> dict[str, set[str]]:
        """event's notifications: the unit's name → usernames of the people told."""
        out: dict[str, set[str]] = {}
        for n in Notification.objects.filter(event=event).prefetch_related("deliveries__person"):
            people = {d.person.username for d in n.deliveries.all() if d.person_id}
            out.setdefault(n.unit.name, set()).update(people)
        return out

    def count(self, event: str) -> int:
        return Notification.objects.filter(event=event).count()


class ScheduleTests(ReportCase):
    def test_deadlines_default_by_level(self):
        schedule = self.schedule()
        self.assertEqual(schedule.deadline(Level.DEPARTMENT), dt.time(11, 0))
        self.assertEqual(schedule.deadline(Level.SCHOOL), dt.time(13, 30))
        self.assertEqual(schedule.deadline(Level.GROUP), dt.time(14, 0))
        self.assertEqual(schedule.deadline(Level.BUREAU), dt.time(14, 0))
        self.assertEqual(services.due_at(schedule, Level.SCHOOL, DAY), at(DAY, 13, 30))

    def test_a_parent_due_before_its_children_is_refused_naming_the_field(self):
        cases = [
            ({"deadline_department": dt.time(14, 0)}, "deadline_school"),
            ({"deadline_group": dt.time(13, 0)}, "deadline_group"),
            ({"deadline_bureau": dt.time(13, 59)}, "deadline_bureau"),
        ]
        for deadlines, field in cases:
            with self.subTest(field=field), self.assertRaises(ValidationError) as caught:
                self.schedule(**deadlines)
            self.assertEqual(list(caught.exception.message_dict), [field])
            self.assertIn("cannot be before", caught.exception.message_dict[field][0])
        self.assertFalse(ReportSchedule.objects.exists())
        # Equal deadlines (one deadline for everyone) are fine.
        one = {f"deadline_{lv}": dt.time(15, 0) for lv in Level.values}
        self.assertEqual(self.schedule(**one).deadline(Level.DEPARTMENT), dt.time(15, 0))

    def test_a_deadline_for_no_level_is_refused(self):
        for key in ("deadline_kindergarten", "due_school"):
            with self.subTest(key=key), self.assertRaises(ValidationError) as caught:
                self.schedule(**{key: dt.time(12, 0)})
            self.assertEqual(caught.exception.message_dict, {key: ["Unknown field."]})
        self.assertFalse(ReportSchedule.objects.exists())

    def test_only_a_manager_of_the_root_sets_a_schedule(self):
        with self.assertRaises(PermissionDenied), travel(at(DAY, 8)):
            services.schedule_create(by=self.principal_a, root=self.bureau, name="x", starts_on=DAY)
        with self.assertRaises(PermissionDenied), travel(at(DAY, 8)):
            services.schedule_create(by=self.duty_b, root=self.school_a, name="x", starts_on=DAY)

    def test_working_days_follow_the_seeded_calendar_with_make_up_days(self):
        # Seeded by migration 0002 from holidays.China.
        self.assertFalse(CalendarDay.objects.get(date=dt.date(2026, 10, 1)).is_workday)
        self.assertTrue(CalendarDay.objects.get(date=dt.date(2026, 2, 14)).is_workday)
        schedule = self.schedule(frequency=Frequency.WORKDAYS, starts_on=dt.date(2026, 1, 1))
        expect = {
            dt.date(2026, 10, 1): False,  # Thursday, National Day
            dt.date(2026, 10, 10): True,  # Saturday, 调休 make-up workday
            dt.date(2026, 2, 14): True,  # Saturday, 调休 before the Spring Festival
            dt.date(2026, 2, 17): False,  # Tuesday, Spring Festival
            dt.date(2026, 3, 10): True,  # Tuesday
            dt.date(2026, 3, 14): False,  # Saturday
            dt.date(2026, 3, 15): False,  # Sunday
        }
        for day, works in expect.items():
            with self.subTest(day=day):
                self.assertIs(services.reports_on(schedule, day), works)
        # An administrator's correction of the table wins.
        CalendarDay.objects.create(date=dt.date(2026, 3, 11), is_workday=False, name="停课")
        self.assertFalse(services.reports_on(schedule, dt.date(2026, 3, 11)))
        CalendarDay.objects.filter(date=dt.date(2026, 10, 1)).update(is_workday=True)
        self.assertTrue(services.reports_on(schedule, dt.date(2026, 10, 1)))

    def test_every_n_weeks_counts_from_the_start(self):
        monday = dt.date(2026, 3, 2)
        schedule = self.schedule(frequency=Frequency.WEEKS, every_weeks=2, starts_on=monday)
        days = [monday + dt.timedelta(days=i) for i in range(36)]
        self.assertEqual(
            [d for d in days if services.reports_on(schedule, d)],
            [monday, dt.date(2026, 3, 16), dt.date(2026, 3, 30)],
        )
        with self.assertRaises(ValidationError) as caught:
            self.schedule(frequency=Frequency.WEEKS, every_weeks=0)
        self.assertIn("every_weeks", caught.exception.message_dict)

    def test_window_start_and_end(self):
        schedule = self.schedule(starts_on=DAY, ends_on=dt.date(2026, 3, 20))
        self.assertFalse(services.reports_on(schedule, dt.date(2026, 3, 9)))
        self.assertTrue(services.reports_on(schedule, DAY))
        self.assertTrue(services.reports_on(schedule, dt.date(2026, 3, 20)))
        self.assertFalse(services.reports_on(schedule, dt.date(2026, 3, 21)))
        self.assertIsNone(services.schedule_for(self.school_a, dt.date(2026, 3, 21)))
        self.assertEqual(services.schedule_for(self.school_a, DAY), schedule)
        with self.assertRaises(ValidationError) as caught:
            self.schedule(starts_on=DAY, ends_on=DAY - dt.timedelta(days=1))
        self.assertIn("ends_on", caught.exception.message_dict)


class SubmitTests(ReportCase):
    def setUp(self) -> None:
        super().setUp()
        self.sched = self.schedule(
            frequency=Frequency.WORKDAYS, starts_on=dt.date(2026, 3, 2), when=at(DAY, 8)
        )
        with travel(at(DAY, 0)):
            services.day_open(schedule=self.sched, day=DAY)

    def test_a_zero_report_with_one_tap(self):
        report = self.submit(at(DAY, 9, 15), self.school_a, by=self.safety_a)
        self.assertEqual(
            (report.version, report.zero, report.items, report.late_seconds),
            (1, True, [], 0),
        )
        self.assertEqual(report.submitted_by, self.safety_a)
        self.assertEqual(report.submitted_at, at(DAY, 9, 15))
        self.assertEqual(report.due_at, at(DAY, 13, 30))
        self.assertFalse(report.is_late)
        row = ReportStatus.objects.get(unit=self.school_a, date=DAY)
        self.assertEqual((row.status, row.report_id), (Status.ON_TIME, report.pk))
        self.assertEqual(row.submitted_at, at(DAY, 9, 15))

    def test_a_report_with_items_leaves_room_for_incidents_and_hazards(self):
        report = self.submit(
            at(DAY, 10),
            self.school_b,
            by=self.duty_b,
            zero=False,
            items=[{"what": " 围墙破损 ", "measures": "已设警戒", "extra": "dropped"}],
        )
        report.refresh_from_db()
        self.assertFalse(report.zero)
        self.assertEqual(
            report.items,
            [{"what": "围墙破损", "measures": "已设警戒", "incident_id": None, "hazard_id": None}],
        )

    def test_bad_items_are_refused(self):
        cases = [
            ({"zero": True, "items": [{"what": "x"}]}, "items"),
            ({"zero": False, "items": []}, "items"),
            (
                {"zero": False, "items": [{"what": "x"}, {"what": "  ", "measures": "m"}]},
                "items.1.what",
            ),
            ({"zero": False, "items": [{"what": "x", "measures": 3}]}, "items.0.measures"),
        ]
        for kwargs, field in cases:
            with self.subTest(**kwargs), self.assertRaises(ValidationError) as caught:
                self.submit(at(DAY, 10), self.school_a, **kwargs)
            self.assertEqual(list(caught.exception.message_dict), [field])
        self.assertFalse(DailyReport.objects.exists())

    def test_a_unit_outside_your_subtree_is_refused(self):
        for person, unit in [
            (self.principal_a, self.school_b),
            (self.duty_b, self.school_a),
            (self.principal_a, self.group_1),  # not upwards either
            (self.teacher_a, self.school_a),  # a head teacher does not report for the school
        ]:
            with (
                self.subTest(person=person.username, unit=unit.name),
                self.assertRaises(PermissionDenied),
            ):
                self.submit(at(DAY, 10), unit, by=person)
        self.assertFalse(DailyReport.objects.exists())
        self.assertEqual(self.status(self.school_b), Status.NOT_DUE)
        # The duty staff of B may report for B, the bureau's office for anyone.
        self.submit(at(DAY, 10), self.school_b, by=self.duty_b)
        self.submit(at(DAY, 10), self.school_a, by=self.officer)

    def test_a_future_date_is_refused_in_local_time(self):
        tomorrow = DAY + dt.timedelta(days=1)
        with self.assertRaises(ValidationError) as caught:
            self.submit(at(DAY, 23, 59), self.school_a, day=tomorrow)
        self.assertIn("future", caught.exception.message_dict["date"][0])
        # 16:30 UTC is already tomorrow in Shanghai.
        utc = dt.datetime.combine(DAY, dt.time(16, 30), tzinfo=dt.UTC)
        report = self.submit(utc, self.school_a, day=tomorrow)
        self.assertEqual(report.date, tomorrow)

    def test_a_day_without_a_schedule_is_refused_with_the_reason(self):
        saturday = dt.date(2026, 3, 14)
        with self.assertRaises(ValidationError) as caught:
            self.submit(at(saturday, 10), self.school_a)
        message = caught.exception.message_dict["date"][0]
        self.assertIn("no report due", message)
        self.assertIn(self.school_a.name, message)
        self.assertIn("2026-03-14", message)
        # A unit no schedule covers.
        ReportSchedule.objects.all().delete()
        ReportStatus.objects.all().delete()
        self.schedule(root=self.group_1, name="学区日报")
        with self.assertRaises(ValidationError):
            self.submit(at(DAY, 10), self.school_b)
        self.submit(at(DAY, 10), self.school_a)
        self.assertFalse(DailyReport.objects.filter(unit=self.school_b).exists())

    def test_two_taps_make_one_report(self):
        first = self.submit(at(DAY, 10), self.school_a, by=self.principal_a)
        again = self.submit(at(DAY, 10, 0, 2), self.school_a, by=self.principal_a)
        self.assertEqual(again.pk, first.pk)
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)
        self.assertEqual(AuditEntry.objects.filter(model="reports.dailyreport").count(), 1)
        # The same report with items, resent by a phone: also one.
        items = [{"what": "漏水", "measures": "报修"}]
        b1 = self.submit(at(DAY, 11), self.school_b, zero=False, items=items)
        b2 = self.submit(at(DAY, 11, 5), self.school_b, zero=False, items=items)
        self.assertEqual(b1.pk, b2.pk)

    def test_a_correction_needs_a_reason_and_keeps_the_original(self):
        first = self.submit(at(DAY, 10), self.school_a, by=self.principal_a)
        snapshot = DailyReport.objects.filter(pk=first.pk).values().get()
        items = [{"what": "学生摔伤", "measures": "已送医"}]
        with self.assertRaises(ValidationError) as caught:
            self.submit(at(DAY, 12), self.school_a, zero=False, items=items)
        self.assertIn("reason", caught.exception.message_dict)
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 1)

        second = self.submit(
            at(DAY, 15), self.school_a, zero=False, items=items, reason="漏报一起摔伤"
        )
        self.assertEqual((second.version, second.reason), (2, "漏报一起摔伤"))
        self.assertEqual(DailyReport.objects.filter(pk=first.pk).values().get(), snapshot)
        self.assertEqual(
            list(DailyReport.objects.filter(unit=self.school_a).values_list("version", "zero")),
            [(2, False), (1, True)],
        )
        row = ReportStatus.objects.get(unit=self.school_a, date=DAY)
        # Still on time (the first report was), pointing at the latest version.
        self.assertEqual((row.status, row.report_id), (Status.ON_TIME, second.pk))
        self.assertEqual(row.submitted_at, at(DAY, 10))
        entry = AuditEntry.objects.get(seq=second.audit_seq)
        self.assertEqual(entry.action, "report_correction")

    def test_a_late_report_is_marked_late_by_the_receipt_time(self):
        report = self.submit(at(DAY, 13, 45), self.school_a)
        self.assertTrue(report.is_late)
        self.assertEqual(report.late_seconds, 15 * 60)
        self.assertEqual(self.status(self.school_a), Status.LATE)
        # A group's deadline is later: on time at 13:45.
        group = self.submit(at(DAY, 13, 45), self.group_1)
        self.assertEqual((group.late_seconds, self.status(self.group_1)), (0, Status.ON_TIME))

    def test_a_phone_offline_past_the_deadline_is_accepted_and_late(self):
        with travel(at(DAY, 13, 30)):
            services.level_due(schedule=self.sched, day=DAY, level=Level.SCHOOL)
        self.assertEqual(self.status(self.school_b), Status.MISSING)
        # Written on the phone at 13:00, received at 16:00.
        report = self.submit(at(DAY, 16), self.school_b, by=self.duty_b)
        self.assertEqual(report.submitted_at, at(DAY, 16))
        self.assertEqual(report.late_seconds, int(2.5 * 3600))
        self.assertEqual(self.status(self.school_b), Status.LATE)
        # Yesterday's report, sent today: late by a day and a bit.
        monday = DAY - dt.timedelta(days=1)
        old = self.submit(at(DAY, 16), self.school_b, by=self.duty_b, day=monday)
        self.assertEqual(old.late_seconds, (24 + 2) * 3600 + 30 * 60)
        self.assertEqual(self.status(self.school_b, monday), Status.LATE)

    def test_the_receipt_is_the_reports_entry_in_the_audit_chain(self):
        report = self.submit(at(DAY, 10), self.school_a, by=self.principal_a)
        entry = AuditEntry.objects.get(seq=report.audit_seq)
        self.assertEqual(entry.hash, report.audit_hash)
        self.assertEqual(len(report.audit_hash), 64)
        self.assertEqual(entry.action, "report")
        self.assertEqual(entry.object_id, f"{self.school_a.pk}:{DAY}:v1")
        self.assertEqual(entry.changes["zero"], True)
        self.assertEqual(AuditEntry.objects.order_by("-seq").first(), entry)

    def test_the_database_refuses_to_change_or_delete_a_report(self):
        report = self.submit(at(DAY, 10), self.school_a)
        self.assertEqual(DailyReport._meta.db_table, "reports_dailyreport")
        attempts = {
            "raw update": lambda: connection.cursor().execute(
                "UPDATE reports_dailyreport SET zero = %s WHERE id = %s", [False, report.pk]
            ),
            "raw delete": lambda: connection.cursor().execute(
                "DELETE FROM reports_dailyreport WHERE id = %s", [report.pk]
            ),
            "orm update": lambda: DailyReport.objects.filter(pk=report.pk).update(zero=False),
            "orm delete": lambda: DailyReport.objects.filter(pk=report.pk).delete(),
            "save": lambda: DailyReport.objects.get(pk=report.pk).save(),
        }
        for name, attempt in attempts.items():
            with self.subTest(name), self.assertRaises(DatabaseError), transaction.atomic():
                attempt()
        self.assertTrue(DailyReport.objects.get(pk=report.pk).zero)
        # The triggers are what refuses: without them the same update goes through.
        with audit_triggers_dropped(), transaction.atomic():
            DailyReport.objects.filter(pk=report.pk).update(zero=False)
            transaction.set_rollback(True)

    def test_a_parents_report_carries_its_childrens_roll_up(self):
        self.submit(at(DAY, 10), self.school_a)
        group = self.submit(at(DAY, 11), self.group_1)
        self.assertEqual(group.children, {Status.ON_TIME: 1})
        late_b = self.submit(at(DAY, 13, 40), self.school_b)
        self.assertTrue(late_b.is_late)
        services.exemption_set(by=self.officer, unit=self.group_2, day=DAY, reason="停电停课")
        bureau = self.submit(at(DAY, 13, 50), self.bureau)
        # Its children (the groups), not itself nor its grandchildren.
        self.assertEqual(bureau.children, {Status.ON_TIME: 1, Status.EXEMPT: 1})
        group_2 = Unit.objects.get(pk=self.group_2.pk)
        with self.assertRaises(ValidationError):  # exempt: nothing to report
            self.submit(at(DAY, 13, 55), group_2)


class LimitsAndRepeatsTests(ReportCase):
    """What one report may hold (reports.models: REPORT_MAX_ITEMS, ITEM_TEXT_MAX,
    CORRECTION_REASON_MAX), refused with the field named; and a report sent again."""

    def setUp(self) -> None:
        super().setUp()
        self.sched = self.schedule()
        with travel(at(DAY, 0)):
            services.day_open(schedule=self.sched, day=DAY)

    def refused_field(self, **kwargs) -> str:
        with self.assertRaises(ValidationError) as caught:
            self.submit(at(DAY, 10), self.school_a, **kwargs)
        self.assertEqual(len(caught.exception.message_dict), 1)
        return next(iter(caught.exception.message_dict))

    def test_at_most_the_items_and_characters_a_report_holds(self):
        from safecampus.reports.models import (
            CORRECTION_REASON_MAX,
            ITEM_TEXT_MAX,
            REPORT_MAX_ITEMS,
        )

        many = [{"what": f"第{i}项"} for i in range(REPORT_MAX_ITEMS + 1)]
        self.assertEqual(self.refused_field(zero=False, items=many), "items")
        with translation.override("zh-hans"), self.assertRaises(ValidationError) as caught:
            self.submit(at(DAY, 10), self.school_a, zero=False, items=many)
        self.assertEqual(
            caught.exception.message_dict["items"],
            [f"一份报告最多 {REPORT_MAX_ITEMS} 条事项，本报告有 {REPORT_MAX_ITEMS + 1} 条。"],
        )
        long = "字" * (ITEM_TEXT_MAX + 1)
        items = [{"what": "a"}, {"what": "b"}, {"what": long}]
        self.assertEqual(self.refused_field(zero=False, items=items), "items.2.what")
        items = [{"what": "a", "measures": long}]
        self.assertEqual(self.refused_field(zero=False, items=items), "items.0.measures")
        self.assertFalse(DailyReport.objects.exists())
        # Exactly at the limits: stored, whole.
        full = [{"what": "字" * ITEM_TEXT_MAX, "measures": "措" * ITEM_TEXT_MAX}] * REPORT_MAX_ITEMS
        report = self.submit(at(DAY, 10), self.school_a, zero=False, items=full)
        report.refresh_from_db()
        self.assertEqual(len(report.items), REPORT_MAX_ITEMS)
        self.assertEqual(len(report.items[-1]["measures"]), ITEM_TEXT_MAX)
        reason = "因" * (CORRECTION_REASON_MAX + 1)
        self.assertEqual(self.refused_field(zero=True, reason=reason), "reason")
        fixed = self.submit(at(DAY, 11), self.school_a, zero=True, reason=reason[1:])
        self.assertEqual(len(fixed.reason), CORRECTION_REASON_MAX)

    def test_an_items_incident_or_hazard_is_a_record_number(self):
        for value in [2**70, 2**63, 0, -1, "12", 1.5, True]:
            for name in ("incident_id", "hazard_id"):
                with self.subTest(name=name, value=value):
                    items = [{"what": "x"}, {"what": "y", name: value}]
                    self.assertEqual(self.refused_field(zero=False, items=items), f"items.1.{name}")
        items = [{"what": "x", "incident_id": 2**63 - 1, "hazard_id": 7}]
        report = self.submit(at(DAY, 10), self.school_a, zero=False, items=items)
        report.refresh_from_db()
        self.assertEqual(
            (report.items[0]["incident_id"], report.items[0]["hazard_id"]), (2**63 - 1, 7)
        )

    def test_the_same_correction_sent_again_is_the_version_already_stored(self):
        self.submit(at(DAY, 10), self.school_a)
        items = [{"what": "学生摔伤", "measures": "已送医"}]
        correction = {"zero": False, "items": items, "reason": "漏报一起摔伤"}
        second = self.submit(at(DAY, 11), self.school_a, **correction)
        again = self.submit(at(DAY, 11, 1), self.school_a, **correction)
        self.assertEqual((again.pk, again.version), (second.pk, 2))
        self.assertTrue(again.repeated)
        self.assertFalse(getattr(second, "repeated", False))
        # Resent without its reason (a phone's retry of the same content): also the same.
        bare = self.submit(at(DAY, 11, 2), self.school_a, zero=False, items=items)
        self.assertEqual(bare.pk, second.pk)
        self.assertEqual(DailyReport.objects.filter(unit=self.school_a).count(), 2)
        self.assertEqual(AuditEntry.objects.filter(action="report_correction").count(), 1)
        # The same content with another reason is a new version (the reason changed).
        third = self.submit(at(DAY, 12), self.school_a, **{**correction, "reason": "补充说明"})
        self.assertEqual(third.version, 3)
        # Going back to an older version's content is a correction too.
        fourth = self.submit(at(DAY, 13), self.school_a, zero=True, reason="核实后无事")
        self.assertEqual(fourth.version, 4)
        again = self.submit(at(DAY, 13, 1), self.school_a, zero=True, reason="核实后无事")
        self.assertEqual(again.pk, fourth.pk)

    def test_late_by_whole_seconds_and_odd_names_in_the_receipt(self):
        # Names with quotes, backslashes and control characters hash as Python writes
        # them; lateness is whole seconds, rounded down (what the removed PL/pgSQL
        # submission was checked against).
        Unit.objects.filter(pk=self.school_a.pk).update(name='城关"小学"\\\n\t\x01🏫')
        school = Unit.objects.get(pk=self.school_a.pk)
        moment = at(DAY, 13, 30, 1) + dt.timedelta(microseconds=700_000)
        items = [{"what": "学生摔伤\n", "measures": '已送医 "轻伤"'}]
        report = self.submit(moment, school, by=self.principal_a, zero=False, items=items)
        self.assertEqual(report.late_seconds, 1)
        self.assertEqual(self.status(school), Status.LATE)
        entry = AuditEntry.objects.get(seq=report.audit_seq)
        self.assertEqual(entry.object_repr, school.name)
        self.assertEqual(entry.changes["late_s"], 1)
        self.assertEqual(entry.changes["items"][0]["measures"], '已送医 "轻伤"')
        self.assertTrue(audit_verify().ok)

    def test_a_report_after_the_deadline_marked_the_day_missing_is_late(self):
        with travel(at(DAY, 13, 30)):
            services.level_due(schedule=self.sched, day=DAY, level=Level.SCHOOL)
        self.assertEqual(self.status(self.school_a), Status.MISSING)
        report = self.submit(at(DAY, 13, 30, 2), self.school_a)
        self.assertEqual((report.late_seconds, self.status(self.school_a)), (2, Status.LATE))
        top = counters(self.bureau, DAY)
        self.assertEqual((top["late"], top["missing"]), (1, 1))
