"""Notice pages: the inbox, writing a notice, reading and acknowledging it, chasing,
attachments (served only after an access check), and the seasonal templates."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from safecampus.orgs import access
from safecampus.orgs.forms import apply_errors

from . import selectors, services
from .forms import NoticeForm, NoticeTemplateForm


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.inbox(request.user), 30).get_page(request.GET.get("page"))
    can_send = selectors.sender_units(request.user).exists()
    return render(request, "notices/inbox.html", {"page": page, "can_send": can_send})


def _initial(request: HttpRequest, units: list) -> dict:
    template = selectors.template_or_none(request.GET.get("template"))
    unit = next((u for u in units if str(u.pk) == request.GET.get("unit")), units[0])
    initial = {"unit": unit.pk, "urgency": "routine"}
    if template is not None:
        initial |= {
            "kind": template.kind,
            "title": template.title,
            "body": template.body,
            "urgency": template.urgency,
            "requires_ack": template.requires_ack,
        }
    return initial


@login_required
def compose(request: HttpRequest) -> HttpResponse:
    units = list(selectors.sender_units(request.user))
    access.require(bool(units))
    form = NoticeForm(
        request.POST or None,
        request.FILES or None,
        units=selectors.sender_units(request.user),
        initial=_initial(request, units),
    )
    if request.method == "POST" and form.is_valid():
        try:
            notice = services.notice_send(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Notice sent."))
            return redirect("notices:detail", pk=notice.pk)
    return render(
        request, "notices/compose.html", {"form": form, "templates": selectors.templates()}
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    notice = selectors.notice_or_404(request.user, pk)
    services.notice_read(by=request.user, notice=notice)
    d = selectors.notice_detail(request.user, notice)
    return render(request, "notices/detail.html", {"d": d, "notice": notice})


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    notice = selectors.notice_or_404(request.user, pk)
    receipt = selectors.own_receipt_or_404(request.user, notice, request.POST.get("unit"))
    try:
        services.notice_acknowledge(by=request.user, receipt=receipt)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Acknowledged."))
    return redirect("notices:detail", pk=notice.pk)


@login_required
@require_POST
def chase(request: HttpRequest, pk: int) -> HttpResponse:
    notice = selectors.notice_or_404(request.user, pk)
    access.require(access.can_chase(request.user, notice.sender_unit))
    n = services.notice_chase(by=request.user, notice=notice)
    if n:
        messages.success(
            request, ngettext("Chased %(n)d unit.", "Chased %(n)d units.", n) % {"n": n}
        )
    else:
        messages.success(request, _("Nobody to chase just now."))
    return redirect("notices:detail", pk=notice.pk)


@login_required
def attachment(request: HttpRequest, pk: int, file_pk: int) -> FileResponse:
    item = selectors.attachment_or_404(request.user, pk, file_pk)
    response = FileResponse(item.file.open("rb"), as_attachment=True, filename=item.name)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "notices/templates.html",
        {
            "templates": selectors.templates(),
            "can_edit": selectors.can_edit_templates(request.user),
            "can_send": selectors.sender_units(request.user).exists(),
        },
    )


@login_required
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access.require(selectors.can_edit_templates(request.user))
    template = selectors.template_or_404(pk)
    fields = ("name", "kind", "title", "body", "urgency", "requires_ack")
    form = NoticeTemplateForm(
        request.POST or None, initial={f: getattr(template, f) for f in fields}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.notice_template_update(by=request.user, template=template, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("notices:templates")
    return render(request, "notices/template_form.html", {"form": form, "template": template})
