"""Every duty page is reached by tapping links, from the home page's menu: the spot checks,
the calendar link, the roster's print view and its Excel file included (no address to type).
Those who may not see a unit's spot checks are not shown the link."""

from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from django.test import Client
from django.urls import resolve

from safecampus.duty import edge_urls, services
from safecampus.duty import urls as duty_urls

from .test_duty_services import TUESDAY, DutyCase

# Pages opened by a token (the message's answer link, the calendar feed) or only by a
# form's POST (answer here, remove a shift, chase a gap) are not links to tap.
NOT_LINKS = {"spot-answer", "feed", "spot-answer-here", "shift-delete", "gap-chase"}


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def reached(client: Client, limit: int = 120) -> dict[str, int]:
    """Tap through from "/": every same-site link into /duty/ (a few of each page), and the
    status each duty page answered, by URL name."""
    names: dict[str, int] = {}
    queue, seen = deque(["/"]), {"/"}
    while queue and len(seen) < limit:
        page = queue.popleft()
        response = client.get(page)
        if page != "/":
            names.setdefault(resolve(urlsplit(page).path).url_name, response.status_code)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        parser = _Hrefs()
        parser.feed(response.content.decode())
        for href in parser.hrefs:
            url, _ = urldefrag(urljoin("http://testserver" + page, href))
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.netloc != "testserver" or not parts.path.startswith("/duty/"):
                continue
            if path not in seen:
                seen.add(path)
                queue.append(path)
    return names


class DutyLinksTest(DutyCase):
    def setUp(self) -> None:
        super().setUp()
        self.plan()
        shift = self.shift_on(TUESDAY, "白班")
        swap = services.swap_request(by=self.duty_a1, shift=shift, to_person=self.duty_a2)
        services.swap_accept(by=self.duty_a2, swap=swap)  # waiting for the principal

    def test_the_principal_taps_to_every_duty_page(self) -> None:
        names = reached(self.client_for(self.principal_a))
        patterns = [*duty_urls.urlpatterns, *edge_urls.urlpatterns]
        every = {p.name for p in patterns if getattr(p, "name", None)}
        self.assertEqual(every - NOT_LINKS - set(names), set())
        self.assertEqual({n: s for n, s in names.items() if s != 200}, {})

    def test_duty_staff_reach_theirs_and_see_no_spot_check_link(self) -> None:
        names = reached(self.client_for(self.duty_a1))
        for name in ("spot-mine", "feed-page", "roster", "roster-print", "roster-xlsx", "now"):
            self.assertEqual(names.get(name), 200, name)
        self.assertNotIn("spot-checks", names)
        roster = self.client_for(self.duty_a1).get(f"/duty/units/{self.school_a.pk}/")
        self.assertNotContains(roster, 'data-testid="spot-checks-link"')
        self.assertContains(roster, 'data-testid="print-link"')

    def test_the_roster_links_its_month(self) -> None:
        client = self.client_for(self.principal_a)
        roster = client.get(f"/duty/units/{self.school_a.pk}/?month=2030-03")
        a = self.school_a.pk
        self.assertContains(roster, f'href="/duty/units/{a}/roster/print/?month=2030-03"')
        self.assertContains(roster, f'href="/duty/units/{a}/roster.xlsx?month=2030-03"')
        self.assertContains(roster, f'href="/duty/units/{a}/spot-checks/"')
        printed = client.get(f"/duty/units/{a}/roster/print/?month=2030-03")
        self.assertContains(printed, f'href="/duty/units/{a}/?month=2030-03"')
        self.assertContains(printed, 'data-testid="week"', count=5)  # 2030-03: 5 weeks (Mon)
