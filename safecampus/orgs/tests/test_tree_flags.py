"""The tree: a collapsed node shows how many areas under it have nobody responsible, so a
group's red flags are seen before it is opened."""

from django.urls import reverse
from django.utils import timezone

from safecampus.orgs import selectors
from safecampus.orgs.models import Area, AreaKind, Unit, UnitKind
from safecampus.test import BaseTestCase, make_unit


class CollapsedNodeFlagsTest(BaseTestCase):
    def children_below(self) -> dict[str, int]:
        """What the opened bureau node lists: each group's count, and its badge."""
        page = self.client_for(self.officer).get(reverse("orgs:children", args=[self.bureau.pk]))
        children = selectors.unit_children(self.officer, self.bureau)
        counts = {u.code: u.unassigned_below for u in children}
        badges = page.content.decode().count('data-testid="unassigned-below"')
        self.assertEqual(badges, sum(1 for n in counts.values() if n))
        return counts

    def test_root_counts_the_unassigned_areas_below_it(self):
        page = self.client_for(self.officer).get(reverse("orgs:tree"))
        (bureau,) = page.context["roots"]
        # 食堂 at school A and 校门 at school B have nobody; the bureau itself has no area.
        self.assertEqual((bureau.unassigned_count, bureau.unassigned_below), (0, 2))
        self.assertContains(page, 'data-testid="unassigned-below"', count=1)
        self.assertContains(page, "2 below without a responsible person")

    def test_each_group_counts_its_own_subtree_at_every_depth(self):
        dept = make_unit(self.school_a, "SA-1", "一年级组", UnitKind.DEPARTMENT)
        Area.objects.create(unit=dept, name="走廊", kind=AreaKind.BUILDING)
        self.assertEqual(self.children_below(), {"G1": 2, "G2": 1})

    def test_archived_areas_and_units_are_not_counted(self):
        dept = make_unit(self.school_a, "SA-1", "一年级组", UnitKind.DEPARTMENT)
        Area.objects.create(unit=dept, name="走廊", kind=AreaKind.BUILDING)
        Unit.objects.filter(pk=dept.pk).update(archived_at=timezone.now())
        Area.objects.filter(pk=self.area_b.pk).update(archived_at=timezone.now())
        self.assertEqual(self.children_below(), {"G1": 1, "G2": 0})

    def test_a_school_without_units_below_shows_no_below_badge(self):
        page = self.client_for(self.principal_a).get(reverse("orgs:tree"))
        (school,) = page.context["roots"]
        self.assertEqual(school.unassigned_count, 1)
        self.assertNotContains(page, 'data-testid="unassigned-below"')
