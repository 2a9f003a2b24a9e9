"""The official calendar: the system administrator's page, the import of the State
Council's list (all rows or none), loading from the holidays package, a year not
loaded, the November warning and the worker's notice, the API, the audit trail."""

import datetime as dt
import io
import json

import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from safecampus.audit.models import AuditEntry
from safecampus.notify.models import Notification
from safecampus.orgs.services import token_issue
from safecampus.reports import calendar_import, official_calendar, services, timers
from safecampus.reports.models import (
    CalendarDay,
    CalendarSource,
    CalendarYear,
    Frequency,
    ReportStatus,
)
from safecampus.test import BaseTestCase
from safecampus.worker.loop import Worker
from safecampus.worker.models import Timer

URL = "/reports/calendar/"
# 2028: the holidays package (0.109) knows its statutory holidays, not its make-up days.
SPRING_2028 = dt.date(2028, 1, 26)  # Wednesday, 春节 by the package
PLAIN_WEDNESDAY = dt.date(2028, 3, 8)
SATURDAY = dt.date(2028, 3, 11)


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


# The State Council's list as a system administrator types it (an invented 2028 list).
LIST_2028 = """\
# 2028 年部分节假日安排
2028-01-01 放假 元旦
2028-01-25~2028-02-01 放假 春节
2028-01-23 上班 春节调休上班
2028-02-05 上班 春节调休上班
2028-04-04 放假 清明节
2028-05-01~2028-05-05 放假 劳动节
2028-04-29 上班 劳动节调休上班
2028-10-01~2028-10-07 放假 国庆节
2028-09-30 上班 国庆节调休上班
"""


class CalendarTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.travel = time_machine.travel(at(dt.date(2027, 6, 1)), tick=False)
        self.travel.start()

    def tearDown(self):
        self.travel.stop()
        super().tearDown()

    def client_for(self, person):
        # The test travels in time: the persona's password is not expired then.
        type(person).objects.filter(pk=person.pk).update(password_changed_at=timezone.now())
        return super().client_for(person)

    def calendar_entries(self):
        return AuditEntry.objects.filter(model="reports.calendarday")


class PageAccessTest(CalendarTestCase):
    def test_only_the_system_administrator_opens_and_changes_it(self):
        response = self.client_for(self.sysadmin).get(URL + "?year=2028")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["year"], 2028)
        for person in (self.officer, self.principal_a, self.duty_b, self.secadmin, self.auditadmin):
            client = self.client_for(person)
            with self.subTest(person=person.username):
                self.assertEqual(client.get(URL).status_code, 403)
                post = client.post(URL, {"date": "2028-03-08", "kind": "holiday", "name": "x"})
                self.assertEqual(post.status_code, 403)
                self.assertEqual(client.post(URL + "seed/", {"year": 2028}).status_code, 403)
                self.assertEqual(
                    client.post(URL + "import/", {"year": 2028, "text": LIST_2028}).status_code,
                    403,
                )
                self.assertEqual(client.get(URL + "template.xlsx").status_code, 403)
                self.assertEqual(client.post(URL + "2026-10-01/remove/").status_code, 403)
        self.assertFalse(CalendarDay.objects.filter(date=PLAIN_WEDNESDAY).exists())
        self.assertTrue(CalendarDay.objects.filter(date=dt.date(2026, 10, 1)).exists())
        self.assertFalse(CalendarYear.objects.filter(year=2028).exists())
        anonymous = self.client_class().get(URL)
        self.assertEqual(anonymous.status_code, 302)

    def test_the_services_refuse_others_too(self):
        with self.assertRaises(PermissionDenied):
            official_calendar.calendar_day_set(
                by=self.officer, day=PLAIN_WEDNESDAY, is_workday=False
            )
        with self.assertRaises(PermissionDenied):
            official_calendar.calendar_seed([2028], by=self.principal_a)
        with self.assertRaises(PermissionDenied):
            official_calendar.calendar_year_replace(by=self.secadmin, year=2028, days={})

    def test_the_menu_shows_it_to_the_system_administrator_only(self):
        self.assertContains(self.client_for(self.sysadmin).get("/"), 'data-testid="menu-calendar"')
        self.assertNotContains(
            self.client_for(self.officer).get("/"), 'data-testid="menu-calendar"'
        )


