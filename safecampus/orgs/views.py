"""Organisation pages: the tree, a unit with its areas and people, edits, import and export."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.lib.xlsx import XLSX_MIME

from . import access, selectors, services
from .forms import (
    AreaForm,
    GrantRoleForm,
    ImportForm,
    MoveForm,
    NewPersonForm,
    PersonForm,
    SeatForm,
    UnitForm,
    apply_errors,
)
from .imports import org_import, template_workbook
from .models import ALLOWED_CHILDREN, LeadershipSeat, Unit, UnitKind


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_MIME)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return response


def _form_page(
    request: HttpRequest,
    form: Any,
    *,
    save: Callable[[dict[str, Any]], Any],
    done: Callable[[Any], str],
    to: Callable[[Any], Unit | int],
    title: str,
    back: Unit | None,
) -> HttpResponse:
    """A form page: on a valid POST call the service; its refusals show on the form,
    which keeps what was typed; on success say so and go back to the unit."""
    if request.method == "POST" and form.is_valid():
        try:
            result = save(form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, done(result))
            target = to(result)
            return redirect("orgs:unit", pk=getattr(target, "pk", target))
    return render(request, "orgs/form.html", {"form": form, "title": title, "back": back})


# --- Tree and unit ----------------------------------------------------------------


@login_required
def tree(request: HttpRequest) -> HttpResponse:
    roots = selectors.unit_roots(request.user)
    return render(request, "orgs/tree.html", {"roots": roots})


@login_required
def unit_children(request: HttpRequest, pk: int) -> HttpResponse:
    """The next level of the tree, loaded when a node is opened (htmx)."""
    unit = access.unit_or_404(request.user, pk)
    children = selectors.unit_children(request.user, unit)
    return render(request, "orgs/tree.html#children", {"children": children, "parent": unit})


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    detail = selectors.unit_detail(request.user, unit)
    return render(
        request,
        "orgs/unit_detail.html",
        {
            "d": detail,
            "unit": unit,
            "can_manage": access.can_manage(request.user, unit),
            "can_grant": access.can_grant_roles(request.user, unit),
            "can_connect_robots": access.can_connect_robots(request.user, unit),
        },
    )


def _unit_form(request: HttpRequest, unit: Unit | None, parent: Unit | None) -> UnitForm:
    anchor = unit or parent
    people = selectors.people_in_unit_tree(anchor) if anchor else None
    if unit is not None:
        above = Unit.objects.get_parent(unit)
        kinds = sorted(ALLOWED_CHILDREN[above.kind]) if above else [UnitKind.BUREAU]
        initial = {
            "code": unit.code,
            "name": unit.name,
            "kind": unit.kind,
            "address": unit.address,
            "phone": unit.phone,
            "head": unit.head_id,
            "office_contact": unit.office_contact_id,
        }
    else:
        kinds = sorted(ALLOWED_CHILDREN[parent.kind]) if parent else [UnitKind.BUREAU]
        initial = {"kind": kinds[0] if len(kinds) == 1 else ""}
    return UnitForm(request.POST or None, initial=initial, people=people, kinds=kinds)


@login_required
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_manage(request.user, unit))
    return _form_page(
        request,
        _unit_form(request, unit, None),
        save=lambda data: services.unit_update(by=request.user, unit=unit, **data),
        done=lambda _unit: _("Saved."),
        to=lambda result: result,
        title=_("Edit %(name)s") % {"name": unit.name},
        back=unit,
    )


@login_required
def unit_new(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    parent = access.unit_or_404(request.user, pk) if pk is not None else None
    access.require(
        access.can_manage(request.user, parent) if parent else access.can_create_root(request.user)
    )
    return _form_page(
        request,
        _unit_form(request, None, parent),
        save=lambda data: services.unit_create(by=request.user, parent=parent, **data),
        done=lambda unit: _("Unit %(name)s added.") % {"name": unit.name},
        to=lambda unit: unit,
        title=_("New unit under %(name)s") % {"name": parent.name} if parent else _("New bureau"),
        back=parent,
    )


@login_required
def unit_move(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_manage(request.user, unit))
    form = MoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        target = (
            access.units_visible(request.user)
            .filter(code=form.cleaned_data["parent_code"].strip())
            .first()
        )
        if target is None:
            form.add_error("parent_code", _("Unknown unit code."))
        else:
            try:
                services.unit_move(by=request.user, unit=unit, new_parent=target)
            except ValidationError as exc:
                apply_errors(form, exc)
            except PermissionDenied:
                form.add_error("parent_code", _("You do not manage that unit."))
            else:
                messages.success(request, _("Moved."))
                return redirect("orgs:unit", pk=unit.pk)
    return render(
        request,
        "orgs/form.html",
        {
            "form": form,
            "title": _("Move %(name)s") % {"name": unit.name},
            "back": unit,
        },
    )


def _post_action(request: HttpRequest, unit: Unit, action: Any, done: str) -> HttpResponse:
    try:
        action()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)
    return redirect("orgs:unit", pk=unit.pk)


@login_required
@require_POST
def unit_archive(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_manage(request.user, unit))
    return _post_action(
        request, unit, lambda: services.unit_archive(by=request.user, unit=unit), _("Archived.")
    )


@login_required
@require_POST
def unit_restore(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_manage(request.user, unit))
    return _post_action(
        request, unit, lambda: services.unit_restore(by=request.user, unit=unit), _("Restored.")
    )


@login_required
@require_POST
def unit_delete(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_manage(request.user, unit))
    parent = Unit.objects.get_parent(unit)
    try:
        services.unit_delete(by=request.user, unit=unit)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("orgs:unit", pk=unit.pk)
    messages.success(request, _("Deleted."))
    return redirect("orgs:unit", pk=parent.pk) if parent else redirect("orgs:tree")


# --- Areas ------------------------------------------------------------------------


@login_required
def area_new(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_manage(request.user, unit))
    return _form_page(
        request,
        AreaForm(request.POST or None, people=selectors.people_in_unit_tree(unit)),
        save=lambda data: services.area_create(by=request.user, unit=unit, **data),
        done=lambda _area: _("Area added."),
        to=lambda _area: unit,
        title=_("New area in %(name)s") % {"name": unit.name},
        back=unit,
    )


@login_required
def area_edit(request: HttpRequest, pk: int) -> HttpResponse:
    area = access.area_or_404(request.user, pk)
    access.require(access.can_manage(request.user, area.unit))
    form = AreaForm(
        request.POST or None,
        people=selectors.people_in_unit_tree(area.unit),
        initial={
            "name": area.name,
            "kind": area.kind,
            "responsible": area.responsible_id,
            "description": area.description,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.area_update(by=request.user, area=area, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("orgs:unit", pk=area.unit_id)
    return render(
        request,
        "orgs/form.html",
        {
            "form": form,
            "title": _("Edit area %(name)s") % {"name": area.name},
            "back": area.unit,
            "archive_url": "orgs:area-archive",
            "archive_pk": area.pk,
        },
    )


@login_required
@require_POST
def area_archive(request: HttpRequest, pk: int) -> HttpResponse:
    area = access.area_or_404(request.user, pk)
    access.require(access.can_manage(request.user, area.unit))
    return _post_action(
        request,
        area.unit,
        lambda: services.area_archive(by=request.user, area=area),
        _("Archived."),
    )


# --- People, roles and the leadership group -----------------------------------------


@login_required
def people(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:50]
    page = Paginator(selectors.people_list(request.user, query=query), 50).get_page(
        request.GET.get("page")
    )
    rows = [(p, selectors.person_shown(request.user, p)) for p in page]
    return render(request, "orgs/people.html", {"page": page, "rows": rows, "q": query})


@login_required
def person_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = access.person_or_404(request.user, pk)
    can_edit = access.can_manage_person(request.user, person) or request.user.pk == person.pk
    form = PersonForm(
        request.POST or None,
        initial={"name": person.name, "mobile": person.mobile, "email": person.email},
    )
    if request.method == "POST":
        access.require(can_edit)
        if form.is_valid():
            try:
                services.person_update(by=request.user, person=person, **form.cleaned_data)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("orgs:person", pk=person.pk)
    memberships = [
        m
        for m in person.memberships.select_related("unit")
        if access.unit_visible(request.user, m.unit)
    ]
    return render(
        request,
        "orgs/person.html",
        {
            "person": person,
            "form": form,
            "can_edit": can_edit,
            "memberships": memberships,
            "shown": selectors.person_shown(request.user, person),
            "can_grant": {
                m.pk: access.can_grant_roles(request.user, m.unit)
                and m.person_id != request.user.pk
                for m in memberships
            },
        },
    )


@login_required
def person_new(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_manage(request.user, unit))

    def save(data: dict[str, Any]) -> Any:
        role = data.pop("role")
        return services.person_create(by=request.user, unit=unit, roles=[role], **data)

    return _form_page(
        request,
        NewPersonForm(request.POST or None),
        save=save,
        done=lambda person: _("%(name)s added.") % {"name": person.name},
        to=lambda _p: unit,
        title=_("New person in %(name)s") % {"name": unit.name},
        back=unit,
    )


@login_required
def role_grant(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_grant_roles(request.user, unit))
    people_qs = (
        selectors.people_in_unit_tree(unit)
        .filter(pk__in=access.people_visible(request.user).values("pk"))
        .exclude(pk=request.user.pk)
    )
    return _form_page(
        request,
        GrantRoleForm(request.POST or None, people=people_qs),
        save=lambda data: services.membership_grant(by=request.user, unit=unit, **data),
        done=lambda _m: _("Role granted."),
        to=lambda _m: unit,
        title=_("Grant a role in %(name)s") % {"name": unit.name},
        back=unit,
    )


@login_required
@require_POST
def role_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    membership = access.membership_or_404(request.user, pk)
    unit = membership.unit
    try:
        services.membership_revoke(by=request.user, membership=membership)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You may not do this here."))
    else:
        messages.success(request, _("Role revoked."))
    return redirect("orgs:unit", pk=unit.pk)


@login_required
def seat_new(request: HttpRequest, pk: int) -> HttpResponse:
    unit = access.unit_or_404(request.user, pk)
    access.require(access.can_manage(request.user, unit))
    return _form_page(
        request,
        SeatForm(request.POST or None, people=selectors.people_in_unit_tree(unit)),
        save=lambda data: services.seat_set(by=request.user, unit=unit, **data),
        done=lambda _seat: _("Saved."),
        to=lambda _seat: unit,
        title=_("Leadership group of %(name)s") % {"name": unit.name},
        back=unit,
    )


@login_required
@require_POST
def seat_remove(request: HttpRequest, pk: int) -> HttpResponse:
    seat = LeadershipSeat.objects.select_related("unit").filter(pk=pk).first()
    if seat is None or not access.unit_visible(request.user, seat.unit):
        raise Http404
    access.require(access.can_manage(request.user, seat.unit))
    services.seat_remove(by=request.user, seat=seat)
    messages.success(request, _("Removed from the leadership group."))
    return redirect("orgs:unit", pk=seat.unit_id)


# --- Import and export --------------------------------------------------------------


@login_required
def import_view(request: HttpRequest) -> HttpResponse:
    access.require(access.can_import(request.user))
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = org_import(by=request.user, file=form.cleaned_data["workbook"])
        if result.ok:
            messages.success(
                request,
                _("Imported %(units)d units and %(people)d people.")
                % {"units": result.units, "people": result.people},
            )
            return redirect("orgs:import")
    return render(request, "orgs/import.html", {"form": form, "result": result})


@login_required
def import_template(request: HttpRequest) -> HttpResponse:
    access.require(access.can_import(request.user))
    return _xlsx(template_workbook(), "safecampus-import-template.xlsx")


@login_required
def export_view(request: HttpRequest) -> HttpResponse:
    roots = list(access.root_units(request.user)[:1])
    if not roots:
        raise Http404
    today = timezone.localdate()
    content = selectors.export_workbook(
        request.user,
        title_unit=roots[0].name,
        reporter=request.user.name,
        today=today.isoformat(),
    )
    return _xlsx(content, f"safecampus-units-{today:%Y%m%d}.xlsx")
