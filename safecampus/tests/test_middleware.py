"""The CSP middleware writes the same headers as django-csp's, from a policy built once;
the API's language is Django's; the site-only middleware skips /api/."""

import re

from csp.constants import NONCE
from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware as LibraryMiddleware
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocale
from django.test import RequestFactory, SimpleTestCase, override_settings
from django.urls import path
from django.utils import translation

from safecampus.lib import middleware as site
from safecampus.lib.middleware import CSPMiddleware

SETTINGS = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "script-src": ["'self'", NONCE],
    }
}
POLICY = "default-src 'self'; img-src 'self' data:; script-src 'self'"


def _headers(middleware_class, view, path="/page/", nonce=False):
    def get_response(request):
        if nonce:
            str(request.csp_nonce)  # a template asking for one
        return view(request)

    request = RequestFactory().get(path)
    response = middleware_class(get_response)(request)
    return {
        name: _directives(response.get(name))
        for name in ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
    }


def _directives(header):
    """A header's directives in order (django-csp writes them in a set's order), its
    nonce (random each response) blanked."""
    if header is None:
        return None
    return "; ".join(
        sorted(re.sub(r"'nonce-[^']+'", "'nonce-*'", d).strip() for d in header.split(";"))
    )


def plain(request):
    return HttpResponse("ok")


@csp_update({"img-src": "https://maps.example.cn"})
def updated(request):
    return HttpResponse("ok")


@csp_exempt()
def exempt(request):
    return HttpResponse("ok")


@override_settings(CONTENT_SECURITY_POLICY=SETTINGS)
class CSPMiddlewareTest(SimpleTestCase):
    def test_same_headers_as_django_csp(self):
        for view in (plain, updated, exempt):
            for nonce in (False, True):
                with self.subTest(view=view.__name__, nonce=nonce):
                    ours = _headers(CSPMiddleware, view, nonce=nonce)
                    self.assertEqual(ours, _headers(LibraryMiddleware, view, nonce=nonce))
        self.assertEqual(
            _headers(CSPMiddleware, plain)["Content-Security-Policy"],
            POLICY,
        )
        self.assertIn(
            "maps.example.cn", _headers(CSPMiddleware, updated)["Content-Security-Policy"]
        )
        self.assertIsNone(_headers(CSPMiddleware, exempt)["Content-Security-Policy"])
        self.assertIn(
            "nonce-", _headers(CSPMiddleware, plain, nonce=True)["Content-Security-Policy"]
        )

    def test_a_changed_setting_is_seen(self):
        self.assertIn("data:", _headers(CSPMiddleware, plain)["Content-Security-Policy"])
        changed = {"DIRECTIVES": {"default-src": ["'none'"]}, "EXCLUDE_URL_PREFIXES": ["/x/"]}
        with override_settings(
            CONTENT_SECURITY_POLICY=changed,
            CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": {"img-src": ["'self'"]}},
        ):
            headers = _headers(CSPMiddleware, plain)
            self.assertEqual(headers["Content-Security-Policy"], "default-src 'none'")
            self.assertIn("img-src 'self'", headers["Content-Security-Policy-Report-Only"])
            self.assertEqual(headers, _headers(LibraryMiddleware, plain))
            excluded = _headers(CSPMiddleware, plain, path="/x/1")
            self.assertIsNone(excluded["Content-Security-Policy"])
            self.assertEqual(excluded, _headers(LibraryMiddleware, plain, path="/x/1"))
        self.assertEqual(
            _headers(CSPMiddleware, plain)["Content-Security-Policy"],
            POLICY,
        )

    def test_a_nonce_asked_for_after_the_header_is_an_error(self):
        from csp.exceptions import CSPNonceError

        request = RequestFactory().get("/page/")
        CSPMiddleware(plain)(request)
        with self.assertRaises(CSPNonceError):
            str(request.csp_nonce)


