"""Log in (username or mobile), log out, change password, and the lockout answer."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.forms import SetPasswordForm as DjangoSetPasswordForm
from django.contrib.auth.views import PasswordResetConfirmView
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import services
from .policy import current_policy


class LoginForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username or mobile"), max_length=150)
    password = forms.CharField(
        label=gettext_lazy("Password"), widget=forms.PasswordInput, strip=False
    )


def _lockout_message() -> str:
    return _("Too many failed attempts. Try again in %(minutes)d minutes.") % {
        "minutes": current_policy().cooloff_minutes
    }


def locked_out(request: HttpRequest, response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes calls this when an account is locked; same answer for unknown accounts."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _lockout_message(), "errors": []}, status=429)
    form = LoginForm(request.POST or None)
    return render(
        request, "orgs/login.html", {"form": form, "error": _lockout_message()}, status=429
    )


def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, {request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.user.is_authenticated:
        return redirect(next_url or "home")
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        user = authenticate(
            request, username=form.cleaned_data["username"], password=form.cleaned_data["password"]
        )
        if getattr(request, "axes_locked_out", False):
            return locked_out(request)
        if user is None:
            error = _("Wrong username/mobile or password.")
        else:
            login(request, user)
            return redirect(next_url or "home")
    return render(request, "orgs/login.html", {"form": form, "error": error, "next": next_url})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and request.user.check_password(form.cleaned_data["new_password1"])
    ):
        # A forced change (a reset, an expired password) is a change: the password
        # someone else typed would stay known to them.
        form.add_error("new_password1", _("Choose a password other than the one you have now."))
    if request.method == "POST" and form.is_valid():
        user = form.save(commit=False)
        user.password_changed_at = timezone.now()
        user.must_change_password = False  # chosen by the holder now
        user.save()
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password has been changed."))
        return redirect("home")
    return render(
        request,
        "orgs/password_change.html",
        {
            "form": form,
            "expired": request.GET.get("expired") == "1",
            "reset": request.user.must_change_password,
        },
    )


class _ChosenPasswordForm(DjangoSetPasswordForm):
    """The holder's own password, through the service (checked by the policy, no change
    forced, in the audit trail as their own)."""

    def save(self, commit: bool = True) -> Any:
        return services.person_set_password(
            by=self.user, person=self.user, password=self.cleaned_data["new_password1"]
        )


class PasswordResetConfirm(PasswordResetConfirmView):
    """/account/reset/<uid>/<token>/: the one-time link an administrator's reset sends to
    its holder (administration.services.admin_password_reset). No login: the account has
    no usable password until its holder chooses one here. Django's token stops working
    once a password is chosen, after PASSWORD_RESET_TIMEOUT, and at the next reset; the
    view moves the token out of the address into the session before showing the form."""

    template_name = "orgs/password_reset_confirm.html"
    form_class = _ChosenPasswordForm
    success_url = reverse_lazy("login")

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        messages.success(self.request, _("Your password has been set. Log in with it now."))
        return response
