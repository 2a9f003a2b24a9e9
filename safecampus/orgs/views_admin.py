"""The three administrators' pages: accounts (system), roles and policy (security)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from . import access, services
from .forms import AdminRoleForm, PolicyForm, SetPasswordForm, apply_errors
from .models import Person


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
    holders = Person.objects.exclude(admin_role="").order_by("admin_role", "username")
    return render(request, "orgs/admin_admins.html", {"form": form, "holders": holders})


@login_required
def accounts(request: HttpRequest) -> HttpResponse:
    access.require(access.can_manage_accounts(request.user))
    query = request.GET.get("q", "").strip()[:50]
    people = Person.objects.order_by("username")
    if query:
        people = people.filter(username__icontains=query) | people.filter(name__icontains=query)
    return render(request, "orgs/admin_accounts.html", {"people": people[:100], "q": query})


@login_required
def account_password(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(access.can_manage_accounts(request.user))
    person = access.person_or_404(request.user, pk)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_set_password(
                by=request.user, person=person, password=form.cleaned_data["password"]
            )
        except ValidationError as exc:
            form.add_error("password", exc)
        else:
            messages.success(request, _("Password set for %(name)s.") % {"name": person.name})
            return redirect("admin:accounts")
    return render(
        request,
        "orgs/form.html",
        {
            "form": form,
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
    return redirect("admin:accounts")