class SiteOnlyTest(SimpleTestCase):
    def _seen(self, middleware_class, path):
        seen = {}

        def view(request):
            seen.update(
                session=hasattr(request, "session"),
                user=getattr(request, "user", None),
                htmx=hasattr(request, "htmx"),
                messages=hasattr(request, "_messages"),
            )
            return HttpResponse("ok")

        request = RequestFactory().get(path)
        chain = view
        for cls in reversed(middleware_class):
            chain = cls(chain)
        chain(request)
        return seen

    def test_pages_get_the_wrapped_middleware_and_the_api_skips_it(self):
        stack = [
            site.SessionMiddleware,
            site.AuthenticationMiddleware,
            site.MessageMiddleware,
            site.HtmxMiddleware,
        ]
        page = self._seen(stack, "/reports/")
        self.assertEqual((page["session"], page["htmx"], page["messages"]), (True, True, True))
        self.assertFalse(page["user"].is_authenticated)
        api = self._seen(stack, "/api/v1/units")
        self.assertEqual((api["session"], api["htmx"], api["messages"]), (False, False, False))
        # Anonymous until the API's bearer token names its person.
        self.assertFalse(api["user"].is_authenticated)

    def test_common_middleware_redirects_pages_only(self):
        def not_found(request):
            return HttpResponse(status=404)

        with override_settings(APPEND_SLASH=True, ROOT_URLCONF=__name__):
            page = site.CommonMiddleware(not_found)(RequestFactory().get("/page"))
            api = site.CommonMiddleware(not_found)(RequestFactory().get("/api/page"))
        self.assertEqual(page.status_code, 301)
        self.assertEqual(api.status_code, 404)

    def test_middleware_with_handler_hooks_is_refused(self):
        from django.middleware.csrf import CsrfViewMiddleware

        with self.assertRaises(TypeError):
            site.site_only(CsrfViewMiddleware)


def _page(request):
    return HttpResponse("ok")


# For the CommonMiddleware test: both would be redirected to their slashed path.
urlpatterns = [path("page/", _page), path("api/page/", _page)]


class ApiLanguageTest(SimpleTestCase):
    """Under /api/ the language is Django's choice for the same header and cookie."""

    def answer(self, middleware_class, url, accept, cookie):

        seen = {}

        def view(request):
            seen["language"] = translation.get_language()
            seen["code"] = request.LANGUAGE_CODE
            return HttpResponse("{}")

        request = RequestFactory().get(url, HTTP_ACCEPT_LANGUAGE=accept)
        if cookie is not None:
            request.COOKIES["django_language"] = cookie
        with translation.override(None):
            response = middleware_class(view)(request)
        return seen, response.get("Content-Language"), response.get("Vary")

    def test_the_same_language_and_headers_as_djangos(self):
        cases = [
            ("", None),
            ("en", None),
            ("en-US,en;q=0.9", None),
            ("zh-CN,zh;q=0.9,en;q=0.8", None),
            ("fr, de;q=0.5", None),
            ("*", None),
            ("en", "zh-hans"),
            ("zh-hans", "en"),
            ("en", "xx"),
        ]
        answers = set()
        for url in ("/api/v1/units", "/orgs/"):
            for accept, cookie in cases:
                ours = self.answer(site.LocaleMiddleware, url, accept, cookie)
                self.assertEqual(ours, self.answer(DjangoLocale, url, accept, cookie))
                self.assertEqual(ours, self.answer(site.LocaleMiddleware, url, accept, cookie))
                answers.add(ours[0]["language"])
        self.assertEqual(answers, {"en", "zh-hans"})

    def test_a_changed_setting_is_seen(self):
        with override_settings(LANGUAGE_CODE="en"):
            seen, language, _vary = self.answer(site.LocaleMiddleware, "/api/v1/units", "", None)
        self.assertEqual((seen["language"], language), ("en", "en"))
        seen, language, _vary = self.answer(site.LocaleMiddleware, "/api/v1/units", "", None)
        self.assertEqual((seen["language"], language), ("zh-hans", "zh-hans"))
