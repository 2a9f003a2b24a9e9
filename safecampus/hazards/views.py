"""Hazard pages: the ledger (filtered, paged by key), report a hazard, one hazard with its
history and the actions its status and the user allow."""

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from safecampus.orgs import access
from safecampus.orgs import selectors as orgs_selectors
from safecampus.orgs.forms import apply_errors
from safecampus.orgs.models import Unit as UnitModel
from safecampus.orgs.models import UnitKind

from . import export, imports, selectors, services, stats
from .forms import (
    AnswerForm,
    ChecklistForm,
    DeadlineForm,
    FixForm,
    HazardForm,
    ItemAnswerForm,
    LedgerImportForm,
    ReferForm,
    RoundForm,
    VerifyForm,
)
from .models import Category, ChecklistItem, InspectionStatus, Severity, Status

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATES = [
    ("open", _("Open")),
    ("overdue", _("Overdue")),
    ("closed", _("Closed")),
    ("all", _("All")),
]
HAZARD_KINDS = (UnitKind.BUREAU, UnitKind.GROUP, UnitKind.SCHOOL, UnitKind.KINDERGARTEN)
PREFILL = ("unit", "category", "description")


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
            "exports": selectors.ledger_exports_recent(request.user),
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
        initial={
            "unit": orgs_selectors.own_unit(request.user),
            # Prefilled by a link (a routine fire patrol that found something): the form
            # offers only the user's units and the categories, whatever the link says.
            **{k: request.GET[k][:5000] for k in PREFILL if request.GET.get(k)},
        },
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
        "may_move_deadline": hazard.is_open
        and access.can_change_hazard_deadline(
            user, hazard.unit, supervising=hazard.supervising_unit
        ),
        "deadline_form": forms.get("deadline_form") or DeadlineForm(),
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
    "deadline": ("deadline_form", DeadlineForm),
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
            elif action == "deadline":
                services.hazard_deadline_change(by=request.user, hazard=hazard, **data)
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


def _ledger_filter(data: Any, default_state: str = "all") -> selectors.LedgerFilter:
    """The ledger page's filter from a query string or a form (what is not ours: ignored)."""
    state = data.get("state") or default_state
    return selectors.LedgerFilter(
        state=state if state in dict(STATES) else default_state,
        category=data.get("category", "") if data.get("category") in Category.values else "",
        severity=data.get("severity", "") if data.get("severity") in Severity.values else "",
    )


@login_required
def ledger_xlsx(request: HttpRequest) -> HttpResponse:
    """The ledger as the Excel offices keep (the list's filters: ?state=&category=&severity=),
    built here up to export.MAX_ROWS rows; a larger one is offered to the worker."""
    f = _ledger_filter(request.GET)
    rows = selectors.ledger(request.user, f)
    count = rows.count()
    if count > export.MAX_ROWS:
        return render(
            request,
            "hazards/export_ask.html",
            {"f": f, "count": count, "max_rows": export.MAX_ROWS},
        )
    today = timezone.localdate()
    data = export.ledger_workbook(
        rows,
        title=export.title_for(today),
        unit_name=export.unit_names(request.user),
        by=request.user.name,
    )
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="hazards-{today:%Y%m%d}.xlsx"'
    return response


@login_required
@require_POST
def export_new(request: HttpRequest) -> HttpResponse:
    """Ask the worker to build the ledger (the page's filter) in Excel."""
    try:
        job = export.ledger_export_request(by=request.user, f=_ledger_filter(request.POST))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("hazards:ledger")
    return redirect("hazards:export", pk=job.pk)


@login_required
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An export's progress (the partial polls itself until ready or failed), its link."""
    job = selectors.ledger_export_or_404(request.user, pk)
    template = "hazards/export_progress.html" if request.htmx else "hazards/export.html"
    state_label = dict(STATES).get(job.query.get("state"), "")
    return render(request, template, {"job": job, "state_label": state_label})