class DayEditTest(CalendarTestCase):
    def test_a_2028_holiday_set_on_the_page_closes_the_day_for_reporting(self):
        schedule = services.schedule_create(
            by=self.officer,
            root=self.bureau,
            name="工作日日报",
            starts_on=dt.date(2028, 3, 1),
            frequency=Frequency.WORKDAYS,
        )
        self.assertTrue(services.reports_on(schedule, PLAIN_WEDNESDAY))
        client = self.client_for(self.sysadmin)
        response = client.post(
            URL + "?year=2028", {"date": "2028-03-08", "kind": "holiday", "name": "停课"}
        )
        self.assertRedirects(response, URL + "?year=2028", fetch_redirect_response=False)
        self.assertFalse(services.is_workday(PLAIN_WEDNESDAY))
        self.assertFalse(services.reports_on(schedule, PLAIN_WEDNESDAY))
        # A Saturday made a make-up workday opens.
        client.post(URL, {"date": "2028-03-11", "kind": "workday", "name": "调休上班"})
        self.assertTrue(services.reports_on(schedule, SATURDAY))
        entry = self.calendar_entries().get(object_id="2028-03-08")
        self.assertEqual(entry.action, "create")
        self.assertEqual(entry.actor_id, self.sysadmin.pk)
        self.assertEqual(entry.changes, {"is_workday": [None, False], "name": [None, "停课"]})
        page = client.get(URL + "?year=2028")
        self.assertEqual(
            [(d.date, d.is_workday, d.name) for d in page.context["days"]],
            [(PLAIN_WEDNESDAY, False, "停课"), (SATURDAY, True, "调休上班")],
        )

    def test_change_and_remove_are_in_the_audit_trail(self):
        client = self.client_for(self.sysadmin)
        day = dt.date(2026, 10, 1)  # seeded: 国庆节
        edit = client.get(URL + "?year=2026&edit=2026-10-01")
        self.assertEqual(edit.context["form"].initial["kind"], "holiday")
        client.post(URL, {"date": "2026-10-01", "kind": "workday", "name": "上班"})
        self.assertTrue(CalendarDay.objects.get(date=day).is_workday)
        client.post(URL + "2026-10-01/remove/")
        self.assertFalse(CalendarDay.objects.filter(date=day).exists())
        self.assertEqual(
            list(self.calendar_entries().order_by("seq").values_list("action", "changes")),
            [
                ("update", {"is_workday": [False, True], "name": ["国庆节", "上班"]}),
                ("delete", {"is_workday": [True, None], "name": ["上班", None]}),
            ],
        )
        # Removing a day not there says so.
        with translation.override("en"):
            response = client.post(URL + "2026-10-01/remove/", follow=True)
        self.assertContains(response, "2026-10-01 is not in the calendar.")
        self.assertEqual(client.post(URL + "2026-13-01/remove/").status_code, 404)

    def test_bad_input_keeps_what_was_typed_and_names_the_field(self):
        client = self.client_for(self.sysadmin)
        response = client.post(
            URL + "?year=2028", {"date": "1999-01-01", "kind": "x", "name": "年"}
        )
        self.assertEqual(response.status_code, 422)
        form = response.context["form"]
        self.assertIn("kind", form.errors)
        self.assertEqual(form.data["name"], "年")
        response = client.post(URL, {"date": "1999-01-01", "kind": "holiday", "name": "年"})
        self.assertEqual(response.status_code, 422)
        self.assertIn("date", response.context["form"].errors)
        response = client.post(URL, {"date": "2028-03-08", "kind": "holiday", "name": "x" * 101})
        self.assertIn("name", response.context["form"].errors)
        self.assertFalse(CalendarDay.objects.filter(date__year__in=[1999, 2028]).exists())


