"""The pages: my school's drills and plan against done, the bureau's list of who is behind,
recording a drill (what was typed kept when refused: more evacuated than enrolled, a time still
to come, a file that is not a photo), one drill with a problem made a hazard in one tap (HTMX
or not), its photos served only to those who see it, the roll call, the plan. School B's
principal sees none of A's."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from safecampus.drills import services
from safecampus.drills.models import Drill, DrillPlan, Kind
from safecampus.hazards.models import Hazard
from safecampus.incidents.models import RollCallCount

from .base import TODAY, DrillCase, jpeg


def form_data(**extra: object) -> dict[str, object]:
    return {
        "kind": Kind.FIRE,
        "held_at": (TODAY - dt.timedelta(days=1)).strftime("%Y-%m-%dT09:30"),
        "enrolled": "500",
        "evacuated": "480",
        "staff": "32",
        "evacuation_time": "1：52",  # a Chinese keyboard's colon
        "floors": "4",
        "roll_call_result": "应到500实到480，20人请假",
        "problems": "三楼东侧疏散指示灯不亮\n二楼拐角拥挤",
        "note": "模拟食堂起火",
    } | extra


class PageTests(DrillCase):
    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")
        self.a = self.client_for(self.principal_a)

    def test_record_a_drill_then_see_it_on_the_schools_page(self) -> None:
        page = self.a.get(reverse("drills:new"))
        self.assertEqual(page.context["form"]["unit"].value(), self.school_a.pk)
        done = self.a.post(reverse("drills:new"), form_data(unit=self.school_a.pk))
        drill = Drill.objects.get()
        self.assertRedirects(done, reverse("drills:detail", args=[drill.pk]))
        self.assertEqual(
            (drill.evacuation_seconds, drill.evacuated, drill.problems.count()), (112, 480, 2)
        )
        detail = self.a.get(reverse("drills:detail", args=[drill.pk]))
        self.assertContains(detail, 'data-testid="target-met"')
        self.assertContains(detail, "1:52")
        self.assertContains(detail, 'data-testid="to-hazard"', count=2)
        index = self.a.get(reverse("drills:index"))
        self.assertContains(index, 'data-testid="drill-row"', count=1)
        self.assertContains(index, 'data-testid="no-plan"')  # the default shown
        self.assertContains(index, "1 held of 12 planned")

    def test_more_evacuated_than_enrolled_keeps_what_was_typed(self) -> None:
        page = self.a.post(
            reverse("drills:new"), form_data(unit=self.school_a.pk, enrolled="500", evacuated="520")
        )
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "Evacuated 520 but only 500 enrolled.")
        self.assertIn("evacuated", page.context["form"].errors)
        self.assertContains(page, "三楼东侧疏散指示灯不亮\n二楼拐角拥挤")
        self.assertContains(page, 'value="1：52"')
        self.assertContains(page, "模拟食堂起火")
        self.assertFalse(Drill.objects.exists())

    def test_a_time_still_to_come_and_a_bad_time_to_evacuate_are_refused(self) -> None:
        future = (TODAY + dt.timedelta(days=2)).strftime("%Y-%m-%dT09:30")
        page = self.a.post(reverse("drills:new"), form_data(unit=self.school_a.pk, held_at=future))
        self.assertIn("held_at", page.context["form"].errors)
        self.assertContains(page, "still to come")
        self.assertContains(page, f'value="{future}"')
        page = self.a.post(
            reverse("drills:new"), form_data(unit=self.school_a.pk, evacuation_time="1:75")
        )
        self.assertIn("evacuation_time", page.context["form"].errors)
        self.assertContains(page, "minutes:seconds")
        self.assertFalse(Drill.objects.exists())

    def test_a_file_that_is_not_a_photo_is_refused_with_the_reason(self) -> None:
        fake = SimpleUploadedFile("evil.jpg", b"<html>no</html>", content_type="image/jpeg")
        page = self.a.post(reverse("drills:new"), form_data(unit=self.school_a.pk, photos=[fake]))
        self.assertIn("photos", page.context["form"].errors)
        self.assertContains(page, "evil.jpg is not a photo")
        self.assertContains(page, "模拟食堂起火")
        self.assertFalse(Drill.objects.exists())
        good = SimpleUploadedFile("drill.jpg", jpeg(), content_type="image/jpeg")
        self.a.post(reverse("drills:new"), form_data(unit=self.school_a.pk, photos=[good]))
        drill = Drill.objects.get()
        photo = drill.photos.get()
        shown = self.a.get(reverse("drills:photo", args=[photo.pk]))
        self.assertEqual((shown.status_code, shown["Content-Type"]), (200, "image/jpeg"))
        other = self.client_for(self.principal_b)
        self.assertEqual(other.get(reverse("drills:photo", args=[photo.pk])).status_code, 404)
        # Adding photos later: one that is not a photo is refused, named, on the drill's page.
        bad = SimpleUploadedFile("x.png", b"GIF89a nothing", content_type="image/png")
        page = self.a.post(reverse("drills:photos", args=[drill.pk]), {"photos": [bad]})
        self.assertContains(page, "x.png is not a photo")
        more = SimpleUploadedFile("more.jpg", jpeg(), content_type="image/jpeg")
        self.a.post(reverse("drills:photos", args=[drill.pk]), {"photos": [more]})
        self.assertEqual(drill.photos.count(), 2)

    def test_a_problem_becomes_a_hazard_in_one_tap_and_only_once(self) -> None:
        drill = self.record(problems=["三楼东侧疏散指示灯不亮", "二楼拐角拥挤"])
        first, second = drill.problems.order_by("order")
        url = reverse("drills:problem-hazard", args=[drill.pk, first.pk])
        swapped = self.a.post(url, headers={"HX-Request": "true"})
        self.assertContains(swapped, 'data-testid="problem-hazard"')
        self.assertNotContains(swapped, "<html")
        hazard = Hazard.objects.get()
        self.assertContains(swapped, reverse("hazards:detail", args=[hazard.pk]))
        again = self.a.post(url)
        self.assertRedirects(
            again,
            reverse("drills:detail", args=[drill.pk]) + f"#problem-{first.pk}",
            fetch_redirect_response=False,
        )
        self.assertEqual(Hazard.objects.count(), 1)
        second_url = reverse("drills:problem-hazard", args=[drill.pk, second.pk])
        self.assertEqual(self.client_for(self.principal_b).post(second_url).status_code, 404)
        self.assertEqual(self.client_for(self.teacher_a).post(second_url).status_code, 403)
        self.assertEqual(Hazard.objects.count(), 1)
        page = self.a.get(reverse("drills:detail", args=[drill.pk]))
        self.assertContains(page, 'data-testid="problem-hazard"', count=1)
        self.assertContains(page, 'data-testid="to-hazard"', count=1)

    def test_school_b_sees_none_of_school_a(self) -> None:
        drill = self.record()
        b = self.client_for(self.principal_b)
        for url in (
            reverse("drills:detail", args=[drill.pk]),
            reverse("drills:unit", args=[self.school_a.pk]),
            reverse("drills:plan-unit", args=[self.school_a.pk]),
            reverse("drills:new") + f"?unit={self.school_a.pk}",
        ):
            response = b.get(url)
            self.assertIn(response.status_code, (200, 404), url)
            self.assertNotContains(response, self.school_a.name, status_code=response.status_code)
        mine = b.get(reverse("drills:index"))
        self.assertNotContains(mine, self.school_a.name)
        self.assertContains(mine, self.school_b.name)
        refused = b.post(reverse("drills:new"), form_data(unit=self.school_a.pk))
        self.assertIn("unit", refused.context["form"].errors)
        self.assertEqual(Drill.objects.count(), 1)
        posted = b.post(reverse("drills:plan-unit", args=[self.school_a.pk]), {"fire": 3})
        self.assertEqual(posted.status_code, 404)
        self.assertFalse(DrillPlan.objects.exists())

    def test_the_bureau_sees_who_is_behind_worst_first(self) -> None:
        for unit, by in ((self.school_a, self.principal_a), (self.school_b, self.principal_b)):
            services.plan_set(by=by, unit=unit, year=2026, counts={Kind.FIRE: 10})
        for _n in range(6):
            self.record(unit=self.school_b, by=self.principal_b)
        page = self.client_for(self.officer).get(reverse("drills:index"))
        rows = page.context["overviews"][0].behind
        self.assertEqual(
            [(p.unit, p.short) for p in rows], [(self.school_a, 8), (self.school_b, 2)]
        )
        html = page.content.decode()
        self.assertLess(html.index(self.school_a.name), html.index(self.school_b.name))
        self.assertContains(page, 'data-testid="behind-row"', count=2)
        group = self.client_for(self.officer).get(reverse("drills:unit", args=[self.group_2.pk]))
        self.assertContains(group, 'data-testid="behind-row"', count=1)
        self.assertContains(group, self.school_b.name)
        self.assertNotContains(group, self.school_a.name)

    def test_the_plan_page_offers_the_default_saves_and_keeps_input_on_error(self) -> None:
        url = reverse("drills:plan-unit", args=[self.school_a.pk])
        page = self.a.get(url)
        self.assertContains(page, 'data-testid="default-plan"')
        self.assertEqual(page.context["form"]["fire"].value(), 10)
        counts = {k: "0" for k in Kind.values} | {"fire": "10", "earthquake": "2"}
        bad = self.a.post(url, counts | {"flood": "99", "stampede": "1"})
        self.assertIn("flood", bad.context["form"].errors)
        self.assertContains(bad, 'value="99"')
        self.assertFalse(DrillPlan.objects.exists())
        none = self.a.post(url, {k: "0" for k in Kind.values})
        self.assertContains(none, "Plan at least one drill.")
        saved = self.a.post(url, counts)
        self.assertRedirects(saved, url + "?year=2026")
        self.assertEqual(
            dict(DrillPlan.objects.filter(unit=self.school_a).values_list("kind", "planned")),
            {k: int(v) for k, v in counts.items()},
        )
        self.assertNotContains(self.a.get(url), 'data-testid="default-plan"')
        read_only = self.client_for(self.teacher_a).get(url)
        self.assertIsNone(read_only.context["form"])
        self.assertContains(read_only, 'data-testid="plan-read"')
        self.assertEqual(self.client_for(self.teacher_a).post(url, counts).status_code, 403)

    def test_roll_call_page_head_teachers_count_the_live_total(self) -> None:
        drill = self.record()
        self.a.post(reverse("drills:roll-call-start", args=[drill.pk]))
        url = reverse("drills:roll-call", args=[drill.pk])
        teacher = self.client_for(self.teacher_a)
        bad = teacher.post(url, {"class_name": "一年级一班", "present": "", "absent": 0})
        self.assertContains(bad, "一年级一班")
        self.assertIn("present", bad.context["form"].errors)
        teacher.post(url, {"class_name": "一年级一班", "present": 40, "absent": 2})
        self.assertEqual(RollCallCount.objects.get().present, 40)
        live = self.a.get(url, headers={"HX-Request": "true"})
        self.assertContains(live, "40")
        self.assertNotContains(live, "<html")
        detail = self.a.get(reverse("drills:detail", args=[drill.pk]))
        self.assertContains(detail, 'data-testid="roll-total"')
        self.assertContains(detail, self.teacher_a2.name)  # not counted yet
        self.a.post(url, {"close": "1"})
        drill.refresh_from_db()
        self.assertIsNotNone(drill.roll_call.closed_at)
        self.assertEqual(self.client_for(self.principal_b).get(url).status_code, 404)
