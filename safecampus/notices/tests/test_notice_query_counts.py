"""The inbox and a notice's page cost a fixed number of queries, whatever the rows (no N+1)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from safecampus.notices import services
from safecampus.orgs.models import UnitKind
from safecampus.test import make_unit

from .base import NoticeTestCase


class NoticeQueryCountTest(NoticeTestCase):
    def _count(self, client, url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        self.assertEqual(response.status_code, 200, url)
        return len(ctx.captured_queries)

    def _grow(self, n: int) -> None:
        for i in range(n):
            self.group_1.refresh_from_db()
            make_unit(
                self.group_1, f"N{self._round}{i}", f"新学校{self._round}{i}", UnitKind.SCHOOL
            )
            notice = self.send(title=f"通知{self._round}{i}", requires_ack=True)
            services.notice_read(by=self.duty_b, notice=notice)
        self._round += 1

    def test_pages_do_not_grow_with_rows(self):
        self._round = 1
        self._grow(2)
        notice = self.send(requires_ack=True)
        services.notice_read(by=self.duty_b, notice=notice)
        pages = [
            (self.officer, reverse("notices:inbox")),
            (self.officer, reverse("notices:detail", args=[notice.pk])),
            (self.duty_b, reverse("notices:inbox")),
            (self.duty_b, reverse("notices:detail", args=[notice.pk])),
        ]
        before = [self._count(self.client_for(p), url) for p, url in pages]
        self._grow(8)
        later = self.send(requires_ack=True)
        services.notice_read(by=self.duty_b, notice=later)
        pages[1] = (self.officer, reverse("notices:detail", args=[later.pk]))
        pages[3] = (self.duty_b, reverse("notices:detail", args=[later.pk]))
        after = [self._count(self.client_for(p), url) for p, url in pages]
        self.assertEqual(before, after)
        self.assertLessEqual(max(after), 18)  # 17, and the alert-level banner every page has