class YearNotLoadedTest(CalendarTestCase):
    def test_a_year_not_loaded_is_estimated_from_the_package_then_the_weekdays(self):
        self.assertFalse(CalendarYear.objects.filter(year=2028).exists())
        self.assertFalse(CalendarDay.objects.filter(date__year=2028).exists())
        # Before: every weekday was a school day, the Spring Festival and National Day too.
        self.assertFalse(services.is_workday(SPRING_2028))
        self.assertFalse(services.is_workday(dt.date(2028, 10, 2)))  # Monday, 国庆节
        self.assertTrue(services.is_workday(PLAIN_WEDNESDAY))
        self.assertFalse(services.is_workday(SATURDAY))

    def test_in_a_loaded_year_the_list_decides_and_the_package_no_longer_counts(self):
        client = self.client_for(self.sysadmin)
        client.post(URL + "import/", {"year": 2028, "text": LIST_2028})
        state = CalendarYear.objects.get(year=2028)
        self.assertEqual((state.source, state.complete), (CalendarSource.IMPORT, True))
        self.assertFalse(services.is_workday(SPRING_2028))
        self.assertFalse(services.is_workday(dt.date(2028, 2, 1)))  # Tuesday, on the list
        self.assertTrue(services.is_workday(dt.date(2028, 1, 23)))  # Sunday, make-up
        # 2028-01-03 is the package's guess (元旦（补假）), not on the list: a working day.
        self.assertTrue(services.is_workday(dt.date(2028, 1, 3)))
        self.assertFalse(services.is_workday(dt.date(2028, 5, 28)))  # Sunday, not listed


