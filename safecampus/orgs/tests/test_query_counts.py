"""Lists and pages cost a fixed number of queries, whatever the number of rows (no N+1)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from safecampus.orgs import services
from safecampus.orgs.models import AreaKind, Role, UnitKind
from safecampus.test import BaseTestCase


class QueryCountTest(BaseTestCase):
    def _count(self, client, url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        self.assertEqual(response.status_code, 200, url)
        return len(ctx.captured_queries)

    def _grow(self, n: int) -> None:
        """Add n schools under group 1, each with an area and a person."""
        for i in range(n):
            school = services.unit_create(
                by=self.officer,
                parent=self.group_1,
                code=f"X{self._round}{i}",
                name=f"新学校{i}",
                kind=UnitKind.SCHOOL,
            )
            person = services.person_create(
                by=self.officer,
                unit=school,
                name=f"人{i}",
                mobile=f"137{self._round}{i:07d}",
                roles=[Role.SAFETY_OFFICER],
            )
            services.area_create(
                by=self.officer,
                unit=self.school_a,
                name=f"区域{self._round}{i}",
                kind=AreaKind.OTHER,
                responsible=person if i % 2 else None,
            )
            services.membership_grant(
                by=self.officer, person=person, unit=self.school_a, role=Role.STAFF
            )
        self._round += 1

    def test_pages_do_not_grow_with_rows(self):
        self._round = 1
        client = self.client_for(self.officer)
        urls = [
            reverse("home"),
            reverse("orgs:tree"),
            reverse("orgs:children", args=[self.group_1.pk]),
            reverse("orgs:unit", args=[self.school_a.pk]),
            reverse("orgs:unit", args=[self.group_1.pk]),
            reverse("orgs:people"),
        ]
        self._grow(2)
        before = {url: self._count(client, url) for url in urls}
        self._grow(8)
        after = {url: self._count(client, url) for url in urls}
        self.assertEqual(before, after)
        # The home page is the largest: the shell, the counts, today's report and the
        # notices waiting (dashboards.selectors), the calendar warning, the alert-level orders
        # to confirm, and the alert-level banner every page has (one query on the orders).
        self.assertLessEqual(max(after.values()), 19)
