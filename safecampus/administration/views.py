"""The system and security administrators' pages: accounts and password resets (system),
roles and policy (security). The audit administrator's are in audit_views.py."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from safecampus.orgs import access, selectors, services
from safecampus.orgs.forms import AdminRoleForm, PolicyForm, SetPasswordForm, apply_errors
from safecampus.orgs.models import Person
from safecampus.orgs.views_login import locked_out

from .services import admin_password_reset, password_reset


@login_required
def policy(request: HttpRequest) -> HttpResponse:
    access.require(access.can_edit_security_policy(request.user))
    current = services.policy_get()
    form = PolicyForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.policy_update(
                by=request.user, **{f: form.cleaned_data[f] for f in PolicyForm.Meta.fields}
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Security policy saved."))
            return redirect("admin:policy")
    return render(request, "orgs/admin_policy.html", {"form": form})


@login_required
def admins(request: HttpRequest) -> HttpResponse:
    access.require(access.can_grant_admin_roles(request.user))
    form = AdminRoleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = Person.objects.filter(username=form.cleaned_data["username"].strip()).first()
        if person is None:
            form.add_error("username", _("Unknown username."))
        else:
            try:
                services.admin_role_grant(
                    by=request.user, person=person, role=form.cleaned_data["admin_role"]
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Saved."))
                return redirect("admin:admins")
    holders = [
        (p, selectors.person_shown(request.user, p))
        for p in Person.objects.exclude(admin_role="").order_by("admin_role", "name", "pk")
    ]
    return render(request, "orgs/admin_admins.html", {"form": form, "holders": holders})


@login_required
def accounts(request: HttpRequest) -> HttpResponse:
    access.require(access.can_manage_accounts(request.user))
    query = request.GET.get("q", "").strip()[:50]
    # Searched over what the page shows (an administrator's username that is a mobile
    # number is masked for the system administrator too), as the people list is.
    people = selectors.people_list(request.user, query=query).order_by("username")
    rows = [
        (
            p,
            selectors.person_shown(request.user, p),
            access.can_reset_password(request.user, p),
            access.account_change_allowed(request.user, p),
        )
        for p in people[:100]
    ]
    return render(request, "orgs/admin_accounts.html", {"rows": rows, "q": query})


class ResetPasswordForm(SetPasswordForm):
    """A reset. On an administrator's account nobody types the new password (whoever did
    could log in before its holder): a second administrator signs here instead, and the
    holder receives a link to choose their own."""

    cosigner_username = forms.CharField(
        label=gettext_lazy("second administrator's username"), max_length=150, required=False
    )
    cosigner_password = forms.CharField(
        label=gettext_lazy("second administrator's password"),
        widget=forms.PasswordInput,
        strip=False,
        required=False,
    )

    def __init__(self, *args: Any, cosigned: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not cosigned:
            del self.fields["cosigner_username"]
            del self.fields["cosigner_password"]
        else:
            del self.fields["password"]
            self.fields["cosigner_username"].required = True
            self.fields["cosigner_password"].required = True


@login_required
def account_password(request: HttpRequest, pk: int) -> HttpResponse:
    """Reset another account's password: the system administrator types a temporary one,
    which the holder must change at the next login. An administrator's account needs a
    second administrator of another role, who signs with their own password on this form
    (access.password_reset_cosigner); its password is withdrawn and its holder alone
    chooses the next one, through a link sent to them (admin_password_reset)."""
    person = access.person_or_404(request.user, pk)
    access.require(access.can_reset_password(request.user, person))
    cosigned = access.password_reset_needs_cosigner(person)
    form = ResetPasswordForm(request.POST or None, cosigned=cosigned)
    if request.method == "POST" and form.is_valid():
        cosigner = None
        if cosigned:
            # Through the login backends, so wrong guesses count towards the lockout.
            cosigner = authenticate(
                request,
                username=form.cleaned_data["cosigner_username"],
                password=form.cleaned_data["cosigner_password"],
            )
            if getattr(request, "axes_locked_out", False):
                return locked_out(request)
            if cosigner is None:
                form.add_error("cosigner_password", _("Wrong username/mobile or password."))
            elif not access.password_reset_cosigner(request.user, person, cosigner):
                form.add_error(
                    "cosigner_username",
                    _(
                        "The second administrator must hold another administrator role "
                        "than yours, and not be the account's holder."
                    ),
                )
        if form.is_valid():
            try:
                if cosigned:
                    admin_password_reset(by=request.user, person=person, cosigner=cosigner)
                    done = _(
                        "The password of %(name)s no longer works; a link to choose a new "
                        "one was sent to them."
                    )
                else:
                    password_reset(
                        by=request.user, person=person, password=form.cleaned_data["password"]
                    )
                    done = _("Password set for %(name)s; they must change it at the next login.")
            except ValidationError as exc:
                form.add_error(None if cosigned else "password", exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, done % {"name": person.name})
                return redirect("admin:accounts")
    return render(
        request,
        "orgs/admin_password.html",
        {
            "form": form,
            "person": person,
            "cosigned": cosigned,
            "title": _("Set the password of %(name)s") % {"name": person.name},
        },
    )


@login_required
def account_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(access.can_manage_accounts(request.user) and request.method == "POST")
    person = access.person_or_404(request.user, pk)
    try:
        services.person_update(by=request.user, person=person, is_active=not person.is_active)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except PermissionDenied:
        messages.error(
            request,
            _(
                "An administrator's account is disabled only after the security "
                "administrator has taken its administrator role away."
            ),
        )
    return redirect("admin:accounts")
