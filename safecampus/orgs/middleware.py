from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from .passwords import password_must_change
from .policy import current_policy


class IdleTimeoutMiddleware:
    """Sessions end after the policy's idle minutes; a password past its age, or set by
    someone else (a reset), must change before any other page."""

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
            ) and password_must_change(user):
                reason = "reset" if user.must_change_password else "expired"
                return redirect(reverse("password_change") + f"?{reason}=1")
        return self.get_response(request)