class ImportTest(CalendarTestCase):
    def test_every_bad_row_is_listed_and_nothing_is_imported(self):
        client = self.client_for(self.sysadmin)
        client.post(URL, {"date": "2028-03-08", "kind": "holiday", "name": "停课"})
        before = list(CalendarDay.objects.filter(date__year=2028).values_list("date", "name"))
        entries = AuditEntry.objects.count()
        text = "\n".join(
            [
                "2028-01-01 放假 元旦",  # 1 good
                "2028-02-30 放假 春节",  # 2 bad date
                "2027-12-31 放假 元旦",  # 3 wrong year
                "2028-01-01 放假 元旦",  # 4 duplicate of 1
                "2028-01-23 休假日 春节调休上班",  # 5 unknown kind
                "2028-01-28~2028-01-25 放假 春节",  # 6 range backwards
                "2028-04-04",  # 7 kind missing
                "2028-10-01~2028-10-07 放假 国庆节",  # 8 good
            ]
        )
        with translation.override("en"):
            response = client.post(URL + "import/", {"year": 2028, "text": text})
        self.assertEqual(response.status_code, 422)
        errors = [(e.row, e.reason) for e in response.context["import_result"].errors]
        self.assertEqual(
            errors,
            [
                (
                    2,
                    "'2028-02-30' is not a date: write 2028-01-26, or a range 2028-01-26~2028-02-01.",
                ),
                (3, "2027-12-31 is not in 2028."),
                (4, "2028-01-01 is already on row 1."),
                (5, "'休假日' is not a kind: write 放假 (holiday) or 上班 (working day)."),
                (6, "The range ends before it starts."),
                (7, "The kind is missing: write 放假 (holiday) or 上班 (working day)."),
            ],
        )
        self.assertContains(response, 'data-testid="import-error"', count=6, status_code=422)
        self.assertEqual(response.context["import_form"].data["text"], text)
        self.assertEqual(
            list(CalendarDay.objects.filter(date__year=2028).values_list("date", "name")), before
        )
        self.assertFalse(CalendarYear.objects.filter(year=2028).exists())
        self.assertEqual(AuditEntry.objects.count(), entries)

    def test_a_good_list_replaces_the_year(self):
        official_calendar.calendar_seed([2028], by=self.sysadmin)  # the package's guesses
        self.assertTrue(CalendarDay.objects.filter(date=dt.date(2028, 1, 3)).exists())
        client = self.client_for(self.sysadmin)
        response = client.post(URL + "import/", {"year": 2028, "text": LIST_2028})
        self.assertRedirects(response, URL + "?year=2028", fetch_redirect_response=False)
        days = dict(CalendarDay.objects.filter(date__year=2028).values_list("date", "is_workday"))
        self.assertEqual(len(days), 1 + 8 + 2 + 1 + 5 + 1 + 7 + 1)
        self.assertNotIn(dt.date(2028, 1, 3), days)  # the package's guess is gone
        self.assertIs(days[dt.date(2028, 2, 5)], True)
        self.assertIs(days[dt.date(2028, 1, 31)], False)
        self.assertEqual(CalendarDay.objects.get(date=dt.date(2028, 1, 31)).name, "春节")
        removed = self.calendar_entries().filter(object_id="2028-01-03", action="delete")
        self.assertEqual(removed.count(), 1)
        # Importing the same list again changes nothing and writes no entry.
        entries = self.calendar_entries().count()
        client.post(URL + "import/", {"year": 2028, "text": LIST_2028})
        self.assertEqual(self.calendar_entries().count(), entries)
        # The package may not add its guesses to an imported year.
        with self.assertRaises(ValidationError):
            official_calendar.calendar_seed([2028], by=self.sysadmin)

    def test_the_template_workbook_round_trips(self):
        client = self.client_for(self.sysadmin)
        template = client.get(URL + "template.xlsx")
        self.assertEqual(template.status_code, 200)
        wb = load_workbook(io.BytesIO(template.content))
        ws = wb[calendar_import.SHEET]
        self.assertEqual([c.value for c in ws[1]], ["日期", "类型", "名称"])
        ws.append(["2028-01-25~2028-02-01", "放假", "春节"])
        ws.append([dt.datetime(2028, 1, 23), "上班", "春节调休上班"])  # noqa: DTZ001 (Excel's date)
        content = io.BytesIO()
        wb.save(content)
        content.seek(0)
        content.name = "2028.xlsx"
        response = client.post(URL + "import/", {"year": 2028, "workbook": content})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(CalendarDay.objects.filter(date__year=2028).count(), 9)
        self.assertTrue(CalendarDay.objects.get(date=dt.date(2028, 1, 23)).is_workday)

    def test_a_workbook_with_bad_rows_lists_them_by_row(self):
        wb = Workbook()
        ws = wb.active
        ws.append(["日期", "类型", "名称"])
        ws.append(["2028-01-26", "放假", "春节"])
        ws.append(["明天", "放假", ""])
        ws.append(["2028-01-26", "上班", ""])
        content = io.BytesIO()
        wb.save(content)
        content.seek(0)
        with translation.override("en"):
            result = calendar_import.calendar_import(by=self.sysadmin, year=2028, file=content)
        self.assertEqual(
            [(e.row, e.reason) for e in result.errors],
            [
                (3, "'明天' is not a date: write 2028-01-26, or a range 2028-01-26~2028-02-01."),
                (4, "2028-01-26 is already on row 2."),
            ],
        )
        self.assertFalse(CalendarDay.objects.filter(date__year=2028).exists())
        with translation.override("en"):
            bad = calendar_import.calendar_import(
                by=self.sysadmin, year=2028, file=io.BytesIO(b"not a workbook")
            )
        self.assertEqual(bad.errors[0].reason, "The file is not an Excel workbook (.xlsx).")


