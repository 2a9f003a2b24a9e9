"""Plans (the default offered, saved as a whole, refused values), recording a drill (more
evacuated than enrolled, a time still to come, bad numbers and text refused with the field
named), the target, who may see and do what (a principal of school B nothing of A's), who is
behind worst first, a problem made a hazard once, the drill's roll call, photos."""

import datetime as dt
import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import translation

from safecampus.drills import selectors, services
from safecampus.drills.models import Drill, DrillPhoto, DrillPlan, Kind
from safecampus.hazards.models import Hazard
from safecampus.incidents import selectors as incident_selectors
from safecampus.incidents import services as incidents
from safecampus.lib import images
from safecampus.orgs import access
from safecampus.orgs.models import Membership, Role, UnitKind
from safecampus.test import make_person, make_unit

from .base import NOW, TODAY, DrillCase, at, jpeg

# 24 November 2026 is day 328 of 365: of 10 planned, 8 are due (3280 // 365); of 4, 3; of 2,
# 1; of 1, none yet.
DUE_OF_10, DUE_OF_4, DUE_OF_2, DUE_OF_1 = 8, 3, 1, 0


class PlanTests(DrillCase):
    def test_the_default_is_offered_until_a_plan_is_saved(self) -> None:
        kindergarten = make_unit(self.group_1, "KA", "城关幼儿园", UnitKind.KINDERGARTEN)
        school, kg = selectors.progress([self.school_a, kindergarten], TODAY)
        self.assertFalse(school.has_plan)
        self.assertFalse(school.behind)  # no plan of its own: not counted behind
        lines = {line.kind: (line.planned, line.due) for line in school.lines}
        self.assertEqual(lines[Kind.FIRE], (10, DUE_OF_10))
        self.assertEqual({line.kind: line.planned for line in kg.lines}[Kind.FIRE], 4)
        self.assertEqual(DrillPlan.objects.count(), 0)

    def test_a_saved_plan_is_counted_pro_rata_kind_by_kind(self) -> None:
        services.plan_set(
            by=self.principal_a,
            unit=self.school_a,
            year=2026,
            counts={Kind.FIRE: 10, Kind.EARTHQUAKE: 2, Kind.FLOOD: 0},
        )
        self.record()
        self.record(kind=Kind.INTRUDER)  # not planned: counted, makes up for nothing
        (p,) = selectors.progress([self.school_a], TODAY)
        lines = {line.kind: (line.planned, line.done, line.due, line.short) for line in p.lines}
        self.assertEqual(
            lines,
            {
                Kind.FIRE: (10, 1, DUE_OF_10, DUE_OF_10 - 1),
                Kind.EARTHQUAKE: (2, 0, DUE_OF_2, DUE_OF_2),
                Kind.INTRUDER: (0, 1, 0, 0),
            },
        )
        self.assertTrue(p.has_plan)
        self.assertTrue(p.behind)
        self.assertEqual((p.planned, p.done, p.short), (12, 2, DUE_OF_10 - 1 + DUE_OF_2))
        # Saved again as a whole: the kind left out is gone.
        services.plan_set(by=self.principal_a, unit=self.school_a, year=2026, counts={"fire": 9})
        self.assertEqual(list(DrillPlan.objects.values_list("kind", "planned")), [(Kind.FIRE, 9)])

    def test_bad_plans_are_refused_naming_the_field(self) -> None:
        cases = [
            ({Kind.FIRE: -1}, 2026, Kind.FIRE),
            ({Kind.FIRE: 61}, 2026, Kind.FIRE),
            ({"tsunami": 1}, 2026, "tsunami"),
            ({Kind.FIRE: 10}, 2030, "year"),
            ({Kind.FIRE: 0, Kind.FLOOD: 0}, 2026, "plan"),
        ]
        for counts, year, field in cases:
            with self.subTest(field=field), self.assertRaises(ValidationError) as caught:
                services.plan_set(by=self.principal_a, unit=self.school_a, year=year, counts=counts)
            self.assertIn(field, caught.exception.message_dict)
        self.assertEqual(DrillPlan.objects.count(), 0)

    def test_only_the_schools_managers_and_those_above_plan(self) -> None:
        counts = {Kind.FIRE: 10}
        for person in (self.principal_b, self.teacher_a, self.duty_b, self.sysadmin):
            with self.subTest(person=person.username), self.assertRaises(PermissionDenied):
                services.plan_set(by=person, unit=self.school_a, year=2026, counts=counts)
        with self.assertRaises(PermissionDenied):  # a group plans no drills of its own
            services.plan_set(by=self.officer, unit=self.group_1, year=2026, counts=counts)
        services.plan_set(by=self.officer, unit=self.school_a, year=2026, counts=counts)
        services.plan_set(by=self.principal_b, unit=self.school_b, year=2027, counts=counts)
        self.assertEqual(DrillPlan.objects.count(), 2)


