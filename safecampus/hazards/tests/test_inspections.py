"""Checklists and inspection rounds: shipped defaults per category; a bureau's edit is a new
version and a round launched before keeps the old one; a round gives every school under the
unit an inspection; each answer is saved as it is given (a closed browser loses nothing);
submitting turns each failure into a hazard carrying the item, the area and its responsible
person; the bureau sees progress per unit and who has not started."""

import datetime as dt
import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from safecampus.api.tests.test_api import ApiTestCase
from safecampus.hazards import checklists, selectors, services
from safecampus.hazards.models import (
    Checklist,
    Hazard,
    Inspection,
    InspectionStatus,
    Photo,
)
from safecampus.lib import images

from .test_photos import jpeg, upload
from .test_services import HazardCase


class InspectionCase(HazardCase):
    def launch(self, categories=("fire", "gate"), by=None, **extra):  # noqa: ANN001, ANN003, ANN201
        today = timezone.localdate()
        fields = {
            "by": by or self.officer,
            "unit": self.bureau,
            "kind": "self",
            "title": "2026年冬季安全自查",
            "starts_on": today,
            "ends_on": today + dt.timedelta(days=10),
            "categories": list(categories),
        } | extra
        return services.round_launch(**fields)

    def inspection_a(self, round_):  # noqa: ANN001, ANN201
        return Inspection.objects.get(round=round_, unit=self.school_a)


class ChecklistTests(InspectionCase):
    def test_defaults_cover_every_category_and_an_edit_is_a_new_version(self) -> None:
        services.checklist_defaults_ensure()
        services.checklist_defaults_ensure()  # once
        self.assertEqual(Checklist.objects.filter(unit=None).count(), len(checklists.DEFAULTS))
        old_round = self.launch(categories=["fire"])
        v1 = old_round.checklists.get()
        self.assertEqual((v1.version, v1.unit), (1, None))
        edited = services.checklist_edit(
            by=self.officer,
            bureau=self.bureau,
            category="fire",
            items=["灭火器在有效期内", " ", "消防通道畅通"],
        )
        self.assertEqual((edited.version, edited.items.count()), (2, 2))
        again = services.checklist_edit(
            by=self.officer, bureau=self.bureau, category="fire", items=["只剩一项"]
        )
        self.assertEqual(again.version, 3)
        self.assertFalse(Checklist.objects.get(pk=edited.pk).is_current)
        new_round = self.launch(categories=["fire"])
        self.assertEqual(new_round.checklists.get(), again)
        # the earlier round keeps the version it used, and its items
        self.assertEqual(old_round.checklists.get(), v1)
        self.assertEqual(
            len(services.inspection_items(self.inspection_a(old_round))),
            len(checklists.DEFAULTS["fire"]),
        )

    def test_only_the_bureau_edits_and_bad_input_is_refused(self) -> None:
        with self.assertRaises(PermissionDenied):
            services.checklist_edit(
                by=self.principal_a, bureau=self.bureau, category="fire", items=["x"]
            )
        with self.assertRaises(ValidationError) as caught:
            services.checklist_edit(by=self.officer, bureau=self.bureau, category="nope", items=[])
        self.assertEqual(set(caught.exception.message_dict), {"category", "items"})


