"""Middleware shared by the whole site: django-csp's with its policy built once, Django's
locale middleware with the API's language worked out once per header, and the
site-only versions of the middleware the JSON API does not need."""

import functools
import http.client
from types import SimpleNamespace
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware as _AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.middleware import MessageMiddleware as _MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware as _SessionMiddleware
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.middleware.common import CommonMiddleware as _CommonMiddleware
from django.middleware.locale import LocaleMiddleware as _LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxMiddleware as _HtmxMiddleware

# What a view can set on a response to change its policy (django-csp's decorators).
_OVERRIDES = tuple(
    f"_csp_{what}{ro}" for what in ("config", "update", "replace") for ro in ("", "_ro")
)


@functools.cache
def _policies() -> tuple[str, str]:
    """The policy and the report-only policy as the settings write them."""
    return build_policy(), build_policy(report_only=True)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _policies.cache_clear()
    if setting.startswith("LANGUAGE"):
        _api_language.cache_clear()


class CSPMiddleware(_CSPMiddleware):
    """django-csp's, with the settings' policy built once instead of on every response
    (it was a quarter of the middleware stack's CPU on a JSON answer). A response a
    view's decorator changed, or a page that used a nonce, goes through django-csp."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _OVERRIDES
        ):
            return super().process_response(request, response)
        debug_codes = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)
        if response.status_code in debug_codes and settings.DEBUG:
            return response
        for header, policy, exempt, setting in zip(
            (HEADER, HEADER_REPORT_ONLY),
            _policies(),
            ("_csp_exempt", "_csp_exempt_ro"),
            ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
            strict=True,
        ):
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if (
                policy
                and header not in response
                and not getattr(response, exempt, False)
                and not request.path_info.startswith(tuple(prefixes))
            ):
                response[header] = policy
        # As django-csp: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


# --- The site's pages only --------------------------------------------------------------

API_PREFIX = "/api/"


def site_only(middleware: type) -> type:
    """`middleware` for the site's pages, skipped under /api/: the API authenticates
    each request with a bearer token and answers JSON, so it has no session, flash
    message, trailing-slash redirect or htmx request to handle. Skipping them is most of the
    stack's cost on an API call (bench/reports_submit.py). A request skipped there is
    anonymous until the API's token authentication names its person."""
    hooks = ("process_view", "process_exception", "process_template_response")
    if any(hasattr(middleware, hook) for hook in hooks):
        # The handler calls those for every request, outside __call__.
        raise TypeError(f"{middleware.__name__} has hooks site_only does not skip")
    sets_user = issubclass(middleware, _AuthenticationMiddleware)

    class SiteOnly(middleware):  # type: ignore[misc,valid-type]
        def __call__(self, request: HttpRequest) -> HttpResponseBase:
            if request.path_info.startswith(API_PREFIX):
                if sets_user:
                    request.user = AnonymousUser()
                return self.get_response(request)
            return super().__call__(request)

    SiteOnly.__name__ = SiteOnly.__qualname__ = middleware.__name__
    SiteOnly.__doc__ = f"{middleware.__module__}.{middleware.__name__}, for the site's pages."
    return SiteOnly


SessionMiddleware = site_only(_SessionMiddleware)
CommonMiddleware = site_only(_CommonMiddleware)
AuthenticationMiddleware = site_only(_AuthenticationMiddleware)
MessageMiddleware = site_only(_MessageMiddleware)
HtmxMiddleware = site_only(_HtmxMiddleware)


# --- The API's language ------------------------------------------------------------------


class LocaleMiddleware(_LocaleMiddleware):
    """Django's. Under /api/, whose paths carry no language prefix (the site uses no
    i18n_patterns), the language comes from the Accept-Language header and the language
    cookie alone, as Django works it out, once for each pair of values rather than on
    every request (a twentieth of a submission's CPU, bench/reports_submit.py)."""

    def process_request(self, request: HttpRequest) -> None:
        if not request.path_info.startswith(API_PREFIX):
            return super().process_request(request)
        translation.activate(
            _api_language(
                request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
                request.META.get("HTTP_ACCEPT_LANGUAGE", ""),
            )
        )
        request.LANGUAGE_CODE = translation.get_language()
        return None

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not request.path_info.startswith(API_PREFIX):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


@functools.lru_cache(maxsize=256)
def _api_language(cookie: str | None, accept: str) -> str:
    seen = SimpleNamespace(
        COOKIES={} if cookie is None else {settings.LANGUAGE_COOKIE_NAME: cookie},
        META={"HTTP_ACCEPT_LANGUAGE": accept},
    )
    return translation.get_language_from_request(seen)  # type: ignore[arg-type]
