from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from .policy import current_policy, password_expired


class IdleTimeoutMiddleware:
    """Sessions end after the policy's idle minutes; passwords past their age must change."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith("/api/"):
            return self.get_response(request)  # bearer tokens, no session to keep alive
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            policy = current_policy()
            request.session.set_expiry(policy.idle_timeout_minutes * 60)
            if not request.path.startswith(
                ("/account/password/", "/logout/", "/static/", "/i18n/")
            ) and password_expired(user):
                return redirect(reverse("password_change") + "?expired=1")
        return self.get_response(request)