class SeedTest(CalendarTestCase):
    def test_loading_from_the_package_shows_what_it_loaded_and_warns_without_make_up_days(self):
        client = self.client_for(self.sysadmin)
        response = client.post(URL + "seed/", {"year": 2028})
        self.assertEqual(response.status_code, 200)
        seed = response.context["seed"]
        self.assertIn(SPRING_2028, [d.date for d in seed.added])
        self.assertFalse(seed.has_make_up_days)
        self.assertContains(response, 'data-testid="seed-no-make-up"')
        state = CalendarYear.objects.get(year=2028)
        self.assertEqual(
            (state.source, state.complete, state.loaded_by), ("package", False, self.sysadmin)
        )
        self.assertEqual(CalendarDay.objects.get(date=SPRING_2028).name, "春节")
        self.assertEqual(self.calendar_entries().filter(action="create").count(), len(seed.added))

    def test_a_year_the_package_knows_is_complete_and_corrections_are_kept(self):
        CalendarDay.objects.filter(date=dt.date(2026, 10, 1)).update(name="国庆")
        (result,) = official_calendar.calendar_seed([2026], by=self.sysadmin)
        self.assertTrue(result.has_make_up_days)
        self.assertEqual(result.added, [])
        self.assertEqual(CalendarDay.objects.get(date=dt.date(2026, 10, 1)).name, "国庆")
        self.assertTrue(CalendarYear.objects.get(year=2026).complete)
        self.assertEqual(CalendarDay.objects.get(date=dt.date(2026, 2, 14)).name, "春节调休上班")

    def test_the_migration_recorded_the_years_it_seeded(self):
        states = dict(CalendarYear.objects.values_list("year", "complete"))
        # The package (0.109) has no make-up workdays for 2027 yet.
        self.assertEqual(states, {2024: True, 2025: True, 2026: True, 2027: False})

    def test_confirming_by_hand_makes_a_year_complete(self):
        client = self.client_for(self.sysadmin)
        client.post(URL, {"date": "2027-02-20", "kind": "workday", "name": "春节调休上班"})
        client.post(URL + "confirm/", {"year": 2027})
        state = CalendarYear.objects.get(year=2027)
        self.assertEqual((state.source, state.complete), (CalendarSource.MANUAL, True))


class WarningTest(CalendarTestCase):
    def warned(self, person, when):
        with time_machine.travel(when, tick=False):
            return self.client_for(person).get("/").context["calendar_missing"]

    def test_from_november_the_home_page_warns_when_next_year_is_not_loaded(self):
        self.assertIsNone(self.warned(self.sysadmin, at(dt.date(2027, 10, 31), 23)))
        self.assertEqual(self.warned(self.sysadmin, at(dt.date(2027, 11, 1), 0)), 2028)
        self.assertEqual(self.warned(self.officer, at(dt.date(2027, 11, 1))), 2028)  # the bureau
        for person in (self.principal_a, self.duty_b, self.auditadmin, self.secadmin):
            self.assertIsNone(self.warned(person, at(dt.date(2027, 12, 1))))
        # Loaded from the package without make-up workdays: still warned.
        official_calendar.calendar_seed([2028], by=self.sysadmin)
        self.assertEqual(self.warned(self.sysadmin, at(dt.date(2027, 11, 2))), 2028)
        official_calendar.calendar_year_replace(
            by=self.sysadmin, year=2028, days={SPRING_2028: (False, "春节")}
        )
        self.assertIsNone(self.warned(self.sysadmin, at(dt.date(2027, 11, 2))))
        with time_machine.travel(at(dt.date(2027, 11, 2)), tick=False), translation.override("en"):
            page = self.client_for(self.officer).get("/")
        self.assertNotContains(page, 'data-testid="calendar-missing"')

    def test_the_warning_names_the_year_and_links_the_administrator_to_the_page(self):
        # 2027 is loaded without its make-up workdays (the package has none yet).
        with time_machine.travel(at(dt.date(2026, 12, 4)), tick=False):
            page = self.client_for(self.sysadmin).get("/")
            officer_page = self.client_for(self.officer).get("/")
        self.assertContains(page, 'data-testid="calendar-missing"')
        self.assertContains(page, URL + "?year=2027")
        self.assertContains(officer_page, 'data-testid="calendar-missing"')
        self.assertNotContains(officer_page, URL + "?year=2027")

    def test_the_worker_tells_the_system_administrators_once(self):
        Timer.objects.filter(kind=timers.CALENDAR_CHECK).delete()
        with time_machine.travel(at(dt.date(2027, 7, 1)), tick=False):
            timers.calendar_check_ensure()
            timers.calendar_check_ensure()
        timer = Timer.objects.get(kind=timers.CALENDAR_CHECK)
        self.assertEqual(timezone.localtime(timer.due_at), at(dt.date(2027, 11, 1)))
        for day in (dt.date(2027, 10, 31), dt.date(2027, 11, 1), dt.date(2027, 11, 2)):
            with time_machine.travel(at(day, 10), tick=False):
                timers.calendar_check_ensure()  # a worker restarting changes nothing
                worker = Worker(threads=1)
                worker.tick()
                worker.pool.shutdown()
        note = Notification.objects.get(event="calendar_missing")
        self.assertEqual(note.params, {"year": "2028"})
        self.assertEqual(
            [d.person for d in note.deliveries.filter(transport="inbox")], [self.sysadmin]
        )
        upcoming = Timer.objects.get(kind=timers.CALENDAR_CHECK, fired_at__isnull=True)
        self.assertEqual(upcoming.payload, {"year": 2028})

    def test_no_notice_when_next_year_is_complete(self):
        official_calendar.calendar_year_replace(
            by=self.sysadmin, year=2028, days={SPRING_2028: (False, "春节")}
        )
        Timer.objects.filter(kind=timers.CALENDAR_CHECK).delete()
        timers.calendar_check_schedule(2027)
        with time_machine.travel(at(dt.date(2027, 11, 1), 10), tick=False):
            worker = Worker(threads=1)
            worker.tick()
            worker.pool.shutdown()
        self.assertFalse(Notification.objects.filter(event="calendar_missing").exists())