class RoundTests(InspectionCase):
    def test_walk_through_saved_item_by_item_then_failures_become_hazards(self) -> None:
        round_ = self.launch()
        self.assertEqual(
            set(round_.inspections.values_list("unit", flat=True)),
            {self.school_a.pk, self.school_b.pk},
        )
        inspection = self.inspection_a(round_)
        items = services.inspection_items(inspection)
        photo = images.photo_read(io.BytesIO(jpeg(400, 300)))
        for n, item in enumerate(items):
            result = "fail" if n in (0, 3) else ("na" if n == 1 else "pass")
            services.inspection_answer(
                by=self.principal_a,
                inspection=inspection,
                item=item,
                result=result,
                note="灭火器压力不足" if result == "fail" else "",
                area=self.area_a if n == 0 else None,
                photos=[photo] if n == 0 else [],
            )
            if n == 2:  # half way: what was answered is there, whoever opens it next
                inspection.refresh_from_db()
                self.assertEqual((inspection.status, inspection.answered), ("started", 3))
        # answered again: changed, not doubled
        services.inspection_answer(
            by=self.principal_a,
            inspection=inspection,
            item=items[3],
            result="fail",
            note="门卫室无钢叉",
        )
        inspection.refresh_from_db()
        self.assertEqual((inspection.answered, inspection.failed), (len(items), 2))
        services.inspection_submit(by=self.principal_a, inspection=inspection)
        hazards = list(Hazard.objects.order_by("pk"))
        self.assertEqual(len(hazards), 2)
        first = hazards[0]
        self.assertEqual((first.area, first.responsible), (self.area_a, self.teacher_a))
        self.assertIn(items[0].text, first.description)
        self.assertEqual(first.category, items[0].checklist.category)
        self.assertEqual(Photo.objects.get().hazard, first)
        self.assertEqual(first.answer.item, items[0])
        self.assertIn("门卫室无钢叉", hazards[1].description)
        with self.assertRaises(ValidationError):  # submitted: no more answers
            services.inspection_answer(
                by=self.principal_a, inspection=inspection, item=items[0], result="pass"
            )
        progress, rows = selectors.round_progress(self.officer, round_)
        self.assertEqual(
            (progress.total, progress.submitted, progress.not_started, progress.failed),
            (2, 1, 1, 2),
        )
        self.assertEqual(rows[0].unit, self.school_b)  # not started first

    def test_refusals(self) -> None:
        round_ = self.launch()
        inspection = self.inspection_a(round_)
        item = services.inspection_items(inspection)[0]
        with self.assertRaises(ValidationError) as caught:  # a failure says what is wrong
            services.inspection_answer(
                by=self.principal_a, inspection=inspection, item=item, result="fail"
            )
        self.assertIn("note", caught.exception.message_dict)
        with self.assertRaises(ValidationError) as caught:  # another school's area
            services.inspection_answer(
                by=self.principal_a,
                inspection=inspection,
                item=item,
                result="pass",
                area=self.area_b,
            )
        self.assertIn("area", caught.exception.message_dict)
        with self.assertRaises(ValidationError):  # not everything answered
            services.inspection_submit(by=self.principal_a, inspection=inspection)
        with self.assertRaises(PermissionDenied):  # the other school's staff
            services.inspection_answer(
                by=self.duty_b, inspection=inspection, item=item, result="pass"
            )
        with self.assertRaises(PermissionDenied):  # a school does not launch rounds
            self.launch(by=self.principal_a, unit=self.school_a)
        today = timezone.localdate()
        with self.assertRaises(ValidationError) as caught:
            self.launch(starts_on=today, ends_on=today - dt.timedelta(days=1), categories=[])
        self.assertEqual(set(caught.exception.message_dict), {"ends_on", "categories"})


class RoundPageTests(InspectionCase):
    def test_launch_walk_and_submit_through_the_pages(self) -> None:
        bureau = self.client_for(self.officer)
        today = timezone.localdate()
        bad = bureau.post(
            reverse("hazards:round-new"),
            {
                "unit": self.bureau.pk,
                "kind": "self",
                "title": "冬季自查",
                "starts_on": today,
                "ends_on": today - dt.timedelta(days=3),
                "categories": ["fire"],
            },
        )
        self.assertContains(bad, "冬季自查")
        self.assertIn("ends_on", bad.context["form"].errors)
        response = bureau.post(
            reverse("hazards:round-new"),
            {
                "unit": self.bureau.pk,
                "kind": "self",
                "title": "冬季自查",
                "starts_on": today,
                "ends_on": today + dt.timedelta(days=3),
                "categories": ["gate"],
            },
        )
        round_ = selectors.rounds_visible(self.officer).get()
        self.assertRedirects(response, reverse("hazards:round", args=[round_.pk]))
        principal = self.client_for(self.principal_a)
        listing = principal.get(reverse("hazards:rounds"))
        inspection = self.inspection_a(round_)
        self.assertContains(listing, reverse("hazards:inspection", args=[inspection.pk]))
        items = services.inspection_items(inspection)
        url = reverse("hazards:inspection-item", args=[inspection.pk, items[0].pk])
        # a failure without a note: refused beside the field, in the item only (HTMX)
        refused = principal.post(
            url, {f"i{items[0].pk}-result": "fail"}, headers={"HX-Request": "true"}
        )
        self.assertContains(refused, 'role="alert"')
        self.assertNotContains(refused, "<html")
        saved = principal.post(
            url,
            {
                f"i{items[0].pk}-result": "fail",
                f"i{items[0].pk}-note": "监控坏了",
                f"i{items[0].pk}-area": self.area_a.pk,
            },
            headers={"HX-Request": "true"},
        )
        self.assertContains(saved, 'data-result="fail"')
        for item in items[1:]:
            principal.post(
                reverse("hazards:inspection-item", args=[inspection.pk, item.pk]),
                {f"i{item.pk}-result": "pass"},
            )
        page = principal.get(reverse("hazards:inspection", args=[inspection.pk]))
        self.assertContains(page, "监控坏了")  # what was answered is there when reopened
        principal.post(reverse("hazards:inspection-submit", args=[inspection.pk]))
        inspection.refresh_from_db()
        self.assertEqual(inspection.status, InspectionStatus.SUBMITTED)
        self.assertEqual(Hazard.objects.get().description.splitlines()[1], "监控坏了")
        progress = bureau.get(reverse("hazards:round", args=[round_.pk]) + "?state=new")
        self.assertContains(progress, self.school_b.name)
        self.assertNotContains(progress, f">{self.school_a.name}<")
        # another school cannot see this school's inspection, nor answer it
        other = self.client_for(self.duty_b)
        self.assertEqual(
            other.get(reverse("hazards:inspection", args=[inspection.pk])).status_code, 404
        )
        self.assertEqual(other.post(url, {f"i{items[0].pk}-result": "pass"}).status_code, 404)
        # an item of another round's checklist: not found
        self.assertEqual(
            principal.post(
                reverse("hazards:inspection-item", args=[inspection.pk, 999999])
            ).status_code,
            404,
        )

    def test_checklist_pages(self) -> None:
        bureau = self.client_for(self.officer)
        page = bureau.get(reverse("hazards:checklists"))
        self.assertContains(page, checklists.DEFAULTS["food"][3])
        response = bureau.post(
            reverse("hazards:checklist-edit", args=["food"]), {"items": "留样125克\n陪餐记录"}
        )
        self.assertRedirects(response, reverse("hazards:checklists"))
        self.assertContains(bureau.get(reverse("hazards:checklists")), "v2")
        self.assertEqual(
            self.client_for(self.principal_a)
            .get(reverse("hazards:checklist-edit", args=["food"]))
            .status_code,
            403,
        )


