from collections.abc import Callable
from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from .policy import current_policy


class IdleTimeoutMiddleware:
    """Sessions end after the policy's idle minutes; passwords past their age must change."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            policy = current_policy()
            request.session.set_expiry(policy.idle_timeout_minutes * 60)
            if policy.password_max_age_days and not request.path.startswith(
                ("/account/password/", "/logout/", "/static/", "/api/", "/i18n/")
            ):
                changed = user.password_changed_at
                if changed is None or timezone.now() - changed > timedelta(
                    days=policy.password_max_age_days
                ):
                    return redirect(reverse("password_change") + "?expired=1")
        return self.get_response(request)
