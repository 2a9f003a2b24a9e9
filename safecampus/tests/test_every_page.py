"""No page reachable from the menu answers a server error, for any demo role.

For each demo login (README, "Demo logins"), with the demo district loaded: read the
menu's links from the page shell (templates/base.html as rendered for that person),
open each, then follow every same-site link on those pages one level deep (GET only).
Links that differ only in their numbers (`/orgs/people/17/`, `/orgs/people/18/`) are
the same page with other data: up to SAMPLES of each shape are opened, so the test
runs in a minute rather than an hour while every view and template is reached.
"""

import re
import traceback
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

from django.db import connection
from django.test import Client, TestCase
from django.utils import translation

from safecampus.demo.district import DEMO_LOGINS, demo_load
from safecampus.orgs.models import Person

SAMPLES = 3
# Links that would end the session (the log-out is a form; kept here in case it is
# ever a link) are not followed.
NOT_FOLLOWED = re.compile(r"^/(accounts/)?logout/?")


class _Links(HTMLParser):
    """The href of every <a>, and separately those inside <header class="shell">."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.menu: list[str] = []
        self._in_shell = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "header" and "shell" in (values.get("class") or "").split():
            self._in_shell = 1
        elif self._in_shell and tag == "header":
            self._in_shell += 1
        if tag == "a" and values.get("href"):
            href = values["href"] or ""
            self.links.append(href)
            if self._in_shell:
                self.menu.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag == "header" and self._in_shell:
            self._in_shell -= 1


def _parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def _same_site(base: str, href: str) -> str | None:
    """The path and query of a same-site link, or None for anything else."""
    url, _fragment = urldefrag(urljoin("http://testserver" + base, href))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != "testserver":
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    if not path or NOT_FOLLOWED.match(parts.path):
        return None
    return path


def _shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


class EveryPageTest(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        demo_load()
        if connection.vendor == "postgresql":
            # The demo is loaded inside the test's transaction, where autovacuum never sees
            # it: without fresh statistics the planner takes its tables for empty and may
            # nest seq scans over thousands of shifts (a page then takes minutes). In
            # production autovacuum keeps them current; here ANALYZE does.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    def _get(self, client: Client, role: str, url: str, failures: list[str]) -> str | None:
        """The page's HTML (None when it is not HTML or not a 200); server errors noted."""
        try:
            response = client.get(url)
        except Exception as exc:  # the test client re-raises the view's exception
            frames = traceback.extract_tb(exc.__traceback__)
            ours = [
                f for f in frames if "/safecampus/" in f.filename or "/templates/" in f.filename
            ]
            where = ours[-1] if ours else frames[-1]
            failures.append(
                f"{role} GET {url}: {type(exc).__name__}: {exc} "
                f"(at {where.filename.rsplit('/work/main/', 1)[-1]}:{where.lineno})"
            )
            return None
        if response.status_code >= 500:
            failures.append(f"{role} GET {url}: HTTP {response.status_code}")
            return None
        content_type = response.get("Content-Type", "")
        if response.status_code != 200 or not content_type.startswith("text/html"):
            return None
        if getattr(response, "streaming", False):
            return None
        return response.content.decode()

    def test_no_page_reachable_from_the_menu_is_a_server_error(self):
        failures: list[str] = []
        opened = 0
        for role, _label in DEMO_LOGINS:
            client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
            client.force_login(Person.objects.get(username=role))
            with translation.override("zh-hans"):
                home = self._get(client, role, "/", failures)
            self.assertIsNotNone(home, f"{role}: the home page did not open")
            menu = []
            for href in _parse(home or "").menu:
                path = _same_site("/", href)
                if path and path not in menu:
                    menu.append(path)
            self.assertGreater(len(menu), 2, f"{role}: no menu found on the home page")
            seen: set[str] = set()
            shapes: dict[str, int] = {}

            def wanted(path: str, seen: set[str] = seen, shapes: dict[str, int] = shapes) -> bool:
                if path in seen:
                    return False
                shape = _shape(path)
                if shapes.get(shape, 0) >= SAMPLES:
                    return False
                seen.add(path)
                shapes[shape] = shapes.get(shape, 0) + 1
                return True

            level_one = [path for path in menu if wanted(path)]
            for page in level_one:
                html = self._get(client, role, page, failures)
                opened += 1
                if html is None:
                    continue
                for href in _parse(html).links:
                    path = _same_site(page, href)
                    if path and wanted(path):
                        self._get(client, role, path, failures)
                        opened += 1
        self.assertGreater(opened, 50)
        self.assertEqual(failures, [], "\n" + "\n".join(failures))
