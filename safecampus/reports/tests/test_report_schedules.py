"""Schedules (issue 13 §10, §13, §14): editing a schedule from its next reporting day,
two schedules covering one unit (the nearest decides, the same units twice refused),
and deadlines after midnight."""

import datetime as dt
import json

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from safecampus.audit.models import AuditEntry
from safecampus.notify.models import Notification
from safecampus.orgs.models import UnitKind
from safecampus.orgs.services import token_issue
from safecampus.reports import services
from safecampus.reports.models import Frequency, ReportSchedule, ReportStatus, Status
from safecampus.test import make_unit
from safecampus.worker.models import Timer

from .test_report_deadlines import WEDNESDAY, DeadlineCase
from .test_report_services import DAY, at, travel

THURSDAY = DAY + dt.timedelta(days=2)


def rows(day: dt.date) -> dict[str, tuple[int, dt.datetime, str]]:
    """unit name → (its schedule, its deadline, its status) on the day."""
    return {
        r.unit.name: (r.schedule_id, r.due_at, r.status)
        for r in ReportStatus.objects.filter(date=day).select_related("unit")
    }


class OverlapTests(DeadlineCase):
    """§10, §14: of the schedules running on a day, the nearest decides for a unit."""

    def setUp(self) -> None:
        super().setUp()
        self.district = self.schedule(name="全区日报", when=at(DAY - dt.timedelta(days=1), 18))
        self.evening = self.schedule(
            name="学区晚报",
            root=self.group_1,
            when=at(DAY - dt.timedelta(days=1), 18),
            deadline_school=dt.time(20, 0),
            deadline_group=dt.time(21, 0),
            deadline_bureau=dt.time(21, 0),
        )

    def test_the_same_units_twice_is_refused_naming_the_other(self):
        with self.assertRaises(ValidationError) as caught:
            self.schedule(name="第二个全区日报", when=at(DAY, 8))
        message = caught.exception.message_dict["starts_on"][0]
        self.assertIn("全区日报", message)
        self.assertIn(self.bureau.name, message)
        self.assertFalse(ReportSchedule.objects.filter(name="第二个全区日报").exists())
        # After the first one ends, the same units may have another.
        self.enterContext(travel(at(DAY, 8)))
        services.schedule_update(
            by=self.officer, schedule=self.district, ends_on=DAY + dt.timedelta(days=5)
        )
        later = self.schedule(
            name="寒假日报", starts_on=DAY + dt.timedelta(days=6), when=at(DAY, 8)
        )
        self.assertEqual(later.root, self.bureau)
        # An edit cannot make them meet either.
        with self.assertRaises(ValidationError):
            services.schedule_update(by=self.officer, schedule=self.district, ends_on=None)

    def check_day(self) -> None:
        got = rows(DAY)
        self.assertEqual(
            got,
            {
                self.bureau.name: (self.district.pk, at(DAY, 14), Status.NOT_DUE),
                self.group_2.name: (self.district.pk, at(DAY, 14), Status.NOT_DUE),
                self.school_b.name: (self.district.pk, at(DAY, 13, 30), Status.NOT_DUE),
                # group 1's own schedule decides for group 1 and its school
                self.group_1.name: (self.evening.pk, at(DAY, 21), Status.NOT_DUE),
                self.school_a.name: (self.evening.pk, at(DAY, 20), Status.NOT_DUE),
            },
        )
        self.assertEqual(services.schedule_for(self.school_a, DAY), self.evening)
        self.assertEqual(services.schedule_for(self.school_b, DAY), self.district)

    def test_the_nearest_schedule_decides_whichever_opens_first(self):
        for first, second in [(self.district, self.evening), (self.evening, self.district)]:
            with self.subTest(first=first.name):
                sid = transaction.savepoint()
                with travel(at(DAY, 0)):
                    services.day_open(schedule=first, day=DAY)
                    services.day_open(schedule=second, day=DAY)
                self.check_day()
                transaction.savepoint_rollback(sid)

    def test_each_deadline_sees_its_own_units(self):
        self.tick(at(DAY, 0))
        self.check_day()
        # 13:30: the district's school deadline marks school B, not school A (20:00).
        self.tick(at(DAY, 13, 30))
        self.assertEqual(rows(DAY)[self.school_a.name][2], Status.NOT_DUE)
        self.assertEqual(rows(DAY)[self.school_b.name][2], Status.MISSING)
        self.assertNotIn(self.school_a.name, self.told("report_reminder"))
        self.tick(at(DAY, 19, 30))
        self.assertIn(self.school_a.name, self.told("report_reminder"))
        self.tick(at(DAY, 20))
        self.assertEqual(rows(DAY)[self.school_a.name][2], Status.MISSING)

    def test_the_nearest_decides_on_its_days_without_a_report_too(self):
        services.schedule_update(
            by=self.officer, schedule=self.evening, frequency=Frequency.WEEKS, every_weeks=2
        )
        self.tick(at(WEDNESDAY, 0, 1))
        self.assertIsNone(services.schedule_for(self.school_a, WEDNESDAY))
        self.assertEqual(
            set(rows(WEDNESDAY)),
            {self.bureau.name, self.group_2.name, self.school_b.name},
        )

    def test_the_page_says_the_rule_and_which_units_the_nearer_schedule_takes(self):
        client = self.client_for(self.officer)
        page = client.get(reverse("reports:schedules"))
        self.assertContains(page, 'data-testid="schedule-rule"')
        self.assertContains(page, "the nearest one")
        self.assertContains(page, 'data-testid="schedule-nearer"', count=1)
        self.assertContains(page, f"{self.group_1.name} (学区晚报)")
        # A new schedule for the bureau's units again: refused on the page, with why.
        response = client.post(
            reverse("reports:schedules"),
            {
                "name": "重复日报",
                "root": self.bureau.pk,
                "frequency": "daily",
                "every_weeks": "1",
                "starts_on": "2026-03-20",
                "deadline_department": "11:00",
                "deadline_school": "13:30",
                "deadline_group": "14:00",
                "deadline_bureau": "14:00",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("全区日报", response.context["form"].errors["starts_on"][0])
        # For group 2 it is accepted, and the message says what it takes over.
        response = client.post(
            reverse("reports:schedules"),
            {
                "name": "西山晚报",
                "root": self.group_2.pk,
                "frequency": "daily",
                "every_weeks": "1",
                "starts_on": "2026-03-20",
                "deadline_department": "11:00",
                "deadline_school": "23:00",
                "deadline_group": "23:30",
                "deadline_bureau": "00:30",
                "deadline_bureau_next_day": "on",
            },
            follow=True,
        )
        self.assertContains(response, "instead of “全区日报”")
        self.assertTrue(ReportSchedule.objects.get(name="西山晚报").deadline_bureau_next_day)


class EditTests(DeadlineCase):
    """§10: a change applies from the next reporting day and is in the audit trail."""

    def setUp(self) -> None:
        super().setUp()
        self.sched = self.schedule(when=at(DAY - dt.timedelta(days=1), 18))
        self.tick(at(DAY, 0))

    def test_today_keeps_its_deadlines_the_next_day_has_the_new_ones(self):
        with travel(at(DAY, 9)):
            services.schedule_update(
                by=self.officer,
                schedule=self.sched,
                deadline_school=dt.time(15, 0),
                deadline_group=dt.time(16, 0),
                deadline_bureau=dt.time(17, 0),
            )
        # Today: the rows, reminders and deadlines stay at 13:30.
        self.assertEqual(rows(DAY)[self.school_a.name][1], at(DAY, 13, 30))
        due = Timer.objects.get(key=f"reports:{self.sched.pk}:{DAY}:due:school")
        self.assertEqual(due.due_at, at(DAY, 13, 30))
        self.tick(at(DAY, 13))
        self.assertEqual(
            set(
                Notification.objects.filter(
                    event="report_reminder", unit=self.school_a
                ).values_list("title", flat=True)
            ),
            {"Daily report due at 13:30"},
        )
        self.tick(at(DAY, 13, 30))
        self.assertEqual(rows(DAY)[self.school_a.name][2], Status.MISSING)
        # Opening the day again moves nothing; a school added today reports by today's
        # deadline too.
        with travel(at(DAY, 13, 40)):
            services.day_open(schedule=self.sched, day=DAY)
        self.assertEqual(
            Timer.objects.get(key=f"reports:{self.sched.pk}:{DAY}:due:school").due_at,
            at(DAY, 13, 30),
        )
        self.group_2.refresh_from_db()
        newcomer = make_unit(self.group_2, "S9", "新建小学", UnitKind.SCHOOL)
        report = self.submit(at(DAY, 14), newcomer)
        self.assertEqual((report.due_at, report.late_seconds), (at(DAY, 13, 30), 30 * 60))
        # Wednesday opens with the new deadlines.
        self.tick(at(WEDNESDAY, 0))
        self.assertEqual(rows(WEDNESDAY)[self.school_a.name][1], at(WEDNESDAY, 15))
        self.assertEqual(rows(WEDNESDAY)[self.bureau.name][1], at(WEDNESDAY, 17))

    def test_a_change_of_days_plans_the_next_opening_again(self):
        self.assertTrue(Timer.objects.filter(key=f"reports:{self.sched.pk}:{WEDNESDAY}:open"))
        with travel(at(DAY, 9)):
            services.schedule_update(
                by=self.officer, schedule=self.sched, frequency=Frequency.WEEKS, every_weeks=1
            )
        keys = set(
            Timer.objects.filter(kind="reports.open", fired_at__isnull=True).values_list(
                "key", flat=True
            )
        )
        self.assertEqual(keys, {f"reports:{self.sched.pk}:{DAY + dt.timedelta(days=7)}:open"})
        self.tick(at(THURSDAY, 23))
        self.assertEqual(set(ReportStatus.objects.values_list("date", flat=True)), {DAY})

    def test_what_an_edit_may_not_do(self):
        cases = [
            ({"root": self.group_1}, "root"),
            ({"deadline_group": dt.time(13, 0)}, "deadline_group"),
            ({"ends_on": DAY - dt.timedelta(days=1)}, "ends_on"),
            ({"starts_on": DAY + dt.timedelta(days=3)}, "starts_on"),  # it has started
            ({"created_by": self.duty_b}, "created_by"),
        ]
        for fields, field in cases:
            with self.subTest(field=field), travel(at(DAY, 9)):
                with self.assertRaises(ValidationError) as caught:
                    services.schedule_update(by=self.officer, schedule=self.sched, **fields)
                self.assertIn(field, caught.exception.message_dict)
        self.sched.refresh_from_db()
        self.assertEqual(self.sched.deadline_group, dt.time(14, 0))

    def test_edit_page_and_who_may_use_it(self):
        url = reverse("reports:schedule_edit", args=[self.sched.pk])
        client = self.client_for(self.officer)
        page = client.get(url)
        self.assertContains(page, 'value="13:30"')
        data = {
            "name": "冬季日报",
            "frequency": "daily",
            "every_weeks": "1",
            "starts_on": DAY.isoformat(),
            "ends_on": "",
            "deadline_department": "11:00",
            "deadline_school": "23:00",
            "deadline_group": "23:30",
            "deadline_bureau": "00:30",
            "deadline_bureau_next_day": "on",
        }
        with travel(at(DAY, 9)):
            response = client.post(url, data)
        self.assertEqual(response.status_code, 302, getattr(response, "context", None))
        self.sched.refresh_from_db()
        self.assertEqual(
            (self.sched.name, self.sched.deadline_school, self.sched.deadline_bureau_next_day),
            ("冬季日报", dt.time(23, 0), True),
        )
        # A bad order keeps what was typed, with the reason beside the field.
        with travel(at(DAY, 9)):
            response = client.post(url, {**data, "deadline_bureau_next_day": "", "name": "X日报"})
        self.assertEqual(response.status_code, 200)
        self.assertIn("deadline_bureau", response.context["form"].errors)
        self.assertContains(response, "X日报")
        # Who cannot see the bureau's schedule gets a 404; who sees a schedule but does
        # not run its units, a 403.
        self.assertEqual(self.client_for(self.duty_b).post(url, data).status_code, 404)
        self.assertEqual(self.client_for(self.principal_a).get(url).status_code, 404)
        own = self.schedule(root=self.school_b, name="西山小学日报", starts_on=DAY, when=at(DAY, 8))
        response = self.client_for(self.duty_b).post(
            reverse("reports:schedule_edit", args=[own.pk]), data
        )
        self.assertEqual(response.status_code, 403)


class ApiTests(DeadlineCase):
    def setUp(self) -> None:
        super().setUp()
        self.sched = self.schedule(when=at(DAY - dt.timedelta(days=1), 18))

    def api(self, person):
        client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_issue(person=person)}"
        return client

    def patch(self, person, body, pk=None):
        with travel(at(DAY, 9)):
            return self.api(person).patch(
                f"/api/v1/report-schedules/{pk or self.sched.pk}",
                json.dumps(body),
                content_type="application/json",
            )

    def test_patch_list_and_create(self):
        ok = self.patch(
            self.officer, {"deadline_bureau": "00:30", "deadline_bureau_next_day": True}
        )
        self.assertEqual(ok.status_code, 200, ok.content)
        self.assertEqual(ok.json()["deadline_bureau"], "00:30:00")
        self.assertTrue(ok.json()["deadline_bureau_next_day"])
        with travel(at(DAY, 9)):
            created = self.api(self.officer).post(
                "/api/v1/report-schedules",
                json.dumps(
                    {"root": self.group_1.pk, "name": "学区晚报", "starts_on": "2026-03-12"}
                ),
                content_type="application/json",
            )
        self.assertEqual(created.status_code, 201, created.content)
        listed = {s["id"]: s for s in self.api(self.officer).get("/api/v1/report-schedules").json()}
        self.assertEqual(listed[self.sched.pk]["nearer"], [created.json()["id"]])

    def test_the_change_is_in_the_audit_trail(self):
        self.patch(self.officer, {"deadline_school": "12:00"})
        entry = AuditEntry.objects.filter(model="reports.reportschedule").order_by("-seq").first()
        self.assertEqual(entry.action, "update")
        self.assertEqual(entry.object_id, str(self.sched.pk))
        self.assertEqual(entry.changes["deadline_school"], ["13:30:00", "12:00:00"])
        self.assertEqual(entry.actor_id, self.officer.pk)

    def test_refusals(self):
        cases = [
            ({"deadline_school": "25:00"}, 422, "deadline_school"),
            ({"deadline_school": 3600}, 422, "deadline_school"),
            ({"deadline_group": "13:00"}, 422, "deadline_group"),
            ({"root": self.group_1.pk}, 422, "root"),
            ({"name": None}, 422, "name"),
        ]
        for body, status, field in cases:
            with self.subTest(body=body):
                answer = self.patch(self.officer, body)
                self.assertEqual(answer.status_code, status, answer.content)
                fields = [e["field"] for e in answer.json()["errors"]]
                self.assertIn(field, fields[0])
        self.assertEqual(self.patch(self.duty_b, {"name": "x"}).status_code, 404)
        self.assertEqual(self.patch(self.principal_a, {"name": "x"}).status_code, 404)
        own = self.schedule(root=self.school_b, name="西山小学日报", starts_on=DAY, when=at(DAY, 8))
        self.assertEqual(self.patch(self.duty_b, {"name": "x"}, pk=own.pk).status_code, 403)
        self.assertEqual(self.patch(self.officer, {"name": "x"}, pk=2**70).status_code, 404)
        self.sched.refresh_from_db()
        self.assertEqual(self.sched.name, "开学安全日报")


class AfterMidnightTests(DeadlineCase):
    """§13: evening reports, the schools by 23:00, the bureau by 00:30 the next day."""

    def setUp(self) -> None:
        super().setUp()
        self.sched = self.schedule(
            when=at(DAY - dt.timedelta(days=1), 18),
            deadline_department=dt.time(22, 0),
            deadline_school=dt.time(23, 0),
            deadline_group=dt.time(23, 30),
            deadline_bureau=dt.time(0, 30),
            deadline_bureau_next_day=True,
        )

    def test_the_deadline_is_the_next_days_instant_and_its_reminder_fires_then(self):
        self.tick(at(DAY, 0))
        self.assertEqual(rows(DAY)[self.bureau.name][1], at(WEDNESDAY, 0, 30))
        remind = Timer.objects.get(key=f"reports:{self.sched.pk}:{DAY}:remind:bureau")
        self.assertEqual(remind.due_at, at(WEDNESDAY, 0, 0))
        self.assertIsNone(remind.fired_at)  # not at once when the day opens
        self.assertNotIn(self.bureau.name, self.told("report_reminder"))
        # The schools and groups report in the evening; the schools' reminder at 22:30.
        self.tick(at(DAY, 22, 30))
        self.assertIn(self.school_a.name, self.told("report_reminder"))
        self.submit(at(DAY, 22, 50), self.school_a, by=self.principal_a)
        self.submit(at(DAY, 22, 55), self.school_b, by=self.head_b)
        self.submit(at(DAY, 23, 20), self.group_1, by=self.head_g1)
        self.submit(at(DAY, 23, 25), self.group_2, by=self.office_g2)
        self.tick(at(DAY, 23, 59))
        self.assertNotIn(self.bureau.name, self.told("report_reminder"))
        # Midnight: Wednesday opens, and Tuesday's bureau reminder fires at its instant.
        self.tick(at(WEDNESDAY, 0, 0))
        self.assertIn(self.bureau.name, self.told("report_reminder"))
        title = Notification.objects.get(event="report_reminder", unit=self.bureau).title
        self.assertEqual(title, f"Daily report due at {WEDNESDAY} 00:30")
        self.assertEqual(len(rows(WEDNESDAY)), 5)
        self.assertEqual(rows(DAY)[self.bureau.name][2], Status.NOT_DUE)
        # The bureau reports Tuesday's at 00:20 on Wednesday: on time.
        report = self.submit(at(WEDNESDAY, 0, 20), self.bureau, day=DAY)
        self.assertEqual((report.late_seconds, report.due_at), (0, at(WEDNESDAY, 0, 30)))
        self.tick(at(WEDNESDAY, 0, 30))
        self.assertEqual(
            {name: status for name, (_s, _d, status) in rows(DAY).items()},
            dict.fromkeys(
                [
                    self.bureau.name,
                    self.group_1.name,
                    self.group_2.name,
                    self.school_a.name,
                    self.school_b.name,
                ],
                Status.ON_TIME,
            ),
        )
        self.assertEqual(Notification.objects.filter(event="report_missing").count(), 0)

    def test_missing_after_midnight(self):
        self.tick(at(DAY, 0))
        self.tick(at(WEDNESDAY, 0, 29))
        self.assertEqual(rows(DAY)[self.bureau.name][2], Status.NOT_DUE)
        self.tick(at(WEDNESDAY, 0, 30))
        self.assertEqual(rows(DAY)[self.bureau.name][2], Status.MISSING)
        late = self.submit(at(WEDNESDAY, 1, 0), self.bureau, day=DAY)
        self.assertEqual(late.late_seconds, 30 * 60)

    def test_the_order_of_levels_counts_from_the_days_start(self):
        # The bureau at 00:30 the next day is after the groups at 23:30: accepted above.
        # The schools "the next day" at 00:10 after the groups at 23:30 the same day: refused.
        with self.assertRaises(ValidationError) as caught:
            services.schedule_update(
                by=self.officer,
                schedule=self.sched,
                deadline_school=dt.time(0, 10),
                deadline_school_next_day=True,
            )
        self.assertIn("deadline_group", caught.exception.message_dict)
        # The groups the next day too, at 00:20, before the bureau's 00:30: accepted.
        with travel(at(DAY - dt.timedelta(days=1), 19)):
            services.schedule_update(
                by=self.officer,
                schedule=self.sched,
                deadline_school=dt.time(0, 10),
                deadline_school_next_day=True,
                deadline_group=dt.time(0, 20),
                deadline_group_next_day=True,
            )
        self.tick(at(DAY, 0))
        self.assertEqual(rows(DAY)[self.school_a.name][1], at(WEDNESDAY, 0, 10))

    def test_a_schedule_made_in_the_evening_opens_today_when_its_deadlines_are_ahead(self):
        night = {
            "deadline_department": dt.time(22, 0),
            "deadline_school": dt.time(23, 0),
            "deadline_group": dt.time(23, 30),
            "deadline_bureau": dt.time(0, 30),
            "deadline_bureau_next_day": True,
        }
        today = self.schedule(
            when=at(WEDNESDAY, 20), root=self.group_1, starts_on=WEDNESDAY, **night
        )
        self.assertTrue(Timer.objects.filter(key=f"reports:{today.pk}:{WEDNESDAY}:open").exists())
        # Made at 22:10, after its first deadline (22:00): it starts the next day.
        late = self.schedule(
            when=at(WEDNESDAY, 22, 10), root=self.group_2, starts_on=WEDNESDAY, **night
        )
        self.assertFalse(Timer.objects.filter(key=f"reports:{late.pk}:{WEDNESDAY}:open").exists())
        self.assertTrue(Timer.objects.filter(key=f"reports:{late.pk}:{THURSDAY}:open").exists())

    def test_the_today_page_offers_yesterdays_report_until_its_deadline(self):
        self.tick(at(DAY, 0))
        self.tick(at(WEDNESDAY, 0, 0))
        client = self.client_for(self.officer)
        with travel(at(WEDNESDAY, 0, 15)):
            page = client.get(reverse("reports:today"))
            (row,) = [r for r in page.context["rows"] if r.unit == self.bureau]
            self.assertEqual((row.day, row.due_text), (DAY, f"{WEDNESDAY} 00:30"))
            self.assertContains(page, f"The report for {DAY}")
            self.assertContains(page, f'name="date" value="{DAY}"')
            client.post(reverse("reports:zero", args=[self.bureau.pk]), {"date": DAY.isoformat()})
        self.assertEqual(rows(DAY)[self.bureau.name][2], Status.ON_TIME)
        with travel(at(WEDNESDAY, 0, 16)):
            (row,) = [
                r
                for r in client.get(reverse("reports:today")).context["rows"]
                if r.unit == self.bureau
            ]
        self.assertEqual(row.day, WEDNESDAY)  # reported: today's is next