class RecordTests(DrillCase):
    def test_a_drill_with_its_problems_and_the_two_minute_target(self) -> None:
        drill = self.record(problems=["三楼指示灯不亮", "  ", " 楼梯拥挤 "], note="模拟食堂起火")
        self.assertEqual(
            list(drill.problems.values_list("order", "text")),
            [(1, "三楼指示灯不亮"), (2, "楼梯拥挤")],
        )
        self.assertEqual((drill.evacuation_time, drill.target_met), ("1:45", True))
        self.assertEqual(drill.day, TODAY - dt.timedelta(days=1))
        self.assertFalse(self.record(evacuation_seconds=121).target_met)
        self.assertTrue(self.record(evacuation_seconds=120).target_met)
        self.assertIsNone(self.record(evacuation_seconds=90, floors=6).target_met)
        self.assertIsNone(self.record(evacuation_seconds=None).target_met)

    def test_more_evacuated_than_enrolled_is_refused_with_both_numbers(self) -> None:
        translation.activate("en")
        with self.assertRaises(ValidationError) as caught:
            self.record(enrolled=500, evacuated=520)
        self.assertEqual(
            caught.exception.message_dict["evacuated"], ["Evacuated 520 but only 500 enrolled."]
        )
        self.assertFalse(Drill.objects.exists())
        self.record(enrolled=500, evacuated=500)  # all of them: fine

    def test_a_time_still_to_come_is_refused_a_phone_a_little_ahead_is_not(self) -> None:
        translation.activate("en")
        with self.assertRaises(ValidationError) as caught:
            self.record(held_at=NOW + dt.timedelta(hours=1))
        self.assertIn("still to come", caught.exception.message_dict["held_at"][0])
        with self.assertRaises(ValidationError) as caught:
            self.record(held_at=at(TODAY + dt.timedelta(days=3)))
        self.assertIn("held_at", caught.exception.message_dict)
        self.assertEqual(self.record(held_at=NOW + dt.timedelta(minutes=2)).day, TODAY)

    def test_bad_numbers_and_text_are_refused_naming_each_field(self) -> None:
        with self.assertRaises(ValidationError) as caught:
            self.record(
                kind="tsunami",
                enrolled=-1,
                staff=100_001,
                evacuation_seconds=0,
                floors=0,
                note="a\x00b",
                roll_call_result="x" * 501,
                problems=["y" * 501],
            )
        self.assertEqual(
            set(caught.exception.message_dict),
            {
                "kind",
                "enrolled",
                "staff",
                "evacuation_time",
                "floors",
                "note",
                "roll_call_result",
                "problems",
            },
        )
        with self.assertRaises(ValidationError) as caught:
            self.record(problems=[f"问题{n}" for n in range(31)])
        self.assertIn("problems", caught.exception.message_dict)
        self.assertFalse(Drill.objects.exists())

    def test_a_principal_of_school_b_sees_and_records_nothing_of_school_a(self) -> None:
        drill = self.record()
        for person in (self.principal_b, self.duty_b, self.teacher_a, self.sysadmin):
            with self.subTest(person=person.username), self.assertRaises(PermissionDenied):
                self.record(by=person)
        with self.assertRaises(Http404):
            selectors.drill_or_404(self.principal_b, drill.pk)
        self.assertFalse(selectors.drills_visible(self.principal_b).exists())
        self.assertFalse(selectors.drills_visible(self.sysadmin).exists())
        self.assertFalse(access.can_see_drills(self.principal_b, self.school_a))
        # The head teacher of A and the bureau see it; the bureau may record at A.
        self.assertEqual(selectors.drill_or_404(self.teacher_a, drill.pk), drill)
        self.assertEqual(list(selectors.drills_visible(self.officer)), [drill])
        self.record(by=self.officer)
        # B's own principal records at B.
        self.record(by=self.principal_b, unit=self.school_b)
        self.assertEqual(Drill.objects.count(), 3)