class ReplanTest(CalendarTestCase):
    """The next opening of a working-day schedule is decided the day before; a change of
    the calendar in between moves it."""

    def setUp(self):
        super().setUp()
        self.travel.stop()
        self.travel = time_machine.travel(at(dt.date(2028, 3, 6), 8), tick=False)  # Monday
        self.travel.start()
        self.schedule = services.schedule_create(
            by=self.officer,
            root=self.bureau,
            name="工作日日报",
            starts_on=dt.date(2028, 3, 7),
            frequency=Frequency.WORKDAYS,
        )

    def planned(self):
        timer = Timer.objects.get(kind="reports.open", fired_at__isnull=True)
        return dt.date.fromisoformat(timer.payload["day"])

    def open_planned(self):
        """The worker opens the planned day at its start."""
        day = self.planned()
        with time_machine.travel(at(day, 0) + dt.timedelta(minutes=1), tick=False):
            worker = Worker(threads=1)
            worker.tick()
            worker.pool.shutdown()
        return day

    def test_a_day_made_a_holiday_does_not_open_and_a_make_up_saturday_does(self):
        self.assertEqual(self.planned(), dt.date(2028, 3, 7))
        official_calendar.calendar_day_set(
            by=self.sysadmin, day=dt.date(2028, 3, 7), is_workday=False, name="停课"
        )
        self.assertEqual(self.planned(), PLAIN_WEDNESDAY)
        self.assertEqual(self.open_planned(), PLAIN_WEDNESDAY)
        self.assertEqual(self.planned(), dt.date(2028, 3, 9))
        with time_machine.travel(at(PLAIN_WEDNESDAY, 15), tick=False):
            official_calendar.calendar_day_set(
                by=self.sysadmin, day=dt.date(2028, 3, 9), is_workday=False, name="停课"
            )
            self.assertEqual(self.planned(), dt.date(2028, 3, 10))
            official_calendar.calendar_day_remove(by=self.sysadmin, day=dt.date(2028, 3, 9))
            self.assertEqual(self.planned(), dt.date(2028, 3, 9))
        self.assertEqual(self.open_planned(), dt.date(2028, 3, 9))
        self.assertEqual(self.open_planned(), dt.date(2028, 3, 10))
        self.assertEqual(self.planned(), dt.date(2028, 3, 13))  # Monday
        with time_machine.travel(at(dt.date(2028, 3, 10), 15), tick=False):
            official_calendar.calendar_day_set(
                by=self.sysadmin, day=SATURDAY, is_workday=True, name="调休上班"
            )
        self.assertEqual(self.planned(), SATURDAY)
        self.assertEqual(self.open_planned(), SATURDAY)
        opened = set(ReportStatus.objects.values_list("date", flat=True))
        self.assertEqual(
            opened, {PLAIN_WEDNESDAY, dt.date(2028, 3, 9), dt.date(2028, 3, 10), SATURDAY}
        )