@login_required
def export_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The built file, to the person who asked (never under a public URL)."""
    job = selectors.ledger_export_or_404(request.user, pk)
    if job.status != "ready" or not job.file:
        raise Http404
    try:
        handle = job.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    day = timezone.localtime(job.requested_at)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"hazards-{day:%Y%m%d}-{job.pk}.xlsx",
        content_type=XLSX,
    )


# --- The overview with charts, the Excel import ----------------------------------------------


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Open and overdue by category and by unit (?unit=: its children, each rolled up), the
    closure rate and median days to close over ?from=&to= (default: this year), the oldest
    open hazards; charts above the tables."""
    if request.GET.get("unit"):
        under = access.unit_or_404(request.user, request.GET["unit"])
    else:
        under = stats.top_unit(request.user)
        if under is None:
            raise Http404
    start, end = stats.period(_day(request.GET.get("from")), _day(request.GET.get("to")))
    data = stats.overview(request.user, under=under, start=start, end=end)
    parent = UnitModel.objects.get_parent(under) if under.depth > 1 else None
    return render(
        request,
        "hazards/overview.html",
        {
            "o": data,
            "charts": stats.charts(data),
            "parent": parent if parent and access.unit_visible(request.user, parent) else None,
        },
    )


@login_required
def import_ledger(request: HttpRequest) -> HttpResponse:
    """Upload an existing Excel ledger: every row imported, or none and every bad row listed
    (sheet, row, column, reason)."""
    access.require(access.can_import_hazards(request.user))
    form = LedgerImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["workbook"]
        result = imports.ledger_import(by=request.user, file=upload, name=upload.name)
        if result.ok:
            messages.success(
                request,
                ngettext("Imported %(n)d hazard.", "Imported %(n)d hazards.", result.hazards)
                % {"n": result.hazards},
            )
            return redirect("hazards:import")
    limits = {"max_mb": imports.MAX_BYTES // 2**20, "max_rows": imports.MAX_ROWS}
    return render(request, "hazards/import.html", {"form": form, "result": result, **limits})


# --- Checklists, inspection rounds, the walk-through ----------------------------------------


@login_required
def checklists(request: HttpRequest) -> HttpResponse:
    bureau = selectors.bureau_of(request.user)
    if bureau is None:
        raise Http404
    services.checklist_defaults_ensure()
    rows = selectors.checklists_for(bureau)
    return render(
        request,
        "hazards/checklists.html",
        {
            "bureau": bureau,
            "checklists": [(c, list(c.items.all())) for c in rows],
            "may_edit": access.can_edit_checklists(request.user, bureau),
        },
    )


@login_required
def checklist_edit(request: HttpRequest, category: str) -> HttpResponse:
    bureau = selectors.bureau_of(request.user)
    if bureau is None or category not in Category.values:
        raise Http404
    access.require(access.can_edit_checklists(request.user, bureau))
    services.checklist_defaults_ensure()
    current = selectors.current_checklists(bureau, [category])[0]
    form = ChecklistForm(
        request.POST or None,
        initial={"items": "\n".join(i.text for i in current.items.all())},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.checklist_edit(
                by=request.user,
                bureau=bureau,
                category=category,
                items=form.cleaned_data["items"].splitlines(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("A new version of the checklist is in use."))
            return redirect("hazards:checklists")
    return render(request, "hazards/checklist_edit.html", {"form": form, "checklist": current})


@login_required
def rounds(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "hazards/rounds.html",
        {
            "rounds": selectors.rounds_visible(request.user)[:100],
            "to_do": selectors.inspections_to_do(request.user),
            "may_launch": any(
                access.can_launch_inspection_round(request.user, u)
                for u in access.units_run(request.user)
            ),
        },
    )


@login_required
def round_new(request: HttpRequest) -> HttpResponse:
    units = [
        u.pk
        for u in access.units_run(request.user)
        if access.can_launch_inspection_round(request.user, u)
    ]
    if not units:
        access.require(False)
    today = timezone.localdate()
    form = RoundForm(
        request.POST or None,
        units=UnitModel.objects.filter(pk__in=units),
        initial={
            "unit": units[0],
            "kind": "self",
            "starts_on": today,
            "ends_on": today + dt.timedelta(days=14),
            "categories": list(Category.values),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            round_ = services.round_launch(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The round is launched."))
            return redirect("hazards:round", pk=round_.pk)
    return render(request, "hazards/round_new.html", {"form": form})


@login_required
def round_detail(request: HttpRequest, pk: int) -> HttpResponse:
    round_ = selectors.round_or_404(request.user, pk)
    progress, rows = selectors.round_progress(request.user, round_)
    state = request.GET.get("state", "")
    if state in InspectionStatus.values:
        rows = rows.filter(status=state)
    return render(
        request,
        "hazards/round.html",
        {"round": round_, "progress": progress, "rows": rows[:500], "state": state},
    )


def _sheet_context(request: HttpRequest, inspection: Any, **extra: Any) -> dict[str, Any]:
    sheet = selectors.inspection_sheet(inspection)
    areas = inspection.unit.areas.filter(archived_at__isnull=True)
    forms = extra.pop("forms", {})
    return {
        "inspection": inspection,
        "sheet": [
            (
                label,
                [
                    (
                        item,
                        answer,
                        forms.get(item.pk)
                        or ItemAnswerForm(
                            areas=areas,
                            prefix=f"i{item.pk}",
                            initial={
                                "result": answer.result,
                                "note": answer.note,
                                "area": answer.area_id,
                            }
                            if answer
                            else None,
                        ),
                    )
                    for item, answer in rows
                ],
            )
            for label, rows in sheet
        ],
        "total": sum(len(rows) for _label, rows in sheet),
        "may_answer": inspection.status != InspectionStatus.SUBMITTED
        and access.can_inspect(request.user, inspection.unit),
        **extra,
    }


@login_required
def inspection(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.inspection_or_404(request.user, pk)
    return render(request, "hazards/inspection.html", _sheet_context(request, found))


@login_required
@require_POST
def inspection_item(request: HttpRequest, pk: int, item: int) -> HttpResponse:
    """One item answered, saved at once. With HTMX the item alone comes back."""
    found = selectors.inspection_or_404(request.user, pk)
    checklist_item = get_object_or_404(
        ChecklistItem.objects.select_related("checklist"), pk=item, checklist__rounds=found.round_id
    )
    areas = found.unit.areas.filter(archived_at__isnull=True)
    form = ItemAnswerForm(request.POST, request.FILES, areas=areas, prefix=f"i{item}")
    answer = None
    if form.is_valid():
        try:
            answer = services.inspection_answer(
                by=request.user, inspection=found, item=checklist_item, **form.cleaned_data
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                apply_errors(form, exc)
            else:
                form.add_error(None, exc)
    if answer is not None and not request.htmx:
        return redirect(f"{reverse('hazards:inspection', args=[pk])}#item-{item}")
    found = selectors.inspection_or_404(request.user, pk)
    context = _sheet_context(request, found, forms={} if answer else {item: form})
    if request.htmx:
        row = next(
            r for _label, rows in context["sheet"] for r in rows if r[0].pk == checklist_item.pk
        )
        context["row"] = row
        return render(request, "hazards/_item_saved.html", context)
    return render(request, "hazards/inspection.html", context, status=200)


@login_required
@require_POST
def inspection_submit(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.inspection_or_404(request.user, pk)
    try:
        done = services.inspection_submit(by=request.user, inspection=found)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("hazards:inspection", pk=pk)
    messages.success(
        request,
        _("Inspection submitted; %(n)s failed items are in the hazard ledger.")
        % {"n": done.failed},
    )
    return redirect("hazards:inspection", pk=pk)
