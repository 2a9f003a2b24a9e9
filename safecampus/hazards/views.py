"""Hazard pages: the ledger (filtered, paged by key), report a hazard, one hazard with its
history and the actions its status and the user allow."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from safecampus.orgs import access
from safecampus.orgs import selectors as orgs_selectors
from safecampus.orgs.forms import apply_errors
from safecampus.orgs.models import UnitKind

from . import export, selectors, services
from .forms import AnswerForm, FixForm, HazardForm, ReferForm, VerifyForm
from .models import Category, Severity, Status

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATES = [
    ("open", _("Open")),
    ("overdue", _("Overdue")),
    ("closed", _("Closed")),
    ("all", _("All")),
]
HAZARD_KINDS = (UnitKind.BUREAU, UnitKind.GROUP, UnitKind.SCHOOL, UnitKind.KINDERGARTEN)


@login_required
def ledger(request: HttpRequest) -> HttpResponse:
    f = selectors.LedgerFilter(
        state=request.GET.get("state") or "open",
        category=request.GET.get("category", "")
        if request.GET.get("category") in Category.values
        else "",
        severity=request.GET.get("severity", "")
        if request.GET.get("severity") in Severity.values
        else "",
    )
    rows, cursor = selectors.page_after(
        selectors.ledger(request.user, f), request.GET.get("after", "")
    )
    return render(
        request,
        "hazards/ledger.html",
        {
            "rows": rows,
            "next": cursor,
            "f": f,
            "states": STATES,
            "categories": Category.choices,
        },
    )


@login_required
def hazard_new(request: HttpRequest) -> HttpResponse:
    units, areas = orgs_selectors.report_places(request.user, HAZARD_KINDS)
    form = HazardForm(
        request.POST or None,
        request.FILES or None,
        units=units,
        areas=areas,
        initial={"unit": orgs_selectors.own_unit(request.user)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            hazard = services.hazard_report(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Hazard recorded in the ledger."))
            return redirect("hazards:detail", pk=hazard.pk)
    return render(request, "hazards/new.html", {"form": form})


def _context(request: HttpRequest, hazard: Any, **forms: Any) -> dict[str, Any]:
    user = request.user
    fixer = access.can_fix_hazard(user, hazard.unit, hazard.responsible_id)
    return {
        "hazard": hazard,
        "events": list(hazard.events.select_related("person")),
        "photos": list(hazard.photos.all()),
        "may_fix": fixer and hazard.status in (Status.OPEN, Status.FIXING),
        "may_verify": hazard.status == Status.SUBMITTED
        and access.can_verify_hazard(
            user, hazard.unit, fixed_by_id=hazard.fixed_by_id, supervising=hazard.supervising_unit
        ),
        "may_refer": hazard.status in (Status.OPEN, Status.FIXING)
        and access.can_refer_hazard(user, hazard.unit),
        "may_answer": hazard.status == Status.REFERRED
        and access.can_refer_hazard(user, hazard.unit),
        "fix_form": forms.get("fix_form") or FixForm(),
        "verify_form": forms.get("verify_form") or VerifyForm(),
        "refer_form": forms.get("refer_form") or ReferForm(),
        "answer_form": forms.get("answer_form") or AnswerForm(),
    }


@login_required
def hazard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    hazard = selectors.hazard_or_404(request.user, pk)
    return render(request, "hazards/detail.html", _context(request, hazard))


FORMS = {
    "submit": ("fix_form", FixForm),
    "close": ("verify_form", VerifyForm),
    "send-back": ("verify_form", VerifyForm),
    "refer": ("refer_form", ReferForm),
    "answer": ("answer_form", AnswerForm),
}


@login_required
@require_POST
def hazard_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """fix | submit | close | send-back | refer | answer: the form keeps what was typed and
    shows the reason beside its field when the step is refused."""
    hazard = selectors.hazard_or_404(request.user, pk)
    if action != "fix" and action not in FORMS:
        raise Http404
    name, form_class = FORMS.get(action, ("", None))
    form = form_class(request.POST, request.FILES) if form_class else None
    if form is None or form.is_valid():
        data = form.cleaned_data if form is not None else {}
        try:
            if action == "fix":
                services.hazard_start_fix(by=request.user, hazard=hazard)
            elif action == "submit":
                services.hazard_submit_fix(by=request.user, hazard=hazard, **data)
            elif action in ("close", "send-back"):
                services.hazard_verify(
                    by=request.user,
                    hazard=hazard,
                    accept=action == "close",
                    reason=data.get("reason", ""),
                )
            elif action == "refer":
                services.hazard_refer(by=request.user, hazard=hazard, **data)
            else:
                services.hazard_referral_answer(by=request.user, hazard=hazard, **data)
        except ValidationError as exc:
            if form is not None and hasattr(exc, "error_dict"):
                apply_errors(form, exc)
            else:
                messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Saved."))
            return redirect("hazards:detail", pk=hazard.pk)
    hazard = selectors.hazard_or_404(request.user, pk)
    forms = {name: form} if form is not None else {}
    return render(request, "hazards/detail.html", _context(request, hazard, **forms))


@login_required
def photo(request: HttpRequest, pk: int, original: bool = False) -> HttpResponse:
    """A photo, to those who may see its hazard or inspection (never under a public URL)."""
    found = selectors.photo_or_404(request.user, pk)
    file = found.original if original else found.image
    response = FileResponse(
        file.open("rb"), content_type=found.original_type if original else "image/jpeg"
    )
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Disposition"] = "inline"
    return response


@login_required
def ledger_xlsx(request: HttpRequest) -> HttpResponse:
    """The ledger as the Excel offices keep (the list's filters: ?state=&category=)."""
    f = selectors.LedgerFilter(
        state=request.GET.get("state") or "all",
        category=request.GET.get("category", "")
        if request.GET.get("category") in Category.values
        else "",
    )
    rows = selectors.ledger(request.user, f)
    with translation.override("zh-hans"):
        today = timezone.localdate()
        data = export.ledger_workbook(
            rows,
            title=f"{today.year}年{today.month}月学校安全隐患排查整治台账",
            unit_name="、".join(u.name for u in access.units_run(request.user)[:3]),
            by=request.user.name,
        )
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="hazards-{today:%Y%m%d}.xlsx"'
    return response