class InspectionApiTests(InspectionCase, ApiTestCase):
    def test_launch_answer_submit_and_the_refusals(self) -> None:
        bureau = self.api(self.officer)
        today = timezone.localdate()
        body = {
            "unit_id": self.bureau.pk,
            "kind": "self",
            "title": "寒假前自查",
            "starts_on": f"{today}",
            "ends_on": f"{today + dt.timedelta(days=5)}",
            "categories": ["water"],
        }
        self.assertError(
            bureau.post("/inspection-rounds", body | {"categories": ["x"]}), 422, "categories.0"
        )
        self.assertError(
            bureau.post(
                "/inspection-rounds", body | {"ends_on": f"{today - dt.timedelta(days=1)}"}
            ),
            422,
            "ends_on",
        )
        created = bureau.post("/inspection-rounds", body)
        self.assertEqual(created.status_code, 201, created.content)
        round_id = created.json()["id"]
        principal = self.api(self.principal_a)
        inspection_id = Inspection.objects.get(round_id=round_id, unit=self.school_a).pk
        sheet = principal.get(f"/inspections/{inspection_id}").json()
        self.assertEqual(len(sheet["items"]), len(checklists.DEFAULTS["water"]))
        first, *rest = (i["id"] for i in sheet["items"])
        self.assertError(
            principal.post(
                f"/inspections/{inspection_id}/answers", {"item_id": first, "result": "fail"}
            ),
            422,
            "note",
        )
        self.assertError(
            principal.post(
                f"/inspections/{inspection_id}/answers", {"item_id": 999999, "result": "pass"}
            ),
            404,
        )
        principal.post(
            f"/inspections/{inspection_id}/answers",
            {"item_id": first, "result": "fail", "note": "水箱未加锁", "area_id": self.area_a.pk},
        )
        photo_url = f"/api/v1/inspections/{inspection_id}/items/{first}/photos"
        sent = self.client.post(
            photo_url, {"photos": [upload(jpeg(200, 100))]}, headers=principal.headers
        )
        self.assertEqual(sent.status_code, 201, sent.content)
        outsider = self.api(self.duty_b).headers
        refused = self.client.post(photo_url, {"photos": [upload(jpeg(20, 10))]}, headers=outsider)
        self.assertEqual(refused.status_code, 404)
        unanswered = f"/api/v1/inspections/{inspection_id}/items/{rest[0]}/photos"
        refused = self.client.post(
            unanswered, {"photos": [upload(jpeg(20, 10))]}, headers=principal.headers
        )
        self.assertEqual(refused.status_code, 404)
        self.assertError(principal.post(f"/inspections/{inspection_id}/submit"), 422)
        for pk in rest:
            principal.post(
                f"/inspections/{inspection_id}/answers", {"item_id": pk, "result": "pass"}
            )
        done = principal.post(f"/inspections/{inspection_id}/submit").json()
        self.assertEqual(done["status"], "submitted")
        hazard_id = done["items"][0]["hazard_id"]
        self.assertEqual(Hazard.objects.get(pk=hazard_id).area, self.area_a)
        self.assertEqual(Photo.objects.get().hazard_id, hazard_id)
        progress = bureau.get(f"/inspection-rounds/{round_id}").json()
        self.assertEqual((progress["submitted"], progress["not_started"]), (1, 1))
        # the other school sees the round (it covers it) but not this school's inspection
        other = self.api(self.duty_b)
        self.assertError(other.get(f"/inspections/{inspection_id}"), 404)
        self.assertEqual(other.get(f"/inspection-rounds/{round_id}").json()["units"], 1)
        self.assertError(principal.put("/checklists/water", {"items": ["x"]}), 403)
        self.assertEqual(
            bureau.put("/checklists/water", {"items": ["水箱加锁"]}).json()["version"], 2
        )
