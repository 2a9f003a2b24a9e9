"""Alert-level orders: the effective level from the unit's and its ancestors' orders, never
below a parent's; the window checked; measures confirmed once, the roster measure against
duty's gaps; the chase and the fan-out (heads and who is on duty); other units refused."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from safecampus.duty.models import CoverageGap, GapKind
from safecampus.levels import selectors, services
from safecampus.levels.models import AlertOrder, Check, Level, OrderUnit
from safecampus.notify.models import Delivery, Notification
from safecampus.orgs.models import Membership, Role
from safecampus.test import BaseTestCase, make_person
from safecampus.worker.testing import drain

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


class LevelCase(BaseTestCase):
    def setUp(self) -> None:
        super().setUp()
        translation.activate("en")
        self.addCleanup(translation.deactivate)
        self.now = timezone.now()
        self.principal_b = make_person("principal.b", "赵校长", "13900000009")
        Membership.objects.create(person=self.principal_b, unit=self.school_b, role=Role.PRINCIPAL)
        self.school_a.head = self.principal_a
        self.school_a.save(update_fields=["head"])

    def issue(self, by=None, unit=None, level=Level.ENHANCED, start=None, end=None, **kw):  # noqa: ANN001, ANN003, ANN201
        return services.order_issue(
            by=by or self.officer,
            unit=unit or self.bureau,
            level=level,
            starts_at=start or self.now - HOUR,
            ends_at=end or self.now + 7 * DAY,
            reason=kw.get("reason", "国庆期间加强防控"),
        )


class EffectiveLevelTests(LevelCase):
    def test_routine_without_orders_then_inherited_from_the_bureau(self) -> None:
        self.assertEqual(selectors.effective_level(self.school_a).level, Level.ROUTINE)
        order = self.issue()
        for unit in (self.bureau, self.group_1, self.school_a, self.school_b):
            e = selectors.effective_level(unit)
            self.assertEqual((e.level, e.order), (Level.ENHANCED, order), unit)
        # Reached: the groups and schools under the bureau, not the bureau itself.
        reached = set(OrderUnit.objects.filter(order=order).values_list("unit_id", flat=True))
        self.assertEqual(
            reached, {self.group_1.pk, self.group_2.pk, self.school_a.pk, self.school_b.pk}
        )
        self.assertEqual(order.units_total, 4)

    def test_a_unit_may_raise_its_own_level_and_only_its_subtree_follows(self) -> None:
        self.issue()
        own = self.issue(by=self.principal_a, unit=self.school_a, level=Level.EXTRAORDINARY)
        self.assertEqual(selectors.effective_level(self.school_a).order, own)
        self.assertEqual(selectors.effective_level(self.school_b).level, Level.ENHANCED)
        self.assertEqual(selectors.effective_level(self.group_1).level, Level.ENHANCED)

    def test_outside_the_window_or_ended_early_the_level_falls_back(self) -> None:
        order = self.issue(start=self.now + DAY, end=self.now + 2 * DAY)
        self.assertEqual(selectors.effective_level(self.school_a).level, Level.ROUTINE)
        self.assertEqual(
            selectors.effective_level(self.school_a, self.now + DAY + HOUR).level, Level.ENHANCED
        )
        services.order_end(by=self.officer, order=order)
        self.assertEqual(
            selectors.effective_level(self.school_a, self.now + DAY + HOUR).level, Level.ROUTINE
        )

    def test_below_the_parents_level_is_refused_with_the_reason(self) -> None:
        self.issue(level=Level.EXTRAORDINARY, start=self.now + DAY, end=self.now + 3 * DAY)
        with self.assertRaises(ValidationError) as caught:
            self.issue(by=self.principal_a, unit=self.school_a, level=Level.ENHANCED)
        message = caught.exception.message_dict["level"][0]
        self.assertIn("never go below its parent's", message)
        self.assertIn(self.bureau.name, message)
        # A window outside the parent's order is fine.
        self.issue(by=self.principal_a, unit=self.school_a, end=self.now + DAY)

    def test_bad_windows_and_levels_are_refused(self) -> None:
        cases = [
            ({"start": self.now + DAY, "end": self.now}, "ends_at", "before it starts"),
            ({"start": self.now - 3 * DAY, "end": self.now - DAY}, "ends_at", "already over"),
            ({"end": self.now + 400 * DAY}, "ends_at", "at most"),
            ({"level": Level.ROUTINE}, "level", "level 2"),
            ({"reason": "  "}, "reason", "required"),
        ]
        for kw, field, words in cases:
            with self.subTest(field=field, words=words), self.assertRaises(ValidationError) as c:
                self.issue(**kw)
            self.assertIn(words, " ".join(c.exception.message_dict[field]))
        self.assertFalse(AlertOrder.objects.exists())

    def test_only_a_units_managers_issue_for_it(self) -> None:
        with self.assertRaises(PermissionDenied):
            self.issue(by=self.principal_a, unit=self.bureau)
        with self.assertRaises(PermissionDenied):
            self.issue(by=self.principal_a, unit=self.school_b)
        with self.assertRaises(PermissionDenied):
            self.issue(by=self.duty_b, unit=self.school_b)


class MeasureTests(LevelCase):
    def setUp(self) -> None:
        super().setUp()
        self.order = self.issue()
        self.row_a = OrderUnit.objects.get(order=self.order, unit=self.school_a)

    def test_the_order_asks_the_roster_rule_and_its_levels_list(self) -> None:
        measures = list(self.order.measures.all())
        self.assertEqual(measures[0].auto_check, Check.DUTY_LEADER)
        self.assertEqual(len(measures), 1 + len(services.measures_of(None, Level.ENHANCED)))
        extraordinary = self.issue(level=Level.EXTRAORDINARY)
        self.assertEqual(
            extraordinary.measures.count(),
            1 + len(services.measures_of(None, 2)) + len(services.measures_of(None, 1)),
        )

    def test_confirm_each_once_then_done(self) -> None:
        measures = list(self.order.measures.all())
        for m in measures:
            _c, created = services.measure_confirm(
                by=self.principal_a, order_unit=self.row_a, measure=m
            )
            self.assertTrue(created)
        _c, created = services.measure_confirm(
            by=self.principal_a, order_unit=self.row_a, measure=measures[1]
        )
        self.assertFalse(created)  # a second confirmation is the first
        self.row_a.refresh_from_db()
        self.assertEqual(self.row_a.confirmed, len(measures))
        self.assertIsNotNone(self.row_a.done_at)
        self.assertIsNotNone(self.row_a.acknowledged_at)
        self.assertEqual(selectors.progress(self.order).done, 1)

    def test_the_roster_measure_waits_for_a_leader_on_every_shift(self) -> None:
        gap = CoverageGap.objects.create(
            unit=self.school_a,
            path=self.school_a.path,
            kind=GapKind.NO_LEADER,
            starts_at=self.now + DAY,
            ends_at=self.now + DAY + 8 * HOUR,
            seconds=8 * 3600,
            scanned_at=self.now,
        )
        roster = self.order.measures.get(auto_check=Check.DUTY_LEADER)
        with self.assertRaises(ValidationError) as caught:
            services.measure_confirm(by=self.principal_a, order_unit=self.row_a, measure=roster)
        self.assertIn("No leader on duty", caught.exception.message_dict["measure"][0])
        gap.delete()
        _c, created = services.measure_confirm(
            by=self.principal_a, order_unit=self.row_a, measure=roster
        )
        self.assertTrue(created)

    def test_other_units_and_the_levels_above_do_not_confirm_for_a_school(self) -> None:
        m = self.order.measures.last()
        for person in (self.principal_b, self.officer, self.teacher_a):
            with self.subTest(person=person.username), self.assertRaises(PermissionDenied):
                services.measure_confirm(by=person, order_unit=self.row_a, measure=m)
        with self.assertRaises(PermissionDenied):
            services.order_acknowledge(by=self.principal_b, order_unit=self.row_a)

    def test_an_ended_order_takes_no_confirmation(self) -> None:
        services.order_end(by=self.officer, order=self.order)
        self.row_a.order.refresh_from_db()
        with self.assertRaises(ValidationError):
            services.measure_confirm(
                by=self.principal_a, order_unit=self.row_a, measure=self.order.measures.last()
            )

    def test_a_bureau_edits_its_list_and_orders_out_keep_theirs(self) -> None:
        before = [m.text for m in self.order.measures.all()]
        services.measures_edit(
            by=self.officer,
            bureau=self.bureau,
            level=2,
            lines=["门卫24小时值守", "", "门卫24小时值守"],
        )
        self.assertEqual([m.text for m in services.measures_of(self.bureau, 2)], ["门卫24小时值守"])
        self.assertEqual([m.text for m in self.order.measures.all()], before)
        later = self.issue()
        self.assertEqual([m.text for m in later.measures.all()][1:], ["门卫24小时值守"])
        with self.assertRaises(PermissionDenied):
            services.measures_edit(by=self.principal_a, bureau=self.school_a, level=2, lines=["x"])
        with self.assertRaises(ValidationError):
            services.measures_edit(by=self.officer, bureau=self.bureau, level=2, lines=[" "])


class MessageTests(LevelCase):
    def test_the_order_reaches_heads_and_those_on_duty_once(self) -> None:
        with self.captureOnCommitCallbacks(execute=True):
            order = self.issue()
        self.assertIsNone(order.fanned_out_at)
        drain()
        drain()  # a second run: nothing more
        order.refresh_from_db()
        self.assertIsNotNone(order.fanned_out_at)
        notes = Notification.objects.filter(event="levels.order")
        self.assertEqual(notes.count(), 1)
        told = set(
            Delivery.objects.filter(notification=notes.get()).values_list("person_id", flat=True)
        )
        self.assertIn(self.principal_a.pk, told)  # school A's head
        self.assertEqual(order.messages, len(told))

    def test_the_chase_reminds_only_those_not_done(self) -> None:
        order = self.issue()
        row_a = OrderUnit.objects.get(order=order, unit=self.school_a)
        for m in order.measures.all():
            services.measure_confirm(by=self.principal_a, order_unit=row_a, measure=m)
        self.assertEqual(services.order_chase(by=self.officer, order=order), 3)
        row_a.refresh_from_db()
        self.assertIsNone(row_a.chased_at)
        self.assertEqual(OrderUnit.objects.filter(order=order, chased_at__isnull=False).count(), 3)
        with self.assertRaises(PermissionDenied):
            services.order_chase(by=self.principal_a, order=order)