class ApiTest(CalendarTestCase):
    def api(self, person):
        client = self.client_class(HTTP_ACCEPT_LANGUAGE="en")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_issue(person=person)}"
        return client

    def send(self, client, method, path, body=None):
        return getattr(client, method)(
            "/api/v1" + path,
            json.dumps(body) if body is not None else None,
            content_type="application/json",
        )

    def test_days_of_a_year_are_listed_added_changed_and_removed(self):
        client = self.api(self.sysadmin)
        year = client.get("/api/v1/calendar/2028")
        self.assertEqual(year.status_code, 200, year.content)
        self.assertEqual(
            {k: year.json()[k] for k in ("year", "loaded", "complete", "days")},
            {"year": 2028, "loaded": False, "complete": False, "days": []},
        )
        body = {"date": "2028-03-08", "kind": "holiday", "name": "停课"}
        created = self.send(client, "post", "/calendar/days", body)
        self.assertEqual(created.status_code, 201, created.content)
        self.assertEqual(
            created.json(),
            {"date": "2028-03-08", "kind": "holiday", "name": "停课", "changes_the_day": True},
        )
        self.assertFalse(services.is_workday(PLAIN_WEDNESDAY))
        again = self.send(client, "post", "/calendar/days", body)
        self.assertEqual(again.status_code, 422)
        self.assertEqual(again.json()["errors"][0]["field"], "date")
        patched = self.send(client, "patch", "/calendar/days/2028-03-08", {"kind": "workday"})
        self.assertEqual(patched.status_code, 200, patched.content)
        self.assertEqual((patched.json()["kind"], patched.json()["name"]), ("workday", "停课"))
        null = self.send(client, "patch", "/calendar/days/2028-03-08", {"name": None})
        self.assertEqual(null.status_code, 422)
        self.assertEqual(null.json()["errors"][0]["field"], "name")
        self.assertEqual(client.delete("/api/v1/calendar/days/2028-03-08").status_code, 204)
        self.assertEqual(client.delete("/api/v1/calendar/days/2028-03-08").status_code, 404)
        self.assertEqual(
            list(self.calendar_entries().order_by("seq").values_list("action", "actor_id")),
            [
                ("create", self.sysadmin.pk),
                ("update", self.sysadmin.pk),
                ("delete", self.sysadmin.pk),
            ],
        )

    def test_bad_input_is_a_4xx_naming_the_field(self):
        client = self.api(self.sysadmin)
        cases = [
            ("get", "/calendar/1800", None, "year"),
            ("post", "/calendar/days", {"date": "2028-02-30", "kind": "holiday"}, "date"),
            ("post", "/calendar/days", {"date": "2028-03-08", "kind": "off"}, "kind"),
            (
                "post",
                "/calendar/days",
                {"date": "2028-03-08", "kind": "holiday", "name": "x" * 101},
                "name",
            ),
            ("post", "/calendar/days", {"date": "1990-03-08", "kind": "holiday"}, "date"),
            ("patch", "/calendar/days/2028-13-01", {"kind": "holiday"}, "date"),
            ("patch", "/calendar/days/0", {"kind": "holiday"}, "date"),
            ("post", "/calendar/days", {"date": 1836000000, "kind": "holiday"}, "date"),
            ("post", "/calendar/days", {"date": "20280308", "kind": "holiday"}, "date"),
        ]
        for method, path, body, field in cases:
            with self.subTest(path=path, body=body):
                response = self.send(client, method, path, body)
                self.assertEqual(response.status_code, 422, response.content)
                self.assertIn(field, [e["field"] for e in response.json()["errors"]])
        self.assertFalse(CalendarDay.objects.filter(date__year__in=[1990, 2028]).exists())

    def test_only_the_system_administrator(self):
        for person in (self.officer, self.principal_a, self.secadmin, self.auditadmin):
            client = self.api(person)
            with self.subTest(person=person.username):
                self.assertEqual(client.get("/api/v1/calendar/2026").status_code, 403)
                body = {"date": "2028-03-08", "kind": "holiday"}
                self.assertEqual(self.send(client, "post", "/calendar/days", body).status_code, 403)
                self.assertEqual(client.delete("/api/v1/calendar/days/2026-10-01").status_code, 403)
        self.assertEqual(self.client_class().get("/api/v1/calendar/2026").status_code, 401)
        self.assertTrue(CalendarDay.objects.filter(date=dt.date(2026, 10, 1)).exists())