class BehindTests(DrillCase):
    def test_worst_first_then_those_without_a_plan(self) -> None:
        kindergarten = make_unit(self.group_2, "KB", "西山幼儿园", UnitKind.KINDERGARTEN)
        for unit, by in ((self.school_a, self.principal_a), (self.school_b, self.principal_b)):
            services.plan_set(
                by=by, unit=unit, year=2026, counts={Kind.FIRE: 10, Kind.EARTHQUAKE: 2}
            )
        for n in range(3):
            self.record(held_at=at(dt.date(2026, 3 + n, 10)))
        for n in range(8):
            self.record(
                unit=self.school_b, by=self.principal_b, held_at=at(dt.date(2026, 2 + n, 12))
            )
        self.record(unit=self.school_b, by=self.principal_b, kind=Kind.INTRUDER)
        # Last year's drills count for last year only.
        self.record(held_at=at(dt.date(2025, 12, 30)))
        with self.assertNumQueries(3):
            found = selectors.behind(self.bureau, TODAY)
        self.assertEqual(
            [(p.unit, p.short) for p in found.behind],
            [(self.school_a, DUE_OF_10 - 3 + DUE_OF_2), (self.school_b, DUE_OF_2)],
        )
        self.assertEqual([p.unit for p in found.no_plan], [kindergarten])
        self.assertEqual((found.on_track, found.units), (0, 3))
        # A group sees its own subtree only.
        west = selectors.behind(self.group_2, TODAY)
        self.assertEqual(
            [p.unit for p in west.behind + west.no_plan], [self.school_b, kindergarten]
        )
        # At the start of March, A (nothing yet) is behind; B has held two: on track.
        early = selectors.behind(self.bureau, dt.date(2026, 2, 28))
        self.assertEqual([p.unit for p in early.behind], [self.school_a])
        self.assertEqual(early.on_track, 1)
        # Last year, whole: A held one of no plan.
        last = selectors.behind(self.bureau, dt.date(2025, 12, 31))
        self.assertEqual(len(last.no_plan), 3)
        self.assertEqual(last.no_plan[0].done, 1)


class HazardTests(DrillCase):
    def test_a_problem_becomes_one_hazard_linking_back_to_the_drill(self) -> None:
        drill = self.record(problems=["三楼东侧疏散指示灯不亮", "二楼拐角拥挤"])
        first, second = drill.problems.order_by("order")
        hazard, created = services.problem_to_hazard(by=self.principal_a, problem=first)
        self.assertTrue(created)
        self.assertEqual((hazard.unit, hazard.category), (self.school_a, "fire"))
        self.assertIn("三楼东侧疏散指示灯不亮", hazard.description)
        self.assertIn(f"/drills/{drill.pk}/", hazard.description)
        again, created = services.problem_to_hazard(by=self.officer, problem=first)
        self.assertEqual((again, created), (hazard, False))
        self.assertEqual(Hazard.objects.count(), 1)
        first.refresh_from_db()
        self.assertEqual(first.hazard, hazard)
        for person in (self.principal_b, self.teacher_a):
            with self.subTest(person=person.username), self.assertRaises(PermissionDenied):
                services.problem_to_hazard(by=person, problem=second)
        self.assertEqual(Hazard.objects.count(), 1)
        second.refresh_from_db()
        self.assertIsNone(second.hazard_id)


class RollCallTests(DrillCase):
    def test_the_drills_head_teachers_count_and_closing_writes_the_result(self) -> None:
        translation.activate("en")
        drill = self.record(roll_call_result="")
        with self.assertRaises(PermissionDenied):
            services.roll_call_start(by=self.teacher_a, drill=drill)
        roll = services.roll_call_start(by=self.principal_a, drill=drill)
        self.assertEqual((roll.unit, roll.incident), (self.school_a, None))
        self.assertEqual(services.roll_call_start(by=self.officer, drill=drill), roll)
        drill.refresh_from_db()
        self.assertEqual(drill.roll_call, roll)
        incidents.roll_call_count(
            by=self.teacher_a, roll_call=roll, class_name="一年级一班", present=40, absent=1
        )
        state = incident_selectors.roll_call_state(roll)
        self.assertEqual((state.present, state.absent), (40, 1))
        self.assertEqual(state.missing, [self.teacher_a2])
        incidents.roll_call_count(
            by=self.teacher_a2, roll_call=roll, class_name="一年级二班", present=39, absent=0
        )
        teacher_b = make_person("teacher.b", "何老师", "13900000033")
        Membership.objects.create(person=teacher_b, unit=self.school_b, role=Role.HEAD_TEACHER)
        for person in (teacher_b, self.duty_b, self.principal_b):
            with self.subTest(person=person.username), self.assertRaises(PermissionDenied):
                incidents.roll_call_count(
                    by=person, roll_call=roll, class_name="x", present=1, absent=0
                )
        with self.assertRaises(PermissionDenied):
            services.roll_call_close(by=self.teacher_a, drill=drill)
        services.roll_call_close(by=self.principal_a, drill=drill)
        drill.refresh_from_db()
        self.assertEqual(drill.roll_call_result, "Present 79, absent 1, 2 classes counted.")
        with self.assertRaises(ValidationError):
            incidents.roll_call_count(
                by=self.teacher_a, roll_call=roll, class_name="一年级一班", present=41, absent=0
            )

    def test_a_result_written_by_hand_is_kept_and_no_roll_call_without_access(self) -> None:
        drill = self.record(roll_call_result="全部到齐")
        services.roll_call_start(by=self.principal_a, drill=drill)
        services.roll_call_close(by=self.principal_a, drill=drill)
        drill.refresh_from_db()
        self.assertEqual(drill.roll_call_result, "全部到齐")
        with self.assertRaises(PermissionDenied):
            incidents.roll_call_open(by=self.principal_b, unit=self.school_a)
        with self.assertRaises(PermissionDenied):
            services.roll_call_start(by=self.principal_b, drill=drill)


class PhotoTests(DrillCase):
    def test_photos_read_by_what_they_are_and_added_by_the_schools_managers(self) -> None:
        photo = images.photo_read(io.BytesIO(jpeg()), name="drill.jpg")
        drill = self.record(photos=[photo])
        self.assertEqual(drill.photos.count(), 1)
        self.assertEqual(drill.photos.get().original_type, "image/jpeg")
        with self.assertRaises(ValidationError):
            images.photo_read(io.BytesIO(b"<html>not a photo</html>"), name="drill.jpg")
        with self.assertRaises(PermissionDenied):
            services.drill_photos_add(by=self.principal_b, drill=drill, photos=[photo])
        with self.assertRaises(ValidationError) as caught:
            services.drill_photos_add(by=self.principal_a, drill=drill, photos=[photo] * 7)
        self.assertIn("photos", caught.exception.message_dict)
        services.drill_photos_add(by=self.principal_a, drill=drill, photos=[photo, photo])
        self.assertEqual(DrillPhoto.objects.filter(drill=drill).count(), 3)
        with self.assertRaises(Http404):
            selectors.photo_or_404(self.principal_b, drill.photos.first().pk)
